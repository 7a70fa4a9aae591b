//! Data-movement ops: Reshape/Flatten/Squeeze/Unsqueeze (copies), Transpose,
//! Concat, Split, Slice, Expand, Tile, Pad, Gather, ConstantOfShape,
//! Shape/Size (constant stores) and Range. Moves are raw element copies, so
//! they work for every dtype (f16/bf16 bits, bools) without conversion.

use super::*;
use onnxc_ir::op::PadMode;

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let y = cx.output(n, 0)?;
    match &n.op {
        Op::Reshape { .. } | Op::Flatten { .. } | Op::Squeeze | Op::Unsqueeze => cx.copy_value(y, cx.input(n, 0)?),
        Op::Transpose { perm } => transpose(cx, n, perm.as_deref()),
        Op::Concat { axis } => concat_split(cx, n, *axis, true),
        Op::Split { axis, .. } => concat_split(cx, n, *axis, false),
        Op::Slice => slice(cx, n),
        Op::Expand => {
            let x = cx.input(n, 0)?;
            let st = bcast_strides(&cx.ty(x).shape, &cx.ty(y).shape);
            affine(cx, x, y, 0, st, "expand")
        }
        Op::Tile => tile(cx, n),
        Op::Pad { mode } => pad(cx, n, *mode),
        Op::Gather { axis } => gather(cx, n, *axis),
        Op::ConstantOfShape { value } => {
            if value.numel() != 1 || value.dtype() != cx.ty(y).dtype {
                return Err(cx.invalid("value must be one element of the output dtype"));
            }
            super::nn::fill(cx, y, elem_const(value, 0))
        }
        Op::Shape { start, end } => {
            let shape = &cx.ty(cx.input(n, 0)?).shape;
            let r = shape.len() as i64;
            let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
            let (s, e) = (clamp(*start), clamp(end.unwrap_or(r)));
            let dims: Vec<i64> = shape[s..e.max(s)].iter().map(|d| *d as i64).collect();
            store_ints(cx, y, &dims)
        }
        Op::Size => {
            let numel = cx.ty(cx.input(n, 0)?).numel() as i64;
            store_ints(cx, y, &[numel])
        }
        Op::Range => range(cx, n),
        other => Err(cx.unsupported(format!("no lowering for {}", other.onnx_name()))),
    }
}

fn store_ints(cx: &mut Cx, y: ValueId, v: &[i64]) -> Result<(), LowerError> {
    if cx.ty(y).dtype != DType::I64 || cx.ty(y).numel() != v.len() {
        return Err(cx.invalid("output type does not match the shape it holds"));
    }
    let bytes: Vec<u8> = v.iter().flat_map(|d| d.to_le_bytes()).collect();
    cx.store_const(y, Bytes::from(bytes))
}

/// Emits loops copying `src[src_off + Σ i_d·src_st_d]` to `dst[dst_off + Σ i_d·dst_st_d]`
/// over `shape` into an existing builder.
#[allow(clippy::too_many_arguments)]
fn emit_affine(b: &mut KernelBuilder, src: ParamId, dst: ParamId, shape: &[usize], src_off: i64, src_st: Vec<i64>, dst_off: i64, dst_st: Vec<i64>) {
    let (dims, st) = coalesce(shape, &[src_st, dst_st]);
    nest(b, &dims, true, &mut |b, vars| {
        let v = load(src, add(ci(src_off), lin(vars, &st[0])));
        b.store(dst, add(ci(dst_off), lin(vars, &st[1])), v);
    });
}

/// `y[i] = x[off + Σ i_d·st_d]` over y's shape (Transpose, Expand, Slice).
fn affine(cx: &mut Cx, x: ValueId, y: ValueId, off: i64, st: Vec<i64>, kind: &str) -> Result<(), LowerError> {
    let shape = cx.ty(y).shape.clone();
    let el = scalar(cx.ty(y).dtype);
    let mut b = cx.builder(kind);
    let px = b.input(el);
    let py = b.output(el);
    emit_affine(&mut b, px, py, &shape, off, st, 0, strides(&shape));
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

fn transpose(cx: &mut Cx, n: &Node, perm: Option<&[usize]>) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = &cx.ty(x).shape;
    let r = xs.len();
    let perm: Vec<usize> = perm.map(|p| p.to_vec()).unwrap_or_else(|| (0..r).rev().collect());
    if perm.len() != r || perm.iter().any(|p| *p >= r) {
        return Err(cx.invalid(format!("bad perm {perm:?} for rank {r}")));
    }
    let xst = strides(xs);
    let st = perm.iter().map(|p| xst[*p]).collect();
    affine(cx, x, y, 0, st, "transpose")
}

