//! Attention (opset 23-25): scaled dot-product attention with optional
//! mask, causal and sliding-window masking, KV cache (past/present),
//! external-cache padding (`nonpad_kv_seqlen`), softcap and grouped-query
//! heads; and RotaryEmbedding. [`AttnPlan`] resolves the 3-D/4-D layouts and broadcasting once;
//! the evaluator and the lowering both follow it.

use super::util::*;
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::Op;
use crate::op_err;

/// Strides (elements) of a tensor indexed as (batch, head, position, dim).
pub type Strides4 = [i64; 4];

#[derive(Clone, Debug, PartialEq)]
pub struct AttnMask {
    /// Strides over (batch, q head, query, key); 0 on broadcast axes.
    pub strides: Strides4,
    /// The mask's last extent; keys at or past it are masked out.
    pub len: usize,
    pub is_bool: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AttnPlan {
    pub batch: usize,
    pub q_heads: usize,
    pub kv_heads: usize,
    pub q_len: usize,
    /// Keys in past_key (0 without a cache).
    pub past_len: usize,
    /// Keys attended: past plus new.
    pub total_len: usize,
    pub head_size: usize,
    pub v_head_size: usize,
    pub q: Strides4,
    /// Strides of the new K and V inputs (3-D inputs are [B, S, H*D]).
    pub k: Strides4,
    pub v: Strides4,
    pub y: Strides4,
    pub rank3: bool,
    pub scale: f64,
    pub mask: Option<AttnMask>,
    pub has_past: bool,
    pub has_nonpad: bool,
}

fn contiguous(d: [usize; 4]) -> Strides4 {
    [(d[1] * d[2] * d[3]) as i64, (d[2] * d[3]) as i64, d[3] as i64, 1]
}

/// Strides of a [B, S, H*D] tensor viewed as (b, h, s, d).
fn split_heads(s: usize, h: usize, d: usize) -> Strides4 {
    [(s * h * d) as i64, d as i64, (h * d) as i64, 1]
}

/// The plan for inputs of the given shapes (and mask dtype).
pub fn attn_plan(
    op: &Op,
    shapes: &[Option<&[usize]>],
    mask_bool: bool,
) -> Result<AttnPlan, OpError> {
    let Op::Attention { q_num_heads, kv_num_heads, scale, .. } = op else {
        return Err(op_err!("{} is not Attention", op.onnx_name()));
    };
    let sh = |i: usize, n: &str| shapes.get(i).copied().flatten().ok_or_else(|| op_err!("required input `{n}` (#{i}) is missing"));
    let (q, k, v) = (sh(0, "Q")?, sh(1, "K")?, sh(2, "V")?);
    let r = q.len();
    if !(r == 3 || r == 4) || k.len() != r || v.len() != r {
        return Err(op_err!("Q, K, V must all be 3-D or all 4-D, got {q:?}, {k:?}, {v:?}"));
    }
    let (batch, rank3) = (q[0], r == 3);
    let Layout { hq, hkv, sq, skv, d, dv, qs, ks, vs } = layout(q, k, v, *q_num_heads, *kv_num_heads)?;
    if k[0] != batch || v[0] != batch {
        return Err(op_err!("batch sizes of Q, K, V differ: {q:?}, {k:?}, {v:?}"));
    }
    if hkv == 0 || hq % hkv != 0 {
        return Err(op_err!("q heads ({hq}) must be a multiple of kv heads ({hkv})"));
    }
    let past = shapes.get(4).copied().flatten();
    let past_v = shapes.get(5).copied().flatten();
    let past_len = match (past, past_v) {
        (None, None) => 0,
        (Some(pk), Some(pv)) => {
            if pk.len() != 4 || pv.len() != 4 || pk[..2] != [batch, hkv] || pk[3] != d || pv != [batch, hkv, pk[2], dv] {
                return Err(op_err!("past_key {pk:?} / past_value {pv:?} must be [{batch}, {hkv}, P, {d}] / [{batch}, {hkv}, P, {dv}]"));
            }
            pk[2]
        }
        _ => return Err(op_err!("past_key and past_value must be given together")),
    };
    let has_nonpad = match shapes.get(6).copied().flatten() {
        None => false,
        Some(s) if s == [batch] => true,
        Some(s) => return Err(op_err!("nonpad_kv_seqlen must have shape [{batch}], got {s:?}")),
    };
    if has_nonpad && past_len > 0 {
        return Err(op_err!("nonpad_kv_seqlen cannot be combined with past_key/past_value"));
    }
    let total = past_len + skv;
    let y = if rank3 { split_heads(sq, hq, dv) } else { contiguous([batch, hq, sq, dv]) };
    let mask = match shapes.get(3).copied().flatten() {
        None => None,
        Some(m) => Some(mask_plan(m, [batch, hq, sq, total], mask_bool)?),
    };
    let scale = scale.map(|s| s as f64).unwrap_or(1.0 / (d as f64).sqrt());
    Ok(AttnPlan {
        batch,
        q_heads: hq,
        kv_heads: hkv,
        q_len: sq,
        past_len,
        total_len: total,
        head_size: d,
        v_head_size: dv,
        q: qs,
        k: ks,
        v: vs,
        y,
        rank3,
        scale,
        mask,
        has_past: past_len > 0 || past.is_some(),
        has_nonpad,
    })
}

/// Head counts, sizes and (b, h, pos, d) strides of Q, K and V.
struct Layout {
    hq: usize,
    hkv: usize,
    sq: usize,
    skv: usize,
    d: usize,
    dv: usize,
    qs: Strides4,
    ks: Strides4,
    vs: Strides4,
}

fn layout(q: &[usize], k: &[usize], v: &[usize], q_num_heads: usize, kv_num_heads: usize) -> Result<Layout, OpError> {
    let (hq, hkv, sq, skv, d, dv, qs, ks, vs);
    if q.len() == 3 {
        (hq, hkv) = (q_num_heads, kv_num_heads);
        if hq == 0 || hkv == 0 || q[2] % hq != 0 || k[2] % hkv != 0 || v[2] % hkv != 0 {
            return Err(op_err!(
                "3-D inputs need q_num_heads ({hq}) and kv_num_heads ({hkv}) dividing the hidden sizes of {q:?}, {k:?}, {v:?}"
            ));
        }
        (sq, skv, d, dv) = (q[1], k[1], q[2] / hq, v[2] / hkv);
        if k[2] / hkv != d || v[1] != skv {
            return Err(op_err!("Q/K head sizes or K/V lengths differ: {q:?} / {hq} heads, {k:?} and {v:?} / {hkv} heads"));
        }
        qs = split_heads(sq, hq, d);
        ks = split_heads(skv, hkv, d);
        vs = split_heads(skv, hkv, dv);
    } else {
        (hq, hkv, sq, skv, d, dv) = (q[1], k[1], q[2], k[2], q[3], v[3]);
        if k[3] != d || v[1] != hkv || v[2] != skv {
            return Err(op_err!("K/V shapes {k:?}, {v:?} do not match Q {q:?}"));
        }
        qs = contiguous([q[0], q[1], q[2], q[3]]);
        ks = contiguous([k[0], k[1], k[2], k[3]]);
        vs = contiguous([v[0], v[1], v[2], v[3]]);
    }
    Ok(Layout { hq, hkv, sq, skv, d, dv, qs, ks, vs })
}

/// The mask broadcasts (right-aligned) to [B, Hq, Sq, T]; its last extent
/// may be shorter than T (the rest counts as masked out).
fn mask_plan(m: &[usize], full: [usize; 4], is_bool: bool) -> Result<AttnMask, OpError> {
    if m.is_empty() || m.len() > 4 {
        return Err(op_err!("attn_mask must have rank 1 to 4, got {m:?}"));
    }
    let len = m[m.len() - 1];
    if len > full[3] {
        return Err(op_err!("attn_mask {m:?} has more keys than the {} attended", full[3]));
    }
    let mut strides = [0i64; 4];
    let mut acc = 1i64;
    let off = 4 - m.len();
    for j in (0..m.len()).rev() {
        let want = full[j + off];
        let last = j == m.len() - 1;
        if !last && m[j] != 1 && m[j] != want {
            return Err(op_err!("attn_mask {m:?} does not broadcast to {full:?}"));
        }
        strides[j + off] = if m[j] == 1 && !last { 0 } else { acc };
        acc *= m[j] as i64;
    }
    Ok(AttnMask { strides, len, is_bool })
}

pub(super) fn attention(op: &Op, inputs: Inputs<'_, '_>, num_outputs: usize) -> Result<Vec<TensorType>, OpError> {
    arity(inputs, 3, 7)?;
    if !(1..=4).contains(&num_outputs) {
        return Err(op_err!("expected 1 to 4 outputs, got {num_outputs}"));
    }
    let q = req(inputs, 0, "Q")?;
    let dt = dtype(q, "Q", is_float, "a float")?;
    for (i, n) in [(1, "K"), (2, "V"), (4, "past_key"), (5, "past_value")] {
        if let Some(x) = opt(inputs, i) {
            same_dtype(q, "Q", x, n)?;
        }
    }
    let mut mask_bool = false;
    if let Some(m) = opt(inputs, 3) {
        mask_bool = m.ty.dtype == DType::Bool;
        if !mask_bool && !m.ty.dtype.is_float() {
            return Err(op_err!("attn_mask must be bool or a float, got {}", m.ty.dtype));
        }
    }
    if let Some(n) = opt(inputs, 6) {
        dtype(n, "nonpad_kv_seqlen", |d| d == DType::I64, "int64")?;
    }
    let shapes: Vec<Option<&[usize]>> = inputs.iter().map(|i| i.map(|v| v.ty.shape.as_slice())).collect();
    let p = attn_plan(op, &shapes, mask_bool)?;
    let y = if p.rank3 {
        vec![p.batch, p.q_len, p.q_heads * p.v_head_size]
    } else {
        vec![p.batch, p.q_heads, p.q_len, p.v_head_size]
    };
    let all = [
        y,
        vec![p.batch, p.kv_heads, p.total_len, p.head_size],
        vec![p.batch, p.kv_heads, p.total_len, p.v_head_size],
        vec![p.batch, p.q_heads, p.q_len, p.total_len],
    ];
    Ok(all.into_iter().take(num_outputs).map(|s| TensorType::new(dt, s)).collect())
}

/// RotaryEmbedding's layout: X as (batch, head, position, dim) strides and
/// the sizes the evaluator and the lowering need.
#[derive(Clone, Debug, PartialEq)]
pub struct RotaryPlan {
    pub batch: usize,
    pub heads: usize,
    pub seq: usize,
    pub head_size: usize,
    /// Rotated leading dims of each head (even).
    pub rot: usize,
    pub x: Strides4,
    /// Rows of the caches (with position_ids; otherwise batch * seq).
    pub cache_rows: usize,
    pub has_pos: bool,
}

/// inputs: X ([B, H, S, D] or [B, S, H*D]), cos_cache, sin_cache, position_ids?.
pub fn rotary_plan(op: &Op, shapes: &[Option<&[usize]>]) -> Result<RotaryPlan, OpError> {
    let Op::RotaryEmbedding { rotary_embedding_dim, num_heads, .. } = op else {
        return Err(op_err!("{} is not RotaryEmbedding", op.onnx_name()));
    };
    let sh = |i: usize, n: &str| shapes.get(i).copied().flatten().ok_or_else(|| op_err!("required input `{n}` (#{i}) is missing"));
    let x = sh(0, "X")?;
    let (b, h, s, d, st) = match *x {
        [b, h, s, d] => (b, h, s, d, contiguous([b, h, s, d])),
        [b, s, hd] if *num_heads > 0 && hd % num_heads == 0 => {
            let (h, d) = (*num_heads, hd / num_heads);
            (b, h, s, d, split_heads(s, h, d))
        }
        _ => return Err(op_err!("X must be [B, H, S, D], or [B, S, H*D] with num_heads set, got {x:?} (num_heads {num_heads})")),
    };
    let rot = if *rotary_embedding_dim == 0 { d } else { *rotary_embedding_dim };
    if rot > d || rot % 2 != 0 {
        return Err(op_err!("rotary_embedding_dim {rot} must be even and at most the head size {d}"));
    }
    let (cos, sin) = (sh(1, "cos_cache")?, sh(2, "sin_cache")?);
    if cos != sin {
        return Err(op_err!("cos_cache {cos:?} and sin_cache {sin:?} differ in shape"));
    }
    let pos = shapes.get(3).copied().flatten();
    let rows = match pos {
        Some(p) if p == [b, s] && cos.len() == 2 && cos[1] == rot / 2 => cos[0],
        None if cos == [b, s, rot / 2] => b * s,
        _ => {
            return Err(op_err!(
                "caches {cos:?} do not fit position_ids {pos:?}: expected [max_pos, {}] with [{b}, {s}] ids, or [{b}, {s}, {}] without",
                rot / 2,
                rot / 2
            ))
        }
    };
    Ok(RotaryPlan { batch: b, heads: h, seq: s, head_size: d, rot, x: st, cache_rows: rows, has_pos: pos.is_some() })
}

pub(super) fn rotary(op: &Op, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 3, 4)?;
    let x = req(inputs, 0, "X")?;
    dtype(x, "X", is_float, "a float")?;
    for (i, n) in [(1, "cos_cache"), (2, "sin_cache")] {
        same_dtype(x, "X", req(inputs, i, n)?, n)?;
    }
    if let Some(p) = opt(inputs, 3) {
        dtype(p, "position_ids", |d| d == DType::I64, "int64")?;
    }
    let shapes: Vec<Option<&[usize]>> = inputs.iter().map(|i| i.map(|v| v.ty.shape.as_slice())).collect();
    rotary_plan(op, &shapes)?;
    Ok(x.ty.clone())
}
