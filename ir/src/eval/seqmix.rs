//! LinearAttention and CausalConvWithState, as the ONNX reference: the
//! recurrence runs token by token in f64 on a [B, Hkv, dk, dv] state.

use super::util::arg;
use crate::dtype::DType;
use crate::error::OpError;
use crate::infer::{causal_conv_dims, lin_attn_plan};
use crate::op::Op;
use crate::op_err;
use crate::tensor::Tensor;

type Out = Result<Vec<Tensor>, OpError>;
type Args<'a, 'b> = &'a [Option<&'b Tensor>];

fn shapes<'a>(inputs: Args<'_, 'a>) -> Vec<Option<&'a [usize]>> {
    inputs.iter().map(|t| t.map(|t| t.shape())).collect()
}

pub(crate) fn linear_attention(op: &Op, inputs: Args, n_out: usize) -> Out {
    let p = lin_attn_plan(op, &shapes(inputs))?;
    let get = |i: usize| inputs.get(i).copied().flatten().map(|t| t.to_f64_vec());
    let (q, k, v) = (arg(inputs, 0)?.to_f64_vec(), arg(inputs, 1)?.to_f64_vec(), arg(inputs, 2)?.to_f64_vec());
    let (decay, beta) = (get(4), get(5));
    let (b_, t_, hq, hkv, dk, dv) = (p.batch, p.seq, p.q_heads, p.kv_heads, p.dk, p.dv);
    let group = hq / hkv;
    let mut state = get(3).unwrap_or_else(|| vec![0.0; b_ * hkv * dk * dv]);
    let mut out = vec![0.0; b_ * t_ * hq * dv];
    let mut vt = vec![0.0; dv];
    for b in 0..b_ {
        for t in 0..t_ {
            let row = b * t_ + t;
            for h in 0..hkv {
                let s = &mut state[(b * hkv + h) * dk * dv..][..dk * dv];
                let kt = &k[row * hkv * dk + h * dk..][..dk];
                if let (Some(dec), Some(per_key)) = (&decay, p.decay_per_key) {
                    for d in 0..dk {
                        let g = if per_key { dec[row * hkv * dk + h * dk + d] } else { dec[row * hkv + h] };
                        s[d * dv..][..dv].iter_mut().for_each(|x| *x *= g.exp());
                    }
                }
                vt.copy_from_slice(&v[row * hkv * dv + h * dv..][..dv]);
                if let (Some(beta), Some(bl)) = (&beta, p.beta_len) {
                    let bt = beta[row * bl + if bl == 1 { 0 } else { h }];
                    for m in 0..dv {
                        let retrieved: f64 = (0..dk).map(|d| s[d * dv + m] * kt[d]).sum();
                        vt[m] = bt * (vt[m] - retrieved);
                    }
                }
                for d in 0..dk {
                    for m in 0..dv {
                        s[d * dv + m] += kt[d] * vt[m];
                    }
                }
            }
            for h in 0..hq {
                let s = &state[(b * hkv + h / group) * dk * dv..][..dk * dv];
                let qt = &q[row * hq * dk + h * dk..][..dk];
                for m in 0..dv {
                    let o: f64 = (0..dk).map(|d| qt[d] * s[d * dv + m]).sum();
                    out[row * hq * dv + h * dv + m] = p.scale * o;
                }
            }
        }
    }
    let q_t = arg(inputs, 0)?;
    let sdt = inputs.get(3).copied().flatten().map_or(q_t.dtype(), |t| t.dtype());
    let outs = [
        Tensor::from_f64(q_t.dtype(), vec![b_, t_, hq * dv], &out),
        Tensor::from_f64(sdt, vec![b_, hkv, dk, dv], &state),
        Tensor::from_f64(DType::F32, vec![b_, hkv, dk, dv], &state),
    ];
    Ok(outs.into_iter().take(n_out).collect())
}

/// Depthwise causal conv over [past_state (or zeros), input]; the new
/// state is the last K-1 positions of that concatenation.
pub(crate) fn causal_conv(op: &Op, inputs: Args, n_out: usize) -> Out {
    let Op::CausalConvWithState { silu } = op else { return Err(op_err!("not CausalConvWithState")) };
    let [b_, c_, l, k] = causal_conv_dims(&shapes(inputs))?;
    let x = arg(inputs, 0)?;
    let (xv, w) = (x.to_f64_vec(), arg(inputs, 1)?.to_f64_vec());
    let bias = inputs.get(2).copied().flatten().map(|t| t.to_f64_vec());
    let past = inputs.get(3).copied().flatten().map(|t| t.to_f64_vec());
    let (pl, tl) = (k - 1, k - 1 + l);
    let mut y = vec![0.0; b_ * c_ * l];
    let mut present = vec![0.0; b_ * c_ * pl];
    for bc in 0..b_ * c_ {
        let c = bc % c_;
        let padded = |j: usize| if j < pl { past.as_ref().map_or(0.0, |p| p[bc * pl + j]) } else { xv[bc * l + j - pl] };
        for i in 0..l {
            let mut acc = bias.as_ref().map_or(0.0, |b| b[c]);
            for j in 0..k {
                acc += w[c * k + j] * padded(i + j);
            }
            if *silu {
                acc /= 1.0 + (-acc).exp();
            }
            y[bc * l + i] = acc;
        }
        for j in 0..pl {
            present[bc * pl + j] = padded(tl - pl + j);
        }
    }
    let d = x.dtype();
    let outs = [Tensor::from_f64(d, vec![b_, c_, l], &y), Tensor::from_f64(d, vec![b_, c_, pl], &present)];
    Ok(outs.into_iter().take(n_out).collect())
}
