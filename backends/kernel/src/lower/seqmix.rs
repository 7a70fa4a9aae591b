//! LinearAttention and CausalConvWithState as loops.
//!
//! LinearAttention keeps its recurrent state in the present_state output
//! (copied from past_state, or zeroed, first). Every column m of a
//! [dk, dv] state evolves independently (decay, delta retrieval and the
//! rank-1 write all act per column), so one kernel instance per (batch,
//! kv head) walks the tokens and, per token, the columns.

use super::*;
use onnxc_ir::infer::{causal_conv_dims, lin_attn_plan, LinAttnPlan};

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::LinearAttention { .. } => linear_attention(cx, n),
        Op::CausalConvWithState { silu } => causal_conv(cx, n, *silu),
        _ => Err(cx.invalid("not a sequence-mixing op")),
    }
}

fn shapes<'a>(cx: &Cx<'a>, n: &Node) -> Vec<Option<&'a [usize]>> {
    n.inputs.iter().map(|i| i.map(|v| cx.ty(v).shape.as_slice())).collect()
}

struct LinBufs {
    q: ParamId,
    k: ParamId,
    v: ParamId,
    decay: Option<ParamId>,
    beta: Option<ParamId>,
    s: ParamId,
    y: ParamId,
}

fn linear_attention(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let p = lin_attn_plan(&n.op, &shapes(cx, n)).map_err(|e| cx.invalid(e.0))?;
    let q = cx.input(n, 0)?;
    let d = cx.ty(q).dtype;
    let state = n.outputs.get(1).copied().ok_or_else(|| cx.unsupported("the present_state output is needed as the state buffer"))?;
    let sd = cx.ty(state).dtype;
    if !d.is_float() || !sd.is_float() {
        return Err(cx.unsupported(format!("dtypes {d}/{sd} (expected floats)")));
    }
    // f16/bf16 states accumulate in the f32 scratch output when there is one.
    let (work, wd) = match n.outputs.get(2).copied() {
        Some(s) if !matches!(sd, DType::F32 | DType::F64) => (s, cx.ty(s).dtype),
        _ => (state, sd),
    };
    match n.input(3) {
        Some(past) if work == state => cx.copy_value(state, past)?,
        Some(past) => convert_copy(cx, past, work)?,
        None => super::nn::fill(cx, work, Expr::Const(Const { ty: scalar(wd), bits: 0 }))?,
    }
    let mut b = cx.builder("linear_attention");
    let mut args = Vec::new();
    let mut input = |cx: &mut Cx, b: &mut KernelBuilder, v: ValueId| -> Result<ParamId, LowerError> {
        args.push(cx.buf(v)?);
        Ok(b.input(scalar(cx.ty(v).dtype)))
    };
    let (pq, pk, pv) = (input(cx, &mut b, q)?, input(cx, &mut b, cx.input(n, 1)?)?, input(cx, &mut b, cx.input(n, 2)?)?);
    let decay = n.input(4).map(|v| input(cx, &mut b, v)).transpose()?;
    let beta = n.input(5).map(|v| input(cx, &mut b, v)).transpose()?;
    let ps = b.output(scalar(wd));
    let py = b.output(scalar(d));
    args.push(cx.buf(work)?);
    args.push(cx.buf(cx.output(n, 0)?)?);
    let f = LinBufs { q: pq, k: pk, v: pv, decay, beta, s: ps, y: py };
    nest(&mut b, &[p.batch, p.kv_heads], true, &mut |b, iv| {
        b.for_loop(0, p.seq as i64, |b, t| {
            let row = b.let_(add(mul(iv[0].clone(), ci(p.seq as i64)), t));
            token(b, &p, d, wd, &f, &iv[0], &iv[1], &row);
        });
    });
    cx.emit(b.finish(), args);
    if work != state {
        convert_copy(cx, work, state)?;
    }
    Ok(())
}

