//! Attention, following `AttnPlan` (see `infer/attention.rs`) and the ONNX
//! reference: the additive bias is the mask (bool: false = -inf; keys past
//! the mask's length are masked), plus causal / sliding-window / padding
//! -inf terms; rows whose bias is all -inf produce zeros.

use super::util::{arg, Data};
use crate::dtype::DType;
use crate::error::OpError;
use crate::infer::{attn_plan, AttnPlan, Strides4};
use crate::op::Op;
use crate::op_err;
use crate::tensor::Tensor;

type Out = Result<Vec<Tensor>, OpError>;
type Args<'a, 'b> = &'a [Option<&'b Tensor>];

fn at(s: &Strides4, b: usize, h: usize, i: usize, d: usize) -> usize {
    (b as i64 * s[0] + h as i64 * s[1] + i as i64 * s[2] + d as i64 * s[3]) as usize
}

fn float_tensor(dtype: DType, shape: Vec<usize>, v: Vec<f64>) -> Result<Tensor, OpError> {
    let d = match dtype {
        DType::F64 => Data::F64(v),
        _ => Data::F32(v.into_iter().map(|x| x as f32).collect()),
    };
    d.into_tensor(dtype, &shape)
}

/// The cache after appending the new keys (or values): [B, Hkv, T, dim].
fn present(p: &AttnPlan, past: Option<&Tensor>, new: &Tensor, st: &Strides4, dim: usize) -> Vec<f64> {
    let (pv, nv) = (past.map(|t| t.to_f64_vec()), new.to_f64_vec());
    let mut out = Vec::with_capacity(p.batch * p.kv_heads * p.total_len * dim);
    for b in 0..p.batch {
        for h in 0..p.kv_heads {
            for j in 0..p.total_len {
                for d in 0..dim {
                    out.push(match &pv {
                        Some(pv) if j < p.past_len => pv[((b * p.kv_heads + h) * p.past_len + j) * dim + d],
                        _ => nv[at(st, b, h, j - p.past_len, d)],
                    });
                }
            }
        }
    }
    out
}

/// The additive bias of key `j` for query `i` (0 or -inf, or the float mask).
#[allow(clippy::too_many_arguments)]
fn bias(op: &Op, p: &AttnPlan, mask: Option<&[f64]>, nonpad: Option<&[f64]>, b: usize, h: usize, i: usize, j: usize) -> f64 {
    let Op::Attention { is_causal, left_window, right_window, .. } = op else { return 0.0 };
    let mut v = 0.0;
    if let (Some(m), Some(mp)) = (mask, &p.mask) {
        v = if j >= mp.len {
            f64::NEG_INFINITY
        } else {
            let x = m[at(&mp.strides, b, h, i, j)];
            if mp.is_bool { if x != 0.0 { 0.0 } else { f64::NEG_INFINITY } } else { x }
        };
    }
    // Causal and window masks are aligned to the end of the attended keys.
    let offset = match nonpad {
        Some(n) => n[b] as i64 - p.q_len as i64,
        None => p.past_len as i64,
    };
    let diff = i as i64 + offset - j as i64;
    let masked = (*is_causal && diff < 0)
        || (*left_window >= 0 && diff > *left_window)
        || (*right_window >= 0 && -diff > *right_window)
        || nonpad.is_some_and(|n| j as f64 >= n[b]);
    if masked {
        v = f64::NEG_INFINITY;
    }
    v
}

