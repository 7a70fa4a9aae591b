//! Softmax/LogSoftmax over a contiguous last axis (f32/f64), written so
//! that every pass vectorizes: max and sum use `LANES` (or `WIDE`) partial
//! accumulators kept in the output row itself (a float reduction in one
//! accumulator is a serial chain that LLVM may not reorder, and partials in
//! locals get vectorized across chunks, with gathers). Softmax computes
//! e^{x - max} once, into the output, then scales it; LogSoftmax computes
//! it only for the sum. Results differ from a sequential sum only by
//! summation order. The backend-independent general kernel (`nn.rs`)
//! handles other axes, dtypes and rows under 32.

use super::*;

/// Partial accumulators: one AVX-512 vector of f32 ...
const LANES: i64 = 16;
/// ... or four, on rows long enough: the partials are carried through
/// memory, and four independent chains hide the store-to-load latency.
const WIDE: i64 = 64;

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
        let mx = reduce(b, py, &base, len, max, &|_, i| load(px, i));
        let mx = b.let_(mx);
        let e = |b: &mut KernelBuilder, i: Expr| math::exp(b, sub(load(px, i), mx.clone()));
        let s = if log { reduce(b, py, &base, len, add, &e) } else { sum_stored(b, py, &base, len, &e) };
        let s = b.let_(s);
        if log {
            let ls = math::log(b, s);
            let ls = b.let_(add(ls, mx.clone()));
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

/// `op`-reduction of `val(i)` over `i` in `base .. base + len`, using the
/// row's own output as scratch: `LANES` running partials are stored chunk
/// after chunk (`y[i] = op(y[i - LANES], val(i))`), so the inner loop over
/// contiguous lanes vectorizes and the last chunk holds the partials.
/// (Partials in locals become phis that LLVM's loop vectorizer vectorizes
/// across chunks, with gathers.) Overwrites `y[base .. base + len / LANES * LANES]` (`WIDE` for long rows).
fn reduce(
    b: &mut KernelBuilder,
    y: ParamId,
    base: &Expr,
    len: i64,
    op: fn(Expr, Expr) -> Expr,
    val: &dyn Fn(&mut KernelBuilder, Expr) -> Expr,
) -> Expr {
    let lanes = if len >= 4 * WIDE { WIDE } else { LANES };
    let full = len / lanes * lanes;
    b.for_loop(0, lanes, |b, j| {
        let i = b.let_(add(base.clone(), j));
        let v = val(b, i.clone());
        b.store(y, i, v);
    });
    b.for_step(lanes, full, lanes, |b, c| {
        let at = b.let_(add(base.clone(), c));
        b.for_loop(0, lanes, |b, j| {
            let i = b.let_(add(at.clone(), j));
            let v = val(b, i.clone());
            let prev = load(y, sub(i.clone(), ci(lanes)));
            b.store(y, i, op(prev, v));
        });
    });
    // Pairwise combination keeps the sum's rounding error growth at log2(lanes).
    let last = full - lanes;
    let mut parts: Vec<Expr> = (0..lanes).map(|j| load(y, add(base.clone(), ci(last + j)))).collect();
    while parts.len() > 1 {
        let half = parts.len() / 2;
        let (lo, hi) = parts.split_at(half);
        parts = lo.iter().zip(hi).map(|(p, q)| op(p.clone(), q.clone())).collect();
    }
    let r = b.var(parts.pop().expect("lanes > 0"));
    b.for_loop(full, len, |b, a| {
        let i = b.let_(add(base.clone(), a));
        let v = val(b, i);
        b.assign(r, op(Expr::Local(r), v));
    });
    Expr::Local(r)
}

/// Sum of `val(i)` over the row, leaving `y[i] = val(i)`: the `WIDE`
/// partial sums live in the row's first chunk while the later chunks are
/// computed (a vectorized inner loop over the chunk; LLVM keeps the
/// partials in registers once it has unrolled it), then the first chunk is
/// recomputed.
fn sum_stored(b: &mut KernelBuilder, y: ParamId, base: &Expr, len: i64, val: &dyn Fn(&mut KernelBuilder, Expr) -> Expr) -> Expr {
    let lanes = if len >= 4 * WIDE { WIDE } else { LANES };
    let full = len / lanes * lanes;
    let first = |b: &mut KernelBuilder| {
        b.for_loop(0, lanes, |b, j| {
            let i = b.let_(add(base.clone(), j));
            let v = val(b, i.clone());
            b.store(y, i, v);
        });
    };
    first(b);
    b.for_step(lanes, full, lanes, |b, c| {
        let at = b.let_(add(base.clone(), c));
        b.for_loop(0, lanes, |b, j| {
            let i = b.let_(add(at.clone(), j.clone()));
            let v = val(b, i.clone());
            let v = b.let_(v);
            b.store(y, i, v.clone());
            let k = b.let_(add(base.clone(), j));
            b.store(y, k.clone(), add(load(y, k), v));
        });
    });
    let mut parts: Vec<Expr> = (0..lanes).map(|j| load(y, add(base.clone(), ci(j)))).collect();
    while parts.len() > 1 {
        let half = parts.len() / 2;
        let (lo, hi) = parts.split_at(half);
        parts = lo.iter().zip(hi).map(|(p, q)| add(p.clone(), q.clone())).collect();
    }
    let r = b.var(parts.pop().expect("lanes > 0"));
    b.for_loop(full, len, |b, a| {
        let i = b.let_(add(base.clone(), a));
        let v = val(b, i.clone());
            let v = b.let_(v);
        b.store(y, i, v.clone());
        b.assign(r, add(Expr::Local(r), v));
    });
    let r = b.let_(Expr::Local(r));
    first(b);
    r
}
