//! RoiAlign: one parallel iteration per ROI; the sampling grid of a bin is
//! data-dependent (adaptive when sampling_ratio = 0), so its loop bounds
//! are run-time values. Coordinates and weights are f64, as in the evaluator.

use super::*;

fn c64(v: f64) -> Expr {
    cf(Scalar::F64, v)
}

/// Bilinear tap position and weight along one axis of extent `n`:
/// (low, high, fraction) after the reference's clamping.
fn axis(b: &mut KernelBuilder, v: Expr, n: usize) -> (Expr, Expr, Expr) {
    let last = n as i64 - 1;
    let v = b.let_(max(v, c64(0.0)));
    let lo = b.let_(cast(Scalar::I64, v.clone()));
    let at_end = b.let_(ge(lo.clone(), ci(last)));
    let low = b.let_(select(at_end.clone(), ci(last), lo.clone()));
    let high = b.let_(select(at_end.clone(), ci(last), add(lo, ci(1))));
    let v = select(at_end, c64(last as f64), v);
    let frac = b.let_(sub(v, cast(Scalar::F64, low.clone())));
    (low, high, frac)
}

pub(super) fn roi_align(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let Op::RoiAlign { half_pixel, max: is_max, output_height: oh, output_width: ow, sampling_ratio, spatial_scale } = n.op.clone() else {
        return Err(cx.invalid("not RoiAlign"));
    };
    let (x, rois, bi, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.input(n, 2)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let (d, bd) = (cx.ty(x).dtype, cx.ty(bi).dtype);
    let r = cx.ty(rois).shape[0];
    let (nb, c, h, w) = (xs[0], xs[1], xs[2], xs[3]);
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    if h == 0 || w == 0 {
        return Err(cx.unsupported("RoiAlign of an empty image"));
    }
    let t = compute_ty(d);
    let mut b = cx.builder("roialign");
    let (px, pr, pb, py) = (b.input(scalar(d)), b.input(scalar(d)), b.input(scalar(bd)), b.output(scalar(d)));
    let scale = spatial_scale as f64;
    let off = if half_pixel { 0.5 } else { 0.0 };
    b.par_for(0, r as i64, |b, ri| {
        let coord = |b: &mut KernelBuilder, k: i64| {
            let v = load_val(b, d, pr, add(mul(ri.clone(), ci(4)), ci(k)));
            b.let_(sub(mul(cast(Scalar::F64, v), c64(scale)), c64(off)))
        };
        let (sw, sh, ew, eh) = (coord(b, 0), coord(b, 1), coord(b, 2), coord(b, 3));
        let (mut rw, mut rh) = (sub(ew, sw.clone()), sub(eh, sh.clone()));
        if !half_pixel {
            rw = max(rw, c64(1.0));
            rh = max(rh, c64(1.0));
        }
        let (rw, rh) = (b.let_(rw), b.let_(rh));
        let bh = b.let_(div(rh, c64(oh as f64)));
        let bw = b.let_(div(rw, c64(ow as f64)));
        let grid = |b: &mut KernelBuilder, bin: Expr| {
            if sampling_ratio > 0 {
                ci(sampling_ratio as i64)
            } else {
                b.let_(cast(Scalar::I64, max(ceil(bin), c64(0.0))))
            }
        };
        let (gh, gw) = (grid(b, bh.clone()), grid(b, bw.clone()));
        let gcount = b.let_(mul(gh.clone(), gw.clone()));
        let count = b.let_(cast(Scalar::F64, max(gcount.clone(), ci(1))));
        let bidx = b.let_(cast(Scalar::I64, load(pb, ri.clone())));
        let bidx = b.let_(min(max(bidx, ci(0)), ci(nb as i64 - 1)));
        b.for_loop(0, c as i64, |b, ch| {
            let base = b.let_(mul(add(mul(bidx.clone(), ci(c as i64)), ch.clone()), ci((h * w) as i64)));
            let ybase = b.let_(mul(add(mul(ri.clone(), ci(c as i64)), ch), ci((oh * ow) as i64)));
            nest(b, &[oh, ow], false, &mut |b, v| {
                let (ph, pw) = (v[0].clone(), v[1].clone());
                let acc = b.var(c64(if is_max { f64::NEG_INFINITY } else { 0.0 }));
                b.for_loop(0, gh.clone(), |b, iy| {
                    let yy = add(add(sh.clone(), mul(cast(Scalar::F64, ph.clone()), bh.clone())),
                        div(mul(add(cast(Scalar::F64, iy), c64(0.5)), bh.clone()), cast(Scalar::F64, gh.clone())));
                    let yy = b.let_(yy);
                    b.for_loop(0, gw.clone(), |b, ix| {
                        let xx = add(add(sw.clone(), mul(cast(Scalar::F64, pw.clone()), bw.clone())),
                            div(mul(add(cast(Scalar::F64, ix), c64(0.5)), bw.clone()), cast(Scalar::F64, gw.clone())));
                        let xx = b.let_(xx);
                        let oob = math::bor(math::bor(lt(yy.clone(), c64(-1.0)), gt(yy.clone(), c64(h as f64))),
                            math::bor(lt(xx.clone(), c64(-1.0)), gt(xx.clone(), c64(w as f64))));
                        let oob = b.let_(oob);
                        let (yl, yh, ly) = axis(b, yy.clone(), h);
                        let (xl, xh, lx) = axis(b, xx.clone(), w);
                        let (hy, hx) = (sub(c64(1.0), ly.clone()), sub(c64(1.0), lx.clone()));
                        let taps = [(yl.clone(), xl.clone(), mul(hy.clone(), hx.clone())), (yl, xh.clone(), mul(hy, lx.clone())),
                            (yh.clone(), xl, mul(ly.clone(), hx)), (yh, xh, mul(ly, lx))];
                        let mut vals = Vec::new();
                        for (ty, tx, tw) in taps {
                            let xv = load_val(b, d, px, add(base.clone(), add(mul(ty, ci(w as i64)), tx)));
                            let v = mul(select(oob.clone(), c64(0.0), tw), cast(Scalar::F64, xv));
                            vals.push(b.let_(v));
                        }
                        let s = if is_max {
                            max(max(vals[0].clone(), vals[1].clone()), max(vals[2].clone(), vals[3].clone()))
                        } else {
                            add(add(vals[0].clone(), vals[1].clone()), add(vals[2].clone(), vals[3].clone()))
                        };
                        let next = if is_max { max(Expr::Local(acc), s) } else { add(Expr::Local(acc), s) };
                        b.assign(acc, next);
                    });
                });
                let v = if is_max {
                    select(eq(gcount.clone(), ci(0)), c64(0.0), Expr::Local(acc))
                } else {
                    div(Expr::Local(acc), count.clone())
                };
                let v = b.let_(cast(t, v));
                let yi = add(ybase.clone(), add(mul(ph, ci(ow as i64)), pw));
                store_val(b, d, py, yi, v);
            });
        });
    });
    let args = vec![cx.buf(x)?, cx.buf(rois)?, cx.buf(bi)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

/// Bilinear sample with zero padding of the `h` x `w` plane at `base`.
fn bilinear_zeros(b: &mut KernelBuilder, d: DType, px: ParamId, base: Expr, h: usize, w: usize, y: Expr, x: Expr) -> Expr {
    let (y0, x0) = (b.let_(floor(y.clone())), b.let_(floor(x.clone())));
    let (ty, tx) = (b.let_(sub(y, y0.clone())), b.let_(sub(x, x0.clone())));
    let (yi, xi) = (b.let_(cast(Scalar::I64, y0)), b.let_(cast(Scalar::I64, x0)));
    let mut acc = c64(0.0);
    for (dy, wy) in [(0, sub(c64(1.0), ty.clone())), (1, ty)] {
        for (dx, wx) in [(0, sub(c64(1.0), tx.clone())), (1, tx.clone())] {
            let (yy, xx) = (b.let_(add(yi.clone(), ci(dy))), b.let_(add(xi.clone(), ci(dx))));
            let inside = math::band(
                math::band(ge(yy.clone(), ci(0)), lt(yy.clone(), ci(h as i64))),
                math::band(ge(xx.clone(), ci(0)), lt(xx.clone(), ci(w as i64))),
            );
            let inside = b.let_(inside);
            let clamp = |e: Expr, n: usize| min(max(e, ci(0)), ci(n as i64 - 1));
            let idx = add(base.clone(), add(mul(clamp(yy, h), ci(w as i64)), clamp(xx, w)));
            let v = load_val(b, d, px, idx);
            let v = b.let_(select(inside, cast(Scalar::F64, v), c64(0.0)));
            acc = add(acc, mul(mul(wy.clone(), wx), v));
        }
    }
    b.let_(acc)
}

pub(super) fn deform_conv(cx: &mut Cx, n: &Node, window: &onnxc_ir::op::Window, group: usize, og: usize) -> Result<(), LowerError> {
    let (x, wt, off, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.input(n, 2)?, cx.output(n, 0)?);
    let (bias, mask) = (n.input(3), n.input(4));
    let (xs, ws, ys) = (cx.ty(x).shape.clone(), cx.ty(wt).shape.clone(), cx.ty(y).shape.clone());
    let d = cx.ty(x).dtype;
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let (c, h, w) = (xs[1], xs[2], xs[3]);
    let (oc, cpg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let (oh, ow) = (ys[2], ys[3]);
    if h == 0 || w == 0 {
        return Err(cx.unsupported("DeformConv of an empty image"));
    }
    let (ocpg, cpog, k) = (oc / group, c / og, kh * kw);
    let t = compute_ty(d);
    let mut b = cx.builder("deformconv");
    let (px, pw, po) = (b.input(scalar(d)), b.input(scalar(d)), b.input(scalar(d)));
    let pb = bias.map(|_| b.input(scalar(d)));
    let pm = mask.map(|_| b.input(scalar(d)));
    let py = b.output(scalar(d));
    let (s0, s1) = (window.strides[0] as i64, window.strides[1] as i64);
    let (d0, d1) = (window.dilations[0] as i64, window.dilations[1] as i64);
    let (p0, p1) = (window.pads[0] as i64, window.pads[1] as i64);
    let ohw = (oh * ow) as i64;
    nest(&mut b, &ys, true, &mut |b, v| {
        let (bi, o, i, j) = (v[0].clone(), v[1].clone(), v[2].clone(), v[3].clone());
        let init = match pb {
            Some(pb) => {
                let bv = load_val(b, d, pb, o.clone());
                cast(Scalar::F64, bv)
            }
            None => c64(0.0),
        };
        let acc = b.var(init);
        let pix = b.let_(add(mul(i.clone(), ci(ow as i64)), j.clone()));
        let cbase = b.let_(mul(div(o.clone(), ci(ocpg as i64)), ci(cpg as i64)));
        b.for_loop(0, cpg as i64, |b, cc| {
            let ch = b.let_(add(cbase.clone(), cc.clone()));
            let g = b.let_(div(ch.clone(), ci(cpog as i64)));
            let xbase = b.let_(mul(add(mul(bi.clone(), ci(c as i64)), ch), ci((h * w) as i64)));
            let gk = b.let_(mul(add(mul(bi.clone(), ci(og as i64)), g), ci(k as i64)));
            b.for_loop(0, k as i64, |b, kk| {
                let (p, q) = (div(kk.clone(), ci(kw as i64)), rem(kk.clone(), ci(kw as i64)));
                let slot = b.let_(add(gk.clone(), kk.clone()));
                let oy = load_val(b, d, po, add(mul(mul(slot.clone(), ci(2)), ci(ohw)), pix.clone()));
                let ox = load_val(b, d, po, add(mul(add(mul(slot.clone(), ci(2)), ci(1)), ci(ohw)), pix.clone()));
                let yy = add(cast(Scalar::F64, sub(add(mul(i.clone(), ci(s0)), mul(p, ci(d0))), ci(p0))), cast(Scalar::F64, oy));
                let xx = add(cast(Scalar::F64, sub(add(mul(j.clone(), ci(s1)), mul(q, ci(d1))), ci(p1))), cast(Scalar::F64, ox));
                let (yy, xx) = (b.let_(yy), b.let_(xx));
                let val = bilinear_zeros(b, d, px, xbase.clone(), h, w, yy, xx);
                let wi = add(mul(add(mul(o.clone(), ci(cpg as i64)), cc.clone()), ci(k as i64)), kk);
                let wv = load_val(b, d, pw, wi);
                let mut term = mul(cast(Scalar::F64, wv), val);
                if let Some(pm) = pm {
                    let mv = load_val(b, d, pm, add(mul(slot, ci(ohw)), pix.clone()));
                    term = mul(term, cast(Scalar::F64, mv));
                }
                b.assign(acc, add(Expr::Local(acc), term));
            });
        });
        let yi = add(mul(add(mul(bi, ci(oc as i64)), o), ci(ohw)), pix);
        let out = b.let_(cast(t, Expr::Local(acc)));
        store_val(b, d, py, yi, out);
    });
    let mut args = vec![cx.buf(x)?, cx.buf(wt)?, cx.buf(off)?];
    if let Some(v) = bias {
        args.push(cx.buf(v)?);
    }
    if let Some(v) = mask {
        args.push(cx.buf(v)?);
    }
    args.push(cx.buf(y)?);
    cx.emit(b.finish(), args);
    Ok(())
}
