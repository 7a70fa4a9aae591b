//! Shape-manipulating ops. Shape-carrying inputs (Reshape's shape, Slice's
//! starts, ...) must be constants: that is what lets every size be fixed at
//! compile time.

use super::util::*;
use super::{broadcast_shapes, norm_axis, InputInfo};
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::PadMode;
use crate::op_err;
use crate::tensor::Tensor;

/// A shape-carrying input that ONNX requires to be 1-D.
fn const_vec(x: InputInfo<'_>, name: &str, int32_ok: bool) -> Result<Vec<i64>, OpError> {
    rank_eq(x, name, 1)?;
    const_ints(x, name, int32_ok)
}

pub(super) fn reshape(allowzero: bool, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let x = req(inputs, 0, "data")?;
    let req_shape = const_vec(req(inputs, 1, "shape")?, "shape", false)?;
    let n_in = checked_numel(&x.ty.shape)?;
    let mut out = Vec::with_capacity(req_shape.len());
    let mut infer_at = None;
    for (i, &v) in req_shape.iter().enumerate() {
        let d = match v {
            -1 if infer_at.is_some() => {
                return Err(op_err!("shape {req_shape:?} has more than one -1"))
            }
            -1 => {
                infer_at = Some(i);
                1
            }
            0 if allowzero => 0,
            0 => *x.ty.shape.get(i).ok_or_else(|| {
                op_err!(
                    "shape {req_shape:?} copies dim {i} (0) but the input has rank {}",
                    x.ty.rank()
                )
            })?,
            v => usize::try_from(v)
                .map_err(|_| op_err!("shape {req_shape:?} has invalid dimension {v}"))?,
        };
        out.push(d);
    }
    if allowzero && infer_at.is_some() && req_shape.contains(&0) {
        return Err(op_err!(
            "shape {req_shape:?} has both 0 and -1, which allowzero=1 forbids"
        ));
    }
    if let Some(i) = infer_at {
        let known = checked_numel(&out)?;
        if known == 0 || n_in % known != 0 {
            return Err(op_err!(
                "cannot reshape {:?} ({n_in} elements) to {req_shape:?}: the -1 cannot be inferred",
                x.ty.shape
            ));
        }
        out[i] = n_in / known;
    }
    if checked_numel(&out)? != n_in {
        return Err(op_err!(
            "cannot reshape {:?} ({n_in} elements) to {req_shape:?} = {out:?}",
            x.ty.shape
        ));
    }
    Ok(TensorType::new(x.ty.dtype, out))
}

pub(super) fn flatten(axis: i64, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "input")?;
    let r = x.ty.rank() as i64;
    // Unlike most axes, Flatten's may equal the rank (everything in the first dim).
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..=r).contains(&a) {
        return Err(op_err!("axis {axis} out of range [-{r}, {r}]"));
    }
    let (outer, inner) = x.ty.shape.split_at(a as usize);
    Ok(TensorType::new(
        x.ty.dtype,
        vec![checked_numel(outer)?, checked_numel(inner)?],
    ))
}

pub(super) fn transpose(
    perm: Option<&[usize]>,
    inputs: Inputs<'_, '_>,
) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "data")?;
    let r = x.ty.rank();
    let Some(perm) = perm else {
        let rev = x.ty.shape.iter().rev().copied().collect::<Vec<_>>();
        return Ok(TensorType::new(x.ty.dtype, rev));
    };
    let mut seen = vec![false; r];
    for &p in perm {
        if p >= r || std::mem::replace(&mut seen[p], true) {
            return Err(op_err!("perm {perm:?} is not a permutation of 0..{r}"));
        }
    }
    if perm.len() != r {
        return Err(op_err!("perm {perm:?} is not a permutation of 0..{r}"));
    }
    Ok(TensorType::new(
        x.ty.dtype,
        perm.iter().map(|&p| x.ty.shape[p]).collect::<Vec<_>>(),
    ))
}

pub(super) fn squeeze(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 2)?;
    let x = req(inputs, 0, "data")?;
    let s = &x.ty.shape;
    let axes = match opt(inputs, 1) {
        Some(a) => const_vec(a, "axes", false)?,
        None => vec![],
    };
    // Absent or empty axes squeeze every size-1 dim (onnxruntime's reading).
    let out: Vec<usize> = if axes.is_empty() {
        s.iter().copied().filter(|&d| d != 1).collect()
    } else {
        let axes = norm_axes(&axes, s.len(), "axes")?;
        if let Some(&a) = axes.iter().find(|&&a| s[a] != 1) {
            return Err(op_err!(
                "cannot squeeze axis {a} of shape {s:?}: its size is {}, not 1",
                s[a]
            ));
        }
        s.iter()
            .enumerate()
            .filter(|(i, _)| !axes.contains(i))
            .map(|(_, &d)| d)
            .collect()
    };
    Ok(TensorType::new(x.ty.dtype, out))
}

