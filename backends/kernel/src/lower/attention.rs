//! Attention as loops (see `onnxc_ir::infer::AttnPlan` for the layouts).
//!
//! The KV cache outputs (present_key/value) are written first by copy
//! kernels, and the attention kernel then reads keys and values from them.
//! Per (batch, head, query) the kernel recomputes each logit in every pass
//! (max, sum, optional probabilities, then one pass per output element) so
//! it needs no scratch memory; that favours simplicity over speed for long
//! sequences.

use super::*;
use onnxc_ir::infer::{attn_plan, AttnPlan, Strides4};

fn at(s: &Strides4, b: &Expr, h: &Expr, i: &Expr, d: &Expr) -> Expr {
    lin(&[b.clone(), h.clone(), i.clone(), d.clone()], s)
}

/// Source of keys or values: a buffer parameter and its (b, h, pos, d) strides.
#[derive(Clone)]
struct Src {
    buf: ParamId,
    st: Strides4,
}

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let shapes: Vec<Option<&[usize]>> = n.inputs.iter().map(|i| i.map(|v| cx.ty(v).shape.as_slice())).collect();
    let mask_dt = n.input(3).map(|m| cx.ty(m).dtype);
    let p = attn_plan(&n.op, &shapes, mask_dt == Some(DType::Bool)).map_err(|e| cx.invalid(e.0))?;
    let (q, k, v) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.input(n, 2)?);
    let d = cx.ty(q).dtype;
    if !d.is_float() {
        return Err(cx.unsupported(format!("dtype {d} (expected a float)")));
    }
    // Keys/values come from the present outputs when there are any.
    let mut kv = Vec::new();
    for (slot, new, past, st, dim) in [(1, k, n.input(4), p.k, p.head_size), (2, v, n.input(5), p.v, p.v_head_size)] {
        match n.outputs.get(slot).copied() {
            Some(out) => {
                append_cache(cx, &p, d, out, past, new, st, dim)?;
                kv.push((out, contiguous(p.kv_heads, p.total_len, dim)));
            }
            None if p.past_len > 0 => return Err(cx.unsupported("past_key/past_value without present outputs")),
            None => kv.push((new, st)),
        }
    }
    let mut b = cx.builder("attention");
    let mut args = vec![cx.buf(q)?];
    let pq = b.input(scalar(d));
    let mut src = Vec::new();
    for (val, st) in &kv {
        args.push(cx.buf(*val)?);
        src.push(Src { buf: b.input(scalar(d)), st: *st });
    }
    let mask = match n.input(3) {
        Some(m) => {
            args.push(cx.buf(m)?);
            Some((b.input(scalar(cx.ty(m).dtype)), cx.ty(m).dtype))
        }
        None => None,
    };
    let nonpad = match n.input(6) {
        Some(np) => {
            args.push(cx.buf(np)?);
            Some(b.input(Scalar::I64))
        }
        None => None,
    };
    let py = b.output(scalar(d));
    args.push(cx.buf(cx.output(n, 0)?)?);
    let pqk = match n.outputs.get(3).copied() {
        Some(o) => {
            args.push(cx.buf(o)?);
            Some(b.output(scalar(d)))
        }
        None => None,
    };
    let bufs = Bufs { q: pq, k: src[0].clone(), v: src[1].clone(), mask, nonpad, y: py, qk: pqk };
    attn_kernel(&mut b, &n.op, &p, d, &bufs);
    cx.emit(b.finish(), args);
    Ok(())
}

fn contiguous(h: usize, t: usize, dim: usize) -> Strides4 {
    [(h * t * dim) as i64, (t * dim) as i64, dim as i64, 1]
}

/// present[b, h, j, :] = j < P ? past[b, h, j, :] : new[b, h, j - P, :].
#[allow(clippy::too_many_arguments)]
fn append_cache(
    cx: &mut Cx,
    p: &AttnPlan,
    d: DType,
    out: ValueId,
    past: Option<ValueId>,
    new: ValueId,
    st: Strides4,
    dim: usize,
) -> Result<(), LowerError> {
    let mut b = cx.builder("kv_cache");
    let t = scalar(d);
    let mut args = Vec::new();
    let pp = match past {
        Some(pv) => {
            args.push(cx.buf(pv)?);
            Some(b.input(t))
        }
        None => None,
    };
    args.push(cx.buf(new)?);
    let pn = b.input(t);
    args.push(cx.buf(out)?);
    let po = b.output(t);
    let (pl, tl) = (p.past_len, p.total_len);
    let ost = contiguous(p.kv_heads, tl, dim);
    let pst = contiguous(p.kv_heads, pl, dim);
    nest(&mut b, &[p.batch, p.kv_heads, dim], true, &mut |b, iv| {
        let (bb, h, e) = (&iv[0], &iv[1], &iv[2]);
        if let Some(pp) = pp {
            b.for_loop(0, pl as i64, |b, j| {
                b.store(po, at(&ost, bb, h, &j, e), load(pp, at(&pst, bb, h, &j, e)));
            });
        }
        b.for_loop(pl as i64, tl as i64, |b, j| {
            let src = at(&st, bb, h, &sub(j.clone(), ci(pl as i64)), e);
            b.store(po, at(&ost, bb, h, &j, e), load(pn, src));
        });
    });
    cx.emit(b.finish(), args);
    Ok(())
}

