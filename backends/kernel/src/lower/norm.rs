//! Normalization ops (one kernel shape for all, driven by the op's
//! `NormPlan`) and the gated activations Swish/SwiGLU.
//!
//! A normalization kernel loops over the kept view axes (in parallel) and,
//! per group, makes up to three passes over the reduced axes: the sum, the
//! sum of squared deviations (two-pass variance, as the ONNX reference), and
//! the output with scale and bias applied.

use super::*;
use onnxc_ir::infer::{norm_plan, NormKind, NormPlan};

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::Swish { alpha } | Op::SwiGLU { alpha } => gated(cx, n, *alpha),
        _ => normalize(cx, n),
    }
}

/// Full-axis index from outer (kept) and inner (reduced) loop variables.
fn merge(plan: &NormPlan, outer: &[Expr], inner: &[Expr]) -> Vec<Expr> {
    let (mut o, mut i) = (outer.iter(), inner.iter());
    plan.reduced
        .iter()
        .map(|&r| if r { i.next() } else { o.next() }.cloned().unwrap_or_else(|| ci(0)))
        .collect()
}

struct Bufs {
    x: ParamId,
    scale: Option<(ParamId, Vec<i64>)>,
    bias: Option<(ParamId, Vec<i64>)>,
    y: ParamId,
    stats: Vec<ParamId>,
}

fn normalize(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let shapes: Vec<Option<&[usize]>> =
        n.inputs.iter().map(|i| i.map(|v| cx.ty(v).shape.as_slice())).collect();
    let plan = norm_plan(&n.op, &shapes).map_err(|e| cx.invalid(e.0))?;
    let x = cx.input(n, 0)?;
    let d = cx.ty(x).dtype;
    if !d.is_float() {
        return Err(cx.unsupported(format!("dtype {d} (expected a float)")));
    }
    let mut b = cx.builder("norm");
    let mut args = vec![cx.buf(x)?];
    let px = b.input(scalar(d));
    let mut affine = |cx: &mut Cx, b: &mut KernelBuilder, i: usize, st: &Option<Vec<i64>>| {
        match (n.input(i), st) {
            (Some(v), Some(st)) => {
                args.push(cx.buf(v)?);
                Ok::<_, LowerError>(Some((b.input(scalar(d)), st.clone())))
            }
            _ => Ok(None),
        }
    };
    let scale = affine(cx, &mut b, 1, &plan.scale)?;
    let bias = affine(cx, &mut b, 2, &plan.bias)?;
    let y = b.output(scalar(d));
    args.push(cx.buf(cx.output(n, 0)?)?);
    let mut stats = Vec::new();
    for &o in n.outputs.iter().skip(1) {
        stats.push(b.output(scalar(d)));
        args.push(cx.buf(o)?);
    }
    let bufs = Bufs { x: px, scale, bias, y, stats };
    norm_kernel(&mut b, &plan, d, &bufs);
    cx.emit(b.finish(), args);
    Ok(())
}

