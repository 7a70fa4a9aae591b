//! Lowering of the sampling family (GridSample, AffineGrid) and BitCast.
//! GridSample computes coordinates, tap indices and weights in f64 per
//! output point (as `onnxc_ir::eval::spatial` does), then sums the taps of
//! every channel; the tap loops are unrolled (at most 4^3 taps).

use super::*;
use onnxc_ir::eval::spatial::{affine_base, gs_border};
use onnxc_ir::op::{GridPadding, ResizeMode};

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::BitCast { .. } => bitcast(cx, n),
        Op::GridSample { mode, padding, align_corners } => grid_sample(cx, n, *mode, *padding, *align_corners),
        Op::AffineGrid { align_corners } => affine_grid(cx, n, *align_corners),
        other => Err(cx.unsupported(format!("no lowering for {}", other.onnx_name()))),
    }
}

fn bitcast(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    if cx.ty(y).dtype != DType::Bool {
        return cx.copy_value(y, x);
    }
    // Bool must stay 0/1: normalize the bytes.
    let mut b = cx.builder("bitcast");
    let px = b.input(scalar(cx.ty(x).dtype));
    let py = b.output(Scalar::Bool);
    let len = cx.ty(x).numel() as i64;
    b.par_for(0, len, |b, i| {
        let v = load(px, i.clone());
        b.store(py, i, cast(Scalar::Bool, v));
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

fn c64(v: f64) -> Expr {
    cf(Scalar::F64, v)
}

/// The reference's `_gs_reflect` on an f64 expression, borders known.
fn reflect(b: &mut KernelBuilder, x: Expr, lo: f64, hi: f64) -> Expr {
    let rng = hi - lo;
    if rng <= 0.0 {
        return c64(lo);
    }
    let x = b.let_(x);
    let side = |b: &mut KernelBuilder, dx: Expr, near: f64, far: f64| {
        let dx = b.let_(dx);
        let k = b.let_(trunc(div(dx.clone(), c64(rng))));
        let r = b.let_(sub(dx, mul(k.clone(), c64(rng))));
        let even = eq(mul(floor(mul(k.clone(), c64(0.5))), c64(2.0)), k);
        // Even folds land measured from the near border, odd from the far one.
        let from_near = if near < far { add(c64(near), r.clone()) } else { sub(c64(near), r.clone()) };
        let from_far = if near < far { sub(c64(far), r) } else { add(c64(far), r) };
        b.let_(select(even, from_near, from_far))
    };
    let below = side(b, sub(c64(lo), x.clone()), lo, hi);
    let above = side(b, sub(x.clone(), c64(hi)), hi, lo);
    select(lt(x.clone(), c64(lo)), below, select(gt(x.clone(), c64(hi)), above, x))
}

/// Keys cubic weight (a = -0.75) of a tap at distance `x` in [0, 2].
fn cubic_w(x: Expr, outer: bool) -> Expr {
    let a = -0.75;
    if outer {
        // ((a*x - 5a)*x + 8a)*x - 4a
        sub(mul(add(mul(sub(mul(c64(a), x.clone()), c64(5.0 * a)), x.clone()), c64(8.0 * a)), x), c64(4.0 * a))
    } else {
        // ((a+2)*x - (a+3))*x*x + 1
        add(mul(mul(sub(mul(c64(a + 2.0), x.clone()), c64(a + 3.0)), x.clone()), x), c64(1.0))
    }
}

/// One tap of one axis: clamped index, weight, and (zeros padding) whether
/// it reads inside the tensor.
struct Tap {
    idx: Expr,
    w: Expr,
    valid: Option<Expr>,
}

fn tap(b: &mut KernelBuilder, i: Expr, w: Expr, dim: usize, pad: GridPadding, lo: f64, hi: f64) -> Tap {
    let i = b.let_(i);
    let last = ci(dim as i64 - 1);
    let clamp = |e: Expr| min(max(e, ci(0)), last.clone());
    let (idx, valid) = match pad {
        GridPadding::Zeros => {
            let valid = b.let_(math::band(ge(i.clone(), ci(0)), le(i.clone(), last.clone())));
            (clamp(i), Some(valid))
        }
        GridPadding::Border => (clamp(i), None),
        GridPadding::Reflection => {
            let r = reflect(b, cast(Scalar::F64, i), lo, hi);
            (clamp(cast(Scalar::I64, r)), None)
        }
    };
    Tap { idx: b.let_(idx), w: b.let_(w), valid }
}

/// The taps along one axis for normalized coordinate `g` (f64).
fn axis_taps(b: &mut KernelBuilder, g: Expr, dim: usize, mode: ResizeMode, pad: GridPadding, align: bool) -> Vec<Tap> {
    let d = dim as f64;
    let mut x = if align {
        mul(div(add(g, c64(1.0)), c64(2.0)), c64(d - 1.0))
    } else {
        div(sub(mul(add(g, c64(1.0)), c64(d)), c64(1.0)), c64(2.0))
    };
    if mode == ResizeMode::Nearest {
        x = round_even(x);
    }
    let (lo, hi) = gs_border(dim, align);
    let x = b.let_(x);
    let x = match pad {
        GridPadding::Zeros => x,
        GridPadding::Border => {
            let out = math::bor(lt(x.clone(), c64(lo)), gt(x.clone(), c64(hi)));
            b.let_(select(out, min(max(x.clone(), c64(0.0)), c64(d - 1.0)), x))
        }
        GridPadding::Reflection => {
            let r = reflect(b, x, lo, hi);
            b.let_(r)
        }
    };
    match mode {
        ResizeMode::Nearest => vec![tap(b, cast(Scalar::I64, x), c64(1.0), dim, pad, lo, hi)],
        ResizeMode::Linear | ResizeMode::Cubic => {
            let f = b.let_(floor(x.clone()));
            let t = b.let_(sub(x, f.clone()));
            let fi = b.let_(cast(Scalar::I64, f));
            let ws: Vec<(i64, Expr)> = if mode == ResizeMode::Linear {
                vec![(0, sub(c64(1.0), t.clone())), (1, t.clone())]
            } else {
                vec![
                    (-1, cubic_w(add(t.clone(), c64(1.0)), true)),
                    (0, cubic_w(t.clone(), false)),
                    (1, cubic_w(sub(c64(1.0), t.clone()), false)),
                    (2, cubic_w(sub(c64(2.0), t.clone()), true)),
                ]
            };
            ws.into_iter().map(|(k, w)| tap(b, add(fi.clone(), ci(k)), w, dim, pad, lo, hi)).collect()
        }
    }
}

fn grid_sample(cx: &mut Cx, n: &Node, mode: ResizeMode, pad: GridPadding, align: bool) -> Result<(), LowerError> {
    let (x, g, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let (xs, gs) = (cx.ty(x).shape.clone(), cx.ty(g).shape.clone());
    let (d, gd) = (cx.ty(x).dtype, cx.ty(g).dtype);
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let r = xs.len() - 2;
    let dims = xs[2..].to_vec();
    let (nb, c) = (xs[0], xs[1]);
    let plane: usize = dims.iter().product();
    let outer: usize = gs[1..=r].iter().product();
    let xst = strides(&dims);
    let mut b = cx.builder("gridsample");
    let (px, pg, py) = (b.input(scalar(d)), b.input(scalar(gd)), b.output(scalar(d)));
    nest(&mut b, &[nb, outer], true, &mut |b, v| {
        let (bi, o) = (v[0].clone(), v[1].clone());
        let gbase = b.let_(mul(add(mul(bi.clone(), ci(outer as i64)), o.clone()), ci(r as i64)));
        let mut axes = Vec::new();
        for i in 0..r {
            let gv = load_val(b, gd, pg, add(gbase.clone(), ci((r - 1 - i) as i64)));
            let gv = b.let_(cast(Scalar::F64, gv));
            axes.push(axis_taps(b, gv, dims[i], mode, pad, align));
        }
        // Tap combinations: flat offset within a plane, weight, validity.
        let mut combos: Vec<(Expr, Expr, Option<Expr>)> = vec![(ci(0), c64(1.0), None)];
        for (i, taps) in axes.iter().enumerate() {
            let mut next = Vec::new();
            for (off, w, valid) in &combos {
                for t in taps {
                    let valid = match (valid, &t.valid) {
                        (Some(a), Some(c)) => Some(math::band(a.clone(), c.clone())),
                        (a, c) => a.clone().or(c.clone()),
                    };
                    next.push((add(off.clone(), mul(t.idx.clone(), ci(xst[i] as i64))), mul(w.clone(), t.w.clone()), valid));
                }
            }
            combos = next.into_iter().map(|(o, w, v)| (b.let_(o), b.let_(w), v.map(|v| b.let_(v)))).collect();
        }
        b.for_loop(0, c as i64, |b, ch| {
            let plane_i = b.let_(add(mul(bi.clone(), ci(c as i64)), ch));
            let xbase = b.let_(mul(plane_i.clone(), ci(plane as i64)));
            let acc = b.var(c64(0.0));
            for (off, w, valid) in &combos {
                let xv = load_val(b, d, px, add(xbase.clone(), off.clone()));
                let term = mul(w.clone(), cast(Scalar::F64, xv));
                let term = match valid {
                    Some(v) => select(v.clone(), term, c64(0.0)),
                    None => term,
                };
                b.assign(acc, add(Expr::Local(acc), term));
            }
            let yi = add(mul(plane_i, ci(outer as i64)), o.clone());
            let out = convert(b, Expr::Local(acc), d);
            store_val(b, d, py, yi, out);
        });
    });
    let args = vec![cx.buf(x)?, cx.buf(g)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

fn affine_grid(cx: &mut Cx, n: &Node, align: bool) -> Result<(), LowerError> {
    let (th, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let ys = cx.ty(y).shape.clone();
    let d = cx.ty(th).dtype;
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let r = ys.len() - 2;
    let dims = ys[1..=r].to_vec();
    // Base coordinates as f64 constant tables, one per axis.
    let mut b = cx.builder("affinegrid");
    let pt = b.input(scalar(d));
    let tables: Vec<ParamId> = (0..r).map(|_| b.input(Scalar::F64)).collect();
    let py = b.output(scalar(d));
    let mut shape = vec![ys[0]];
    shape.extend_from_slice(&dims);
    let yst = strides(&ys);
    nest(&mut b, &shape, true, &mut |b, v| {
        // Homogeneous point (x, y[, z], 1): x walks the last axis.
        let mut h = vec![c64(1.0); r + 1];
        for i in 0..r {
            h[r - 1 - i] = b.let_(load(tables[i], v[1 + i].clone()));
        }
        let tbase = b.let_(mul(v[0].clone(), ci((r * (r + 1)) as i64)));
        let ybase = b.let_(lin(&v[..], &yst[..=r]));
        for row in 0..r {
            let mut acc = c64(0.0);
            for (k, hk) in h.iter().enumerate() {
                let tv = load_val(b, d, pt, add(tbase.clone(), ci((row * (r + 1) + k) as i64)));
                acc = add(acc, mul(cast(Scalar::F64, tv), hk.clone()));
            }
            let acc = b.let_(acc);
            let out = convert(b, acc, d);
            store_val(b, d, py, add(ybase.clone(), ci(row as i64)), out);
        }
    });
    let mut args = vec![cx.buf(th)?];
    for &dim in &dims {
        let t = affine_base(dim, align);
        args.push(cx.const_buf(Bytes::from(t.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())));
    }
    args.push(cx.buf(y)?);
    cx.emit(b.finish(), args);
    Ok(())
}
