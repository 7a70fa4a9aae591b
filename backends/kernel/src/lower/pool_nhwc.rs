//! Channels-last pooling (`Op::PoolNhwc`, from the `layout` pass): per
//! output pixel, the kernel taps inside the image are combined into the
//! output's channel vector (contiguous, so the channel loop vectorizes).
//! Taps are visited in the order of the channels-first lowering (`nn.rs`),
//! so sums round the same way.

use super::*;
use onnxc_ir::op::Window;

pub(super) fn lower(cx: &mut Cx, n: &Node, pool: &Op) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let (xs, ys) = (cx.ty(x).shape.clone(), cx.ty(y).shape.clone());
    let d = cx.ty(x).dtype;
    if xs.len() != 4 || ys.len() != 4 || !d.is_float() {
        return Err(cx.unsupported("PoolNhwc other than 2-D float"));
    }
    let global = Window { kernel_shape: vec![xs[1], xs[2]], strides: vec![1, 1], pads: vec![0; 4], dilations: vec![1, 1] };
    let (w, max_pool, include_pad) = match pool {
        Op::MaxPool { window, .. } => (window, true, false),
        Op::AveragePool { window, count_include_pad, .. } => (window, false, *count_include_pad),
        Op::GlobalMaxPool => (&global, true, false),
        Op::GlobalAveragePool => (&global, false, false),
        other => return Err(cx.unsupported(format!("PoolNhwc of {}", other.onnx_name()))),
    };
    if w.kernel_shape.len() != 2 || w.strides.len() != 2 || w.dilations.len() != 2 || w.pads.len() != 4 {
        return Err(cx.invalid("PoolNhwc window must be 2-D"));
    }
    let t = compute_ty(d);
    let (h, wd, c) = (xs[1] as i64, xs[2] as i64, xs[3] as i64);
    let (oh_n, ow_n) = (ys[1] as i64, ys[2] as i64);
    let at = |v: &[usize], i: usize| v[i] as i64;
    let mut b = cx.builder(if max_pool { "maxpool_nhwc" } else { "avgpool_nhwc" });
    let px = b.input(scalar(d));
    let py = b.output(scalar(d));
    b.par_for(0, xs[0] as i64 * oh_n, |b, q| {
        let ni = b.let_(div(q.clone(), ci(oh_n)));
        let oh = b.let_(rem(q.clone(), ci(oh_n)));
        b.for_loop(0, ow_n, |b, ow| {
            let ybase = b.let_(mul(add(mul(q.clone(), ci(ow_n)), ow.clone()), ci(c)));
            let init = if max_pool { extreme(t, true) } else { cf(t, 0.0) };
            b.for_loop(0, c, |b, k| store_val(b, d, py, add(ybase.clone(), k), init.clone()));
            let cnt = b.var(ci(0));
            b.for_loop(0, at(&w.kernel_shape, 0), |b, kh| {
                let ih = b.let_(add(sub(mul(oh.clone(), ci(at(&w.strides, 0))), ci(at(&w.pads, 0))), mul(kh, ci(at(&w.dilations, 0)))));
                b.for_loop(0, at(&w.kernel_shape, 1), |b, kw| {
                    let iw = b.let_(add(sub(mul(ow.clone(), ci(at(&w.strides, 1))), ci(at(&w.pads, 1))), mul(kw, ci(at(&w.dilations, 1)))));
                    let in_h = math::band(ge(ih.clone(), ci(0)), lt(ih.clone(), ci(h)));
                    let inside = b.let_(math::band(in_h, math::band(ge(iw.clone(), ci(0)), lt(iw.clone(), ci(wd)))));
                    let counted = if include_pad {
                        let ph = math::band(ge(ih.clone(), ci(-at(&w.pads, 0))), lt(ih.clone(), ci(h + at(&w.pads, 2))));
                        math::band(ph, math::band(ge(iw.clone(), ci(-at(&w.pads, 1))), lt(iw.clone(), ci(wd + at(&w.pads, 3)))))
                    } else {
                        inside.clone()
                    };
                    b.assign(cnt, add(Expr::Local(cnt), select(counted, ci(1), ci(0))));
                    b.if_(inside, |b| {
                        let xbase = b.let_(mul(add(mul(add(mul(ni.clone(), ci(h)), ih.clone()), ci(wd)), iw.clone()), ci(c)));
                        b.for_loop(0, c, |b, k| {
                            let yi = b.let_(add(ybase.clone(), k.clone()));
                            let (acc, v) = (load_val(b, d, py, yi.clone()), load_val(b, d, px, add(xbase.clone(), k)));
                            let nv = if max_pool { max(acc, v) } else { add(acc, v) };
                            store_val(b, d, py, yi, nv);
                        });
                    });
                });
            });
            if !max_pool {
                let den = b.let_(cast(t, max(Expr::Local(cnt), ci(1))));
                b.for_loop(0, c, |b, k| {
                    let yi = b.let_(add(ybase.clone(), k));
                    let v = div(load_val(b, d, py, yi.clone()), den.clone());
                    store_val(b, d, py, yi, v);
                });
            }
        });
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}
