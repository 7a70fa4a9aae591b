//! QuantizeLinear / DequantizeLinear, as the ONNX reference computes them:
//! quantize divides in the input's precision (f32 unless f64), rounds half to
//! even, adds the zero point and saturates; dequantize subtracts the zero
//! point and multiplies by the scale in f32 (f64 if scale or output is f64).
//! float8 outputs are `x / scale` converted with saturation, zero point
//! ignored; float4 adds the zero point without rounding; dequantizing float8
//! or float4 ignores the zero point (all as `onnx.reference` does).

use crate::dtype::{DType, TensorType};
use crate::minifloat;
use crate::error::OpError;
use crate::infer::{quant_layout, quant_range};
use crate::op_err;
use crate::tensor::Tensor;

fn arg<'a>(inputs: &[Option<&'a Tensor>], i: usize, name: &str) -> Result<&'a Tensor, OpError> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| op_err!("required input `{name}` (#{i}) is missing"))
}

/// Applies `f(x, scale, zero_point)` to every element of `x`.
fn map_params(
    inputs: &[Option<&Tensor>],
    axis: i64,
    block_size: usize,
    f: impl Fn(f64, f64, f64) -> f64,
) -> Result<Vec<f64>, OpError> {
    let x = arg(inputs, 0, "x")?;
    let s = arg(inputs, 1, "scale")?;
    let z = inputs.get(2).copied().flatten();
    let l = quant_layout(x.shape(), s.shape(), axis, block_size)?;
    let (xv, sv) = (x.to_f64_vec(), s.to_f64_vec());
    let zv = z.map(|z| z.to_f64_vec());
    if zv.as_ref().is_some_and(|z| z.len() != sv.len()) {
        return Err(op_err!("zero point and scale have different sizes"));
    }
    let mut out = Vec::with_capacity(xv.len());
    for o in 0..l.outer {
        for a in 0..l.len {
            for i in 0..l.inner {
                let xi = (o * l.len + a) * l.inner + i;
                let p = l.param_index(o, a, i);
                let zp = zv.as_ref().map_or(0.0, |z| z[p]);
                out.push(f(xv[xi], sv[p], zp));
            }
        }
    }
    Ok(out)
}

pub(super) fn quantize(
    axis: i64,
    block_size: usize,
    out: DType,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let x = arg(inputs, 0, "x")?;
    let wide = x.dtype() == DType::F64 || arg(inputs, 1, "scale")?.dtype() == DType::F64;
    if out.is_small_float() {
        return quantize_float(x, wide, axis, block_size, out, inputs);
    }
    let (lo, hi) = quant_range(out).ok_or_else(|| op_err!("unsupported quantized dtype {out}"))?;
    let v = map_params(inputs, axis, block_size, |x, s, z| {
        let q = if wide { (x / s).round_ties_even() } else { ((x as f32) / (s as f32)).round_ties_even() as f64 };
        (q + z).clamp(lo, hi)
    })?;
    Ok(vec![Tensor::from_f64(out, x.shape().to_vec(), &v)])
}

fn quantize_float(
    x: &Tensor,
    wide: bool,
    axis: i64,
    block_size: usize,
    out: DType,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let add_zp = out == DType::F4E2M1;
    let v = map_params(inputs, axis, block_size, |x, s, z| {
        let z = if add_zp { z } else { 0.0 };
        if wide {
            x / s + z
        } else {
            ((x as f32) / (s as f32) + z as f32) as f64
        }
    })?;
    let bytes: Vec<u8> = v.iter().map(|&q| minifloat::encode(out, q as f32, true)).collect();
    let t = Tensor::from_bytes(TensorType::new(out, x.shape().to_vec()), bytes.into()).map_err(|e| op_err!("{e}"))?;
    Ok(vec![t])
}

pub(super) fn dequantize(
    axis: i64,
    block_size: usize,
    out: DType,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let x = arg(inputs, 0, "x")?;
    let wide = out == DType::F64 || arg(inputs, 1, "scale")?.dtype() == DType::F64;
    let use_zp = !x.dtype().is_small_float();
    let v = map_params(inputs, axis, block_size, |x, s, z| {
        let z = if use_zp { z } else { 0.0 };
        if wide {
            (x - z) * s
        } else {
            ((x as f32 - z as f32) * s as f32) as f64
        }
    })?;
    Ok(vec![Tensor::from_f64(out, x.shape().to_vec(), &v)])
}
