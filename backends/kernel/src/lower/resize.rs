//! Lowering of the resize family. Resize uses the interpolation tables of
//! `onnxc_ir::eval::resize::plan` (built at compile time, stored as
//! constants): per resized axis, tap indices and weights for every output
//! coordinate. Nearest mode is a pure gather (any dtype); the other modes sum
//! the tensor product of the taps in `compute_ty`.

use super::*;
use onnxc_ir::eval::resize::{floats_of, plan};
use onnxc_ir::op::{ResizeAttrs, ResizeMode, Window};

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::Resize(a) => resize(cx, n, a),
        Op::ConvTranspose { window, group, .. } => conv_transpose(cx, n, window, *group),
        Op::LpPool { window, p, .. } => lp_pool(cx, n, window, *p),
        other => Err(cx.unsupported(format!("no lowering for {}", other.onnx_name()))),
    }
}

fn le_bytes<T: Copy>(v: &[T], f: impl Fn(T) -> Vec<u8>) -> Bytes {
    Bytes::from(v.iter().flat_map(|&x| f(x)).collect::<Vec<u8>>())
}

/// Per resized axis: its tables' kernel params and the tap count.
struct AxisParams {
    axis: usize,
    n: usize,
    idx: ParamId,
    w: Option<ParamId>,
    extrap: Option<ParamId>,
}

fn resize(cx: &mut Cx, n: &Node, a: &ResizeAttrs) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let d = cx.ty(x).dtype;
    let konst = |i: usize| n.input(i).and_then(|v| cx.konst(v));
    for i in 1..4 {
        if let Some(v) = n.input(i) {
            if cx.konst(v).is_none() && cx.ty(v).numel() > 0 {
                return Err(cx.needs_constant(["", "roi", "scales", "sizes"][i], v));
            }
        }
    }
    let sizes = konst(3).map(|t| t.to_i64_vec()).filter(|v| !v.is_empty());
    let pl = plan(a, &xs, floats_of(konst(1)).as_deref(), floats_of(konst(2)).as_deref(), sizes.as_deref())
        .map_err(|e| cx.invalid(e.0))?;
    if pl.out_shape != cx.ty(y).shape {
        return Err(cx.invalid(format!("plan shape {:?} differs from the output's {:?}", pl.out_shape, cx.ty(y).shape)));
    }
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let nearest = a.mode == ResizeMode::Nearest;
    if !nearest && !d.is_float() {
        return Err(cx.unsupported(format!("{:?} resize of {d}", a.mode)));
    }
    let t = compute_ty(d);
    let mut b = cx.builder("resize");
    let px = b.input(scalar(d));
    let mut axes = Vec::new();
    let mut tables = Vec::new();
    for (axis, taps) in pl.axes.iter().enumerate() {
        let Some(tp) = taps else { continue };
        let idx: Vec<i64> = tp.idx.iter().map(|&i| i as i64).collect();
        tables.push(le_bytes(&idx, |v| v.to_le_bytes().to_vec()));
        let pidx = b.input(Scalar::I64);
        let w = if nearest {
            None
        } else {
            tables.push(if t == Scalar::F64 {
                le_bytes(&tp.w, |v| v.to_le_bytes().to_vec())
            } else {
                le_bytes(&tp.w, |v| (v as f32).to_le_bytes().to_vec())
            });
            Some(b.input(t))
        };
        let extrap = if tp.extrap.iter().any(|&e| e) {
            tables.push(Bytes::from(tp.extrap.iter().map(|&e| e as u8).collect::<Vec<u8>>()));
            Some(b.input(Scalar::Bool))
        } else {
            None
        };
        axes.push(AxisParams { axis, n: tp.n, idx: pidx, w, extrap });
    }
    let py = b.output(scalar(d));
    let ys = pl.out_shape.clone();
    let (xst, yst) = (strides(&xs), strides(&ys));
    let ev = a.extrapolation_value as f64;
    nest(&mut b, &ys, true, &mut |b, v| {
        let yi = b.let_(lin(v, &yst));
        // Offset of the unresized axes, shared by all taps.
        let mut base = ci(0);
        for (k, vk) in v.iter().enumerate() {
            if !axes.iter().any(|p| p.axis == k) {
                base = add(base, mul(vk.clone(), ci(xst[k])));
            }
        }
        let base = b.let_(base);
        if nearest {
            let mut off = base.clone();
            for p in &axes {
                off = add(off, mul(load(p.idx, v[p.axis].clone()), ci(xst[p.axis])));
            }
            b.store(py, yi.clone(), load(px, off));
        } else {
            let acc = b.var(cf(t, 0.0));
            taps(b, &axes, 0, v, base.clone(), cf(t, 1.0), &xst, &mut |b, off, w| {
                let xv = load_val(b, d, px, off);
                b.assign(acc, add(Expr::Local(acc), mul(w, xv)));
            });
            store_val(b, d, py, yi.clone(), Expr::Local(acc));
        }
        let mut outside = None;
        for p in &axes {
            if let Some(e) = p.extrap {
                let c = load(e, v[p.axis].clone());
                outside = Some(match outside {
                    None => c,
                    Some(o) => math::bor(o, c),
                });
            }
        }
        if let Some(o) = outside {
            let val = cf(t, ev);
            b.if_(o, |b| store_val(b, d, py, yi.clone(), val));
        }
    });
    let mut args = vec![cx.buf(x)?];
    for tb in tables {
        args.push(cx.const_buf(tb));
    }
    args.push(cx.buf(y)?);
    cx.emit(b.finish(), args);
    Ok(())
}

