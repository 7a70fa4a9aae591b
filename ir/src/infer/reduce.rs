//! Reductions (Reduce-18 form, axes as an input) and ArgMax/ArgMin.

use super::norm_axis;
use super::util::*;
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::ReduceOp;

/// `shape` with `axes` removed, or set to 1 when `keepdims`.
fn reduced(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    let kept = shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        });
    kept.collect()
}

pub(super) fn reduce(
    op: ReduceOp,
    keepdims: bool,
    noop_with_empty_axes: bool,
    inputs: Inputs<'_, '_>,
) -> Result<TensorType, OpError> {
    arity(inputs, 1, 2)?;
    let x = req(inputs, 0, "data")?;
    match op {
        // Max/Min are defined on bool too (ReduceMax-20), the rest are arithmetic.
        ReduceOp::Max | ReduceOp::Min => dtype(x, "data", is_any, "any type")?,
        _ => dtype(x, "data", is_numeric, "numeric")?,
    };
    let r = x.ty.rank();
    let axes = match opt(inputs, 1) {
        Some(a) => {
            rank_eq(a, "axes", 1)?;
            const_ints(a, "axes", false)?
        }
        None => vec![],
    };
    let axes = if axes.is_empty() {
        if noop_with_empty_axes {
            return Ok(x.ty.clone());
        }
        (0..r).collect()
    } else {
        norm_axes(&axes, r, "axes")?
    };
    Ok(TensorType::new(
        x.ty.dtype,
        reduced(&x.ty.shape, &axes, keepdims),
    ))
}

pub(super) fn arg(
    axis: i64,
    keepdims: bool,
    inputs: Inputs<'_, '_>,
) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "data")?;
    dtype(x, "data", is_numeric, "numeric")?;
    let r = min_rank(x, "data", 1)?;
    let a = norm_axis(axis, r)?;
    if x.ty.shape[a] == 0 {
        return Err(OpError::new(format!(
            "cannot take the arg max/min over empty axis {a} of shape {:?}",
            x.ty.shape
        )));
    }
    Ok(TensorType::new(
        DType::I64,
        reduced(&x.ty.shape, &[a], keepdims),
    ))
}
