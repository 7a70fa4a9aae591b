//! Shape rules of the resize family: Resize, ConvTranspose, LpPool.

use super::util::*;
use super::InputInfo;
use crate::dtype::TensorType;
use crate::error::OpError;
use crate::eval::resize::{floats_of, output_shape};
use crate::op::{Op, ResizeAttrs, Window};
use crate::op_err;

pub(super) fn infer(
    op: &Op,
    inputs: &[Option<InputInfo<'_>>],
    _num_outputs: usize,
) -> Result<Vec<TensorType>, OpError> {
    match op {
        Op::Resize(a) => Ok(vec![resize(a, inputs)?]),
        Op::ConvTranspose {
            window,
            group,
            output_padding,
        } => Ok(vec![conv_transpose(
            window,
            *group,
            output_padding,
            inputs,
        )?]),
        Op::LpPool {
            window,
            p,
            ceil_mode,
        } => {
            if *p <= 0 {
                return Err(op_err!("p must be positive, got {p}"));
            }
            Ok(vec![super::nn::average_pool(window, *ceil_mode, inputs)?])
        }
        other => Err(op_err!("{} is not a resize-family op", other.onnx_name())),
    }
}

fn resize(a: &ResizeAttrs, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 4)?;
    let x = req(inputs, 0, "X")?;
    let constant = |i: usize, name: &str| -> Result<Option<&crate::tensor::Tensor>, OpError> {
        match opt(inputs, i) {
            None => Ok(None),
            Some(v) if v.ty.numel() == 0 => Ok(None),
            Some(v) => v.value.map(Some).ok_or_else(|| OpError::needs_constant(name)),
        }
    };
    let roi = floats_of(constant(1, "roi")?);
    let scales = floats_of(constant(2, "scales")?);
    let sizes = match opt(inputs, 3) {
        Some(v) if v.ty.numel() > 0 => Some(const_ints(v, "sizes", false)?),
        _ => None,
    };
    let out = output_shape(
        a,
        &x.ty.shape,
        roi.as_deref(),
        scales.as_deref(),
        sizes.as_deref(),
    )?;
    Ok(TensorType::new(x.ty.dtype, out))
}

fn conv_transpose(
    w: &Window,
    group: usize,
    op: &[usize],
    inputs: Inputs<'_, '_>,
) -> Result<TensorType, OpError> {
    arity(inputs, 2, 3)?;
    let x = req(inputs, 0, "X")?;
    let wt = req(inputs, 1, "W")?;
    dtype(x, "X", is_float, "a float")?;
    same_dtype(x, "X", wt, "W")?;
    let r = w.spatial_rank();
    let (xs, ws) = (&x.ty.shape, &wt.ty.shape);
    if xs.len() != r + 2
        || ws.len() != r + 2
        || w.strides.len() != r
        || w.dilations.len() != r
        || w.pads.len() != 2 * r
    {
        return Err(op_err!(
            "X {xs:?} and W {ws:?} must have rank {} for a {r}-D window",
            r + 2
        ));
    }
    if group == 0 || xs[1] != ws[0] || xs[1] % group != 0 || ws[2..] != w.kernel_shape[..] {
        return Err(op_err!(
            "W {ws:?} does not fit X {xs:?} with group {group} and kernel {:?}",
            w.kernel_shape
        ));
    }
    let m = checked_mul(ws[1], group)?;
    if let Some(b) = opt(inputs, 2) {
        if b.ty.shape != [m] {
            return Err(op_err!("B must have shape [{m}], got {:?}", b.ty.shape));
        }
    }
    let mut out = vec![xs[0], m];
    for i in 0..r {
        let d = crate::eval::resize::conv_transpose_dim(w, op, i, xs[2 + i])
            .filter(|&d| d > 0)
            .ok_or_else(|| op_err!("spatial axis {i} of X {xs:?} gives an empty output"))?;
        out.push(d);
    }
    Ok(TensorType::new(x.ty.dtype, out))
}
