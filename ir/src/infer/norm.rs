//! Normalization ops (LayerNormalization, RMSNormalization, GroupNormalization,
//! InstanceNormalization, LpNormalization, MeanVarianceNormalization) and the
//! gated activations Swish and SwiGLU.
//!
//! Every normalization is described by one [`NormPlan`]: a view of X (same
//! element order, possibly split or merged axes), which view axes are
//! reduced, and how scale/bias broadcast over the view. The evaluator and
//! the lowering both follow the plan, so the ops are defined once.

use super::norm_axis;
use super::util::*;
use crate::dtype::TensorType;
use crate::error::OpError;
use crate::op::Op;
use crate::op_err;

/// What is computed from the reduced elements of one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormKind {
    /// `(x - mean) / sqrt(var + eps)` (Layer/Group/InstanceNormalization).
    Standardize,
    /// `(x - mean) / (sqrt(var) + eps)`: MeanVarianceNormalization's function
    /// body adds its epsilon to the standard deviation, not the variance.
    StandardizeStdEps,
    /// `x / sqrt(mean(x^2) + eps)`.
    Rms,
    /// `x / sum(|x|)`.
    L1,
    /// `x / sqrt(sum(x^2))`.
    L2,
}

/// How a normalization op maps onto "reduce groups of X, then rescale".
#[derive(Clone, Debug, PartialEq)]
pub struct NormPlan {
    pub kind: NormKind,
    pub epsilon: f64,
    /// A row-major view of X with the same element order.
    pub dims: Vec<usize>,
    /// Per view axis: whether it is reduced.
    pub reduced: Vec<bool>,
    /// Element strides of the scale input over `dims` (0 = broadcast).
    pub scale: Option<Vec<i64>>,
    /// Element strides of the bias input over `dims`.
    pub bias: Option<Vec<i64>>,
}

impl NormPlan {
    /// Number of elements in each reduced group.
    pub fn group_len(&self) -> usize {
        self.dims.iter().zip(&self.reduced).filter(|(_, r)| **r).map(|(d, _)| d).product()
    }
}

/// Strides of a tensor of `shape` broadcast (numpy, unidirectionally) to `to`.
fn bcast_to(shape: &[usize], to: &[usize], name: &str) -> Result<Vec<i64>, OpError> {
    if shape.len() > to.len() {
        return Err(op_err!("input `{name}` of shape {shape:?} does not broadcast to {to:?}"));
    }
    let off = to.len() - shape.len();
    let mut st = vec![0i64; to.len()];
    let mut acc = 1i64;
    for j in (0..shape.len()).rev() {
        let (s, t) = (shape[j], to[j + off]);
        if s != t && s != 1 {
            return Err(op_err!("input `{name}` of shape {shape:?} does not broadcast to {to:?}"));
        }
        st[j + off] = if s == 1 { 0 } else { acc };
        acc *= s as i64;
    }
    Ok(st)
}

/// Strides of a 1-D per-channel (or per-group) vector of length `len` over
/// a view, given the stride it advances by along the view.
fn vector(shape: &[usize], len: usize, name: &str, st: Vec<i64>) -> Result<Vec<i64>, OpError> {
    if shape != [len] {
        return Err(op_err!("input `{name}` must have shape [{len}], got {shape:?}"));
    }
    Ok(st)
}

/// The plan of a normalization op for inputs of the given shapes (`None` =
/// omitted optional input). Errors for ops that are not normalizations.
pub fn norm_plan(op: &Op, shapes: &[Option<&[usize]>]) -> Result<NormPlan, OpError> {
    let sh = |i: usize| shapes.get(i).copied().flatten();
    let x = sh(0).ok_or_else(|| op_err!("required input `X` (#0) is missing"))?;
    let r = x.len();
    let plain = |kind, epsilon: f64, reduced: Vec<bool>| NormPlan {
        kind,
        epsilon,
        dims: x.to_vec(),
        reduced,
        scale: None,
        bias: None,
    };
    match op {
        Op::LayerNormalization { axis, epsilon } | Op::RMSNormalization { axis, epsilon } => {
            let a = norm_axis(*axis, r)?;
            let kind = match op {
                Op::LayerNormalization { .. } => NormKind::Standardize,
                _ => NormKind::Rms,
            };
            let mut p = plain(kind, *epsilon as f64, (0..r).map(|i| i >= a).collect());
            let s = sh(1).ok_or_else(|| op_err!("required input `Scale` (#1) is missing"))?;
            p.scale = Some(bcast_to(s, x, "Scale")?);
            p.bias = sh(2).map(|b| bcast_to(b, x, "B")).transpose()?;
            Ok(p)
        }
        Op::InstanceNormalization { epsilon } => {
            if r < 3 {
                return Err(op_err!("input must be [N, C, D1, ...] (rank >= 3), got {x:?}"));
            }
            let (n, c, s) = (x[0], x[1], x[2..].iter().product::<usize>());
            let st = vec![0, 1, 0];
            let scale = sh(1).ok_or_else(|| op_err!("required input `scale` (#1) is missing"))?;
            let bias = sh(2).ok_or_else(|| op_err!("required input `B` (#2) is missing"))?;
            Ok(NormPlan {
                kind: NormKind::Standardize,
                epsilon: *epsilon as f64,
                dims: vec![n, c, s],
                reduced: vec![false, false, true],
                scale: Some(vector(scale, c, "scale", st.clone())?),
                bias: Some(vector(bias, c, "B", st)?),
            })
        }
        Op::GroupNormalization { num_groups, epsilon } => group_plan(x, *num_groups, *epsilon, sh(1), sh(2)),
        Op::LpNormalization { axis, p } => {
            let a = norm_axis(*axis, r)?;
            let kind = match p {
                1 => NormKind::L1,
                2 => NormKind::L2,
                _ => return Err(op_err!("p must be 1 or 2, got {p}")),
            };
            Ok(plain(kind, 0.0, (0..r).map(|i| i == a).collect()))
        }
        Op::MeanVarianceNormalization { axes } => {
            let mut reduced = vec![false; r];
            for &ax in axes {
                // norm_axis accepts axis 0 for rank 0; there is nothing to reduce then.
                let slot = reduced.get_mut(norm_axis(ax, r)?);
                *slot.ok_or_else(|| op_err!("axis {ax} out of range for rank {r}"))? = true;
            }
            Ok(plain(NormKind::StandardizeStdEps, 1e-9, reduced))
        }
        other => Err(op_err!("{} is not a normalization op", other.onnx_name())),
    }
}

