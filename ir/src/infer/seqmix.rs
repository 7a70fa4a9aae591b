//! LinearAttention and CausalConvWithState (opset 27): the recurrent
//! token mixers of linear-attention / state-space models. [`LinAttnPlan`]
//! resolves the packed [B, T, H*D] layouts once for the evaluator and the
//! lowering.

use super::util::*;
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::Op;
use crate::op_err;

#[derive(Clone, Debug, PartialEq)]
pub struct LinAttnPlan {
    pub batch: usize,
    pub seq: usize,
    pub q_heads: usize,
    pub kv_heads: usize,
    pub dk: usize,
    pub dv: usize,
    /// decay's last dim is Hkv*dk (true) or Hkv (false); None without decay.
    pub decay_per_key: Option<bool>,
    /// beta's last dim (Hkv or 1); None without beta.
    pub beta_len: Option<usize>,
    pub has_past: bool,
    pub scale: f64,
}

/// The plan for LinearAttention inputs of the given shapes.
pub fn lin_attn_plan(op: &Op, shapes: &[Option<&[usize]>]) -> Result<LinAttnPlan, OpError> {
    let Op::LinearAttention { q_num_heads: hq, kv_num_heads: hkv, scale, rule } = op else {
        return Err(op_err!("{} is not LinearAttention", op.onnx_name()));
    };
    let (hq, hkv) = (*hq, *hkv);
    let sh = |i: usize, n: &str| shapes.get(i).copied().flatten().ok_or_else(|| op_err!("required input `{n}` (#{i}) is missing"));
    let (q, k, v) = (sh(0, "query")?, sh(1, "key")?, sh(2, "value")?);
    if q.len() != 3 || k.len() != 3 || v.len() != 3 {
        return Err(op_err!("query, key, value must be 3-D [B, T, H*D], got {q:?}, {k:?}, {v:?}"));
    }
    if hq == 0 || hkv == 0 || hq % hkv != 0 {
        return Err(op_err!("q_num_heads ({hq}) must be a positive multiple of kv_num_heads ({hkv})"));
    }
    let (b, t) = (q[0], q[1]);
    if k[..2] != [b, t] || v[..2] != [b, t] || q[2] % hq != 0 || k[2] % hkv != 0 || v[2] % hkv != 0 {
        return Err(op_err!("query {q:?}, key {k:?}, value {v:?} do not fit {hq} q heads and {hkv} kv heads"));
    }
    let (dk, dv) = (q[2] / hq, v[2] / hkv);
    if k[2] / hkv != dk {
        return Err(op_err!("key head size {} differs from query head size {dk}", k[2] / hkv));
    }
    let has_past = match shapes.get(3).copied().flatten() {
        None => false,
        Some(p) if p == [b, hkv, dk, dv] => true,
        Some(p) => return Err(op_err!("past_state must be [{b}, {hkv}, {dk}, {dv}], got {p:?}")),
    };
    let decay = shapes.get(4).copied().flatten();
    let beta = shapes.get(5).copied().flatten();
    if rule.gated() != decay.is_some() {
        return Err(op_err!("update rule {rule:?} {} the decay input", if rule.gated() { "requires" } else { "forbids" }));
    }
    if rule.delta() != beta.is_some() {
        return Err(op_err!("update rule {rule:?} {} the beta input", if rule.delta() { "requires" } else { "forbids" }));
    }
    let decay_per_key = match decay {
        None => None,
        Some(d) if d.len() == 3 && d[..2] == [b, t] && d[2] == hkv * dk => Some(true),
        Some(d) if d.len() == 3 && d[..2] == [b, t] && d[2] == hkv => Some(false),
        Some(d) => return Err(op_err!("decay must be [{b}, {t}, {hkv}] or [{b}, {t}, {}], got {d:?}", hkv * dk)),
    };
    let beta_len = match beta {
        None => None,
        Some(x) if x.len() == 3 && x[..2] == [b, t] && (x[2] == hkv || x[2] == 1) => Some(x[2]),
        Some(x) => return Err(op_err!("beta must be [{b}, {t}, {hkv}] or [{b}, {t}, 1], got {x:?}")),
    };
    let scale = match scale {
        Some(s) if *s != 0.0 => *s as f64,
        _ => 1.0 / (dk as f64).sqrt(),
    };
    Ok(LinAttnPlan { batch: b, seq: t, q_heads: hq, kv_heads: hkv, dk, dv, decay_per_key, beta_len, has_past, scale })
}

