//! Softmax/LogSoftmax over a contiguous last axis (f32/f64), written so
//! that every pass vectorizes: max and sum use `LANES` partial accumulators
//! (a float reduction in one accumulator is a serial chain that LLVM may not
//! reorder), and e^{x - max} is computed once, into the output, by a loop
//! with no reduction in it. Results differ from the sequential sum only by
//! summation order.

use super::*;
use crate::kir::LocalId;

/// Partial accumulators: one AVX-512 vector of f32.
const LANES: i64 = 16;

/// Lowers Softmax (`log == false`) or LogSoftmax when the axis is the
/// innermost one and the dtype is f32/f64; returns false (nothing emitted)
/// otherwise, for the general kernel of `nn.rs`.
pub(super) fn try_lower(cx: &mut Cx, n: &Node, axis: i64, log: bool) -> Result<bool, LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let d = cx.ty(x).dtype;
    if !matches!(d, DType::F32 | DType::F64) || xs.is_empty() {
        return Ok(false);
    }
    let ax = onnxc_ir::infer::norm_axis(axis, xs.len()).map_err(|e| cx.invalid(e.0))?;
    let len = xs[ax] as i64;
    if ax + 1 != xs.len() || len < 2 * LANES {
        return Ok(false);
    }
    let outer = xs[..ax].iter().product::<usize>() as i64;
    let t = scalar(d);
    let mut b = cx.builder(if log { "logsoftmax" } else { "softmax" });
    // FMAs in exp's polynomial; the sums are already reordered.
    b.allow_contract();
    let px = b.input(t);
    let py = b.output(t);
    b.par_for(0, outer, |b, o| {
        let base = b.let_(mul(o, ci(len)));
        let mx = reduce(b, px, &base, len, extreme(t, true), max);
        b.for_loop(0, len, |b, a| {
            let i = b.let_(add(base.clone(), a));
            let e = math::exp(b, sub(load(px, i.clone()), mx.clone()));
            b.store(py, i, e);
        });
        let s = reduce(b, py, &base, len, cf(t, 0.0), add);
        if log {
            let ls = math::log(b, s);
            let ls = b.let_(add(ls, mx));
            b.for_loop(0, len, |b, a| {
                let i = b.let_(add(base.clone(), a));
                b.store(py, i.clone(), sub(load(px, i), ls.clone()));
            });
        } else {
            let inv = b.let_(div(cf(t, 1.0), s));
            b.for_loop(0, len, |b, a| {
                let i = b.let_(add(base.clone(), a));
                b.store(py, i.clone(), mul(load(py, i), inv.clone()));
            });
        }
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(true)
}

/// `op`-reduction of `buf[base .. base + len]` into a fresh local, through
/// `LANES` partial accumulators (the SLP vectorizer turns them into one
/// vector register), then the tail.
fn reduce(b: &mut KernelBuilder, buf: ParamId, base: &Expr, len: i64, init: Expr, op: fn(Expr, Expr) -> Expr) -> Expr {
    let acc: Vec<LocalId> = (0..LANES).map(|_| b.var(init.clone())).collect();
    let full = len / LANES * LANES;
    b.for_step(0, full, LANES, |b, a| {
        let at = b.let_(add(base.clone(), a));
        for (j, l) in acc.iter().enumerate() {
            let v = load(buf, add(at.clone(), ci(j as i64)));
            b.assign(*l, op(Expr::Local(*l), v));
        }
    });
    // Pairwise combination keeps the sum's rounding error growth at log2(LANES).
    let mut parts: Vec<Expr> = acc.iter().map(|l| Expr::Local(*l)).collect();
    while parts.len() > 1 {
        let half = parts.len() / 2;
        let (lo, hi) = parts.split_at(half);
        parts = lo.iter().zip(hi).map(|(p, q)| op(p.clone(), q.clone())).collect();
    }
    let r = b.var(parts.pop().unwrap_or(init));
    b.for_loop(full, len, |b, a| {
        let v = load(buf, add(base.clone(), a));
        b.assign(r, op(Expr::Local(r), v));
    });
    Expr::Local(r)
}