pub(crate) fn attention(op: &Op, inputs: Args, n_out: usize) -> Out {
    let Op::Attention { softcap, qk_matmul_output_mode: mode, .. } = op else {
        return Err(op_err!("not Attention"));
    };
    let shapes: Vec<Option<&[usize]>> = inputs.iter().map(|t| t.map(|t| t.shape())).collect();
    let get = |i: usize| inputs.get(i).copied().flatten();
    let mask_bool = get(3).is_some_and(|m| m.dtype() == DType::Bool);
    let p = attn_plan(op, &shapes, mask_bool)?;
    let (q, k, v) = (arg(inputs, 0)?, arg(inputs, 1)?, arg(inputs, 2)?);
    let qv = q.to_f64_vec();
    let kc = present(&p, get(4), k, &p.k, p.head_size);
    let vc = present(&p, get(5), v, &p.v, p.v_head_size);
    let mask = get(3).map(|m| m.to_f64_vec());
    let nonpad = get(6).map(|n| n.to_f64_vec());
    let (t, dk, dv) = (p.total_len, p.head_size, p.v_head_size);
    let mut y = vec![0.0; p.batch * p.q_heads * p.q_len * dv];
    let mut qk = vec![0.0; p.batch * p.q_heads * p.q_len * t];
    let group = p.q_heads / p.kv_heads;
    let (mut x, mut bs) = (vec![0.0; t], vec![0.0; t]);
    for b in 0..p.batch {
        for h in 0..p.q_heads {
            let hk = h / group;
            let kv_base = (b * p.kv_heads + hk) * t;
            for i in 0..p.q_len {
                let row = ((b * p.q_heads + h) * p.q_len + i) * t;
                for j in 0..t {
                    let mut s = (0..dk).map(|d| qv[at(&p.q, b, h, i, d)] * kc[(kv_base + j) * dk + d]).sum::<f64>() * p.scale;
                    if *softcap > 0.0 {
                        let c = *softcap as f64;
                        s = c * (s / c).tanh();
                    }
                    bs[j] = bias(op, &p, mask.as_deref(), nonpad.as_deref(), b, h, i, j);
                    x[j] = s + bs[j];
                    qk[row + j] = if *mode == 2 { x[j] } else { s };
                }
                let all_masked = bs.iter().all(|&v| v == f64::NEG_INFINITY);
                let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let m = if m == f64::NEG_INFINITY { 0.0 } else { m };
                let e: Vec<f64> = x.iter().map(|&v| (v - m).exp()).collect();
                let sum: f64 = e.iter().sum();
                let sum = if sum == 0.0 { 1.0 } else { sum };
                for j in 0..t {
                    let pj = if all_masked { 0.0 } else { e[j] / sum };
                    if *mode == 3 {
                        qk[row + j] = pj;
                    }
                    for d in 0..dv {
                        y[at(&p.y, b, h, i, d)] += pj * vc[(kv_base + j) * dv + d];
                    }
                }
            }
        }
    }
    let dt = q.dtype();
    let y_shape = if p.rank3 { vec![p.batch, p.q_len, p.q_heads * dv] } else { vec![p.batch, p.q_heads, p.q_len, dv] };
    let outs = [
        (y_shape, y),
        (vec![p.batch, p.kv_heads, t, dk], kc),
        (vec![p.batch, p.kv_heads, t, dv], vc),
        (vec![p.batch, p.q_heads, p.q_len, t], qk),
    ];
    outs.into_iter().take(n_out).map(|(s, v)| float_tensor(dt, s, v)).collect()
}

/// RotaryEmbedding: rotates pairs (x1, x2) of each head's first `rot` dims
/// (halves, or adjacent pairs when interleaved) by the cached angle.
pub(crate) fn rotary(op: &Op, inputs: Args) -> Out {
    let Op::RotaryEmbedding { interleaved, .. } = op else {
        return Err(op_err!("not RotaryEmbedding"));
    };
    let shapes: Vec<Option<&[usize]>> = inputs.iter().map(|t| t.map(|t| t.shape())).collect();
    let p = crate::infer::rotary_plan(op, &shapes)?;
    let x = arg(inputs, 0)?;
    let (xv, cos, sin) = (x.to_f64_vec(), arg(inputs, 1)?.to_f64_vec(), arg(inputs, 2)?.to_f64_vec());
    let pos = inputs.get(3).copied().flatten().map(|t| t.to_i64_vec());
    let half = p.rot / 2;
    let mut y = xv.clone();
    for b in 0..p.batch {
        for s in 0..p.seq {
            let row = match &pos {
                Some(ids) => {
                    let r = ids[b * p.seq + s];
                    usize::try_from(r).ok().filter(|&r| r < p.cache_rows).ok_or_else(|| op_err!("position id {r} is outside the {} cached positions", p.cache_rows))?
                }
                None => b * p.seq + s,
            };
            for h in 0..p.heads {
                for k in 0..half {
                    let (i1, i2) = if *interleaved { (2 * k, 2 * k + 1) } else { (k, k + half) };
                    let (a1, a2) = (at(&p.x, b, h, s, i1), at(&p.x, b, h, s, i2));
                    let (c, sn) = (cos[row * half + k], sin[row * half + k]);
                    y[a1] = c * xv[a1] - sn * xv[a2];
                    y[a2] = sn * xv[a1] + c * xv[a2];
                }
            }
        }
    }
    Ok(vec![float_tensor(x.dtype(), x.shape().to_vec(), y)?])
}
