//! Lowering of the index family. Out-of-range indices are errors in ONNX;
//! kernels wrap negatives and clamp the rest so they never read or write out
//! of bounds. Pure data movement copies raw elements (any dtype); the
//! arithmetic ops (scatter reductions, CumSum/CumProd) compute in
//! `compute_ty`. Shape-only permutations (DepthToSpace/SpaceToDepth) use a
//! compile-time index table, and EyeLike's output is a constant.

use super::*;
use onnxc_ir::op::ScatterReduction;

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::Trilu { upper } => trilu(cx, n, *upper),
        Op::CumSum { exclusive, reverse } => cumulative(cx, n, false, *exclusive, *reverse),
        Op::CumProd { exclusive, reverse } => cumulative(cx, n, true, *exclusive, *reverse),
        Op::GatherElements { axis } => gather_elements(cx, n, *axis),
        Op::ScatterElements { axis, reduction } => scatter_elements(cx, n, *axis, *reduction),
        Op::ScatterND { reduction } => scatter_nd(cx, n, *reduction),
        Op::GatherND { batch_dims } => gather_nd(cx, n, *batch_dims),
        Op::DepthToSpace { .. } | Op::SpaceToDepth { .. } | Op::EyeLike { .. } => by_table(cx, n),
        Op::OneHot { axis } => one_hot(cx, n, *axis),
        Op::ReverseSequence { batch_axis, time_axis } => reverse_sequence(cx, n, *batch_axis, *time_axis),
        Op::TopK { axis, largest, .. } => top_k(cx, n, *axis, *largest),
        Op::Einsum { equation } => einsum(cx, n, equation),
        other => Err(cx.unsupported(format!("no lowering for {}", other.onnx_name()))),
    }
}

/// `raw` (any int type) as an I64 index into a dimension of `dim`:
/// negatives wrap, then clamped into range.
fn wrap_index(b: &mut KernelBuilder, raw: Expr, dim: i64) -> Expr {
    let r = b.let_(cast(Scalar::I64, raw));
    let w = select(lt(r.clone(), ci(0)), add(r.clone(), ci(dim)), r);
    b.let_(min(max(w, ci(0)), ci((dim - 1).max(0))))
}

fn index_ty(cx: &Cx, v: ValueId) -> Result<Scalar, LowerError> {
    match cx.ty(v).dtype {
        DType::I32 | DType::I64 => Ok(scalar(cx.ty(v).dtype)),
        d => Err(cx.unsupported(format!("indices of dtype {d}"))),
    }
}

fn trilu(cx: &mut Cx, n: &Node, upper: bool) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let shape = cx.ty(x).shape.clone();
    let r = shape.len();
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let el = scalar(cx.ty(x).dtype);
    let mut b = cx.builder("trilu");
    let px = b.input(el);
    let pk = n.input(1).map(|_| b.input(Scalar::I64));
    let py = b.output(el);
    let k = match pk {
        Some(p) => b.let_(load(p, ci(0))),
        None => ci(0),
    };
    let st = strides(&shape);
    nest(&mut b, &shape, true, &mut |b, v| {
        let diff = sub(v[r - 1].clone(), v[r - 2].clone());
        let keep = if upper { ge(diff, k.clone()) } else { le(diff, k.clone()) };
        let i = b.let_(lin(v, &st));
        b.if_else(keep, |b| b.store(py, i.clone(), load(px, i.clone())), |b| {
            b.store(py, i.clone(), Expr::Const(Const { ty: el, bits: 0 }))
        });
    });
    let mut args = vec![cx.buf(x)?];
    if let Some(kv) = n.input(1) {
        args.push(cx.buf(kv)?);
    }
    args.push(cx.buf(y)?);
    cx.emit(b.finish(), args);
    Ok(())
}