struct Bufs {
    q: ParamId,
    k: Src,
    v: Src,
    mask: Option<(ParamId, DType)>,
    nonpad: Option<ParamId>,
    y: ParamId,
    qk: Option<ParamId>,
}

/// Emits `(logit, bias)` of key `j` for query (bb, h, i); `hk` is the KV head.
#[allow(clippy::too_many_arguments)]
fn logit(b: &mut KernelBuilder, op: &Op, p: &AttnPlan, d: DType, f: &Bufs, idx: &[Expr; 4], j: &Expr) -> (Expr, Expr) {
    let Op::Attention { is_causal, softcap, left_window, right_window, .. } = op else { unreachable!("checked by attn_plan") };
    let t = compute_ty(d);
    let [bb, h, i, hk] = idx;
    let acc = b.var(cf(t, 0.0));
    b.for_loop(0, p.head_size as i64, |b, e| {
        let qv = load_val(b, d, f.q, at(&p.q, bb, h, i, &e));
        let kv = load_val(b, d, f.k.buf, at(&f.k.st, bb, hk, j, &e));
        b.assign(acc, add(Expr::Local(acc), mul(qv, kv)));
    });
    let mut s = b.let_(mul(Expr::Local(acc), cf(t, p.scale)));
    if *softcap > 0.0 {
        let c = cf(t, *softcap as f64);
        let th = math::tanh(b, div(s, c.clone()));
        s = b.let_(mul(c, th));
    }
    let ninf = cf(t, f64::NEG_INFINITY);
    let mut bias = cf(t, 0.0);
    if let (Some((pm, md)), Some(mp)) = (f.mask, &p.mask) {
        // Clamp the index: both select arms are evaluated.
        let jj = min(j.clone(), ci(mp.len as i64 - 1));
        let m = load_val(b, md, pm, at(&mp.strides, bb, h, i, &jj));
        let m = if mp.is_bool { select(m, cf(t, 0.0), ninf.clone()) } else { convert(b, m, d) };
        bias = select(ge(j.clone(), ci(mp.len as i64)), ninf.clone(), m);
    }
    let offset = match f.nonpad {
        Some(np) => sub(load(np, bb.clone()), ci(p.q_len as i64)),
        None => ci(p.past_len as i64),
    };
    let diff = b.let_(sub(add(i.clone(), offset), j.clone()));
    let mut masked = cbool(false);
    if *is_causal {
        masked = or(masked, lt(diff.clone(), ci(0)));
    }
    if *left_window >= 0 {
        masked = or(masked, gt(diff.clone(), ci(*left_window)));
    }
    if *right_window >= 0 {
        masked = or(masked, gt(neg(diff), ci(*right_window)));
    }
    if let Some(np) = f.nonpad {
        masked = or(masked, ge(j.clone(), load(np, bb.clone())));
    }
    let bias = b.let_(select(masked, ninf, bias));
    (s, bias)
}

fn attn_kernel(b: &mut KernelBuilder, op: &Op, p: &AttnPlan, d: DType, f: &Bufs) {
    let Op::Attention { qk_matmul_output_mode: mode, .. } = op else { return };
    let mode = *mode;
    let t = compute_ty(d);
    let group = (p.q_heads / p.kv_heads.max(1)) as i64;
    let tl = p.total_len as i64;
    let qk_st = contiguous(p.q_heads, p.q_len, p.total_len);
    nest(b, &[p.batch, p.q_heads, p.q_len], true, &mut |b, iv| {
        let hk = b.let_(div(iv[1].clone(), ci(group)));
        let idx = [iv[0].clone(), iv[1].clone(), iv[2].clone(), hk];
        let ninf = cf(t, f64::NEG_INFINITY);
        let (m, bm) = (b.var(ninf.clone()), b.var(ninf.clone()));
        b.for_loop(0, tl, |b, j| {
            let (s, bias) = logit(b, op, p, d, f, &idx, &j);
            let x = b.let_(add(s.clone(), bias.clone()));
            b.assign(m, max(Expr::Local(m), x.clone()));
            b.assign(bm, max(Expr::Local(bm), bias));
            if let (Some(qk), true) = (f.qk, mode <= 2) {
                let v = if mode == 2 { x } else { s };
                store_val(b, d, qk, at(&qk_st, &idx[0], &idx[1], &idx[2], &j), v);
            }
        });
        let msafe = b.let_(select(eq(Expr::Local(m), ninf.clone()), cf(t, 0.0), Expr::Local(m)));
        let sum = b.var(cf(t, 0.0));
        b.for_loop(0, tl, |b, j| {
            let (s, bias) = logit(b, op, p, d, f, &idx, &j);
            let e = math::exp(b, sub(add(s, bias), msafe.clone()));
            b.assign(sum, add(Expr::Local(sum), e));
        });
        let inv = b.let_(div(cf(t, 1.0), select(eq(Expr::Local(sum), cf(t, 0.0)), cf(t, 1.0), Expr::Local(sum))));
        // A row whose bias is all -inf attends nothing: zeros, not NaN.
        let empty = b.let_(eq(Expr::Local(bm), ninf.clone()));
        let prob = |b: &mut KernelBuilder, j: &Expr| {
            let (s, bias) = logit(b, op, p, d, f, &idx, j);
            let e = math::exp(b, sub(add(s, bias), msafe.clone()));
            b.let_(select(empty.clone(), cf(t, 0.0), mul(e, inv.clone())))
        };
        if let (Some(qk), 3) = (f.qk, mode) {
            b.for_loop(0, tl, |b, j| {
                let pj = prob(b, &j);
                store_val(b, d, qk, at(&qk_st, &idx[0], &idx[1], &idx[2], &j), pj);
            });
        }
        b.for_loop(0, p.v_head_size as i64, |b, e| {
            let acc = b.var(cf(t, 0.0));
            b.for_loop(0, tl, |b, j| {
                let pj = prob(b, &j);
                let vv = load_val(b, d, f.v.buf, at(&f.v.st, &idx[0], &idx[3], &j, &e));
                b.assign(acc, add(Expr::Local(acc), mul(pj, vv)));
            });
            store_val(b, d, f.y, at(&p.y, &idx[0], &idx[1], &idx[2], &e), Expr::Local(acc));
        });
    });
}

