//! Ops with data-dependent output extents (see `onnxc_ir::dynamic`). Each
//! kernel first computes the actual extent, stores it (i64) in the node's
//! extent slot (`Cx::extent_slot`, read by `<p>_output_dims`), and writes
//! the data dense row-major for the actual dims into the bound-sized buffer.
//! These kernels are serial: their outputs depend on a running count.

use super::*;

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::NonZero => non_zero(cx, n),
        Op::Compress { axis } => compress(cx, n, *axis),
        Op::Unique { sorted, axis } => unique(cx, n, *sorted, *axis),
        Op::NonMaxSuppression { center_point_box } => nms(cx, n, *center_point_box),
        _ => Err(cx.invalid("not a data-dependent op")),
    }
}

/// `v != 0` in `v`'s compute type (NaN counts as non-zero).
fn nonzero_expr(b: &KernelBuilder, v: Expr) -> Expr {
    let t = b.ty(&v);
    let zero = match t {
        Scalar::Bool => cbool(false),
        t if t.is_float() => cf(t, 0.0),
        t => cint(t, 0),
    };
    ne(v, zero)
}

/// `[outer, len, inner]` around `axis`; the flattened tensor without one.
fn split3(shape: &[usize], axis: Option<usize>) -> (usize, usize, usize) {
    match axis {
        None => (1, shape.iter().product(), 1),
        Some(a) => (shape[..a].iter().product(), shape[a], shape[a + 1..].iter().product()),
    }
}

fn norm_axis(cx: &Cx, axis: Option<i64>, rank: usize) -> Result<Option<usize>, LowerError> {
    axis.map(|a| onnxc_ir::infer::norm_axis(a, rank).map_err(|e| cx.invalid(e.0))).transpose()
}

