//! Shape rules of the ops with data-dependent output extents (see
//! `crate::dynamic`): each output type is the static upper bound.

use super::util::*;
use super::InputInfo;
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::Op;
use crate::op_err;

pub(super) fn infer(op: &Op, inputs: &[Option<InputInfo<'_>>], num_outputs: usize) -> Result<Vec<TensorType>, OpError> {
    match op {
        Op::NonZero => {
            arity(inputs, 1, 1)?;
            let x = req(inputs, 0, "X")?;
            Ok(vec![TensorType::new(DType::I64, vec![x.ty.rank().max(1), x.ty.numel()])])
        }
        Op::Compress { axis } => compress(*axis, inputs).map(|t| vec![t]),
        Op::Unique { axis, .. } => unique(*axis, inputs, num_outputs),
        Op::NonMaxSuppression { .. } => nms(inputs).map(|t| vec![t]),
        other => Err(op_err!("{} has no data-dependent shape rule", other.onnx_name())),
    }
}

fn axis_of(axis: i64, rank: usize) -> Result<usize, OpError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..r).contains(&a) {
        return Err(op_err!("axis {axis} out of range for rank {rank}"));
    }
    Ok(a as usize)
}

fn compress(axis: Option<i64>, inputs: &[Option<InputInfo<'_>>]) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let x = req(inputs, 0, "input")?;
    let c = req(inputs, 1, "condition")?;
    dtype(c, "condition", is_bool, "bool")?;
    if c.ty.rank() != 1 {
        return Err(op_err!("condition must be 1-D, got shape {:?}", c.ty.shape));
    }
    let n = c.ty.shape[0];
    Ok(match axis {
        None => TensorType::new(x.ty.dtype, vec![n.min(x.ty.numel())]),
        Some(a) => {
            let a = axis_of(a, x.ty.rank())?;
            let mut s = x.ty.shape.clone();
            s[a] = s[a].min(n);
            TensorType::new(x.ty.dtype, s)
        }
    })
}

fn unique(axis: Option<i64>, inputs: &[Option<InputInfo<'_>>], n_out: usize) -> Result<Vec<TensorType>, OpError> {
    arity(inputs, 1, 1)?;
    if n_out == 0 || n_out > 4 {
        return Err(op_err!("expected 1 to 4 outputs (Y, indices, inverse_indices, counts), got {n_out}"));
    }
    let x = req(inputs, 0, "X")?;
    let (y, len) = match axis {
        None => (vec![x.ty.numel()], x.ty.numel()),
        Some(a) => {
            let a = axis_of(a, x.ty.rank())?;
            (x.ty.shape.clone(), x.ty.shape[a])
        }
    };
    let mut out = vec![
        TensorType::new(x.ty.dtype, y),
        TensorType::new(DType::I64, vec![len]),
        TensorType::new(DType::I64, vec![len]),
        TensorType::new(DType::I64, vec![len]),
    ];
    out.truncate(n_out);
    Ok(out)
}

fn nms(inputs: &[Option<InputInfo<'_>>]) -> Result<TensorType, OpError> {
    arity(inputs, 2, 5)?;
    let boxes = req(inputs, 0, "boxes")?;
    let scores = req(inputs, 1, "scores")?;
    dtype(boxes, "boxes", |d| d == DType::F32, "f32")?;
    dtype(scores, "scores", |d| d == DType::F32, "f32")?;
    let (b, n) = match boxes.ty.shape.as_slice() {
        [b, n, 4] => (*b, *n),
        s => return Err(op_err!("boxes must be [batches, boxes, 4], got {s:?}")),
    };
    let c = match scores.ty.shape.as_slice() {
        [sb, c, sn] if *sb == b && *sn == n => *c,
        s => return Err(op_err!("scores must be [{b}, classes, {n}], got {s:?}")),
    };
    let mut per_class = n;
    if let Some(m) = opt(inputs, 2) {
        dtype(m, "max_output_boxes_per_class", |d| d == DType::I64, "i64")?;
        if let Some(v) = m.value.and_then(|t| t.to_i64_vec().first().copied()) {
            per_class = per_class.min(v.max(0) as usize);
        }
    } else {
        per_class = 0;
    }
    for (i, name) in [(3, "iou_threshold"), (4, "score_threshold")] {
        if let Some(t) = opt(inputs, i) {
            dtype(t, name, |d| d == DType::F32, "f32")?;
        }
    }
    let bound = checked_mul(checked_mul(b, c)?, per_class)?;
    Ok(TensorType::new(DType::I64, vec![bound, 3]))
}
