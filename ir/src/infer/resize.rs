//! Shape rules of the resize family: Resize, ConvTranspose, LpPool.

use super::util::*;
use super::InputInfo;
use crate::dtype::TensorType;
use crate::error::OpError;
use crate::eval::resize::{floats_of, output_shape};
use crate::op::{Op, ResizeAttrs};
use crate::op_err;

pub(super) fn infer(
    op: &Op,
    inputs: &[Option<InputInfo<'_>>],
    _num_outputs: usize,
) -> Result<Vec<TensorType>, OpError> {
    match op {
        Op::Resize(a) => Ok(vec![resize(a, inputs)?]),
        Op::ConvTranspose { .. } | Op::LpPool { .. } => {
            Err(op_err!("{} is not supported yet", op.onnx_name()))
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
            Some(v) => v
                .value
                .map(Some)
                .ok_or_else(|| op_err!("input `{name}` must be a constant to compile ahead of time")),
        }
    };
    let roi = floats_of(constant(1, "roi")?);
    let scales = floats_of(constant(2, "scales")?);
    let sizes = match opt(inputs, 3) {
        Some(v) if v.ty.numel() > 0 => Some(const_ints(v, "sizes", false)?),
        _ => None,
    };
    let out = output_shape(a, &x.ty.shape, roi.as_deref(), scales.as_deref(), sizes.as_deref())?;
    Ok(TensorType::new(x.ty.dtype, out))
}
