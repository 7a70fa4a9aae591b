//! Normalization ops and Swish/SwiGLU. Normalizations follow the op's
//! `NormPlan` (see `infer/norm.rs`) and compute in f64, two-pass (mean,
//! then the mean of squared deviations), as the ONNX reference does.

use super::util::{arg, index_map, Data};
use crate::dtype::DType;
use crate::error::OpError;
use crate::infer::{norm_plan, NormKind, NormPlan};
use crate::op::Op;
use crate::op_err;
use crate::tensor::Tensor;

type Out = Result<Vec<Tensor>, OpError>;
type Args<'a, 'b> = &'a [Option<&'b Tensor>];

/// Builds a tensor of `dtype` (a float type) from f64 values.
fn float_tensor(dtype: DType, shape: &[usize], v: Vec<f64>) -> Result<Tensor, OpError> {
    let d = match dtype {
        DType::F64 => Data::F64(v),
        DType::F32 | DType::F16 | DType::BF16 => Data::F32(v.into_iter().map(|x| x as f32).collect()),
        other => return Err(op_err!("expected a float tensor, got {other}")),
    };
    d.into_tensor(dtype, shape)
}

/// Flat indices of every view element, grouped: outer (kept) axes first in
/// row-major order, then the reduced axes, walking `strides` over `dims`.
fn grouped(plan: &NormPlan, strides: &[i64]) -> Vec<usize> {
    let order: Vec<usize> = (0..plan.dims.len())
        .filter(|&i| !plan.reduced[i])
        .chain((0..plan.dims.len()).filter(|&i| plan.reduced[i]))
        .collect();
    let dims: Vec<usize> = order.iter().map(|&i| plan.dims[i]).collect();
    let step: Vec<isize> = order.iter().map(|&i| strides[i] as isize).collect();
    index_map(&dims, &step, 0)
}

fn row_major(dims: &[usize]) -> Vec<i64> {
    let mut s = vec![1i64; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1] as i64;
    }
    s
}

/// LpNormalization maps an all-zero group to zeros (the reference's 0/0 = 0).
fn inv_or_zero(norm: f64) -> f64 {
    if norm == 0.0 {
        0.0
    } else {
        1.0 / norm
    }
}

/// One group's statistic: (center, multiplier), so `y = (x - c) * m`.
fn group_stats(kind: NormKind, eps: f64, vals: &[f64]) -> (f64, f64) {
    let n = vals.len() as f64;
    let mean = vals.iter().sum::<f64>() / n;
    let var = || vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    match kind {
        NormKind::Standardize => (mean, 1.0 / (var() + eps).sqrt()),
        NormKind::StandardizeStdEps => (mean, 1.0 / (var().sqrt() + eps)),
        NormKind::Rms => (0.0, 1.0 / (vals.iter().map(|v| v * v).sum::<f64>() / n + eps).sqrt()),
        NormKind::L1 => (0.0, inv_or_zero(vals.iter().map(|v| v.abs()).sum::<f64>())),
        NormKind::L2 => (0.0, inv_or_zero(vals.iter().map(|v| v * v).sum::<f64>().sqrt())),
    }
}

pub(crate) fn normalize(op: &Op, inputs: Args, n_out: usize) -> Out {
    let shapes: Vec<Option<&[usize]>> = inputs.iter().map(|t| t.map(|t| t.shape())).collect();
    let plan = norm_plan(op, &shapes)?;
    let x = arg(inputs, 0)?;
    let xv = x.to_f64_vec();
    let idx = grouped(&plan, &row_major(&plan.dims));
    let affine = |st: &Option<Vec<i64>>, i: usize| -> Option<(Vec<f64>, Vec<usize>)> {
        let t = inputs.get(i).copied().flatten()?;
        Some((t.to_f64_vec(), grouped(&plan, st.as_ref()?)))
    };
    let scale = affine(&plan.scale, 1);
    let bias = affine(&plan.bias, 2);
    let g = plan.group_len().max(1);
    let mut y = vec![0.0; xv.len()];
    let (mut means, mut invs) = (Vec::new(), Vec::new());
    let mut vals = Vec::with_capacity(g);
    for (gi, chunk) in idx.chunks(g).enumerate() {
        vals.clear();
        vals.extend(chunk.iter().map(|&i| xv[i]));
        let (c, m) = group_stats(plan.kind, plan.epsilon, &vals);
        means.push(c);
        invs.push(m);
        for (k, &i) in chunk.iter().enumerate() {
            let mut v = (xv[i] - c) * m;
            if let Some((s, si)) = &scale {
                v *= s[si[gi * g + k]];
            }
            if let Some((b, bi)) = &bias {
                v += b[bi[gi * g + k]];
            }
            y[i] = v;
        }
    }
    let mut out = vec![float_tensor(x.dtype(), x.shape(), y)?];
    if n_out > 1 {
        let stat: Vec<usize> =
            x.shape().iter().zip(&plan.reduced).map(|(&d, &r)| if r { 1 } else { d }).collect();
        for v in [means, invs].into_iter().take(n_out - 1) {
            out.push(float_tensor(x.dtype(), &stat, v)?);
        }
    }
    Ok(out)
}

/// Swish `a * sigmoid(alpha * a)`, times `b` for SwiGLU.
pub(crate) fn gated(alpha: f32, inputs: Args) -> Out {
    let a = arg(inputs, 0)?;
    let av = a.to_f64_vec();
    let bv = match inputs.get(1).copied().flatten() {
        Some(b) if b.shape() != a.shape() => {
            return Err(op_err!("A and B must have the same shape, got {:?} and {:?}", a.shape(), b.shape()))
        }
        Some(b) => Some(b.to_f64_vec()),
        None => None,
    };
    let alpha = alpha as f64;
    let y: Vec<f64> = av
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let s = x / (1.0 + (-alpha * x).exp());
            bv.as_ref().map_or(s, |b| s * b[i])
        })
        .collect();
    Ok(vec![float_tensor(a.dtype(), a.shape(), y)?])
}