fn cumulative(cx: &mut Cx, n: &Node, prod: bool, exclusive: bool, reverse: bool) -> Result<(), LowerError> {
    let (x, ax, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let shape = cx.ty(x).shape.clone();
    let r = shape.len() as i64;
    let d = cx.ty(x).dtype;
    if d == DType::Bool {
        return Err(cx.unsupported("bool input"));
    }
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let t = compute_ty(d);
    let known = cx.konst(ax).map(|v| v.to_i64_vec());
    let mut b = cx.builder(if prod { "cumprod" } else { "cumsum" });
    let px = b.input(scalar(d));
    let pa = b.input(scalar(cx.ty(ax).dtype));
    let py = b.output(scalar(d));
    // The axis may be a runtime input: emit one loop nest per possible axis.
    let a = b.let_(cast(Scalar::I64, load(pa, ci(0))));
    let a = b.let_(select(lt(a.clone(), ci(0)), add(a.clone(), ci(r)), a));
    for axis in 0..shape.len() {
        if let Some(k) = &known {
            let norm = if k[0] < 0 { k[0] + r } else { k[0] };
            if norm != axis as i64 {
                continue;
            }
        }
        let (outer, len) = (shape[..axis].iter().product::<usize>(), shape[axis] as i64);
        let inner = shape[axis + 1..].iter().product::<usize>() as i64;
        b.if_(eq(a.clone(), ci(axis as i64)), |b| {
            nest(b, &[outer, inner as usize], true, &mut |b, v| {
                let base = b.let_(add(mul(v[0].clone(), ci(len * inner)), v[1].clone()));
                let acc = b.var(if prod { cf(t, 1.0) } else { cf(t, 0.0) });
                b.for_loop(0, len, |b, s| {
                    let j = if reverse { sub(ci(len - 1), s) } else { s };
                    let p = b.let_(add(base.clone(), mul(j, ci(inner))));
                    let xv = load_val(b, d, px, p.clone());
                    let next = b.let_(if prod { mul(Expr::Local(acc), xv) } else { add(Expr::Local(acc), xv) });
                    let out = if exclusive { Expr::Local(acc) } else { next.clone() };
                    store_val(b, d, py, p, out);
                    b.assign(acc, next);
                });
            });
        });
    }
    let args = vec![cx.buf(x)?, cx.buf(ax)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

fn gather_elements(cx: &mut Cx, n: &Node, axis: i64) -> Result<(), LowerError> {
    let (x, ind, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let (xs, is) = (cx.ty(x).shape.clone(), cx.ty(ind).shape.clone());
    let a = onnxc_ir::infer::norm_axis(axis, xs.len()).map_err(|e| cx.invalid(e.0))?;
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let it = index_ty(cx, ind)?;
    let el = scalar(cx.ty(x).dtype);
    let (xst, ist) = (strides(&xs), strides(&is));
    let mut b = cx.builder("gather_elements");
    let px = b.input(el);
    let pi = b.input(it);
    let py = b.output(el);
    nest(&mut b, &is, true, &mut |b, v| {
        let o = b.let_(lin(v, &ist));
        let idx = wrap_index(b, load(pi, o.clone()), xs[a] as i64);
        let mut src = mul(idx, ci(xst[a]));
        for (d, vd) in v.iter().enumerate() {
            if d != a {
                src = add(src, mul(vd.clone(), ci(xst[d])));
            }
        }
        b.store(py, o, load(px, src));
    });
    let args = vec![cx.buf(x)?, cx.buf(ind)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

/// `y[p] = combine(y[p], u)` for a scatter reduction.
fn scatter_store(b: &mut KernelBuilder, d: DType, py: ParamId, pu: ParamId, p: Expr, u: Expr, red: ScatterReduction) {
    if red == ScatterReduction::None {
        b.store(py, p, load(pu, u));
        return;
    }
    let old = load_val(b, d, py, p.clone());
    let new = load_val(b, d, pu, u);
    let v = match red {
        ScatterReduction::Add => add(old, new),
        ScatterReduction::Mul => mul(old, new),
        ScatterReduction::Max => max(old, new),
        ScatterReduction::Min => min(old, new),
        ScatterReduction::None => new,
    };
    store_val(b, d, py, p, v);
}

fn check_reduction(cx: &Cx, d: DType, red: ScatterReduction) -> Result<(), LowerError> {
    if d == DType::Bool && red != ScatterReduction::None {
        return Err(cx.unsupported(format!("reduction {red:?} on bool")));
    }
    Ok(())
}

fn scatter_elements(cx: &mut Cx, n: &Node, axis: i64, red: ScatterReduction) -> Result<(), LowerError> {
    let (x, ind, upd, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.input(n, 2)?, cx.output(n, 0)?);
    let (xs, is) = (cx.ty(x).shape.clone(), cx.ty(ind).shape.clone());
    let a = onnxc_ir::infer::norm_axis(axis, xs.len()).map_err(|e| cx.invalid(e.0))?;
    let d = cx.ty(x).dtype;
    check_reduction(cx, d, red)?;
    cx.copy_value(y, x)?;
    if cx.ty(upd).numel() == 0 || cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let it = index_ty(cx, ind)?;
    let (xst, ist) = (strides(&xs), strides(&is));
    let mut b = cx.builder("scatter_elements");
    let pi = b.input(it);
    let pu = b.input(scalar(d));
    let py = b.output(scalar(d));
    // Sequential: later updates to the same element must win (or combine in order).
    nest(&mut b, &is, false, &mut |b, v| {
        let o = b.let_(lin(v, &ist));
        let idx = wrap_index(b, load(pi, o.clone()), xs[a] as i64);
        let mut dst = mul(idx, ci(xst[a]));
        for (k, vd) in v.iter().enumerate() {
            if k != a {
                dst = add(dst, mul(vd.clone(), ci(xst[k])));
            }
        }
        let dst = b.let_(dst);
        scatter_store(b, d, py, pu, dst, o, red);
    });
    let args = vec![cx.buf(ind)?, cx.buf(upd)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

/// Emits `f(b, tuple, offset)` for each index tuple of a GatherND/ScatterND
/// `indices` (last dim `k`), where `offset` is the flat offset in `data`.
fn nd_tuples(
    b: &mut KernelBuilder,
    pi: ParamId,
    xs: &[usize],
    is: &[usize],
    batch: usize,
    par: bool,
    f: &mut dyn FnMut(&mut KernelBuilder, Expr, Expr),
) {
    let k = is[is.len() - 1];
    let tuples = is[..is.len() - 1].iter().product::<usize>() as i64;
    let per_batch = is[batch..is.len() - 1].iter().product::<usize>().max(1) as i64;
    let xst = strides(xs);
    let batch_size = xs[batch..].iter().product::<usize>() as i64;
    let body = |b: &mut KernelBuilder, t: Expr| {
        let mut off = mul(div(t.clone(), ci(per_batch)), ci(batch_size));
        for j in 0..k {
            let raw = load(pi, add(mul(t.clone(), ci(k as i64)), ci(j as i64)));
            let idx = wrap_index(b, raw, xs[batch + j] as i64);
            off = add(off, mul(idx, ci(xst[batch + j])));
        }
        let off = b.let_(off);
        f(b, t, off);
    };
    if par {
        b.par_for(0, tuples, body)
    } else {
        b.for_loop(0, tuples, body)
    }
}

fn scatter_nd(cx: &mut Cx, n: &Node, red: ScatterReduction) -> Result<(), LowerError> {
    let (x, ind, upd, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.input(n, 2)?, cx.output(n, 0)?);
    let (xs, is) = (cx.ty(x).shape.clone(), cx.ty(ind).shape.clone());
    let d = cx.ty(x).dtype;
    check_reduction(cx, d, red)?;
    cx.copy_value(y, x)?;
    if cx.ty(upd).numel() == 0 || cx.ty(y).numel() == 0 || is.is_empty() {
        return Ok(());
    }
    let k = is[is.len() - 1];
    let slice = xs[k..].iter().product::<usize>() as i64;
    let mut b = cx.builder("scatter_nd");
    let pi = b.input(Scalar::I64);
    let pu = b.input(scalar(d));
    let py = b.output(scalar(d));
    nd_tuples(&mut b, pi, &xs, &is, 0, false, &mut |b, t, off| {
        b.for_loop(0, slice, |b, s| {
            let u = add(mul(t.clone(), ci(slice)), s.clone());
            scatter_store(b, d, py, pu, add(off.clone(), s), u, red);
        });
    });
    let args = vec![cx.buf(ind)?, cx.buf(upd)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

fn gather_nd(cx: &mut Cx, n: &Node, batch: usize) -> Result<(), LowerError> {
    let (x, ind, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let (xs, is) = (cx.ty(x).shape.clone(), cx.ty(ind).shape.clone());
    if cx.ty(y).numel() == 0 || is.is_empty() {
        return Ok(());
    }
    let k = is[is.len() - 1];
    let slice = xs[batch + k..].iter().product::<usize>() as i64;
    let el = scalar(cx.ty(x).dtype);
    let mut b = cx.builder("gather_nd");
    let px = b.input(el);
    let pi = b.input(Scalar::I64);
    let py = b.output(el);
    nd_tuples(&mut b, pi, &xs, &is, batch, true, &mut |b, t, off| {
        b.for_loop(0, slice, |b, s| {
            let v = load(px, add(off.clone(), s.clone()));
            b.store(py, add(mul(t.clone(), ci(slice)), s), v);
        });
    });
    let args = vec![cx.buf(x)?, cx.buf(ind)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

/// Ops whose output is a fixed rearrangement of the input (or a constant):
/// the evaluator runs once on an index tensor and the kernel gathers by table.
fn by_table(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let yt = cx.ty(y).clone();
    if yt.numel() == 0 {
        return Ok(());
    }
    if let Op::EyeLike { .. } = n.op {
        let zero = Tensor::zeros(cx.ty(x).clone());
        let out = onnxc_ir::eval::eval_op(&n.op, &[Some(&zero)], &[yt]).map_err(|e| cx.invalid(e.0))?;
        let t = out.into_iter().next().ok_or_else(|| cx.invalid("EyeLike produced nothing"))?;
        return cx.store_const(y, t.bytes().clone());
    }
    // Evaluate the op on the element numbers of x: the result is the table.
    let numbers: Vec<i64> = (0..cx.ty(x).numel() as i64).collect();
    let ids = Tensor::from_vec(cx.ty(x).shape.clone(), numbers);
    let it = TensorType::new(DType::I64, yt.shape.clone());
    let out = onnxc_ir::eval::eval_op(&n.op, &[Some(&ids)], &[it]).map_err(|e| cx.invalid(e.0))?;
    let table = out.into_iter().next().ok_or_else(|| cx.invalid("no table"))?;
    let el = scalar(yt.dtype);
    let mut b = cx.builder("permute");
    let px = b.input(el);
    let pt = b.input(Scalar::I64);
    let py = b.output(el);
    b.par_for(0, yt.numel() as i64, |b, i| {
        let v = load(px, load(pt, i.clone()));
        b.store(py, i, v);
    });
    let tb = cx.const_buf(table.bytes().clone());
    let args = vec![cx.buf(x)?, tb, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

fn one_hot(cx: &mut Cx, n: &Node, axis: i64) -> Result<(), LowerError> {
    let (ind, vals, y) = (cx.input(n, 0)?, cx.input(n, 2)?, cx.output(n, 0)?);
    let ys = cx.ty(y).shape.clone();
    let a = onnxc_ir::infer::norm_axis(axis, ys.len()).map_err(|e| cx.invalid(e.0))?;
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let depth = ys[a] as i64;
    let id = cx.ty(ind).dtype;
    if matches!(id, DType::F16 | DType::BF16 | DType::Bool) || id.is_small() {
        return Err(cx.unsupported(format!("indices of dtype {id}")));
    }
    let el = scalar(cx.ty(y).dtype);
    let is = strides(&cx.ty(ind).shape);
    let mut b = cx.builder("one_hot");
    let pi = b.input(scalar(id));
    let pv = b.input(el);
    let py = b.output(el);
    let yst = strides(&ys);
    nest(&mut b, &ys, true, &mut |b, v| {
        let iv: Vec<Expr> = v.iter().enumerate().filter(|(d, _)| *d != a).map(|(_, e)| e.clone()).collect();
        let raw = b.let_(cast(Scalar::I64, load(pi, lin(&iv, &is))));
        let w = select(lt(raw.clone(), ci(0)), add(raw.clone(), ci(depth)), raw);
        let hit = eq(w, v[a].clone());
        let val = load(pv, select(hit, ci(1), ci(0)));
        b.store(py, lin(v, &yst), val);
    });
    let args = vec![cx.buf(ind)?, cx.buf(vals)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

fn reverse_sequence(cx: &mut Cx, n: &Node, ba: usize, ta: usize) -> Result<(), LowerError> {
    let (x, lens, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    if cx.ty(y).numel() == 0 || ba >= xs.len() || ta >= xs.len() {
        return Ok(());
    }
    let el = scalar(cx.ty(x).dtype);
    let st = strides(&xs);
    let mut b = cx.builder("reverse_sequence");
    let px = b.input(el);
    let pl = b.input(scalar(cx.ty(lens).dtype));
    let py = b.output(el);
    let tlen = xs[ta] as i64;
    nest(&mut b, &xs, true, &mut |b, v| {
        let l = b.let_(min(max(cast(Scalar::I64, load(pl, v[ba].clone())), ci(0)), ci(tlen)));
        let t = v[ta].clone();
        let src_t = select(lt(t.clone(), l.clone()), sub(sub(l, ci(1)), t.clone()), t.clone());
        let o = b.let_(lin(v, &st));
        let src = add(sub(o.clone(), mul(t, ci(st[ta]))), mul(src_t, ci(st[ta])));
        b.store(py, o, load(px, src));
    });
    let args = vec![cx.buf(x)?, cx.buf(lens)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

/// TopK by ranking: element i's rank is the number of elements ordered
/// before it (larger, or equal with a smaller index); ranks below k are
/// written at their rank. O(n^2) per lane, but needs no scratch memory.
fn top_k(cx: &mut Cx, n: &Node, axis: i64, largest: bool) -> Result<(), LowerError> {
    let (x, yv) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let yi = n.outputs.get(1).copied();
    let xs = cx.ty(x).shape.clone();
    let a = onnxc_ir::infer::norm_axis(axis, xs.len()).map_err(|e| cx.invalid(e.0))?;
    let k = cx.ty(yv).shape[a] as i64;
    if cx.ty(yv).numel() == 0 {
        return Ok(());
    }
    let d = cx.ty(x).dtype;
    let (outer, len) = (xs[..a].iter().product::<usize>(), xs[a] as i64);
    let inner = xs[a + 1..].iter().product::<usize>() as i64;
    let mut b = cx.builder("top_k");
    let px = b.input(scalar(d));
    let pv = b.output(scalar(d));
    let pidx = yi.map(|_| b.output(Scalar::I64));
    nest(&mut b, &[outer, inner as usize], true, &mut |b, v| {
        let base = b.let_(add(mul(v[0].clone(), ci(len * inner)), v[1].clone()));
        let obase = b.let_(add(mul(v[0].clone(), ci(k * inner)), v[1].clone()));
        b.for_loop(0, len, |b, i| {
            let xi = load_val(b, d, px, add(base.clone(), mul(i.clone(), ci(inner))));
            let xi = b.let_(xi);
            let rank = b.var(ci(0));
            b.for_loop(0, len, |b, m| {
                let xm = load_val(b, d, px, add(base.clone(), mul(m.clone(), ci(inner))));
                let better = if largest { gt(xm.clone(), xi.clone()) } else { lt(xm.clone(), xi.clone()) };
                let tie = math::band(eq(xm, xi.clone()), lt(m, i.clone()));
                let before = math::bor(better, tie);
                b.assign(rank, add(Expr::Local(rank), select(before, ci(1), ci(0))));
            });
            b.if_(lt(Expr::Local(rank), ci(k)), |b| {
                let o = b.let_(add(obase.clone(), mul(Expr::Local(rank), ci(inner))));
                let raw = load(px, add(base.clone(), mul(i.clone(), ci(inner))));
                b.store(pv, o.clone(), raw);
                if let Some(p) = pidx {
                    b.store(p, o, i.clone());
                }
            });
        });
    });
    let mut args = vec![cx.buf(x)?, cx.buf(yv)?];
    if let Some(v) = yi {
        args.push(cx.buf(v)?);
    }
    cx.emit(b.finish(), args);
    Ok(())
}

/// Einsum as loops: a parallel nest over the output labels, a sequential
/// nest over the summed labels, and the product of the operands inside.
fn einsum(cx: &mut Cx, n: &Node, equation: &str) -> Result<(), LowerError> {
    let xs: Vec<ValueId> = n.inputs.iter().map(|v| v.ok_or_else(|| cx.invalid("missing operand"))).collect::<Result<_, _>>()?;
    let y = cx.output(n, 0)?;
    let shapes: Vec<Vec<usize>> = xs.iter().map(|&v| cx.ty(v).shape.clone()).collect();
    let refs: Vec<&[usize]> = shapes.iter().map(|s| s.as_slice()).collect();
    let pl = onnxc_ir::eval::index::einsum_plan(equation, &refs).map_err(|e| cx.invalid(e.0))?;
    let d = cx.ty(y).dtype;
    if d == DType::Bool {
        return Err(cx.unsupported("bool operands"));
    }
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let t = compute_ty(d);
    let st: Vec<Vec<i64>> = (0..xs.len()).map(|k| pl.label_strides(k, &shapes[k])).collect();
    let out_shape: Vec<usize> = pl.output.iter().map(|&l| pl.sizes[l]).collect();
    let summed = pl.summed();
    let sum_shape: Vec<usize> = summed.iter().map(|&l| pl.sizes[l]).collect();
    let yst = strides(&out_shape);
    let mut b = cx.builder("einsum");
    let ps: Vec<ParamId> = xs.iter().map(|_| b.input(scalar(d))).collect();
    let py = b.output(scalar(d));
    nest(&mut b, &out_shape, true, &mut |b, ov| {
        let acc = b.var(cf(t, 0.0));
        nest(b, &sum_shape, false, &mut |b, sv| {
            let mut lab = vec![ci(0); pl.sizes.len()];
            for (j, &l) in pl.output.iter().enumerate() {
                lab[l] = ov[j].clone();
            }
            for (j, &l) in summed.iter().enumerate() {
                lab[l] = sv[j].clone();
            }
            let mut prod = cf(t, 1.0);
            for (k, &p) in ps.iter().enumerate() {
                let v = load_val(b, d, p, lin(&lab, &st[k]));
                prod = mul(prod, v);
            }
            b.assign(acc, add(Expr::Local(acc), prod));
        });
        store_val(b, d, py, lin(ov, &yst), Expr::Local(acc));
    });
    let mut args = Vec::new();
    for &v in &xs {
        args.push(cx.buf(v)?);
    }
    args.push(cx.buf(y)?);
    cx.emit(b.finish(), args);
    Ok(())
}