/// Concat (many inputs, one output) or Split (one input, many outputs):
/// each part is an affine block copy at its offset along `axis`.
fn concat_split(cx: &mut Cx, n: &Node, axis: i64, concat: bool) -> Result<(), LowerError> {
    let whole = if concat { cx.output(n, 0)? } else { cx.input(n, 0)? };
    let parts: Vec<ValueId> = if concat { n.inputs.iter().flatten().copied().collect() } else { n.outputs.clone() };
    let ws = cx.ty(whole).shape.clone();
    let ax = onnxc_ir::infer::norm_axis(axis, ws.len()).map_err(|e| cx.invalid(e.0))?;
    let el = scalar(cx.ty(whole).dtype);
    let wst = strides(&ws);
    // Each part's start along `axis`; a concat part that the memory plan
    // already put in its slice of the output (`onnxc_passes::alias`) needs no copy.
    let starts: Vec<i64> = parts
        .iter()
        .scan(0i64, |o, v| {
            let s = *o;
            *o += cx.ty(*v).shape.get(ax).copied().unwrap_or(0) as i64;
            Some(s)
        })
        .collect();
    let (wbuf, esize) = (cx.buf(whole)?, cx.ty(whole).dtype.size() as i64);
    let mut todo = Vec::with_capacity(parts.len());
    for (v, s) in parts.iter().zip(&starts) {
        let at = workspace_at(wbuf, s * wst[ax] * esize);
        if !(concat && at.is_some() && at == Some(cx.buf(*v)?)) {
            todo.push((*v, *s));
        }
    }
    if todo.is_empty() {
        return Ok(());
    }
    let parts: Vec<ValueId> = todo.iter().map(|(v, _)| *v).collect();
    let mut b = cx.builder(if concat { "concat" } else { "split" });
    let pw = if concat { None } else { Some(b.input(el)) };
    let pp: Vec<ParamId> = parts.iter().map(|_| if concat { b.input(el) } else { b.output(el) }).collect();
    let pw = pw.unwrap_or_else(|| b.output(el));
    for ((v, p), (_, off)) in parts.iter().zip(&pp).zip(&todo) {
        let shape = cx.ty(*v).shape.clone();
        if shape.len() != ws.len() {
            return Err(cx.invalid("parts differ in rank"));
        }
        let pst = strides(&shape);
        let woff = off * wst[ax];
        if concat {
            emit_affine(&mut b, *p, pw, &shape, 0, pst, woff, wst.clone());
        } else {
            emit_affine(&mut b, pw, *p, &shape, woff, wst.clone(), 0, pst);
        }
    }
    let mut args = Vec::new();
    if !concat {
        args.push(cx.buf(whole)?);
    }
    for v in &parts {
        args.push(cx.buf(*v)?);
    }
    if concat {
        args.push(cx.buf(whole)?);
    }
    cx.emit(b.finish(), args);
    Ok(())
}

/// `base` moved by `bytes`, when it is a workspace buffer.
fn workspace_at(base: BufRef, bytes: i64) -> Option<BufRef> {
    match base {
        BufRef::Workspace(w) => usize::try_from(bytes).ok().map(|b| BufRef::Workspace(w + b)),
        _ => None,
    }
}