fn norm_kernel(b: &mut KernelBuilder, plan: &NormPlan, d: DType, p: &Bufs) {
    let t = compute_ty(d);
    let outer_dims: Vec<usize> =
        plan.dims.iter().zip(&plan.reduced).filter(|(_, r)| !**r).map(|(d, _)| *d).collect();
    let inner_dims: Vec<usize> =
        plan.dims.iter().zip(&plan.reduced).filter(|(_, r)| **r).map(|(d, _)| *d).collect();
    let xs = strides(&plan.dims);
    let stat_st = strides(&outer_dims);
    let count = cf(t, plan.group_len().max(1) as f64);
    let kind = plan.kind;
    nest(b, &outer_dims, true, &mut |b, ov| {
        let ov = ov.to_vec();
        let xi = |iv: &[Expr]| lin(&merge(plan, &ov, iv), &xs);
        let sum = b.var(cf(t, 0.0));
        nest(b, &inner_dims, false, &mut |b, iv| {
            let v = load_val(b, d, p.x, xi(iv));
            let v = b.let_(v);
            let term = match kind {
                NormKind::Rms | NormKind::L2 => mul(v.clone(), v),
                NormKind::L1 => abs(v),
                _ => v,
            };
            b.assign(sum, add(Expr::Local(sum), term));
        });
        let mean = b.let_(div(Expr::Local(sum), count.clone()));
        let center = matches!(kind, NormKind::Standardize | NormKind::StandardizeStdEps);
        let eps = cf(t, plan.epsilon);
        let one = cf(t, 1.0);
        let inv = if center {
            let ss = b.var(cf(t, 0.0));
            nest(b, &inner_dims, false, &mut |b, iv| {
                let v = load_val(b, d, p.x, xi(iv));
                let dv = b.let_(sub(v, mean.clone()));
                b.assign(ss, add(Expr::Local(ss), mul(dv.clone(), dv)));
            });
            let var = div(Expr::Local(ss), count.clone());
            match kind {
                NormKind::Standardize => div(one, sqrt(add(var, eps))),
                _ => div(one, add(sqrt(var), eps)),
            }
        } else {
            let norm = match kind {
                NormKind::Rms => sqrt(add(mean.clone(), eps)),
                NormKind::L1 => Expr::Local(sum),
                _ => sqrt(Expr::Local(sum)),
            };
            if kind == NormKind::Rms {
                div(one, norm)
            } else {
                // An all-zero group normalizes to zeros (the reference's 0/0 = 0).
                let norm = b.let_(norm);
                let zero = cf(t, 0.0);
                select(eq(norm.clone(), zero.clone()), zero, div(one, norm))
            }
        };
        let inv = b.let_(inv);
        let c = if center { mean.clone() } else { cf(t, 0.0) };
        nest(b, &inner_dims, false, &mut |b, iv| {
            let full = merge(plan, &ov, iv);
            let v = load_val(b, d, p.x, lin(&full, &xs));
            let mut y = mul(sub(v, c.clone()), inv.clone());
            if let Some((s, st)) = &p.scale {
                y = mul(y, load_val(b, d, *s, lin(&full, st)));
            }
            if let Some((bb, st)) = &p.bias {
                y = add(y, load_val(b, d, *bb, lin(&full, st)));
            }
            store_val(b, d, p.y, lin(&full, &xs), y);
        });
        let si = lin(&ov, &stat_st);
        for (k, &o) in p.stats.iter().enumerate() {
            let v = if k == 0 { mean.clone() } else { inv.clone() };
            store_val(b, d, o, si.clone(), v);
        }
    });
}

/// Swish `a * sigmoid(alpha * a)`; SwiGLU multiplies by `b` as well.
fn gated(cx: &mut Cx, n: &Node, alpha: f32) -> Result<(), LowerError> {
    let a = cx.input(n, 0)?;
    let d = cx.ty(a).dtype;
    if !d.is_float() {
        return Err(cx.unsupported(format!("dtype {d} (expected a float)")));
    }
    let t = compute_ty(d);
    let mut b = cx.builder("swish");
    let pa = b.input(scalar(d));
    let mut args = vec![cx.buf(a)?];
    let pb = match n.input(1) {
        Some(v) => {
            args.push(cx.buf(v)?);
            Some(b.input(scalar(d)))
        }
        None => None,
    };
    let py = b.output(scalar(d));
    args.push(cx.buf(cx.output(n, 0)?)?);
    let count = cx.ty(a).numel() as i64;
    b.par_for(0, count, |b, i| {
        let v = load_val(b, d, pa, i.clone());
        let v = b.let_(v);
        let s = math::sigmoid(b, mul(cf(t, alpha as f64), v.clone()));
        let mut y = mul(v, s);
        if let Some(pb) = pb {
            y = mul(y, load_val(b, d, pb, i.clone()));
        }
        store_val(b, d, py, i, y);
    });
    cx.emit(b.finish(), args);
    Ok(())
}