/// Nested loops over the taps of `axes[i..]`, calling `f(offset, weight)`.
#[allow(clippy::too_many_arguments)]
fn taps(
    b: &mut KernelBuilder,
    axes: &[AxisParams],
    i: usize,
    v: &[Expr],
    off: Expr,
    w: Expr,
    xst: &[i64],
    f: &mut dyn FnMut(&mut KernelBuilder, Expr, Expr),
) {
    let Some(p) = axes.get(i) else {
        f(b, off, w);
        return;
    };
    let row = b.let_(mul(v[p.axis].clone(), ci(p.n as i64)));
    b.for_loop(0, p.n as i64, |b, k| {
        let e = b.let_(add(row.clone(), k));
        let off = b.let_(add(off.clone(), mul(load(p.idx, e.clone()), ci(xst[p.axis]))));
        let w = match p.w {
            Some(pw) => b.let_(mul(w.clone(), load(pw, e))),
            None => w.clone(),
        };
        taps(b, axes, i + 1, v, off, w, xst, f);
    });
}

/// Gather form: each output sums the inputs whose taps land on it
/// (`o + pad - k*d` must be a non-negative multiple of the stride).
fn conv_transpose(cx: &mut Cx, n: &Node, w: &Window, group: usize) -> Result<(), LowerError> {
    let (x, wt, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let bias = n.input(2);
    let (xs, ws, ys) = (cx.ty(x).shape.clone(), cx.ty(wt).shape.clone(), cx.ty(y).shape.clone());
    let r = w.spatial_rank();
    if xs.len() != r + 2 || ws.len() != r + 2 || group == 0 || xs[1] % group != 0 {
        return Err(cx.invalid("shapes do not match the window"));
    }
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let d = cx.ty(x).dtype;
    let t = compute_ty(d);
    let (cg, mg) = (xs[1] / group, ws[1] as i64);
    let (xst, wst, yst) = (strides(&xs), strides(&ws), strides(&ys));
    let mut b = cx.builder("conv_transpose");
    let px = b.input(scalar(d));
    let pw = b.input(scalar(d));
    let pb = bias.map(|_| b.input(scalar(d)));
    let py = b.output(scalar(d));
    let kshape = w.kernel_shape.clone();
    nest(&mut b, &ys, true, &mut |b, v| {
        let g = b.let_(div(v[1].clone(), ci(mg)));
        let mm = b.let_(rem(v[1].clone(), ci(mg)));
        let init = match pb {
            Some(p) => load_val(b, d, p, v[1].clone()),
            None => cf(t, 0.0),
        };
        let acc = b.var(init);
        b.for_loop(0, cg as i64, |b, c| {
            let cc = b.let_(add(mul(g.clone(), ci(cg as i64)), c));
            nest(b, &kshape, false, &mut |b, k| {
                let mut valid = cbool(true);
                let mut xoff = add(mul(v[0].clone(), ci(xst[0])), mul(cc.clone(), ci(xst[1])));
                let mut woff = add(mul(cc.clone(), ci(wst[0])), mul(mm.clone(), ci(wst[1])));
                for i in 0..r {
                    let ti = b.let_(sub(add(v[2 + i].clone(), ci(w.pads[i] as i64)), mul(k[i].clone(), ci(w.dilations[i] as i64))));
                    let s = w.strides[i] as i64;
                    let q = b.let_(div(ti.clone(), ci(s)));
                    let ok = math::band(ge(ti.clone(), ci(0)), eq(rem(ti, ci(s)), ci(0)));
                    valid = math::band(valid, math::band(ok, lt(q.clone(), ci(xs[2 + i] as i64))));
                    xoff = add(xoff, mul(q, ci(xst[2 + i])));
                    woff = add(woff, mul(k[i].clone(), ci(wst[2 + i])));
                }
                b.if_(valid, |b| {
                    let xv = load_val(b, d, px, xoff.clone());
                    let wv = load_val(b, d, pw, woff.clone());
                    b.assign(acc, add(Expr::Local(acc), mul(xv, wv)));
                });
            });
        });
        store_val(b, d, py, lin(v, &yst), Expr::Local(acc));
    });
    let mut args = vec![cx.buf(x)?, cx.buf(wt)?];
    if let Some(bv) = bias {
        args.push(cx.buf(bv)?);
    }
    args.push(cx.buf(y)?);
    cx.emit(b.finish(), args);
    Ok(())
}

/// `(sum of |x|^p over the window)^(1/p)`; padding contributes 0.
fn lp_pool(cx: &mut Cx, n: &Node, w: &Window, p: i64) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let (xs, ys) = (cx.ty(x).shape.clone(), cx.ty(y).shape.clone());
    let r = w.spatial_rank();
    if xs.len() != r + 2 || !(1..=16).contains(&p) {
        return Err(cx.unsupported(format!("LpPool with p = {p} on {xs:?}")));
    }
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let d = cx.ty(x).dtype;
    let t = compute_ty(d);
    let (xst, yst) = (strides(&xs), strides(&ys));
    let mut b = cx.builder("lp_pool");
    let px = b.input(scalar(d));
    let py = b.output(scalar(d));
    let kshape = w.kernel_shape.clone();
    nest(&mut b, &ys, true, &mut |b, v| {
        let sum = b.var(cf(t, 0.0));
        let base = b.let_(add(mul(v[0].clone(), ci(xst[0])), mul(v[1].clone(), ci(xst[1]))));
        nest(b, &kshape, false, &mut |b, k| {
            let mut valid = cbool(true);
            let mut off = base.clone();
            for i in 0..r {
                let q = b.let_(sub(add(mul(v[2 + i].clone(), ci(w.strides[i] as i64)), mul(k[i].clone(), ci(w.dilations[i] as i64))), ci(w.pads[i] as i64)));
                valid = math::band(valid, math::band(ge(q.clone(), ci(0)), lt(q.clone(), ci(xs[2 + i] as i64))));
                off = add(off, mul(q, ci(xst[2 + i])));
            }
            b.if_(valid, |b| {
                let xv = load_val(b, d, px, off.clone());
                let a = b.let_(abs(xv));
                let mut pw = a.clone();
                for _ in 1..p {
                    pw = mul(pw, a.clone());
                }
                b.assign(sum, add(Expr::Local(sum), pw));
            });
        });
        let avg = Expr::Local(sum);
        let out = match p {
            1 => avg,
            2 => sqrt(avg),
            _ => math::pow(b, avg, cf(t, 1.0 / p as f64)),
        };
        store_val(b, d, py, lin(v, &yst), out);
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}