fn non_zero(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let (d, shape) = (cx.ty(x).dtype, cx.ty(x).shape.clone());
    let numel = shape.iter().product::<usize>() as i64;
    let st = strides(&shape);
    let mut b = cx.builder("nonzero");
    let px = b.input(scalar(d));
    let py = b.output(Scalar::I64);
    let pe = b.output(Scalar::I64);
    let cnt = b.var(ci(0));
    b.for_loop(0, numel, |b, i| {
        let v = load_val(b, d, px, i);
        let nz = nonzero_expr(b, v);
        b.if_(nz, |b| b.assign(cnt, add(Expr::Local(cnt), ci(1))));
    });
    b.store(pe, ci(0), Expr::Local(cnt));
    let j = b.var(ci(0));
    b.for_loop(0, numel, |b, i| {
        let v = load_val(b, d, px, i.clone());
        let nz = nonzero_expr(b, v);
        b.if_(nz, |b| {
            for (k, s) in st.iter().enumerate() {
                let coord = rem(div(i.clone(), ci(*s)), ci(shape[k] as i64));
                b.store(py, add(mul(ci(k as i64), Expr::Local(cnt)), Expr::Local(j)), coord);
            }
            if shape.is_empty() {
                b.store(py, Expr::Local(j), ci(0));
            }
            b.assign(j, add(Expr::Local(j), ci(1)));
        });
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?, cx.extent_slot(n)];
    cx.emit(b.finish(), args);
    Ok(())
}

fn compress(cx: &mut Cx, n: &Node, axis: Option<i64>) -> Result<(), LowerError> {
    let (x, c, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let (d, shape) = (cx.ty(x).dtype, cx.ty(x).shape.clone());
    let a = norm_axis(cx, axis, shape.len())?;
    let (outer, len, inner) = split3(&shape, a);
    let m = len.min(cx.ty(c).numel()) as i64;
    let (len, inner) = (len as i64, inner as i64);
    let mut b = cx.builder("compress");
    let px = b.input(scalar(d));
    let pc = b.input(Scalar::Bool);
    let py = b.output(scalar(d));
    let pe = b.output(Scalar::I64);
    let cnt = b.var(ci(0));
    b.for_loop(0, m, |b, j| b.if_(load(pc, j), |b| b.assign(cnt, add(Expr::Local(cnt), ci(1)))));
    b.store(pe, ci(0), Expr::Local(cnt));
    b.for_loop(0, outer as i64, |b, o| {
        let k = b.var(ci(0));
        b.for_loop(0, m, |b, j| {
            b.if_(load(pc, j.clone()), |b| {
                let src = b.let_(mul(add(mul(o.clone(), ci(len)), j.clone()), ci(inner)));
                let dst = b.let_(mul(add(mul(o.clone(), Expr::Local(cnt)), Expr::Local(k)), ci(inner)));
                b.for_loop(0, inner, |b, i| b.store(py, add(dst.clone(), i.clone()), load(px, add(src.clone(), i))));
                b.assign(k, add(Expr::Local(k), ci(1)));
            });
        });
    });
    let args = vec![cx.buf(x)?, cx.buf(c)?, cx.buf(y)?, cx.extent_slot(n)];
    cx.emit(b.finish(), args);
    Ok(())
}

/// TopK with a run-time K (clamped to `0..=len`): ranks as in `index.rs`,
/// written with row stride K so the output is dense for the actual dims.
pub(super) fn top_k(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let Op::TopK { axis, largest, .. } = n.op else { return Err(cx.invalid("not TopK")) };
    let (x, kv, yv) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let yi = n.outputs.get(1).copied();
    let xs = cx.ty(x).shape.clone();
    let a = onnxc_ir::infer::norm_axis(axis, xs.len()).map_err(|e| cx.invalid(e.0))?;
    let d = cx.ty(x).dtype;
    let (outer, len) = (xs[..a].iter().product::<usize>(), xs[a] as i64);
    let inner = xs[a + 1..].iter().product::<usize>() as i64;
    let mut b = cx.builder("top_k_dyn");
    let px = b.input(scalar(d));
    let pk = b.input(Scalar::I64);
    let pv = b.output(scalar(d));
    let pidx = yi.map(|_| b.output(Scalar::I64));
    let pe = b.output(Scalar::I64);
    let k = b.let_(min(max(load(pk, ci(0)), ci(0)), ci(len)));
    b.store(pe, ci(0), k.clone());
    nest(&mut b, &[outer, inner as usize], false, &mut |b, v| {
        let base = b.let_(add(mul(v[0].clone(), ci(len * inner)), v[1].clone()));
        let obase = b.let_(add(mul(mul(v[0].clone(), k.clone()), ci(inner)), v[1].clone()));
        b.for_loop(0, len, |b, i| {
            let xi = load_val(b, d, px, add(base.clone(), mul(i.clone(), ci(inner))));
            let xi = b.let_(xi);
            let rank = b.var(ci(0));
            b.for_loop(0, len, |b, m| {
                let xm = load_val(b, d, px, add(base.clone(), mul(m.clone(), ci(inner))));
                let better = if largest { gt(xm.clone(), xi.clone()) } else { lt(xm.clone(), xi.clone()) };
                let tie = math::band(eq(xm, xi.clone()), lt(m, i.clone()));
                b.assign(rank, add(Expr::Local(rank), select(math::bor(better, tie), ci(1), ci(0))));
            });
            b.if_(lt(Expr::Local(rank), k.clone()), |b| {
                let o = b.let_(add(obase.clone(), mul(Expr::Local(rank), ci(inner))));
                b.store(pv, o.clone(), load(px, add(base.clone(), mul(i.clone(), ci(inner)))));
                if let Some(p) = pidx {
                    b.store(p, o, i.clone());
                }
            });
        });
    });
    let mut args = vec![cx.buf(x)?, cx.buf(kv)?, cx.buf(yv)?];
    if let Some(v) = yi {
        args.push(cx.buf(v)?);
    }
    args.push(cx.extent_slot(n));
    cx.emit(b.finish(), args);
    Ok(())
}

/// Unique over slices `x[o, j, i]` (j along the axis; the flattened tensor
/// as `[1, numel, 1]` without one). Scratch `first[j]` is the first slice
/// equal to slice j, `slot[j]` the output position of a first slice.
fn unique(cx: &mut Cx, n: &Node, sorted: bool, axis: Option<i64>) -> Result<(), LowerError> {
    let x = cx.input(n, 0)?;
    let (d, shape) = (cx.ty(x).dtype, cx.ty(x).shape.clone());
    let a = norm_axis(cx, axis, shape.len())?;
    let (outer, len, inner) = split3(&shape, a);
    let (len, inner_i) = (len as i64, inner as i64);
    let outs: Vec<Option<ValueId>> = (0..4).map(|k| n.outputs.get(k).copied()).collect();
    let mut b = cx.builder("unique");
    let px = b.input(scalar(d));
    let pouts: Vec<Option<ParamId>> = outs
        .iter()
        .enumerate()
        .map(|(k, o)| o.map(|_| b.output(if k == 0 { scalar(d) } else { Scalar::I64 })))
        .collect();
    let pe = b.output(Scalar::I64);
    let pf = b.output(Scalar::I64);
    let ps = b.output(Scalar::I64);
    // -1/0/1: lexicographic order of slices p and q, element order (outer, inner).
    let cmp = |b: &mut KernelBuilder, p: Expr, q: Expr| -> Expr {
        let res = b.var(ci(0));
        nest(b, &[outer, inner], false, &mut |b, v| {
            let at = |j: Expr| add(mul(add(mul(v[0].clone(), ci(len)), j), ci(inner_i)), v[1].clone());
            let u = load_val(b, d, px, at(p.clone()));
            let u = b.let_(u);
            let w = load_val(b, d, px, at(q.clone()));
            let w = b.let_(w);
            let c = select(lt(u.clone(), w.clone()), ci(-1), select(gt(u, w), ci(1), ci(0)));
            b.assign(res, select(eq(Expr::Local(res), ci(0)), c, Expr::Local(res)));
        });
        Expr::Local(res)
    };
    b.for_loop(0, len, |b, j| {
        let f = b.var(j.clone());
        b.for_loop(0, j.clone(), |b, q| {
            b.if_(eq(Expr::Local(f), j.clone()), |b| {
                let c = cmp(b, q.clone(), j.clone());
                b.if_(eq(c, ci(0)), |b| b.assign(f, q));
            });
        });
        b.store(pf, j, Expr::Local(f));
    });
    let is_first = |j: Expr| eq(load(pf, j.clone()), j);
    let u = b.var(ci(0));
    b.for_loop(0, len, |b, j| b.if_(is_first(j), |b| b.assign(u, add(Expr::Local(u), ci(1)))));
    b.store(pe, ci(0), Expr::Local(u));
    b.for_loop(0, len, |b, j| {
        b.if_(is_first(j.clone()), |b| {
            let s = b.var(ci(0));
            let cnt = b.var(ci(0));
            b.for_loop(0, len, |b, q| {
                b.if_(eq(load(pf, q.clone()), j.clone()), |b| b.assign(cnt, add(Expr::Local(cnt), ci(1))));
                b.if_(is_first(q.clone()), |b| {
                    let before = if sorted { lt(cmp(b, q.clone(), j.clone()), ci(0)) } else { lt(q.clone(), j.clone()) };
                    b.if_(before, |b| b.assign(s, add(Expr::Local(s), ci(1))));
                });
            });
            let s = Expr::Local(s);
            b.store(ps, j.clone(), s.clone());
            if let Some(py) = pouts[0] {
                nest(b, &[outer, inner], false, &mut |b, v| {
                    let src = add(mul(add(mul(v[0].clone(), ci(len)), j.clone()), ci(inner_i)), v[1].clone());
                    let dst = add(mul(add(mul(v[0].clone(), Expr::Local(u)), s.clone()), ci(inner_i)), v[1].clone());
                    b.store(py, dst, load(px, src));
                });
            }
            if let Some(p) = pouts[1] {
                b.store(p, s.clone(), j.clone());
            }
            if let Some(p) = pouts[3] {
                b.store(p, s, Expr::Local(cnt));
            }
        });
    });
    if let Some(p) = pouts[2] {
        b.for_loop(0, len, |b, j| b.store(p, j.clone(), load(ps, load(pf, j))));
    }
    let mut args = vec![cx.buf(x)?];
    for o in outs.iter().flatten() {
        args.push(cx.buf(*o)?);
    }
    args.push(cx.extent_slot(n));
    args.push(cx.scratch(8 * len.max(1) as usize));
    args.push(cx.scratch(8 * len.max(1) as usize));
    cx.emit(b.finish(), args);
    Ok(())
}

/// Box `i` of the current batch as `(x0, y0, x1, y1)` (f32), like ONNX's reference.
fn corners(b: &mut KernelBuilder, pb: ParamId, base: Expr, center: bool) -> [Expr; 4] {
    let v: Vec<Expr> = (0..4).map(|k| b.let_(load(pb, add(base.clone(), ci(k))))).collect();
    let two = cf(Scalar::F32, 2.0);
    if center {
        let hw = b.let_(div(v[2].clone(), two.clone()));
        let hh = b.let_(div(v[3].clone(), two));
        [sub(v[0].clone(), hw.clone()), sub(v[1].clone(), hh.clone()), add(v[0].clone(), hw), add(v[1].clone(), hh)]
    } else {
        [min(v[1].clone(), v[3].clone()), min(v[0].clone(), v[2].clone()), max(v[1].clone(), v[3].clone()), max(v[0].clone(), v[2].clone())]
    }
}

/// ONNX's suppression test (IoU strictly above `iou`, degenerate boxes never suppress).
fn suppresses(b: &mut KernelBuilder, pb: ParamId, p: Expr, q: Expr, center: bool, iou: Expr) -> Expr {
    let [ax0, ay0, ax1, ay1] = corners(b, pb, mul(p, ci(4)), center).map(|e| b.let_(e));
    let [bx0, by0, bx1, by1] = corners(b, pb, mul(q, ci(4)), center).map(|e| b.let_(e));
    let ix0 = b.let_(max(ax0.clone(), bx0.clone()));
    let ix1 = b.let_(min(ax1.clone(), bx1.clone()));
    let iy0 = b.let_(max(ay0.clone(), by0.clone()));
    let iy1 = b.let_(min(ay1.clone(), by1.clone()));
    let inter = b.let_(mul(sub(ix1.clone(), ix0.clone()), sub(iy1.clone(), iy0.clone())));
    let area_a = b.let_(mul(sub(ax1, ax0), sub(ay1, ay0)));
    let area_b = b.let_(mul(sub(bx1, bx0), sub(by1, by0)));
    let union = b.let_(sub(add(area_a.clone(), area_b.clone()), inter.clone()));
    let zero = cf(Scalar::F32, 0.0);
    let ok = [gt(ix1, ix0), gt(iy1, iy0), gt(inter.clone(), zero.clone()), gt(area_a, zero.clone()), gt(area_b, zero.clone()), gt(union.clone(), zero)];
    let valid = ok.into_iter().reduce(math::band).expect("six conditions");
    math::band(valid, gt(div(inter, union), iou))
}

/// Greedy NMS per (batch, class): repeatedly take the best remaining box
/// (highest score, lowest index on ties) and keep it unless a box already
/// kept for this class suppresses it. Scratch `done[i]` marks taken or
/// filtered boxes; kept triples are read back from the output itself.
fn nms(cx: &mut Cx, n: &Node, center: bool) -> Result<(), LowerError> {
    let (boxes, scores, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let (nb, nc, nbox) = match cx.ty(scores).shape.as_slice() {
        [b, c, k] => (*b as i64, *c as i64, *k as i64),
        s => return Err(cx.invalid(format!("scores must be 3-D, got {s:?}"))),
    };
    let opt: Vec<Option<ValueId>> = (2..5).map(|i| n.input(i)).collect();
    let mut b = cx.builder("nms");
    let pb = b.input(Scalar::F32);
    let ps = b.input(Scalar::F32);
    let pmax = opt[0].map(|_| b.input(Scalar::I64));
    let piou = opt[1].map(|_| b.input(Scalar::F32));
    let pthr = opt[2].map(|_| b.input(Scalar::F32));
    let py = b.output(Scalar::I64);
    let pe = b.output(Scalar::I64);
    let pdone = b.output(Scalar::I64);
    let max_out = match pmax {
        Some(p) => b.let_(max(load(p, ci(0)), ci(0))),
        None => ci(0),
    };
    let iou = match piou {
        Some(p) => b.let_(load(p, ci(0))),
        None => cf(Scalar::F32, 0.0),
    };
    let thr = pthr.map(|p| b.let_(load(p, ci(0))));
    let count = b.var(ci(0));
    nest(&mut b, &[nb as usize, nc as usize], false, &mut |b, v| {
        let (bi, c) = (v[0].clone(), v[1].clone());
        let sbase = b.let_(mul(add(mul(bi.clone(), ci(nc)), c.clone()), ci(nbox)));
        let bbase = b.let_(mul(bi.clone(), ci(nbox)));
        // A copy: `let_` would alias the running count.
        let start = Expr::Local(b.var(Expr::Local(count)));
        b.for_loop(0, nbox, |b, i| {
            let filtered = match &thr {
                Some(t) => select(gt(load(ps, add(sbase.clone(), i.clone())), t.clone()), ci(0), ci(1)),
                None => ci(0),
            };
            b.store(pdone, i, filtered);
        });
        let nsel = b.var(ci(0));
        b.for_loop(0, nbox, |b, _step| {
            let best = b.var(ci(-1));
            let bs = b.var(cf(Scalar::F32, 0.0));
            b.for_loop(0, nbox, |b, i| {
                let s = b.let_(load(ps, add(sbase.clone(), i.clone())));
                let free = eq(load(pdone, i.clone()), ci(0));
                let better = math::bor(lt(Expr::Local(best), ci(0)), gt(s.clone(), Expr::Local(bs)));
                b.if_(math::band(free, better), |b| {
                    b.assign(best, i);
                    b.assign(bs, s);
                });
            });
            let go = math::band(ge(Expr::Local(best), ci(0)), lt(Expr::Local(nsel), max_out.clone()));
            b.if_(go, |b| {
                let p = Expr::Local(best);
                b.store(pdone, p.clone(), ci(1));
                let keep = b.var(cbool(true));
                b.for_loop(start.clone(), Expr::Local(count), |b, m| {
                    let q = b.let_(load(py, add(mul(m, ci(3)), ci(2))));
                    let sup = suppresses(b, pb, add(bbase.clone(), p.clone()), add(bbase.clone(), q), center, iou.clone());
                    b.assign(keep, math::band(Expr::Local(keep), not(sup)));
                });
                b.if_(Expr::Local(keep), |b| {
                    let o = b.let_(mul(Expr::Local(count), ci(3)));
                    b.store(py, o.clone(), bi.clone());
                    b.store(py, add(o.clone(), ci(1)), c.clone());
                    b.store(py, add(o, ci(2)), p.clone());
                    b.assign(count, add(Expr::Local(count), ci(1)));
                    b.assign(nsel, add(Expr::Local(nsel), ci(1)));
                });
            });
        });
    });
    b.store(pe, ci(0), Expr::Local(count));
    let mut args = vec![cx.buf(boxes)?, cx.buf(scores)?];
    for v in opt.iter().flatten() {
        args.push(cx.buf(*v)?);
    }
    args.push(cx.buf(y)?);
    args.push(cx.extent_slot(n));
    args.push(cx.scratch(8 * nbox.max(1) as usize));
    cx.emit(b.finish(), args);
    Ok(())
}