pub(super) fn unsqueeze(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let x = req(inputs, 0, "data")?;
    let axes = const_vec(req(inputs, 1, "axes")?, "axes", false)?;
    let r = x.ty.rank() + axes.len();
    let axes = norm_axes(&axes, r, "axes")?;
    let mut dims = x.ty.shape.iter();
    let out = (0..r)
        .map(|i| {
            if axes.contains(&i) {
                1
            } else {
                dims.next().copied().unwrap_or(1)
            }
        })
        .collect::<Vec<_>>();
    Ok(TensorType::new(x.ty.dtype, out))
}

pub(super) fn concat(axis: i64, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    if inputs.is_empty() {
        return Err(op_err!("expected at least 1 input, got 0"));
    }
    let first = req(inputs, 0, "inputs_0")?;
    let r = min_rank(first, "inputs_0", 1)?;
    let a = norm_axis(axis, r)?;
    let mut out = first.ty.shape.clone();
    for i in 1..inputs.len() {
        let name = format!("inputs_{i}");
        let x = req(inputs, i, &name)?;
        same_dtype(first, "inputs_0", x, &name)?;
        let s = &x.ty.shape;
        let fits = s.len() == r && (0..r).all(|k| k == a || s[k] == out[k]);
        if !fits {
            return Err(op_err!(
                "input `{name}` of shape {s:?} does not match {:?} outside axis {a}",
                first.ty.shape
            ));
        }
        out[a] = checked_add(out[a], s[a])?;
    }
    Ok(TensorType::new(first.ty.dtype, out))
}

pub(super) fn shape(
    start: i64,
    end: Option<i64>,
    inputs: Inputs<'_, '_>,
) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "data")?;
    let r = x.ty.rank() as i64;
    let clamp = |v: i64| (if v < 0 { v.saturating_add(r) } else { v }).clamp(0, r);
    let (s, e) = (clamp(start), clamp(end.unwrap_or(r)));
    Ok(TensorType::new(DType::I64, vec![(e - s).max(0) as usize]))
}

pub(super) fn size(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    req(inputs, 0, "data")?;
    Ok(TensorType::new(DType::I64, vec![]))
}

pub(super) fn gather(axis: i64, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let x = req(inputs, 0, "data")?;
    let idx = req(inputs, 1, "indices")?;
    let r = min_rank(x, "data", 1)?;
    dtype(
        idx,
        "indices",
        |d| matches!(d, DType::I32 | DType::I64),
        "i32 or i64",
    )?;
    let a = norm_axis(axis, r)?;
    let d = x.ty.shape[a] as i64;
    // Out-of-range constant indices are certain runtime faults; report them now.
    if let Some(v) = idx.value {
        if let Some(bad) = v.to_i64_vec().into_iter().find(|&i| i < -d || i >= d) {
            return Err(op_err!(
                "index {bad} is out of range for axis {a} of size {d}"
            ));
        }
    }
    let mut out = x.ty.shape[..a].to_vec();
    out.extend_from_slice(&idx.ty.shape);
    out.extend_from_slice(&x.ty.shape[a + 1..]);
    Ok(TensorType::new(x.ty.dtype, out))
}

pub(super) fn constant_of_shape(
    value: &Tensor,
    inputs: Inputs<'_, '_>,
) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let dims = const_vec(req(inputs, 0, "input")?, "input", false)?;
    if value.numel() != 1 {
        return Err(op_err!(
            "attribute `value` must have one element, got shape {:?}",
            value.shape()
        ));
    }
    let out = dims_from_i64(&dims, "input")?;
    checked_numel(&out)?;
    Ok(TensorType::new(value.dtype(), out))
}

/// Start and length of a slice along one axis of size `dim`, with ONNX's
/// clamping rules (start/end clamp to `[0, dim]` for positive steps and to
/// `[0, dim-1]` / `[-1, dim-1]` for negative ones). i128 avoids overflow on
/// extreme values such as `i64::MIN` steps or `INT64_MAX` ends.
pub fn slice_range(dim: usize, start: i64, end: i64, step: i64) -> Result<(usize, usize), OpError> {
    if step == 0 {
        return Err(op_err!("slice step must not be 0"));
    }
    let (d, step) = (dim as i128, step as i128);
    let norm = |v: i64| if v < 0 { v as i128 + d } else { v as i128 };
    let (s, e) = if step > 0 {
        (norm(start).clamp(0, d), norm(end).clamp(0, d))
    } else {
        (
            norm(start).clamp(0, (d - 1).max(0)),
            norm(end).clamp(-1, d - 1),
        )
    };
    let span = if step > 0 { e - s } else { s - e };
    let len = if span <= 0 || dim == 0 {
        0
    } else {
        (span + step.abs() - 1) / step.abs()
    };
    Ok((s as usize, len as usize))
}

