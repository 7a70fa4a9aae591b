//! Shape rules of the sampling family: GridSample, AffineGrid.

use super::util::*;
use super::InputInfo;
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::Op;
use crate::op_err;

pub(super) fn infer(op: &Op, inputs: &[Option<InputInfo<'_>>]) -> Result<Vec<TensorType>, OpError> {
    match op {
        Op::GridSample { .. } => Ok(vec![grid_sample(inputs)?]),
        Op::AffineGrid { .. } => Ok(vec![affine_grid(inputs)?]),
        other => Err(op_err!("{} is not a sampling op", other.onnx_name())),
    }
}

fn grid_sample(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let x = req(inputs, 0, "X")?;
    let g = req(inputs, 1, "grid")?;
    let d = dtype(x, "X", is_float, "a float")?;
    dtype(g, "grid", is_float, "a float")?;
    let r = min_rank(x, "X", 3)? - 2;
    rank_eq(g, "grid", r + 2)?;
    let (xs, gs) = (&x.ty.shape, &g.ty.shape);
    if gs[0] != xs[0] || gs[r + 1] != r {
        return Err(op_err!("grid of shape {gs:?} does not match X of shape {xs:?}: want [{}, ..., {r}]", xs[0]));
    }
    let mut out = vec![xs[0], xs[1]];
    out.extend_from_slice(&gs[1..=r]);
    Ok(TensorType::new(d, out))
}

fn affine_grid(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let theta = req(inputs, 0, "theta")?;
    let d = dtype(theta, "theta", is_float, "a float")?;
    rank_eq(theta, "theta", 3)?;
    let size = const_ints(req(inputs, 1, "size")?, "size", false)?;
    let r = size.len().saturating_sub(2);
    if !(r == 2 || r == 3) {
        return Err(op_err!("size must have 4 or 5 elements, got {size:?}"));
    }
    let ts = &theta.ty.shape;
    if ts[0] as i64 != size[0] || ts[1] != r || ts[2] != r + 1 {
        return Err(op_err!("theta of shape {ts:?} does not match size {size:?}"));
    }
    let mut out = vec![ts[0]];
    for &v in &size[2..] {
        out.push(usize::try_from(v).map_err(|_| op_err!("negative size {v}"))?);
    }
    out.push(r);
    Ok(TensorType::new(d, out))
}

pub(super) fn bitcast(to: DType, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "input")?;
    if x.ty.dtype.size() != to.size() {
        return Err(op_err!("cannot bitcast {} to {to}: element sizes differ", x.ty.dtype));
    }
    Ok(TensorType::new(to, x.ty.shape.clone()))
}
