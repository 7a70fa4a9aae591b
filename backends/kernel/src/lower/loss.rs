//! NegativeLogLikelihoodLoss as one kernel: the per-element losses, or
//! (Sum/Mean) a serial f64 accumulation of loss and weight, matching the
//! evaluator (`ir/src/eval/loss.rs`). Targets are clamped into `[0, C)`
//! before indexing so a bad target can never read out of bounds.

use super::*;
use onnxc_ir::op::LossReduction;

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::NegativeLogLikelihoodLoss { reduction, ignore_index } => nll(cx, n, *reduction, *ignore_index),
        _ => Err(cx.invalid("not a loss op")),
    }
}

fn nll(cx: &mut Cx, n: &Node, red: LossReduction, ii: Option<i64>) -> Result<(), LowerError> {
    let (x, t, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let w = n.input(2);
    let xs = cx.ty(x).shape.clone();
    let (xd, td) = (cx.ty(x).dtype, cx.ty(t).dtype);
    if xs.len() < 2 || !xd.is_float() {
        return Err(cx.invalid(format!("input must be a float tensor of rank >= 2, got {}", cx.ty(x))));
    }
    let wd = w.map(|w| cx.ty(w).dtype);
    let (c, d) = (xs[1] as i64, xs[2..].iter().product::<usize>() as i64);
    let total = xs[0] as i64 * d;
    let mut b = cx.builder("nll");
    let px = b.input(scalar(xd));
    let pt = b.input(scalar(td));
    let pw = w.map(|w| b.input(scalar(cx.ty(w).dtype)));
    let py = b.output(scalar(xd));
    // (loss, weight) of element `k` as f64, both 0 when ignored.
    let term = |b: &mut KernelBuilder, k: Expr| -> (Expr, Expr) {
        let cls = load(pt, k.clone());
        let cls = b.let_(if td == DType::I64 { cls } else { cast(Scalar::I64, cls) });
        let tc = b.let_(min(max(cls.clone(), ci(0)), ci(c - 1)));
        let ign = match ii {
            Some(v) => b.let_(eq(cls, ci(v))),
            None => cbool(false),
        };
        let (ni, di) = (div(k.clone(), ci(d)), rem(k, ci(d)));
        let xv = load_val(b, xd, px, add(mul(add(mul(ni, ci(c)), tc.clone()), ci(d)), di));
        let xv = convert(b, xv, DType::F64);
        let wt = match (pw, wd) {
            (Some(pw), Some(wd)) => {
                let v = load_val(b, wd, pw, tc);
                let v = convert(b, v, DType::F64);
                b.let_(v)
            }
            _ => cf(Scalar::F64, 1.0),
        };
        let zero = cf(Scalar::F64, 0.0);
        let loss = b.let_(select(ign.clone(), zero.clone(), neg(mul(xv, wt.clone()))));
        let wt = b.let_(select(ign, zero, wt));
        (loss, wt)
    };
    match red {
        LossReduction::None => b.par_for(0, total, |b, k| {
            let (loss, _) = term(b, k.clone());
            let v = convert(b, loss, xd);
            store_val(b, xd, py, k, v);
        }),
        LossReduction::Sum | LossReduction::Mean => {
            let acc = b.var(cf(Scalar::F64, 0.0));
            let wacc = b.var(cf(Scalar::F64, 0.0));
            b.for_loop(0, total, |b, k| {
                let (loss, wt) = term(b, k);
                b.assign(acc, add(Expr::Local(acc), loss));
                b.assign(wacc, add(Expr::Local(wacc), wt));
            });
            let r = if red == LossReduction::Mean { div(Expr::Local(acc), Expr::Local(wacc)) } else { Expr::Local(acc) };
            let r = convert(&b, r, xd);
            store_val(&mut b, xd, py, ci(0), r);
        }
    }
    let mut args = vec![cx.buf(x)?, cx.buf(t)?];
    if let Some(w) = w {
        args.push(cx.buf(w)?);
    }
    args.push(cx.buf(y)?);
    cx.emit(b.finish(), args);
    Ok(())
}
