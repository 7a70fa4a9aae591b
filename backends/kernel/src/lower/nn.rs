//! Neural-network ops: Conv, BatchNormalization, pooling, LRN, Gemm,
//! MatMul, Softmax/LogSoftmax/Hardmax, Dropout.

use super::*;
use super::epilogue::{Epilogue, OutIndex};
use onnxc_ir::op::Window;

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::Conv { window, group } => conv_any(cx, n, window, *group),
        Op::BatchNormalization { epsilon } => batch_norm(cx, n, *epsilon),
        Op::MaxPool { window, .. } => pool(cx, n, window, Pool::Max),
        Op::AveragePool { window, count_include_pad, .. } => pool(cx, n, window, Pool::Avg { include_pad: *count_include_pad }),
        Op::GlobalAveragePool => global_pool(cx, n, false),
        Op::GlobalMaxPool => global_pool(cx, n, true),
        Op::Lrn { size, alpha, beta, bias } => lrn(cx, n, *size, *alpha, *beta, *bias),
        Op::Gemm { alpha, beta, trans_a, trans_b } => gemm_any(cx, n, (*alpha, *beta, *trans_a, *trans_b)),
        Op::MatMul => matmul_any(cx, n),
        Op::Softmax { axis } => softmax(cx, n, *axis, SoftKind::Soft),
        Op::LogSoftmax { axis } => softmax(cx, n, *axis, SoftKind::Log),
        Op::Hardmax { axis } => softmax(cx, n, *axis, SoftKind::Hard),
        Op::Dropout => {
            let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
            cx.copy_value(y, x)?;
            if let Some(mask) = n.outputs.get(1).copied() {
                fill(cx, mask, cbool(true))?;
            }
            Ok(())
        }
        _ => Err(cx.invalid("not an nn op")),
    }
}

/// Fills value `v` with the constant `c` (already in storage representation).
pub(super) fn fill(cx: &mut Cx, v: ValueId, c: Expr) -> Result<(), LowerError> {
    let mut b = cx.builder("fill");
    let o = b.output(b.ty(&c));
    let count = cx.ty(v).numel() as i64;
    b.par_for(0, count, |b, i| b.store(o, i, c));
    let args = vec![cx.buf(v)?];
    cx.emit(b.finish(), args);
    Ok(())
}

/// The base op of an `Op::Fused` node; its kernel reads the epilogue from `n`.
pub(super) fn lower_base(cx: &mut Cx, n: &Node, base: &Op) -> Result<(), LowerError> {
    let arity = match base {
        Op::Conv { .. } | Op::Gemm { .. } => 3,
        _ => 2,
    };
    if !matches!(n.op, Op::Fused { base_inputs, .. } if base_inputs == arity) {
        return Err(cx.invalid(format!("fused {} must list all {arity} base inputs", base.onnx_name())));
    }
    match base {
        Op::Conv { window, group } => conv_any(cx, n, window, *group),
        Op::Gemm { alpha, beta, trans_a, trans_b } => gemm_any(cx, n, (*alpha, *beta, *trans_a, *trans_b)),
        Op::MatMul => matmul_any(cx, n),
        _ => Err(cx.unsupported("epilogue on this op")),
    }
}

// Conv/Gemm/MatMul, plain or fused: the packed GEMM kernels first (they read
// `n`'s epilogue themselves), the direct loops for what they decline
// (non-f32, depthwise, ...).
fn conv_any(cx: &mut Cx, n: &Node, window: &Window, group: usize) -> Result<(), LowerError> {
    let r = cx.ty(cx.input(n, 0)?).shape.len().saturating_sub(2);
    check_window(cx, window, r)?;
    if super::depthwise::conv(cx, n, window, group)? {
        return Ok(());
    }
    if super::winograd::conv(cx, n, window, group)? || super::conv_kernel::conv(cx, n, window, group)? {
        return Ok(());
    }
    conv(cx, n, window, group)
}

fn gemm_any(cx: &mut Cx, n: &Node, p: (f32, f32, bool, bool)) -> Result<(), LowerError> {
    if super::gemm_ops::gemm(cx, n, p)? {
        return Ok(());
    }
    gemm(cx, n, p.0, p.1, p.2, p.3)
}

fn matmul_any(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    if super::gemm_ops::matmul(cx, n)? {
        return Ok(());
    }
    matmul(cx, n)
}