fn slice(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let r = xs.len();
    let starts = cx.const_ints(n, 1)?.ok_or_else(|| cx.invalid("missing starts"))?;
    let ends = cx.const_ints(n, 2)?.ok_or_else(|| cx.invalid("missing ends"))?;
    let axes = cx.const_ints(n, 3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = cx.const_ints(n, 4)?.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(cx.invalid("starts/ends/axes/steps lengths differ"));
    }
    let mut first = vec![0i64; r];
    let mut step = vec![1i64; r];
    for k in 0..starts.len() {
        let a = onnxc_ir::infer::norm_axis(axes[k], r).map_err(|e| cx.invalid(e.0))?;
        let dim = xs[a] as i64;
        let s = steps[k];
        if s == 0 {
            return Err(cx.invalid("slice step 0"));
        }
        let st = if starts[k] < 0 { starts[k].saturating_add(dim) } else { starts[k] };
        // Clamp as ONNX does: [0, dim] for positive steps, [0, dim-1] for negative.
        first[a] = if s > 0 { st.clamp(0, dim) } else { st.clamp(0, (dim - 1).max(0)) };
        step[a] = s;
    }
    let xst = strides(&xs);
    let off: i64 = first.iter().zip(&xst).map(|(f, s)| f * s).sum();
    let st = step.iter().zip(&xst).map(|(a, s)| a * s).collect();
    affine(cx, x, y, off, st, "slice")
}

/// Maps (axis, output coordinate) to (input coordinate, in-bounds condition).
type SrcFn<'a> = dyn Fn(&mut KernelBuilder, usize, Expr) -> (Expr, Option<Expr>) + 'a;

/// Builds a kernel `y[o] = x[src(o)]`, where `src` maps output coordinates
/// to input coordinates (Tile, Pad). `valid` (Pad constant mode) selects the
/// padding value `cval` instead.
fn remap(
    cx: &mut Cx,
    x: ValueId,
    y: ValueId,
    cval: Option<ValueId>,
    kind: &str,
    src: &SrcFn<'_>,
) -> Result<(), LowerError> {
    let (xs, ys) = (cx.ty(x).shape.clone(), cx.ty(y).shape.clone());
    if xs.len() != ys.len() {
        return Err(cx.invalid("input and output ranks differ"));
    }
    let el = scalar(cx.ty(y).dtype);
    let (xst, yst) = (strides(&xs), strides(&ys));
    let mut b = cx.builder(kind);
    let px = b.input(el);
    let pc = cval.map(|v| b.input(scalar(cx.ty(v).dtype)));
    let py = b.output(el);
    nest(&mut b, &ys, true, &mut |b, vars| {
        let mut idx = ci(0);
        let mut valid = cbool(true);
        let mut any_cond = false;
        for (d, v) in vars.iter().enumerate() {
            let (s, c) = src(b, d, v.clone());
            if let Some(c) = c {
                valid = math::band(valid, c);
                any_cond = true;
            }
            idx = add(idx, mul(s, ci(xst[d])));
        }
        let yi = lin(vars, &yst);
        if any_cond {
            let fillv = match pc {
                Some(pc) => load(pc, ci(0)),
                None => Expr::Const(Const { ty: el, bits: 0 }),
            };
            b.if_else(valid, |b| b.store(py, yi.clone(), load(px, idx)), |b| b.store(py, yi.clone(), fillv));
        } else {
            b.store(py, yi, load(px, idx));
        }
    });
    let mut args = vec![cx.buf(x)?];
    if let Some(v) = cval {
        args.push(cx.buf(v)?);
    }
    args.push(cx.buf(y)?);
    cx.emit(b.finish(), args);
    Ok(())
}

fn tile(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    if xs.contains(&0) {
        return Ok(()); // the output is empty too
    }
    remap(cx, x, y, None, "tile", &|_, d, o| (rem(o, ci(xs[d] as i64)), None))
}

