//! Linear quantization: QuantizeLinear and DequantizeLinear. Scale and zero
//! point are per tensor, per axis or blocked; `QuantLayout` maps an element
//! of `x` to its scale element for the evaluator and the lowering alike.

use super::norm_axis;
use super::util::*;
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op_err;

/// The integer types a quantized tensor may have.
pub fn is_quant_int(d: DType) -> bool {
    quant_range(d).is_some()
}

/// Every type a quantized tensor may have: the integers and the float8 /
/// float4 types (not E8M0, which is a scale type).
pub fn is_quant_type(d: DType) -> bool {
    is_quant_int(d) || (d.is_small_float() && d != DType::F8E8M0)
}

/// Saturation bounds of a quantized integer type (`None` for other types).
pub fn quant_range(d: DType) -> Option<(f64, f64)> {
    Some(match d {
        DType::I8 => (-128.0, 127.0),
        DType::U8 => (0.0, 255.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::U16 => (0.0, 65535.0),
        DType::I32 => (i32::MIN as f64, i32::MAX as f64),
        DType::I4 => (-8.0, 7.0),
        DType::U4 => (0.0, 15.0),
        DType::I2 => (-2.0, 1.0),
        DType::U2 => (0.0, 3.0),
        _ => return None,
    })
}

/// How `x` (viewed as `[outer, len, inner]` around the quantization axis)
/// indexes its scale: element `(o, a, i)` uses scale element
/// `o * strides[0] + (a / block) * strides[1] + i * strides[2]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantLayout {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
    pub block: usize,
    pub strides: [usize; 3],
}

impl QuantLayout {
    pub fn param_index(&self, o: usize, a: usize, i: usize) -> usize {
        o * self.strides[0] + (a / self.block) * self.strides[1] + i * self.strides[2]
    }
}

/// The layout of a scale of shape `p` for `x`: one element is per tensor,
/// `block_size == 0` is per axis (1-D of `x.shape[axis]`), otherwise blocked
/// (same rank as `x`, `ceil(x.shape[axis] / block_size)` along `axis`).
pub fn quant_layout(
    x: &[usize],
    p: &[usize],
    axis: i64,
    block_size: usize,
) -> Result<QuantLayout, OpError> {
    let numel: usize = x.iter().product();
    if p.iter().product::<usize>() == 1 && p.len() <= 1 {
        return Ok(QuantLayout { outer: numel, len: 1, inner: 1, block: 1, strides: [0; 3] });
    }
    let ax = norm_axis(axis, x.len())?;
    if ax >= x.len() {
        return Err(op_err!("axis {axis} out of range for a scalar input"));
    }
    let outer = x[..ax].iter().product();
    let (len, inner) = (x[ax], x[ax + 1..].iter().product());
    if block_size == 0 {
        if p != [len] {
            return Err(op_err!(
                "per-axis scale/zero point must have shape [{len}] (axis {axis} of {x:?}), got {p:?}"
            ));
        }
        return Ok(QuantLayout { outer, len, inner, block: 1, strides: [0, 1, 0] });
    }
    let nb = len.div_ceil(block_size);
    let mut want = x.to_vec();
    want[ax] = nb;
    if p != want.as_slice() {
        return Err(op_err!(
            "blocked scale/zero point for {x:?} with block_size {block_size} on axis {axis} must have shape {want:?}, got {p:?}"
        ));
    }
    Ok(QuantLayout { outer, len, inner, block: block_size, strides: [nb * inner, inner, 1] })
}

/// Checks scale and zero point (inputs 1 and 2) against `x`.
fn check_params(
    inputs: Inputs<'_, '_>,
    x: &TensorType,
    axis: i64,
    block_size: usize,
    zp_dtype: DType,
) -> Result<(), OpError> {
    let s = req(inputs, 1, "scale")?;
    dtype(s, "scale", is_float, "a float")?;
    quant_layout(&x.shape, &s.ty.shape, axis, block_size)?;
    if let Some(z) = opt(inputs, 2) {
        if z.ty.dtype != zp_dtype {
            return Err(op_err!("input `zero_point` must be {zp_dtype}, got {}", z.ty.dtype));
        }
        // A one-element zero point of another rank ([1] with a scalar scale,
        // as some suite models declare) is the same per-tensor parameter.
        let single = z.ty.numel() == 1 && s.ty.numel() == 1;
        if z.ty.shape != s.ty.shape && !single {
            return Err(op_err!(
                "zero point shape {:?} differs from scale shape {:?}",
                z.ty.shape,
                s.ty.shape
            ));
        }
    }
    Ok(())
}

pub(super) fn quantize(
    axis: i64,
    block_size: usize,
    out: DType,
    inputs: Inputs<'_, '_>,
) -> Result<TensorType, OpError> {
    arity(inputs, 2, 3)?;
    let x = req(inputs, 0, "x")?;
    dtype(x, "x", is_float, "a float")?;
    if !is_quant_type(out) {
        return Err(op_err!(
            "unsupported output dtype {out} (want a 2/4/8/16/32-bit integer, float8 or float4)"
        ));
    }
    check_params(inputs, x.ty, axis, block_size, out)?;
    Ok(TensorType::new(out, x.ty.shape.clone()))
}

pub(super) fn dequantize(
    axis: i64,
    block_size: usize,
    out: DType,
    inputs: Inputs<'_, '_>,
) -> Result<TensorType, OpError> {
    arity(inputs, 2, 3)?;
    let x = req(inputs, 0, "x")?;
    let d = dtype(x, "x", is_quant_type, "a 2/4/8/16/32-bit integer, float8 or float4")?;
    if !out.is_float() {
        return Err(op_err!("output dtype must be a float, got {out}"));
    }
    check_params(inputs, x.ty, axis, block_size, d)?;
    Ok(TensorType::new(out, x.ty.shape.clone()))
}