fn check_window(cx: &Cx, w: &Window, r: usize) -> Result<(), LowerError> {
    let ok = w.kernel_shape.len() == r && w.strides.len() == r && w.dilations.len() == r && w.pads.len() == 2 * r;
    let pos = w.strides.iter().chain(&w.dilations).all(|s| *s > 0);
    if r == 0 || !ok || !pos {
        return Err(cx.invalid(format!("window {w:?} does not match spatial rank {r}")));
    }
    Ok(())
}

fn float_dtype(cx: &Cx, d: DType) -> Result<(), LowerError> {
    if matches!(d, DType::F32 | DType::F64) {
        Ok(())
    } else {
        Err(cx.unsupported(format!("dtype {d}")))
    }
}

/// Conv: per (batch, out-channel) the output plane is initialised with the
/// bias, then every (in-channel, kernel tap) adds a shifted input plane. The
/// innermost loop runs over the output width, with its valid range for the
/// tap computed up front so it needs no bounds checks.
fn conv(cx: &mut Cx, n: &Node, w: &Window, group: usize) -> Result<(), LowerError> {
    let (x, wt, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let bias = n.input(2);
    let (xs, ws, ys) = (&cx.ty(x).shape, &cx.ty(wt).shape, &cx.ty(y).shape);
    let d = cx.ty(x).dtype;
    float_dtype(cx, d)?;
    let r = xs.len().saturating_sub(2);
    check_window(cx, w, r)?;
    if group == 0 || ws.len() != r + 2 || ys.len() != r + 2 {
        return Err(cx.invalid("bad Conv shapes"));
    }
    let t = scalar(d);
    let (nb, c, m, cg) = (xs[0], xs[1], ys[1], ws[1]);
    let mg = m / group;
    if mg == 0 || cg * group != c {
        return Err(cx.invalid("channel counts do not match the group count"));
    }
    let (ins, outs, ks) = (&xs[2..], &ys[2..], &ws[2..]);
    let (is, os, kss) = (ins.iter().product::<usize>() as i64, outs.iter().product::<usize>() as i64, ks.iter().product::<usize>() as i64);
    let (xst, yst, kst) = (strides(ins), strides(outs), strides(ks));
    let l = r - 1;
    let mut b = cx.builder("conv");
    let px = b.input(t);
    let pw = b.input(t);
    let pb = bias.map(|_| b.input(t));
    let py = b.output(t);
    let epi = Epilogue::declare(cx, &mut b, n)?;
    b.par_for(0, (nb * m) as i64, |b, nm| {
        let nn_ = b.let_(div(nm.clone(), ci(m as i64)));
        let mm = b.let_(rem(nm.clone(), ci(m as i64)));
        let g = b.let_(div(mm.clone(), ci(mg as i64)));
        let ybase = b.let_(mul(nm, ci(os)));
        let init = match pb {
            Some(pb) => b.let_(load(pb, mm.clone())),
            None => cf(t, 0.0),
        };
        b.for_loop(0, os, |b, o| b.store(py, add(ybase.clone(), o), init));
        b.for_loop(0, cg as i64, |b, ci_| {
            let ch = add(mul(g.clone(), ci(cg as i64)), ci_.clone());
            let xbase = b.let_(mul(add(mul(nn_.clone(), ci(c as i64)), ch), ci(is)));
            let wbase = b.let_(mul(add(mul(mm.clone(), ci(cg as i64)), ci_), ci(kss)));
            // Outer kernel taps and output rows (all spatial axes but the last).
            let mut dims: Vec<usize> = ks[..l].to_vec();
            dims.extend(&outs[..l]);
            nest(b, &dims, false, &mut |b, vars| {
                let (kv, ov) = vars.split_at(l);
                let mut cond = cbool(true);
                let mut xoff = xbase.clone();
                let mut yoff = ybase.clone();
                let mut woff = wbase.clone();
                for dd in 0..l {
                    let pos = add(sub(mul(ov[dd].clone(), ci(w.strides[dd] as i64)), ci(w.pads[dd] as i64)), mul(kv[dd].clone(), ci(w.dilations[dd] as i64)));
                    let pos = b.let_(pos);
                    cond = math::band(cond, math::band(ge(pos.clone(), ci(0)), lt(pos.clone(), ci(ins[dd] as i64))));
                    xoff = add(xoff, mul(pos, ci(xst[dd])));
                    yoff = add(yoff, mul(ov[dd].clone(), ci(yst[dd])));
                    woff = add(woff, mul(kv[dd].clone(), ci(kst[dd])));
                }
                b.if_(cond, |b| {
                    let (xoff, yoff, woff) = (b.let_(xoff), b.let_(yoff), b.let_(woff));
                    conv_row(b, [px, pw, py], t, [xoff, yoff, woff], w, l, ins[l], outs[l], ks[l]);
                });
            });
        });
        if !epi.is_empty() {
            // The plane was just accumulated, so it is still in cache.
            b.for_loop(0, os, |b, o| {
                let yi = b.let_(add(ybase.clone(), o));
                let v = epi.apply(b, load(py, yi.clone()), OutIndex::Flat(yi.clone()));
                b.store(py, yi, v);
            });
        }
    });
    let mut args = vec![cx.buf(x)?, cx.buf(wt)?];
    if let Some(bv) = bias {
        args.push(cx.buf(bv)?);
    }
    args.push(cx.buf(y)?);
    epi.push_args(cx, &mut args)?;
    epi.check(cx)?;
    cx.emit(b.finish(), args);
    Ok(())
}

/// The last spatial axis of a Conv: for each tap `kl`, the output positions
/// whose input lies inside the row are `start..end`.
#[allow(clippy::too_many_arguments)]
fn conv_row(b: &mut KernelBuilder, p: [ParamId; 3], t: Scalar, off: [Expr; 3], w: &Window, l: usize, inw: usize, outw: usize, kw: usize) {
    let [px, pw, py] = p;
    let [xoff, yoff, woff] = off;
    let (s, pad, dil) = (w.strides[l] as i64, w.pads[l] as i64, w.dilations[l] as i64);
    b.for_loop(0, kw as i64, |b, kl| {
        let wv = b.let_(load(pw, add(woff.clone(), kl.clone())));
        let shift = b.let_(sub(mul(kl, ci(dil)), ci(pad)));
        // First ow with ow*s + shift >= 0, and one past the last with ow*s + shift <= inw-1.
        let num = b.let_(neg(shift.clone()));
        let start = select(gt(num.clone(), ci(0)), div(add(num, ci(s - 1)), ci(s)), ci(0));
        let num2 = b.let_(sub(ci(inw as i64 - 1), shift.clone()));
        let end = select(lt(num2.clone(), ci(0)), ci(0), min(ci(outw as i64), add(div(num2, ci(s)), ci(1))));
        b.for_loop(start, end, |b, ow| {
            let yi = b.let_(add(yoff.clone(), ow.clone()));
            let xi = add(xoff.clone(), add(mul(ow, ci(s)), shift.clone()));
            let v = add(load(py, yi.clone()), mul(load(px, xi), wv.clone()));
            let _ = t;
            b.store(py, yi, v);
        });
    });
}

fn batch_norm(cx: &mut Cx, n: &Node, eps: f32) -> Result<(), LowerError> {
    let x = cx.input(n, 0)?;
    let ps: Vec<ValueId> = (1..5).map(|i| cx.input(n, i)).collect::<Result<_, _>>()?;
    let y = cx.output(n, 0)?;
    let xs = cx.ty(x).shape.clone();
    let d = cx.ty(x).dtype;
    if !d.is_float() {
        return Err(cx.unsupported(format!("dtype {d}")));
    }
    let t = compute_ty(d);
    let c = xs.get(1).copied().unwrap_or(1) as i64;
    let inner: i64 = xs.iter().skip(2).product::<usize>() as i64;
    let nc = xs.first().copied().unwrap_or(1) as i64 * c;
    let mut b = cx.builder("batchnorm");
    let px = b.input(scalar(d));
    let pp: Vec<(ParamId, DType)> = ps.iter().map(|v| (b.input(scalar(cx.ty(*v).dtype)), cx.ty(*v).dtype)).collect();
    let py = b.output(scalar(d));
    b.par_for(0, nc, |b, i| {
        let ch = b.let_(rem(i.clone(), ci(c)));
        let vals: Vec<Expr> = pp
            .iter()
            .map(|(p, pd)| {
                let v = load_val(b, *pd, *p, ch.clone());
                let v = convert(b, v, d);
                b.let_(v)
            })
            .collect();
        let a = b.let_(div(vals[0].clone(), sqrt(add(vals[3].clone(), cf(t, eps as f64)))));
        let sh = b.let_(sub(vals[1].clone(), mul(vals[2].clone(), a.clone())));
        let base = b.let_(mul(i, ci(inner)));
        b.for_loop(0, inner, |b, j| {
            let idx = b.let_(add(base.clone(), j));
            let v = load_val(b, d, px, idx.clone());
            store_val(b, d, py, idx, add(mul(v, a.clone()), sh.clone()));
        });
    });
    let mut args = vec![cx.buf(x)?];
    for v in &ps {
        args.push(cx.buf(*v)?);
    }
    args.push(cx.buf(y)?);
    cx.emit(b.finish(), args);
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Pool {
    Max,
    Avg { include_pad: bool },
}

/// MaxPool / AveragePool over any spatial rank: per output element, a loop
/// nest over the window with a bounds guard. Average divides by the taps
/// inside the input, or (count_include_pad) inside the padded input.
/// MaxPool's optional Indices output gets the flat (row-major, whole
/// tensor) index of the first maximum.
fn pool(cx: &mut Cx, n: &Node, w: &Window, kind: Pool) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let ind = if kind == Pool::Max { n.outputs.get(1).copied() } else { None };
    let (xs, ys) = (cx.ty(x).shape.clone(), cx.ty(y).shape.clone());
    let d = cx.ty(x).dtype;
    let r = xs.len().saturating_sub(2);
    check_window(cx, w, r)?;
    if ys.len() != xs.len() {
        return Err(cx.invalid("bad pool shapes"));
    }
    if kind != Pool::Max && !d.is_float() {
        return Err(cx.unsupported(format!("AveragePool on {d}")));
    }
    if super::depthwise::pool(cx, n, w, kind == Pool::Max, kind == (Pool::Avg { include_pad: true }))? {
        return Ok(());
    }
    let t = compute_ty(d);
    let (ins, outs) = (&xs[2..], &ys[2..]);
    let (is, os) = (ins.iter().product::<usize>() as i64, outs.iter().product::<usize>() as i64);
    let (xst, yst) = (strides(ins), strides(outs));
    let mut b = cx.builder(if kind == Pool::Max { "maxpool" } else { "avgpool" });
    let px = b.input(scalar(d));
    let py = b.output(scalar(d));
    let pi = ind.map(|_| b.output(Scalar::I64));
    b.par_for(0, (xs[0] * xs[1]) as i64, |b, nc| {
        let xbase = b.let_(mul(nc.clone(), ci(is)));
        let ybase = b.let_(mul(nc, ci(os)));
        nest(b, outs, false, &mut |b, ov| {
            let acc = b.var(if kind == Pool::Max { extreme(t, true) } else { cf(t, 0.0) });
            let cnt = b.var(ci(0));
            let arg = b.var(ci(-1));
            nest(b, &w.kernel_shape, false, &mut |b, kv| {
                let mut inside = cbool(true);
                let mut in_pad = cbool(true);
                let mut xoff = xbase.clone();
                for dd in 0..r {
                    let pos = add(sub(mul(ov[dd].clone(), ci(w.strides[dd] as i64)), ci(w.pads[dd] as i64)), mul(kv[dd].clone(), ci(w.dilations[dd] as i64)));
                    let pos = b.let_(pos);
                    inside = math::band(inside, math::band(ge(pos.clone(), ci(0)), lt(pos.clone(), ci(ins[dd] as i64))));
                    let hi = ins[dd] as i64 + w.pads[dd + r] as i64;
                    in_pad = math::band(in_pad, math::band(ge(pos.clone(), ci(-(w.pads[dd] as i64))), lt(pos.clone(), ci(hi))));
                    xoff = add(xoff, mul(pos, ci(xst[dd])));
                }
                let inside = b.let_(inside);
                b.if_(inside.clone(), |b| {
                    let xoff = b.let_(xoff);
                    let v = load_val(b, d, px, xoff.clone());
                    if pi.is_some() {
                        let v = b.let_(v);
                        let better = math::bor(gt(v.clone(), Expr::Local(acc)), lt(Expr::Local(arg), ci(0)));
                        b.if_(better, |b| {
                            b.assign(acc, v);
                            b.assign(arg, xoff);
                        });
                        return;
                    }
                    let nv = if kind == Pool::Max { max(Expr::Local(acc), v) } else { add(Expr::Local(acc), v) };
                    b.assign(acc, nv);
                });
                let counted = if kind == (Pool::Avg { include_pad: true }) { in_pad } else { inside };
                b.assign(cnt, add(Expr::Local(cnt), select(counted, ci(1), ci(0))));
            });
            let res = match kind {
                Pool::Max => Expr::Local(acc),
                Pool::Avg { .. } => div(Expr::Local(acc), cast(t, max(Expr::Local(cnt), ci(1)))),
            };
            let yi = b.let_(add(ybase.clone(), lin(ov, &yst)));
            if let Some(pi) = pi {
                b.store(pi, yi.clone(), max(Expr::Local(arg), ci(0)));
            }
            store_val(b, d, py, yi, res);
        });
    });
    let mut args = vec![cx.buf(x)?, cx.buf(y)?];
    if let Some(i) = ind {
        args.push(cx.buf(i)?);
    }
    cx.emit(b.finish(), args);
    Ok(())
}

fn global_pool(cx: &mut Cx, n: &Node, is_max: bool) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let d = cx.ty(x).dtype;
    if xs.len() < 2 || (!is_max && !d.is_float()) {
        return Err(cx.unsupported(format!("{d} input of rank {}", xs.len())));
    }
    if super::depthwise::global_pool(cx, n, is_max)? {
        return Ok(());
    }
    let t = compute_ty(d);
    let inner = xs[2..].iter().product::<usize>() as i64;
    let mut b = cx.builder(if is_max { "gmaxpool" } else { "gavgpool" });
    let px = b.input(scalar(d));
    let py = b.output(scalar(d));
    b.par_for(0, (xs[0] * xs[1]) as i64, |b, nc| {
        let base = b.let_(mul(nc.clone(), ci(inner)));
        let acc = b.var(if is_max { extreme(t, true) } else { cf(t, 0.0) });
        b.for_loop(0, inner, |b, i| {
            let v = load_val(b, d, px, add(base.clone(), i));
            let nv = if is_max { max(Expr::Local(acc), v) } else { add(Expr::Local(acc), v) };
            b.assign(acc, nv);
        });
        let r = if is_max { Expr::Local(acc) } else { div(Expr::Local(acc), cf(t, inner.max(1) as f64)) };
        store_val(b, d, py, nc, r);
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

/// LRN across channels: y = x / (bias + alpha/size · Σ x²)^beta.
fn lrn(cx: &mut Cx, n: &Node, size: usize, alpha: f32, beta: f32, bias: f32) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let d = cx.ty(x).dtype;
    if xs.len() < 2 || !d.is_float() || size == 0 {
        return Err(cx.unsupported(format!("{d} input of rank {}", xs.len())));
    }
    let t = compute_ty(d);
    let (c, inner) = (xs[1] as i64, xs[2..].iter().product::<usize>() as i64);
    let (lo, hi) = (((size - 1) / 2) as i64, (size - 1).div_ceil(2) as i64);
    let mut b = cx.builder("lrn");
    if scalar(d) == t {
        lrn_rows(&mut b, (xs[0] as i64, c, inner), t, (lo, hi), (size, alpha, beta, bias));
        let args = vec![cx.buf(x)?, cx.buf(y)?];
        cx.emit(b.finish(), args);
        return Ok(());
    }
    let px = b.input(scalar(d));
    let py = b.output(scalar(d));
    b.par_for(0, xs[0] as i64 * c, |b, nc| {
        let ch = b.let_(rem(nc.clone(), ci(c)));
        let nbase = b.let_(mul(sub(nc.clone(), ch.clone()), ci(inner)));
        let c0 = max(sub(ch.clone(), ci(lo)), ci(0));
        let c1 = min(add(ch.clone(), ci(hi + 1)), ci(c));
        let (c0, c1) = (b.let_(c0), b.let_(c1));
        b.for_loop(0, inner, |b, i| {
            let s = b.var(cf(t, 0.0));
            b.for_loop(c0.clone(), c1.clone(), |b, cc| {
                let v = load_val(b, d, px, add(nbase.clone(), add(mul(cc, ci(inner)), i.clone())));
                let v = b.let_(v);
                b.assign(s, add(Expr::Local(s), mul(v.clone(), v)));
            });
            let base = add(cf(t, bias as f64), mul(cf(t, alpha as f64 / size as f64), Expr::Local(s)));
            let lg = math::log(b, base);
            let p = math::exp(b, mul(cf(t, beta as f64), lg));
            let idx = b.let_(add(nbase.clone(), add(mul(ch.clone(), ci(inner)), i)));
            let v = load_val(b, d, px, idx.clone());
            store_val(b, d, py, idx, div(v, p));
        });
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

/// LRN for f32/f64 (no storage conversion): the window sum is accumulated
/// in the output row (channel loop outside, contiguous spatial loop
/// inside), so every pass is a plain vectorizable loop over `inner`.
fn lrn_rows(b: &mut KernelBuilder, (n, c, inner): (i64, i64, i64), t: Scalar, (lo, hi): (i64, i64), (size, alpha, beta, bias): (usize, f32, f32, f32)) {
    // FMAs in the sums and in log/exp's polynomials.
    b.allow_contract();
    let px = b.input(t);
    let py = b.output(t);
    b.par_for(0, n * c, |b, nc| {
        let ch = b.let_(rem(nc.clone(), ci(c)));
        let nbase = b.let_(mul(sub(nc.clone(), ch.clone()), ci(inner)));
        let c0 = max(sub(ch.clone(), ci(lo)), ci(0));
        let c1 = min(add(ch.clone(), ci(hi + 1)), ci(c));
        let (c0, c1) = (b.let_(c0), b.let_(c1));
        let row = b.let_(add(nbase.clone(), mul(ch.clone(), ci(inner))));
        let sq = |b: &mut KernelBuilder, cc: Expr, i: Expr| {
            let v = b.let_(load(px, add(nbase.clone(), add(mul(cc, ci(inner)), i))));
            mul(v.clone(), v)
        };
        b.for_loop(0, inner, |b, i| {
            let v = sq(b, c0.clone(), i.clone());
            b.store(py, add(row.clone(), i), v);
        });
        b.for_loop(add(c0.clone(), ci(1)), c1.clone(), |b, cc| {
            b.for_loop(0, inner, |b, i| {
                let idx = b.let_(add(row.clone(), i.clone()));
                let prev = load(py, idx.clone());
                let v = sq(b, cc.clone(), i);
                b.store(py, idx, add(prev, v));
            });
        });
        b.for_loop(0, inner, |b, i| {
            let idx = b.let_(add(row.clone(), i));
            let sum = load(py, idx.clone());
            let base = add(cf(t, bias as f64), mul(cf(t, alpha as f64 / size as f64), sum));
            let lg = math::log(b, base);
            let p = math::exp(b, mul(cf(t, beta as f64), lg));
            let v = load(px, idx.clone());
            b.store(py, idx, div(v, p));
        });
    });
}

/// One (batch, row) of a matrix product `y[i, :] = Σ_k a[i, k] · b[k, :]`.
/// `a_at(k)`/`b_at(k, j)` give element indices. f32/f64 outputs use the
/// axpy form (contiguous inner loop over j, accumulating in `y`); other
/// dtypes or a transposed B use a dot product in a local.
struct MatRow<'a> {
    d: DType,
    k: i64,
    ncols: i64,
    axpy: bool,
    a_at: &'a dyn Fn(Expr) -> Expr,
    b_at: &'a dyn Fn(Expr, Expr) -> Expr,
    y_at: &'a dyn Fn(Expr) -> Expr,
}

/// Emits a matrix row; `finish(b, acc, j)` maps the accumulated dot product
/// to the stored value (Gemm's alpha/beta/C).
fn mat_row(b: &mut KernelBuilder, p: [ParamId; 3], m: &MatRow, finish: &dyn Fn(&mut KernelBuilder, Expr, Expr) -> Expr) {
    let [pa, pb, py] = p;
    let (d, t) = (m.d, compute_ty(m.d));
    if m.axpy {
        b.for_loop(0, m.ncols, |b, j| b.store(py, (m.y_at)(j), cf(t, 0.0)));
        b.for_loop(0, m.k, |b, kk| {
            let av = b.let_(load(pa, (m.a_at)(kk.clone())));
            b.for_loop(0, m.ncols, |b, j| {
                let yi = b.let_((m.y_at)(j.clone()));
                let v = add(load(py, yi.clone()), mul(av.clone(), load(pb, (m.b_at)(kk.clone(), j))));
                b.store(py, yi, v);
            });
        });
        b.for_loop(0, m.ncols, |b, j| {
            let yi = b.let_((m.y_at)(j.clone()));
            let v = finish(b, load(py, yi.clone()), j);
            b.store(py, yi, v);
        });
    } else {
        b.for_loop(0, m.ncols, |b, j| {
            let acc = b.var(cf(t, 0.0));
            b.for_loop(0, m.k, |b, kk| {
                let av = load_val(b, d, pa, (m.a_at)(kk.clone()));
                let bv = load_val(b, d, pb, (m.b_at)(kk, j.clone()));
                b.assign(acc, add(Expr::Local(acc), mul(av, bv)));
            });
            let v = finish(b, Expr::Local(acc), j.clone());
            store_val(b, d, py, (m.y_at)(j), v);
        });
    }
}

fn gemm(cx: &mut Cx, n: &Node, alpha: f32, beta: f32, ta: bool, tb: bool) -> Result<(), LowerError> {
    let (a, bm, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let cin = n.input(2);
    let (as_, ys) = (cx.ty(a).shape.clone(), cx.ty(y).shape.clone());
    let d = cx.ty(y).dtype;
    if as_.len() != 2 || ys.len() != 2 || d == DType::Bool {
        return Err(cx.invalid("Gemm needs 2-D numeric operands"));
    }
    let t = compute_ty(d);
    let (mr, nc) = (ys[0] as i64, ys[1] as i64);
    let k = if ta { as_[0] } else { as_[1] } as i64;
    let cst = cin.map(|c| bcast_strides(&cx.ty(c).shape, &ys));
    let mut b = cx.builder("gemm");
    let pa = b.input(scalar(d));
    let pb = b.input(scalar(d));
    let pc = cin.map(|c| b.input(scalar(cx.ty(c).dtype)));
    let py = b.output(scalar(d));
    let epi = Epilogue::declare(cx, &mut b, n)?;
    let cd = cin.map(|c| cx.ty(c).dtype);
    b.par_for(0, mr, |b, i| {
        let a_at = |kk: Expr| if ta { add(mul(kk, ci(mr)), i.clone()) } else { add(mul(i.clone(), ci(k)), kk) };
        let b_at = |kk: Expr, j: Expr| if tb { add(mul(j, ci(k)), kk) } else { add(mul(kk, ci(nc)), j) };
        let y_at = |j: Expr| add(mul(i.clone(), ci(nc)), j);
        let row = MatRow { d, k, ncols: nc, axpy: matches!(d, DType::F32 | DType::F64) && !tb, a_at: &a_at, b_at: &b_at, y_at: &y_at };
        let finish = |b: &mut KernelBuilder, acc: Expr, j: Expr| {
            let mut v = if alpha == 1.0 { acc } else { mul(cf(t, alpha as f64), acc) };
            if let (Some(pc), Some(cs), Some(cd)) = (pc, &cst, cd) {
                let c = load_val(b, cd, pc, add(mul(i.clone(), ci(cs[0])), mul(j.clone(), ci(cs[1]))));
                let c = convert(b, c, d);
                v = add(v, if beta == 1.0 { c } else { mul(cf(t, beta as f64), c) });
            }
            epi.apply(b, v, OutIndex::Flat(y_at(j)))
        };
        mat_row(b, [pa, pb, py], &row, &finish);
    });
    let mut args = vec![cx.buf(a)?, cx.buf(bm)?];
    if let Some(c) = cin {
        args.push(cx.buf(c)?);
    }
    args.push(cx.buf(y)?);
    epi.push_args(cx, &mut args)?;
    epi.check(cx)?;
    cx.emit(b.finish(), args);
    Ok(())
}

/// MatMul's operands viewed as batches of 2-D matrices (numpy rules: a 1-D
/// A is a row, a 1-D B a column): sizes and per-batch-index element strides.
pub(super) struct MatDims {
    pub m: i64,
    pub k: i64,
    pub nc: i64,
    pub batch: Vec<usize>,
    pub bsa: Vec<i64>,
    pub bsb: Vec<i64>,
    pub bsy: Vec<i64>,
}

pub(super) fn mat_dims(cx: &Cx, a: ValueId, bm: ValueId) -> Result<MatDims, LowerError> {
    let (mut sa, mut sb) = (cx.ty(a).shape.clone(), cx.ty(bm).shape.clone());
    if sa.is_empty() || sb.is_empty() {
        return Err(cx.invalid("MatMul needs operands of rank >= 1"));
    }
    if sa.len() == 1 {
        sa.insert(0, 1);
    }
    if sb.len() == 1 {
        sb.push(1);
    }
    let (ra, rb) = (sa.len(), sb.len());
    let (m, k, nc) = (sa[ra - 2] as i64, sa[ra - 1] as i64, sb[rb - 1] as i64);
    if sb[rb - 2] as i64 != k {
        return Err(cx.invalid("inner dimensions differ"));
    }
    let batch = onnxc_ir::infer::broadcast_shapes(&sa[..ra - 2], &sb[..rb - 2]).map_err(|e| cx.invalid(e.0))?;
    let bsa = bcast_strides(&sa[..ra - 2], &batch).iter().map(|s| s * m * k).collect();
    let bsb = bcast_strides(&sb[..rb - 2], &batch).iter().map(|s| s * k * nc).collect();
    let bsy = strides(&batch).iter().map(|s| s * m * nc).collect();
    Ok(MatDims { m, k, nc, batch, bsa, bsb, bsy })
}

fn matmul(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let (a, bm, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let d = cx.ty(y).dtype;
    if d == DType::Bool {
        return Err(cx.invalid("MatMul needs numeric operands"));
    }
    let MatDims { m, k, nc, batch, bsa, bsb, bsy } = mat_dims(cx, a, bm)?;
    let mut dims = batch.clone();
    dims.push(m as usize);
    let mut b = cx.builder("matmul");
    let pa = b.input(scalar(d));
    let pb = b.input(scalar(d));
    let py = b.output(scalar(d));
    let epi = Epilogue::declare(cx, &mut b, n)?;
    nest(&mut b, &dims, true, &mut |b, vars| {
        let (bv, i) = vars.split_at(vars.len() - 1);
        let i = i[0].clone();
        let abase = b.let_(add(lin(bv, &bsa), mul(i.clone(), ci(k))));
        let bbase = b.let_(lin(bv, &bsb));
        let ybase = b.let_(add(lin(bv, &bsy), mul(i, ci(nc))));
        let a_at = |kk: Expr| add(abase.clone(), kk);
        let b_at = |kk: Expr, j: Expr| add(bbase.clone(), add(mul(kk, ci(nc)), j));
        let y_at = |j: Expr| add(ybase.clone(), j);
        let row = MatRow { d, k, ncols: nc, axpy: matches!(d, DType::F32 | DType::F64), a_at: &a_at, b_at: &b_at, y_at: &y_at };
        mat_row(b, [pa, pb, py], &row, &|b, acc, j| epi.apply(b, acc, OutIndex::Flat(y_at(j))));
    });
    let mut args = vec![cx.buf(a)?, cx.buf(bm)?, cx.buf(y)?];
    epi.push_args(cx, &mut args)?;
    epi.check(cx)?;
    cx.emit(b.finish(), args);
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum SoftKind {
    Soft,
    Log,
    Hard,
}

fn softmax(cx: &mut Cx, n: &Node, axis: i64, kind: SoftKind) -> Result<(), LowerError> {
    if kind != SoftKind::Hard && super::softmax_fast::try_lower(cx, n, axis, kind == SoftKind::Log)? {
        return Ok(());
    }
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let d = cx.ty(x).dtype;
    if kind != SoftKind::Hard && !d.is_float() {
        return Err(cx.unsupported(format!("dtype {d}")));
    }
    let ax = onnxc_ir::infer::norm_axis(axis, xs.len()).map_err(|e| cx.invalid(e.0))?;
    let t = compute_ty(d);
    let outer = xs[..ax.min(xs.len())].iter().product::<usize>() as i64;
    let len = xs.get(ax).copied().unwrap_or(1) as i64;
    let inner = xs.get(ax + 1..).map(|s| s.iter().product::<usize>()).unwrap_or(1) as i64;
    let mut b = cx.builder(match kind {
        SoftKind::Soft => "softmax",
        SoftKind::Log => "logsoftmax",
        SoftKind::Hard => "hardmax",
    });
    let px = b.input(scalar(d));
    let py = b.output(scalar(d));
    b.par_for(0, outer, |b, o| {
        b.for_loop(0, inner, |b, i| {
            let base = b.let_(add(mul(o.clone(), ci(len * inner)), i));
            let at = |a: Expr| add(base.clone(), mul(a, ci(inner)));
            let mx = b.var(extreme(t, true));
            let arg = b.var(ci(0));
            b.for_loop(0, len, |b, a| {
                let v = load_val(b, d, px, at(a.clone()));
                let v = b.let_(v);
                if kind == SoftKind::Hard {
                    // First index of the maximum.
                    b.if_(gt(v.clone(), Expr::Local(mx)), |b| {
                        b.assign(mx, v);
                        b.assign(arg, a);
                    });
                } else {
                    b.assign(mx, max(Expr::Local(mx), v));
                }
            });
            if kind == SoftKind::Hard {
                b.for_loop(0, len, |b, a| {
                    let one = select(eq(a.clone(), Expr::Local(arg)), cf(t, 1.0), cf(t, 0.0));
                    store_val(b, d, py, at(a), one);
                });
                return;
            }
            let s = b.var(cf(t, 0.0));
            b.for_loop(0, len, |b, a| {
                let v = load_val(b, d, px, at(a));
                let e = math::exp(b, sub(v, Expr::Local(mx)));
                b.assign(s, add(Expr::Local(s), e));
            });
            if kind == SoftKind::Log {
                let ls = math::log(b, Expr::Local(s));
                let ls = b.let_(add(ls, Expr::Local(mx)));
                b.for_loop(0, len, |b, a| {
                    let v = load_val(b, d, px, at(a.clone()));
                    store_val(b, d, py, at(a), sub(v, ls.clone()));
                });
            } else {
                let inv = b.let_(div(cf(t, 1.0), Expr::Local(s)));
                b.for_loop(0, len, |b, a| {
                    let v = load_val(b, d, px, at(a.clone()));
                    let e = math::exp(b, sub(v, Expr::Local(mx)));
                    store_val(b, d, py, at(a), mul(e, inv.clone()));
                });
            }
        });
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}
