//! Adagrad, Adam and Momentum: one elementwise kernel per optimized tensor,
//! reading the scalar R and T at run time.

use super::*;
use onnxc_ir::infer::optimizer_count;
use onnxc_ir::op::OptimizerKind;

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let Op::Optimizer(kind) = &n.op else { return Err(cx.invalid("not an optimizer")) };
    let kind = *kind;
    let count = optimizer_count(kind, n.inputs.len()).map_err(|e| cx.invalid(e.0))?;
    let per = 2 + kind.states();
    let (r, t) = (cx.input(n, 0)?, cx.input(n, 1)?);
    let rd = cx.ty(r).dtype;
    for i in 0..count {
        let x = cx.input(n, 2 + i)?;
        let d = cx.ty(x).dtype;
        if !d.is_float() || !rd.is_float() {
            return Err(cx.unsupported(format!("dtypes {rd}/{d} (expected floats)")));
        }
        let mut b = cx.builder("optimizer");
        let mut args = vec![cx.buf(r)?, cx.buf(t)?];
        let (pr, pt) = (b.input(scalar(rd)), b.input(Scalar::I64));
        let mut ins = Vec::new();
        for j in 0..per {
            args.push(cx.buf(cx.input(n, 2 + j * count + i)?)?);
            ins.push(b.input(scalar(d)));
        }
        let mut outs = Vec::new();
        for j in 0..per - 1 {
            args.push(cx.buf(cx.output(n, j * count + i)?)?);
            outs.push(b.output(scalar(d)));
        }
        let numel = cx.ty(x).numel() as i64;
        let ct = compute_ty(d);
        b.par_for(0, numel, |b, e| {
            let rv = load_val(b, rd, pr, ci(0));
            let rv = convert(b, rv, d);
            let rv = b.let_(rv);
            let tv = b.let_(load(pt, ci(0)));
            let vals: Vec<Expr> = ins
                .iter()
                .map(|p| {
                    let v = load_val(b, d, *p, e.clone());
                    b.let_(v)
                })
                .collect();
            let res = step(b, kind, ct, rv, tv, &vals);
            for (p, v) in outs.iter().zip(res) {
                store_val(b, d, *p, e.clone(), v);
            }
        });
        cx.emit(b.finish(), args);
    }
    Ok(())
}

/// One element's update as KIR (see `onnxc_ir::eval::training::optimizer_step`).
fn step(b: &mut KernelBuilder, kind: OptimizerKind, t: Scalar, r: Expr, steps: Expr, vals: &[Expr]) -> Vec<Expr> {
    let c = |v: f32| cf(t, v as f64);
    let (x, g) = (vals[0].clone(), vals[1].clone());
    let tf = b.let_(cast(t, steps.clone()));
    let positive = b.let_(gt(steps, ci(0)));
    match kind {
        OptimizerKind::Adagrad { decay_factor, epsilon, norm_coefficient } => {
            let r = b.let_(div(r, add(cf(t, 1.0), mul(tf, c(decay_factor)))));
            let g = b.let_(add(mul(c(norm_coefficient), x.clone()), g));
            let h = b.let_(add(vals[2].clone(), mul(g.clone(), g.clone())));
            let xn = sub(x, div(mul(r, g), add(sqrt(h.clone()), c(epsilon))));
            vec![xn, h]
        }
        OptimizerKind::Adam { alpha, beta, epsilon, norm_coefficient, norm_coefficient_post } => {
            let g = b.let_(add(mul(c(norm_coefficient), x.clone()), g));
            let v = b.let_(add(mul(c(alpha), vals[2].clone()), mul(sub(cf(t, 1.0), c(alpha)), g.clone())));
            let h = b.let_(add(mul(c(beta), vals[3].clone()), mul(sub(cf(t, 1.0), c(beta)), mul(g.clone(), g))));
            let bt = math::pow(b, c(beta), tf.clone());
            let at = math::pow(b, c(alpha), tf);
            let corr = div(sqrt(sub(cf(t, 1.0), bt)), sub(cf(t, 1.0), at));
            let r = b.let_(select(positive, mul(r.clone(), corr), r));
            let xn = sub(x, mul(r, div(v.clone(), add(sqrt(h.clone()), c(epsilon)))));
            vec![mul(sub(cf(t, 1.0), c(norm_coefficient_post)), xn), v, h]
        }
        OptimizerKind::Momentum { alpha, beta, norm_coefficient, nesterov } => {
            let g = b.let_(add(mul(c(norm_coefficient), x.clone()), g));
            let bb = select(positive, c(beta), cf(t, 1.0));
            let v = b.let_(add(mul(c(alpha), vals[2].clone()), mul(bb, g.clone())));
            let xn = if nesterov { sub(x, mul(r, add(g, mul(c(alpha), v.clone())))) } else { sub(x, mul(r, v.clone())) };
            vec![xn, v]
        }
    }
}