/// dst = src converted elementwise to dst's float dtype.
fn convert_copy(cx: &mut Cx, src: ValueId, dst: ValueId) -> Result<(), LowerError> {
    let (sd, dd) = (cx.ty(src).dtype, cx.ty(dst).dtype);
    let mut b = cx.builder("convert");
    let (ps, pd) = (b.input(scalar(sd)), b.output(scalar(dd)));
    let args = vec![cx.buf(src)?, cx.buf(dst)?];
    b.par_for(0, cx.ty(dst).numel() as i64, |b, i| {
        let v = load_val(b, sd, ps, i.clone());
        let v = convert(b, v, dd);
        store_val(b, dd, pd, i, v);
    });
    cx.emit(b.finish(), args);
    Ok(())
}

/// One token's state update and read for batch `bb`, kv head `h`.
#[allow(clippy::too_many_arguments)]
fn token(b: &mut KernelBuilder, p: &LinAttnPlan, d: DType, sd: DType, f: &LinBufs, bb: &Expr, h: &Expr, row: &Expr) {
    let t = compute_ty(d);
    let (dk, dv, hkv, hq) = (p.dk as i64, p.dv as i64, p.kv_heads as i64, p.q_heads as i64);
    let s_base = b.let_(mul(add(mul(bb.clone(), ci(hkv)), h.clone()), ci(dk * dv)));
    let s_at = |dd: &Expr, m: &Expr| add(s_base.clone(), add(mul(dd.clone(), ci(dv)), m.clone()));
    let k_at = |dd: &Expr| add(mul(row.clone(), ci(hkv * dk)), add(mul(h.clone(), ci(dk)), dd.clone()));
    let load_s = |b: &mut KernelBuilder, i: Expr| {
        let v = load_val(b, sd, f.s, i);
        convert(b, v, d)
    };
    let store_s = |b: &mut KernelBuilder, i: Expr, v: Expr| {
        let v = convert(b, v, sd);
        store_val(b, sd, f.s, i, v);
    };
    b.for_loop(0, dv, |b, m| {
        if let (Some(dec), Some(per_key)) = (f.decay, p.decay_per_key) {
            b.for_loop(0, dk, |b, dd| {
                let gi = if per_key { k_at(&dd) } else { add(mul(row.clone(), ci(hkv)), h.clone()) };
                let g = load_val(b, d, dec, gi);
                let e = math::exp(b, g);
                let i = b.let_(s_at(&dd, &m));
                let s = load_s(b, i.clone());
                store_s(b, i, mul(s, e));
            });
        }
        let vm = load_val(b, d, f.v, add(mul(row.clone(), ci(hkv * dv)), add(mul(h.clone(), ci(dv)), m.clone())));
        let vm = match (f.beta, p.beta_len) {
            (Some(pb), Some(bl)) => {
                let r = b.var(cf(t, 0.0));
                b.for_loop(0, dk, |b, dd| {
                    let s = load_s(b, s_at(&dd, &m));
                    let kv = load_val(b, d, f.k, k_at(&dd));
                    b.assign(r, add(Expr::Local(r), mul(s, kv)));
                });
                let bi = if bl == 1 { row.clone() } else { add(mul(row.clone(), ci(hkv)), h.clone()) };
                let bt = load_val(b, d, pb, bi);
                b.let_(mul(bt, sub(vm, Expr::Local(r))))
            }
            _ => b.let_(vm),
        };
        b.for_loop(0, dk, |b, dd| {
            let i = b.let_(s_at(&dd, &m));
            let s = load_s(b, i.clone());
            let kv = load_val(b, d, f.k, k_at(&dd));
            store_s(b, i, add(s, mul(kv, vm.clone())));
        });
        let group = hq / hkv;
        b.for_loop(0, group, |b, j| {
            let qh = b.let_(add(mul(h.clone(), ci(group)), j));
            let acc = b.var(cf(t, 0.0));
            b.for_loop(0, dk, |b, dd| {
                let qv = load_val(b, d, f.q, add(mul(row.clone(), ci(hq * dk)), add(mul(qh.clone(), ci(dk)), dd.clone())));
                let s = load_s(b, s_at(&dd, &m));
                b.assign(acc, add(Expr::Local(acc), mul(qv, s)));
            });
            let yi = add(mul(row.clone(), ci(hq * dv)), add(mul(qh, ci(dv)), m.clone()));
            store_val(b, d, f.y, yi, mul(Expr::Local(acc), cf(t, p.scale)));
        });
    });
}