/// RotaryEmbedding: per (batch, head, position) rotate the `rot / 2` pairs;
/// the remaining dims are copied. Position ids are clamped into the cache
/// (the evaluator rejects out-of-range ids; compiled code must not read out
/// of bounds).
pub(super) fn rotary(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let Op::RotaryEmbedding { interleaved, .. } = &n.op else { return Err(cx.invalid("not RotaryEmbedding")) };
    let shapes: Vec<Option<&[usize]>> = n.inputs.iter().map(|i| i.map(|v| cx.ty(v).shape.as_slice())).collect();
    let p = onnxc_ir::infer::rotary_plan(&n.op, &shapes).map_err(|e| cx.invalid(e.0))?;
    let x = cx.input(n, 0)?;
    let d = cx.ty(x).dtype;
    if !d.is_float() {
        return Err(cx.unsupported(format!("dtype {d} (expected a float)")));
    }
    let mut b = cx.builder("rotary");
    let mut args = vec![cx.buf(x)?, cx.buf(cx.input(n, 1)?)?, cx.buf(cx.input(n, 2)?)?];
    let (px, pc, ps) = (b.input(scalar(d)), b.input(scalar(d)), b.input(scalar(d)));
    let pos = match n.input(3) {
        Some(v) => {
            args.push(cx.buf(v)?);
            Some(b.input(Scalar::I64))
        }
        None => None,
    };
    let py = b.output(scalar(d));
    args.push(cx.buf(cx.output(n, 0)?)?);
    let (half, seq, rows) = (p.rot as i64 / 2, p.seq as i64, p.cache_rows as i64);
    let il = *interleaved;
    nest(&mut b, &[p.batch, p.heads, p.seq], true, &mut |b, iv| {
        let (bb, h, s) = (&iv[0], &iv[1], &iv[2]);
        let flat = add(mul(bb.clone(), ci(seq)), s.clone());
        let row = match pos {
            Some(pp) => max(min(load(pp, flat), ci(rows - 1)), ci(0)),
            None => flat,
        };
        let row = b.let_(row);
        b.for_loop(0, half, |b, k| {
            let (i1, i2) = if il { (mul(k.clone(), ci(2)), add(mul(k.clone(), ci(2)), ci(1))) } else { (k.clone(), add(k.clone(), ci(half))) };
            let (a1, a2) = (b.let_(at(&p.x, bb, h, s, &i1)), b.let_(at(&p.x, bb, h, s, &i2)));
            let ci_ = add(mul(row.clone(), ci(half)), k);
            let c = load_val(b, d, pc, ci_.clone());
            let c = b.let_(c);
            let sn = load_val(b, d, ps, ci_);
            let sn = b.let_(sn);
            let x1 = load_val(b, d, px, a1.clone());
            let x1 = b.let_(x1);
            let x2 = load_val(b, d, px, a2.clone());
            let x2 = b.let_(x2);
            store_val(b, d, py, a1, sub(mul(c.clone(), x1.clone()), mul(sn.clone(), x2.clone())));
            store_val(b, d, py, a2, add(mul(sn, x1), mul(c, x2)));
        });
        b.for_loop(p.rot as i64, p.head_size as i64, |b, e| {
            let a = b.let_(at(&p.x, bb, h, s, &e));
            b.store(py, a.clone(), load(px, a));
        });
    });
    cx.emit(b.finish(), args);
    Ok(())
}