fn pad(cx: &mut Cx, n: &Node, mode: PadMode) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let r = xs.len();
    let pads = cx.const_ints(n, 1)?.ok_or_else(|| cx.invalid("missing pads"))?;
    let axes = cx.const_ints(n, 3)?.unwrap_or_else(|| (0..r as i64).collect());
    if pads.len() != 2 * axes.len() {
        return Err(cx.invalid("pads length must be twice the number of axes"));
    }
    let mut begin = vec![0i64; r];
    for (k, a) in axes.iter().enumerate() {
        begin[onnxc_ir::infer::norm_axis(*a, r).map_err(|e| cx.invalid(e.0))?] = pads[k];
    }
    if mode != PadMode::Constant && xs.contains(&0) {
        return Err(cx.unsupported("non-constant padding of an empty tensor"));
    }
    let cval = if mode == PadMode::Constant { n.input(2) } else { None };
    if let Some(cv) = cval {
        if cx.ty(cv).numel() != 1 {
            return Err(cx.invalid("constant_value must have one element"));
        }
    }
    remap(cx, x, y, cval, "pad", &|b, d, o| {
        let nd = xs[d] as i64;
        let s = b.let_(sub(o, ci(begin[d])));
        let clampd = |e: Expr| min(max(e, ci(0)), ci(nd - 1));
        match mode {
            PadMode::Constant => {
                let ok = math::band(ge(s.clone(), ci(0)), lt(s.clone(), ci(nd)));
                (clampd(s), Some(ok))
            }
            PadMode::Edge => (clampd(s), None),
            PadMode::Reflect => {
                let a = select(lt(s.clone(), ci(0)), neg(s.clone()), s.clone());
                let a = b.let_(a);
                (clampd(select(ge(a.clone(), ci(nd)), sub(ci(2 * (nd - 1)), a.clone()), a)), None)
            }
            PadMode::Wrap => (rem(add(rem(s, ci(nd)), ci(nd)), ci(nd)), None),
        }
    })
}

fn gather(cx: &mut Cx, n: &Node, axis: i64) -> Result<(), LowerError> {
    let (x, ind, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let ax = onnxc_ir::infer::norm_axis(axis, xs.len()).map_err(|e| cx.invalid(e.0))?;
    let id = cx.ty(ind).dtype;
    if !matches!(id, DType::I32 | DType::I64) {
        return Err(cx.unsupported(format!("indices of dtype {id}")));
    }
    let outer = xs[..ax].iter().product::<usize>() as i64;
    let dim = xs[ax] as i64;
    let inner = xs[ax + 1..].iter().product::<usize>() as i64;
    let nind = cx.ty(ind).numel() as i64;
    if dim == 0 || cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let el = scalar(cx.ty(y).dtype);
    let mut b = cx.builder("gather");
    let px = b.input(el);
    let pi = b.input(scalar(id));
    let py = b.output(el);
    b.par_for(0, outer * nind, |b, oj| {
        let o = b.let_(div(oj.clone(), ci(nind)));
        let j = rem(oj.clone(), ci(nind));
        let raw = b.let_(cast(Scalar::I64, load(pi, j)));
        let wrapped = select(lt(raw.clone(), ci(0)), add(raw.clone(), ci(dim)), raw);
        // Out-of-range indices are an error in ONNX; clamp so the kernel stays in bounds.
        let idx = b.let_(min(max(wrapped, ci(0)), ci(dim - 1)));
        let src = b.let_(mul(add(mul(o, ci(dim)), idx), ci(inner)));
        let dst = b.let_(mul(oj, ci(inner)));
        b.for_loop(0, inner, |b, t| {
            let v = load(px, add(src.clone(), t.clone()));
            b.store(py, add(dst.clone(), t), v);
        });
    });
    let args = vec![cx.buf(x)?, cx.buf(ind)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}

fn range(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let (s, _l, dl, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.input(n, 2)?, cx.output(n, 0)?);
    let d = cx.ty(y).dtype;
    if d == DType::Bool || d.is_small() {
        return Err(cx.unsupported(format!("dtype {d}")));
    }
    // f16/bf16 compute in f32, as the evaluator does.
    let t = compute_ty(d);
    let count = cx.ty(y).numel() as i64;
    let mut b = cx.builder("range");
    let ps = b.input(scalar(d));
    let pd = b.input(scalar(d));
    let py = b.output(scalar(d));
    let start = load_val(&mut b, d, ps, ci(0));
    let start = b.let_(start);
    let delta = load_val(&mut b, d, pd, ci(0));
    let delta = b.let_(delta);
    b.par_for(0, count, |b, i| {
        let v = add(start.clone(), mul(if t == Scalar::I64 { i.clone() } else { cast(t, i.clone()) }, delta.clone()));
        store_val(b, d, py, i, v)
    });
    let args = vec![cx.buf(s)?, cx.buf(dl)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}