pub(super) fn slice(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 3, 5)?;
    let x = req(inputs, 0, "data")?;
    let r = min_rank(x, "data", 1)?;
    let starts = const_vec(req(inputs, 1, "starts")?, "starts", true)?;
    let ends = const_vec(req(inputs, 2, "ends")?, "ends", true)?;
    let n = starts.len();
    let axes = match opt(inputs, 3) {
        Some(a) => const_vec(a, "axes", true)?,
        None => (0..n as i64).collect(),
    };
    let steps = match opt(inputs, 4) {
        Some(s) => const_vec(s, "steps", true)?,
        None => vec![1; n],
    };
    if ends.len() != n || axes.len() != n || steps.len() != n {
        return Err(op_err!(
            "starts, ends, axes and steps must have equal lengths, got {n}, {}, {}, {}",
            ends.len(),
            axes.len(),
            steps.len()
        ));
    }
    let axes = norm_axes(&axes, r, "axes")?;
    let mut out = x.ty.shape.clone();
    for (k, &a) in axes.iter().enumerate() {
        out[a] = slice_range(out[a], starts[k], ends[k], steps[k])?.1;
    }
    Ok(TensorType::new(x.ty.dtype, out))
}

pub(super) fn expand(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let x = req(inputs, 0, "input")?;
    let dims = dims_from_i64(
        &const_vec(req(inputs, 1, "shape")?, "shape", false)?,
        "shape",
    )?;
    Ok(TensorType::new(
        x.ty.dtype,
        broadcast_shapes(&x.ty.shape, &dims)?,
    ))
}

pub(super) fn split(
    axis: i64,
    attr_outputs: usize,
    inputs: Inputs<'_, '_>,
    num_outputs: usize,
) -> Result<Vec<TensorType>, OpError> {
    arity(inputs, 1, 2)?;
    let x = req(inputs, 0, "input")?;
    let r = min_rank(x, "input", 1)?;
    let a = norm_axis(axis, r)?;
    let dim = x.ty.shape[a];
    if num_outputs == 0 {
        return Err(op_err!("expected at least 1 output, got 0"));
    }
    let sizes = match opt(inputs, 1) {
        Some(s) => {
            let v = const_vec(s, "split", false)?;
            let sizes = dims_from_i64(&v, "split")?;
            if sizes.len() != num_outputs {
                return Err(op_err!(
                    "input `split` has {} sizes for {num_outputs} outputs",
                    sizes.len()
                ));
            }
            let total = sizes
                .iter()
                .try_fold(0usize, |acc, &s| checked_add(acc, s))?;
            if total != dim {
                return Err(op_err!(
                    "split sizes {v:?} sum to {total}, but axis {a} has size {dim}"
                ));
            }
            sizes
        }
        None => {
            if attr_outputs != num_outputs {
                return Err(op_err!("attribute num_outputs is {attr_outputs}, but the node has {num_outputs} outputs"));
            }
            // Opset 18: chunks of ceil(dim / n), the last one smaller.
            let chunk = dim.div_ceil(num_outputs);
            let rest = chunk
                .checked_mul(num_outputs - 1)
                .and_then(|used| dim.checked_sub(used))
                .ok_or_else(|| {
                    op_err!(
                    "axis {a} of size {dim} cannot be split into {num_outputs} chunks of {chunk}"
                )
                })?;
            let mut sizes = vec![chunk; num_outputs - 1];
            sizes.push(rest);
            sizes
        }
    };
    Ok(sizes
        .into_iter()
        .map(|s| {
            let mut shape = x.ty.shape.clone();
            shape[a] = s;
            TensorType::new(x.ty.dtype, shape)
        })
        .collect())
}