/// GroupNormalization: X viewed as [N, G, C/G, S]; scale/bias are per
/// channel ([C], opset 21) or per group ([G], opset 18).
fn group_plan(
    x: &[usize],
    g: usize,
    epsilon: f32,
    scale: Option<&[usize]>,
    bias: Option<&[usize]>,
) -> Result<NormPlan, OpError> {
    if x.len() < 2 {
        return Err(op_err!("input must be [N, C, ...] (rank >= 2), got {x:?}"));
    }
    let (n, c, s) = (x[0], x[1], x[2..].iter().product::<usize>());
    if g == 0 || c % g != 0 {
        return Err(op_err!("num_groups {g} must be positive and divide the {c} channels"));
    }
    let cg = c / g;
    let per = |v: Option<&[usize]>, name: &str| -> Result<Vec<i64>, OpError> {
        let v = v.ok_or_else(|| op_err!("required input `{name}` is missing"))?;
        if v == [c] {
            Ok(vec![0, cg as i64, 1, 0])
        } else if v == [g] {
            Ok(vec![0, 1, 0, 0])
        } else {
            Err(op_err!("input `{name}` must have shape [{c}] (or [{g}]), got {v:?}"))
        }
    };
    Ok(NormPlan {
        kind: NormKind::Standardize,
        epsilon: epsilon as f64,
        dims: vec![n, g, cg, s],
        reduced: vec![false, false, true, true],
        scale: Some(per(scale, "scale")?),
        bias: Some(per(bias, "bias")?),
    })
}

/// Output types of a normalization op: Y has X's type; LayerNormalization's
/// Mean and InvStdDev keep X's leading axes and have 1s from `axis` on.
pub(super) fn norm(
    op: &Op,
    inputs: Inputs<'_, '_>,
    num_outputs: usize,
) -> Result<Vec<TensorType>, OpError> {
    let (min_in, max_in, max_out) = match op {
        Op::LayerNormalization { .. } => (2, 3, 3),
        Op::RMSNormalization { .. } => (2, 2, 1),
        Op::InstanceNormalization { .. } | Op::GroupNormalization { .. } => (3, 3, 1),
        _ => (1, 1, 1),
    };
    arity(inputs, min_in, max_in)?;
    if num_outputs < 1 || num_outputs > max_out {
        return Err(op_err!("expected 1 to {max_out} outputs, got {num_outputs}"));
    }
    let x = req(inputs, 0, "X")?;
    dtype(x, "X", is_float, "a float")?;
    for i in 1..inputs.len() {
        if let Some(v) = opt(inputs, i) {
            same_dtype(x, "X", v, &format!("#{i}"))?;
        }
    }
    let shapes: Vec<Option<&[usize]>> =
        inputs.iter().map(|i| i.map(|v| v.ty.shape.as_slice())).collect();
    let plan = norm_plan(op, &shapes)?;
    let mut out = vec![x.ty.clone()];
    if num_outputs > 1 {
        let stat: Vec<usize> =
            x.ty.shape.iter().zip(&plan.reduced).map(|(&d, &r)| if r { 1 } else { d }).collect();
        for _ in 1..num_outputs {
            out.push(TensorType::new(x.ty.dtype, stat.clone()));
        }
    }
    Ok(out)
}

/// Swish (one input) and SwiGLU (two inputs of identical shape and dtype).
pub(super) fn gated(op: &Op, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    let two = matches!(op, Op::SwiGLU { .. });
    let n = if two { 2 } else { 1 };
    arity(inputs, n, n)?;
    let a = req(inputs, 0, "A")?;
    dtype(a, "A", is_float, "a float")?;
    if two {
        let b = req(inputs, 1, "B")?;
        same_dtype(a, "A", b, "B")?;
        if a.ty.shape != b.ty.shape {
            return Err(op_err!(
                "inputs `A` and `B` must have the same shape (no broadcasting), got {:?} and {:?}",
                a.ty.shape,
                b.ty.shape
            ));
        }
    }
    Ok(a.ty.clone())
}
