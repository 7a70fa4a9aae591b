//! Lowering of Det, TensorScatter, CenterCropPad and Col2Im.

use super::*;
use onnxc_ir::infer::{center_crop_pad_shape, col2im_geometry, tensor_scatter_axis};

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::Det => det(cx, n),
        Op::TensorScatter { axis, circular } => tensor_scatter(cx, n, *axis, *circular),
        Op::CenterCropPad { axes } => center_crop_pad(cx, n, axes.as_deref()),
        Op::Col2Im { dilations, pads, strides } => col2im(cx, n, dilations, pads, strides),
        Op::TfIdfVectorizer(a) => tfidf(cx, n, a),
        Op::RoiAlign { .. } => super::roi::roi_align(cx, n),
        Op::DeformConv { window, group, offset_group } => super::roi::deform_conv(cx, n, window, *group, *offset_group),
        Op::MaxUnpool { window } => max_unpool(cx, n, window),
        other => Err(cx.unsupported(format!("no lowering for {}", other.onnx_name()))),
    }
}

/// Largest matrix Det expands with the Leibniz formula (m! terms).
const MAX_DET: usize = 5;

/// Every permutation of 0..m with its sign.
fn permutations(m: usize) -> Vec<(Vec<usize>, f64)> {
    fn go(prefix: &mut Vec<usize>, m: usize, out: &mut Vec<(Vec<usize>, f64)>) {
        if prefix.len() == m {
            let inv = (0..m).flat_map(|i| (i + 1..m).map(move |j| (i, j))).filter(|&(i, j)| prefix[i] > prefix[j]).count();
            out.push((prefix.clone(), if inv % 2 == 0 { 1.0 } else { -1.0 }));
            return;
        }
        for v in 0..m {
            if !prefix.contains(&v) {
                prefix.push(v);
                go(prefix, m, out);
                prefix.pop();
            }
        }
    }
    let mut out = Vec::new();
    go(&mut Vec::new(), m, &mut out);
    out
}

