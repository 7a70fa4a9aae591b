//! Reductions (every ReduceOp) and ArgMax/ArgMin. The kept axes form the
//! outer (parallel) loop nest, the reduced axes the inner one; keepdims
//! does not change the output's element order.

use super::*;
use onnxc_ir::op::ReduceOp;

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::Reduce { op, noop_with_empty_axes, .. } => reduce(cx, n, *op, *noop_with_empty_axes),
        Op::ArgMax { axis, select_last_index, .. } => arg(cx, n, *axis, true, *select_last_index),
        Op::ArgMin { axis, select_last_index, .. } => arg(cx, n, *axis, false, *select_last_index),
        _ => Err(cx.invalid("not a reduction")),
    }
}

fn reduce(cx: &mut Cx, n: &Node, op: ReduceOp, noop: bool) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let d = cx.ty(x).dtype;
    let r = xs.len();
    let axes = cx.const_ints(n, 1)?.unwrap_or_default();
    if axes.is_empty() && noop {
        return cx.copy_value(y, x);
    }
    let mut red = vec![axes.is_empty(); r];
    for a in &axes {
        red[onnxc_ir::infer::norm_axis(*a, r).map_err(|e| cx.invalid(e.0))?] = true;
    }
    use ReduceOp::*;
    // Bools are bytes holding 0 or 1: their max and min are the bytes'.
    let d = if d == DType::Bool && matches!(op, Max | Min) { DType::U8 } else { d };
    let needs_float = matches!(op, L2 | LogSum | LogSumExp);
    if d == DType::Bool || (needs_float && !d.is_float()) {
        return Err(cx.unsupported(format!("Reduce{op:?} on {d}")));
    }
    let t = compute_ty(d);
    let xst = strides(&xs);
    let kept: Vec<usize> = (0..r).filter(|i| !red[*i]).collect();
    let redax: Vec<usize> = (0..r).filter(|i| red[*i]).collect();
    let kdims: Vec<usize> = kept.iter().map(|i| xs[*i]).collect();
    let rdims: Vec<usize> = redax.iter().map(|i| xs[*i]).collect();
    let kst: Vec<i64> = kept.iter().map(|i| xst[*i]).collect();
    let rst: Vec<i64> = redax.iter().map(|i| xst[*i]).collect();
    let yst = strides(&kdims);
    let count = rdims.iter().product::<usize>();
    let mut b = cx.builder("reduce");
    let px = b.input(scalar(d));
    let py = b.output(scalar(d));
    nest(&mut b, &kdims, true, &mut |b, kv| {
        let base = b.let_(lin(kv, &kst));
        // LogSumExp subtracts the maximum first so exp cannot overflow.
        let shift = if op == LogSumExp {
            let m = b.var(extreme(t, true));
            nest(b, &rdims, false, &mut |b, rv| {
                let v = load_val(b, d, px, add(base.clone(), lin(rv, &rst)));
                b.assign(m, max(Expr::Local(m), v));
            });
            let m = Expr::Local(m);
            Some(b.let_(select(eq(abs(m.clone()), cf(t, f64::INFINITY)), cf(t, 0.0), m)))
        } else {
            None
        };
        let init = match op {
            Max => extreme(t, true),
            Min => extreme(t, false),
            Prod => cf(t, 1.0),
            _ => cf(t, 0.0),
        };
        let acc = b.var(init);
        nest(b, &rdims, false, &mut |b, rv| {
            let v = load_val(b, d, px, add(base.clone(), lin(rv, &rst)));
            let v = b.let_(v);
            let nv = step(b, op, t, Expr::Local(acc), v, shift.clone());
            b.assign(acc, nv);
        });
        let res = finish(b, op, t, Expr::Local(acc), count, shift.clone());
        store_val(b, d, py, lin(kv, &yst), res);
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

/// One accumulation step `acc ⊕ v`.
fn step(b: &mut KernelBuilder, op: ReduceOp, t: Scalar, a: Expr, v: Expr, shift: Option<Expr>) -> Expr {
    use ReduceOp::*;
    match op {
        Sum | Mean | LogSum => add(a, v),
        Max => max(a, v),
        Min => min(a, v),
        Prod => mul(a, v),
        L1 => add(a, if t.is_float() || t.is_signed() { abs(v) } else { v }),
        L2 | SumSquare => add(a, mul(v.clone(), v)),
        LogSumExp => {
            let e = math::exp(b, sub(v, shift.unwrap_or(cf(t, 0.0))));
            add(a, e)
        }
    }
}

/// The reduced value from the accumulator over `count` elements.
fn finish(b: &mut KernelBuilder, op: ReduceOp, t: Scalar, a: Expr, count: usize, shift: Option<Expr>) -> Expr {
    use ReduceOp::*;
    match op {
        Mean => div(a, cf(t, count as f64)),
        L2 => sqrt(a),
        LogSum => math::log(b, a),
        LogSumExp => {
            let l = math::log(b, a);
            add(l, shift.unwrap_or(cf(t, 0.0)))
        }
        _ => a,
    }
}

fn arg(cx: &mut Cx, n: &Node, axis: i64, is_max: bool, last: bool) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let d = cx.ty(x).dtype;
    if cx.ty(y).dtype != DType::I64 {
        return Err(cx.invalid("output must be i64"));
    }
    let ax = onnxc_ir::infer::norm_axis(axis, xs.len()).map_err(|e| cx.invalid(e.0))?;
    let outer = xs[..ax.min(xs.len())].iter().product::<usize>() as i64;
    let len = xs.get(ax).copied().unwrap_or(1) as i64;
    let inner = xs.get(ax + 1..).map(|s| s.iter().product::<usize>()).unwrap_or(1) as i64;
    if len == 0 {
        return Err(cx.invalid("ArgMax/ArgMin over an empty axis"));
    }
    let mut b = cx.builder(if is_max { "argmax" } else { "argmin" });
    let px = b.input(scalar(d));
    let py = b.output(Scalar::I64);
    b.par_for(0, outer, |b, o| {
        b.for_loop(0, inner, |b, i| {
            let base = b.let_(add(mul(o.clone(), ci(len * inner)), i.clone()));
            let first = load_val(b, d, px, base.clone());
            let best = b.var(first);
            let idx = b.var(ci(0));
            b.for_loop(1, len, |b, a| {
                let v = load_val(b, d, px, add(base.clone(), mul(a.clone(), ci(inner))));
                let v = b.let_(v);
                let bv = Expr::Local(best);
                let better = match (is_max, last) {
                    (true, false) => gt(v.clone(), bv),
                    (true, true) => ge(v.clone(), bv),
                    (false, false) => lt(v.clone(), bv),
                    (false, true) => le(v.clone(), bv),
                };
                b.if_(better, |b| {
                    b.assign(best, v);
                    b.assign(idx, a);
                });
            });
            b.store(py, add(mul(o.clone(), ci(inner)), i), Expr::Local(idx));
        });
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}