pub(super) fn linear_attention(op: &Op, inputs: Inputs<'_, '_>, num_outputs: usize) -> Result<Vec<TensorType>, OpError> {
    arity(inputs, 3, 6)?;
    if !(1..=3).contains(&num_outputs) {
        return Err(op_err!("expected 1 to 3 outputs, got {num_outputs}"));
    }
    let q = req(inputs, 0, "query")?;
    let dt = dtype(q, "query", is_float, "a float")?;
    for (i, n) in [(1, "key"), (2, "value"), (4, "decay"), (5, "beta")] {
        if let Some(x) = opt(inputs, i) {
            same_dtype(q, "query", x, n)?;
        }
    }
    let state_dt = match opt(inputs, 3) {
        Some(p) => dtype(p, "past_state", is_float, "a float")?,
        None => dt,
    };
    let shapes: Vec<Option<&[usize]>> = inputs.iter().map(|i| i.map(|v| v.ty.shape.as_slice())).collect();
    let p = lin_attn_plan(op, &shapes)?;
    let outs = [
        TensorType::new(dt, vec![p.batch, p.seq, p.q_heads * p.dv]),
        TensorType::new(state_dt, vec![p.batch, p.kv_heads, p.dk, p.dv]),
        // Not ONNX's: the state in f32, which the frontend adds for f16/bf16
        // states so the lowering can accumulate without rounding per token.
        TensorType::new(DType::F32, vec![p.batch, p.kv_heads, p.dk, p.dv]),
    ];
    Ok(outs.into_iter().take(num_outputs).collect())
}

/// (batch, channels, length, kernel) of CausalConvWithState's inputs.
pub fn causal_conv_dims(shapes: &[Option<&[usize]>]) -> Result<[usize; 4], OpError> {
    let sh = |i: usize, n: &str| shapes.get(i).copied().flatten().ok_or_else(|| op_err!("required input `{n}` (#{i}) is missing"));
    let (x, w) = (sh(0, "input")?, sh(1, "weight")?);
    let [b, c, l] = *x else { return Err(op_err!("input must be [B, C, L], got {x:?}")) };
    let k = match *w {
        [wc, 1, k] if wc == c && k >= 1 => k,
        _ => return Err(op_err!("weight must be [{c}, 1, K] with K >= 1, got {w:?}")),
    };
    if let Some(bias) = shapes.get(2).copied().flatten() {
        if bias != [c] {
            return Err(op_err!("bias must be [{c}], got {bias:?}"));
        }
    }
    if let Some(p) = shapes.get(3).copied().flatten() {
        if p != [b, c, k - 1] {
            return Err(op_err!("past_state must be [{b}, {c}, {}], got {p:?}", k - 1));
        }
    }
    Ok([b, c, l, k])
}

pub(super) fn causal_conv(inputs: Inputs<'_, '_>, num_outputs: usize) -> Result<Vec<TensorType>, OpError> {
    arity(inputs, 2, 4)?;
    if !(1..=2).contains(&num_outputs) {
        return Err(op_err!("expected 1 or 2 outputs, got {num_outputs}"));
    }
    let x = req(inputs, 0, "input")?;
    let dt = dtype(x, "input", is_float, "a float")?;
    for (i, n) in [(1, "weight"), (2, "bias"), (3, "past_state")] {
        if let Some(v) = opt(inputs, i) {
            same_dtype(x, "input", v, n)?;
        }
    }
    let shapes: Vec<Option<&[usize]>> = inputs.iter().map(|i| i.map(|v| v.ty.shape.as_slice())).collect();
    let [b, c, l, k] = causal_conv_dims(&shapes)?;
    let outs = [TensorType::new(dt, vec![b, c, l]), TensorType::new(dt, vec![b, c, k - 1])];
    Ok(outs.into_iter().take(num_outputs).collect())
}