fn det(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let d = cx.ty(x).dtype;
    let m = xs[xs.len() - 1];
    if m > MAX_DET {
        return Err(cx.unsupported(format!("Det of {m}x{m} matrices (at most {MAX_DET}x{MAX_DET})")));
    }
    let count = cx.ty(y).numel();
    if count == 0 {
        return Ok(());
    }
    let mut b = cx.builder("det");
    let (px, py) = (b.input(scalar(d)), b.output(scalar(d)));
    let perms = permutations(m);
    b.par_for(0, count as i64, |b, k| {
        let base = b.let_(mul(k.clone(), ci((m * m) as i64)));
        let mut a = Vec::with_capacity(m * m);
        for e in 0..m * m {
            let v = load_val(b, d, px, add(base.clone(), ci(e as i64)));
            a.push(b.let_(cast(Scalar::F64, v)));
        }
        let mut acc = cf(Scalar::F64, if m == 0 { 1.0 } else { 0.0 });
        for (p, sign) in &perms {
            let term = (0..m).fold(cf(Scalar::F64, *sign), |t, i| mul(t, a[i * m + p[i]].clone()));
            acc = b.let_(add(acc, term));
        }
        let out = convert(b, acc, d);
        store_val(b, d, py, k, out);
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

fn tensor_scatter(cx: &mut Cx, n: &Node, axis: i64, circular: bool) -> Result<(), LowerError> {
    let (p, u, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let (ps, us) = (cx.ty(p).shape.clone(), cx.ty(u).shape.clone());
    let a = tensor_scatter_axis(axis, ps.len()).map_err(|e| cx.invalid(e.0))?;
    cx.copy_value(y, p)?;
    if cx.ty(u).numel() == 0 {
        return Ok(());
    }
    let el = scalar(cx.ty(p).dtype);
    let inner: usize = ps[a + 1..].iter().product();
    let outer: usize = ps[..a].iter().product();
    let per_batch = (outer / ps[0]).max(1) as i64;
    let wi = n.input(2);
    let mut b = cx.builder("tensorscatter");
    let pu = b.input(el);
    let pw = wi.map(|_| b.input(Scalar::I64));
    let py = b.output(el);
    let (seq, max) = (us[a] as i64, ps[a] as i64);
    nest(&mut b, &[outer, us[a]], true, &mut |b, v| {
        let (o, s) = (v[0].clone(), v[1].clone());
        let start = match pw {
            Some(pw) => load(pw, div(o.clone(), ci(per_batch))),
            None => ci(0),
        };
        let t = b.let_(add(start, s.clone()));
        let t = if circular { b.let_(rem(add(rem(t, ci(max)), ci(max)), ci(max))) } else { t };
        let inside = math::band(ge(t.clone(), ci(0)), lt(t.clone(), ci(max)));
        let dst = b.let_(mul(add(mul(o.clone(), ci(max)), t), ci(inner as i64)));
        let src = b.let_(mul(add(mul(o, ci(seq)), s), ci(inner as i64)));
        b.if_(inside, |b| {
            b.for_loop(0, inner as i64, |b, i| {
                b.store(py, add(dst.clone(), i.clone()), load(pu, add(src.clone(), i)));
            });
        });
    });
    let mut args = vec![cx.buf(u)?];
    if let Some(w) = wi {
        args.push(cx.buf(w)?);
    }
    args.push(cx.buf(y)?);
    cx.emit(b.finish(), args);
    Ok(())
}

fn zero(t: Scalar) -> Expr {
    Expr::Const(Const { ty: t, bits: 0 })
}

fn center_crop_pad(cx: &mut Cx, n: &Node, axes: Option<&[i64]>) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let shape = cx.const_ints(n, 1)?.unwrap_or_default();
    let xs = cx.ty(x).shape.clone();
    let (ys, off) = center_crop_pad_shape(&xs, &shape, axes).map_err(|e| cx.invalid(e.0))?;
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let el = scalar(cx.ty(x).dtype);
    let (xst, yst) = (strides(&xs), strides(&ys));
    let mut b = cx.builder("centercroppad");
    let (px, py) = (b.input(el), b.output(el));
    nest(&mut b, &ys, true, &mut |b, v| {
        let mut inside = cbool(true);
        let mut src = ci(0);
        for (k, vk) in v.iter().enumerate() {
            let s = b.let_(add(vk.clone(), ci(off[k])));
            if off[k] < 0 || ys[k] as i64 + off[k] > xs[k] as i64 {
                inside = math::band(inside, math::band(ge(s.clone(), ci(0)), lt(s.clone(), ci(xs[k] as i64))));
            }
            src = add(src, mul(s, ci(xst[k])));
        }
        let yi = b.let_(lin(v, &yst));
        let inside = b.let_(inside);
        let src = b.let_(src);
        b.if_else(inside, |b| b.store(py, yi.clone(), load(px, src)), |b| b.store(py, yi.clone(), zero(el)));
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

fn col2im(cx: &mut Cx, n: &Node, dil: &[usize], pads: &[usize], st: &[usize]) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let img = cx.const_ints(n, 1)?.unwrap_or_default();
    let block = cx.const_ints(n, 2)?.unwrap_or_default();
    let xs = cx.ty(x).shape.clone();
    let g = col2im_geometry(&xs, &img, &block, dil, pads, st).map_err(|e| cx.invalid(e.0))?;
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let d = cx.ty(x).dtype;
    let t = compute_ty(d);
    let r = g.image.len();
    let k: usize = g.block.iter().product();
    let l = xs[2] as i64;
    let (kst, lst) = (strides(&g.block), strides(&g.blocks));
    let ys = cx.ty(y).shape.clone();
    let yst = strides(&ys);
    let mut b = cx.builder("col2im");
    let (px, py) = (b.input(scalar(d)), b.output(scalar(d)));
    nest(&mut b, &ys, true, &mut |b, v| {
        let plane = b.let_(add(mul(v[0].clone(), ci(g.channels as i64)), v[1].clone()));
        let acc = b.var(cf(t, 0.0));
        b.for_loop(0, k as i64, |b, kk| {
            let mut ok = cbool(true);
            let mut li = ci(0);
            for i in 0..r {
                let ki = rem(div(kk.clone(), ci(kst[i])), ci(g.block[i] as i64));
                // Block position q * stride = pixel + pad - k * dilation.
                let q = b.let_(sub(add(v[2 + i].clone(), ci(g.pads[i] as i64)), mul(ki, ci(g.dilations[i] as i64))));
                let s = ci(g.strides[i] as i64);
                let qs = b.let_(div(q.clone(), s.clone()));
                ok = math::band(ok, ge(q.clone(), ci(0)));
                ok = math::band(ok, eq(rem(q, s), ci(0)));
                ok = math::band(ok, lt(qs.clone(), ci(g.blocks[i] as i64)));
                li = add(li, mul(qs, ci(lst[i])));
            }
            let ok = b.let_(ok);
            let xi = b.let_(add(mul(add(mul(plane.clone(), ci(k as i64)), kk), ci(l)), li));
            b.if_(ok, |b| {
                let xv = load_val(b, d, px, xi);
                b.assign(acc, add(Expr::Local(acc), xv));
            });
        });
        let yi = lin(v, &yst);
        store_val(b, d, py, yi, Expr::Local(acc));
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

fn i64_table(v: impl IntoIterator<Item = i64>) -> Bytes {
    Bytes::from(v.into_iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())
}

/// TfIdfVectorizer: per row, count the matches of every pooled n-gram
/// (tables grouped by length), then weight the counts.
fn tfidf(cx: &mut Cx, n: &Node, a: &onnxc_ir::op::TfIdfAttrs) -> Result<(), LowerError> {
    use onnxc_ir::eval::tfidf::{skip_distances, tfidf_grams};
    use onnxc_ir::op::TfIdfMode;
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let (grams, size) = tfidf_grams(a).map_err(|e| cx.invalid(e.0))?;
    let xs = cx.ty(x).shape.clone();
    let (rows, c) = if xs.len() == 1 { (1, xs[0]) } else { (xs[0], xs[1]) };
    if rows * size == 0 {
        return Ok(());
    }
    let xd = cx.ty(x).dtype;
    let maxn = grams.iter().map(|g| g.items.len()).max().unwrap_or(0);
    let mut b = cx.builder("tfidf");
    let px = b.input(scalar(xd));
    let mut groups = Vec::new();
    let mut tables = Vec::new();
    for len in 1..=maxn {
        let gs: Vec<_> = grams.iter().filter(|g| g.items.len() == len).collect();
        if gs.is_empty() {
            continue;
        }
        tables.push(i64_table(gs.iter().flat_map(|g| g.items.clone())));
        tables.push(i64_table(gs.iter().map(|g| g.column as i64)));
        groups.push((len, gs.len(), b.input(Scalar::I64), b.input(Scalar::I64)));
    }
    let weighted = !a.weights.is_empty() && a.mode != TfIdfMode::Tf;
    let pw = weighted.then(|| b.input(Scalar::F32));
    let py = b.output(Scalar::F32);
    let f32c = |v: f64| cf(Scalar::F32, v);
    b.par_for(0, rows as i64, |b, r| {
        let ybase = b.let_(mul(r.clone(), ci(size as i64)));
        let xbase = b.let_(mul(r, ci(c as i64)));
        b.for_loop(0, size as i64, |b, col| b.store(py, add(ybase.clone(), col), f32c(0.0)));
        for &(len, count, items, cols) in &groups {
            b.for_loop(0, count as i64, |b, k| {
                let f = b.var(f32c(0.0));
                let gbase = b.let_(mul(k.clone(), ci(len as i64)));
                let ds = skip_distances(len, a.max_skip_count);
                b.for_loop(*ds.start() as i64, *ds.end() as i64 + 1, |b, d| {
                    let end = b.let_(max(sub(ci(c as i64), mul(d.clone(), ci(len as i64 - 1))), ci(0)));
                    b.for_loop(0, end, |b, s| {
                        let mut hit = cbool(true);
                        for j in 0..len {
                            let xi = add(add(xbase.clone(), s.clone()), mul(d.clone(), ci(j as i64)));
                            let xv = cast(Scalar::I64, load(px, xi));
                            hit = math::band(hit, eq(xv, load(items, add(gbase.clone(), ci(j as i64)))));
                        }
                        b.assign(f, add(Expr::Local(f), select(hit, f32c(1.0), f32c(0.0))));
                    });
                });
                let yi = b.let_(add(ybase.clone(), load(cols, k)));
                b.store(py, yi.clone(), add(load(py, yi), Expr::Local(f)));
            });
        }
        if a.mode != TfIdfMode::Tf {
            b.for_loop(0, size as i64, |b, col| {
                let yi = b.let_(add(ybase.clone(), col.clone()));
                let fv = b.let_(load(py, yi.clone()));
                let w = pw.map_or(f32c(1.0), |pw| load(pw, col));
                let v = match a.mode {
                    TfIdfMode::Idf => select(gt(fv.clone(), f32c(0.0)), w, f32c(0.0)),
                    _ => mul(w, fv),
                };
                b.store(py, yi, v);
            });
        }
    });
    let mut args = vec![cx.buf(x)?];
    for t in tables {
        args.push(cx.const_buf(t));
    }
    if weighted {
        let w: Vec<u8> = a.weights[..size].iter().flat_map(|v| v.to_le_bytes()).collect();
        args.push(cx.const_buf(Bytes::from(w)));
    }
    args.push(cx.buf(y)?);
    cx.emit(b.finish(), args);
    Ok(())
}

/// MaxUnpool: zero the output, then scatter X through I sequentially (so
/// duplicate indices resolve in order, as in the reference).
fn max_unpool(cx: &mut Cx, n: &Node, window: &onnxc_ir::op::Window) -> Result<(), LowerError> {
    let (x, idx, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let ys = cx.ty(y).shape.clone();
    let inferred = onnxc_ir::infer::max_unpool_inferred(window, &xs).map_err(|e| cx.invalid(e.0))?;
    let el = scalar(cx.ty(x).dtype);
    let total = cx.ty(y).numel() as i64;
    if total == 0 {
        return Ok(());
    }
    let (ist, ost) = (strides(&inferred), strides(&ys));
    let itotal: i64 = inferred.iter().product::<usize>() as i64;
    let mut b = cx.builder("maxunpool");
    let (px, pi, py) = (b.input(el), b.input(Scalar::I64), b.output(el));
    b.par_for(0, total, |b, i| b.store(py, i, zero(el)));
    b.for_loop(0, cx.ty(x).numel() as i64, |b, k| {
        let i = b.let_(load(pi, k.clone()));
        let inside = math::band(ge(i.clone(), ci(0)), lt(i.clone(), ci(itotal)));
        let mut o = ci(0);
        for a in 0..ys.len() {
            o = add(o, mul(rem(div(i.clone(), ci(ist[a])), ci(inferred[a] as i64)), ci(ost[a])));
        }
        let o = b.let_(o);
        b.if_(inside, |b| b.store(py, o, load(px, k)));
    });
    let args = vec![cx.buf(x)?, cx.buf(idx)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}