/// Per (batch, channel): the K-tap causal filter over [past, input], then
/// the last K-1 positions of that concatenation as the new state.
fn causal_conv(cx: &mut Cx, n: &Node, silu: bool) -> Result<(), LowerError> {
    let [bn, c, l, k] = causal_conv_dims(&shapes(cx, n)).map_err(|e| cx.invalid(e.0))?;
    let x = cx.input(n, 0)?;
    let d = cx.ty(x).dtype;
    if !d.is_float() {
        return Err(cx.unsupported(format!("dtype {d} (expected a float)")));
    }
    let t = compute_ty(d);
    let st = scalar(d);
    let mut b = cx.builder("causal_conv");
    let mut args = vec![cx.buf(x)?, cx.buf(cx.input(n, 1)?)?];
    let (px, pw) = (b.input(st), b.input(st));
    let mut opt = |cx: &mut Cx, b: &mut KernelBuilder, i: usize| -> Result<Option<ParamId>, LowerError> {
        match n.input(i) {
            Some(v) => {
                args.push(cx.buf(v)?);
                Ok(Some(b.input(st)))
            }
            None => Ok(None),
        }
    };
    let pbias = opt(cx, &mut b, 2)?;
    let ppast = opt(cx, &mut b, 3)?;
    let py = b.output(st);
    args.push(cx.buf(cx.output(n, 0)?)?);
    let pstate = match n.outputs.get(1).copied() {
        Some(o) => {
            args.push(cx.buf(o)?);
            Some(b.output(st))
        }
        None => None,
    };
    let (pl, li) = ((k - 1) as i64, l as i64);
    // Element `pos` of [past, input] for row `bc` (zero without past).
    let padded = move |b: &mut KernelBuilder, bc: &Expr, pos: Expr| -> Expr {
        let pos = b.let_(pos);
        let xi = add(mul(bc.clone(), ci(li)), max(sub(pos.clone(), ci(pl)), ci(0)));
        let xv = load_val(b, d, px, xi);
        if pl == 0 {
            return xv;
        }
        let pv = match ppast {
            Some(pp) => load_val(b, d, pp, add(mul(bc.clone(), ci(pl)), min(pos.clone(), ci(pl - 1)))),
            None => cf(t, 0.0),
        };
        b.let_(select(lt(pos, ci(pl)), pv, xv))
    };
    nest(&mut b, &[bn * c], true, &mut |b, iv| {
        let bc = iv[0].clone();
        let ch = b.let_(rem(bc.clone(), ci(c as i64)));
        b.for_loop(0, li, |b, i| {
            let init = match pbias {
                Some(pb) => load_val(b, d, pb, ch.clone()),
                None => cf(t, 0.0),
            };
            let acc = b.var(init);
            b.for_loop(0, k as i64, |b, j| {
                let w = load_val(b, d, pw, add(mul(ch.clone(), ci(k as i64)), j.clone()));
                let xv = padded(b, &bc, add(i.clone(), j));
                b.assign(acc, add(Expr::Local(acc), mul(w, xv)));
            });
            let mut y = Expr::Local(acc);
            if silu {
                let s = math::sigmoid(b, y.clone());
                y = mul(y, s);
            }
            store_val(b, d, py, add(mul(bc.clone(), ci(li)), i), y);
        });
        if let Some(ps) = pstate {
            b.for_loop(0, pl, |b, j| {
                let v = padded(b, &bc, add(j.clone(), ci(li)));
                store_val(b, d, ps, add(mul(bc.clone(), ci(pl)), j), v);
            });
        }
    });
    cx.emit(b.finish(), args);
    Ok(())
}