pub(super) fn pad(mode: PadMode, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 4)?;
    let x = req(inputs, 0, "data")?;
    let r = x.ty.rank();
    let pads = const_vec(req(inputs, 1, "pads")?, "pads", false)?;
    if let Some(c) = opt(inputs, 2) {
        same_dtype(x, "data", c, "constant_value")?;
        scalar_like(c, "constant_value")?;
    }
    let axes = match opt(inputs, 3) {
        Some(a) => norm_axes(&const_vec(a, "axes", true)?, r, "axes")?,
        None => (0..r).collect(),
    };
    let n = axes.len();
    if pads.len() != 2 * n {
        return Err(op_err!(
            "input `pads` must have {} values (2 per axis), got {}",
            2 * n,
            pads.len()
        ));
    }
    let mut out = x.ty.shape.clone();
    for (k, &a) in axes.iter().enumerate() {
        let (d, b, e) = (out[a], pads[k], pads[k + n]);
        let new = d as i128 + b as i128 + e as i128;
        if new < 0 || new > usize::MAX as i128 {
            return Err(op_err!(
                "pads {b}, {e} on axis {a} of size {d} give invalid size {new}"
            ));
        }
        let max_pad = b.max(e);
        let ok = match mode {
            PadMode::Constant => true,
            // Reflection mirrors around the edge element, so it needs more data than the pad.
            PadMode::Reflect => max_pad <= 0 || (d as i128) > max_pad as i128,
            PadMode::Edge | PadMode::Wrap => max_pad <= 0 || d > 0,
        };
        if !ok {
            return Err(op_err!(
                "{mode:?} padding of {max_pad} does not fit axis {a} of size {d}"
            ));
        }
        out[a] = new as usize;
    }
    Ok(TensorType::new(x.ty.dtype, out))
}

pub(super) fn tile(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let x = req(inputs, 0, "input")?;
    let reps = dims_from_i64(
        &const_vec(req(inputs, 1, "repeats")?, "repeats", false)?,
        "repeats",
    )?;
    if reps.len() != x.ty.rank() {
        return Err(op_err!(
            "input `repeats` must have {} values (the input's rank), got {}",
            x.ty.rank(),
            reps.len()
        ));
    }
    let out =
        x.ty.shape
            .iter()
            .zip(&reps)
            .map(|(&d, &k)| checked_mul(d, k))
            .collect::<Result<Vec<_>, _>>()?;
    Ok(TensorType::new(x.ty.dtype, out))
}

pub(super) fn range(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 3, 3)?;
    let names = ["start", "limit", "delta"];
    let mut xs = Vec::with_capacity(3);
    for (i, name) in names.iter().enumerate() {
        let x = req(inputs, i, name)?;
        let ok = |d: DType| {
            matches!(
                d,
                DType::F32 | DType::F64 | DType::F16 | DType::BF16 | DType::I16 | DType::I32 | DType::I64
            )
        };
        dtype(x, name, ok, "f32, f64, f16, bf16, i16, i32 or i64")?;
        same_dtype(xs.first().copied().unwrap_or(x), "start", x, name)?;
        scalar_like(x, name)?;
        if x.value.is_none() {
            return Err(OpError::needs_constant(name));
        }
        xs.push(x);
    }
    let d = xs[0].ty.dtype;
    let val = |i: usize| {
        xs[i]
            .value
            .map(|t| t.to_f64_vec())
            .unwrap_or_default()
            .first()
            .copied()
            .unwrap_or(0.0)
    };
    let ival = |i: usize| {
        xs[i]
            .value
            .map(|t| t.to_i64_vec())
            .unwrap_or_default()
            .first()
            .copied()
            .unwrap_or(0)
    };
    let n: f64 = match d {
        // Count in the inputs' own precision so the evaluator and the kernels
        // agree (f16/bf16 compute in f32, like every other f16/bf16 op).
        DType::F32 | DType::F16 | DType::BF16 => {
            let (s, l, dl) = (val(0) as f32, val(1) as f32, val(2) as f32);
            if dl == 0.0 {
                return Err(op_err!("input `delta` must not be 0"));
            }
            ((l - s) / dl).ceil() as f64
        }
        DType::F64 => {
            if val(2) == 0.0 {
                return Err(op_err!("input `delta` must not be 0"));
            }
            ((val(1) - val(0)) / val(2)).ceil()
        }
        _ => {
            let (s, l, dl) = (ival(0) as i128, ival(1) as i128, ival(2) as i128);
            if dl == 0 {
                return Err(op_err!("input `delta` must not be 0"));
            }
            let (num, den) = if dl > 0 { (l - s, dl) } else { (s - l, -dl) };
            if num <= 0 {
                0.0
            } else {
                ((num + den - 1) / den) as f64
            }
        }
    };
    if !n.is_finite() {
        return Err(op_err!(
            "range with start {}, limit {}, delta {} has no finite length",
            val(0),
            val(1),
            val(2)
        ));
    }
    Ok(TensorType::new(d, vec![n.max(0.0) as usize]))
}
