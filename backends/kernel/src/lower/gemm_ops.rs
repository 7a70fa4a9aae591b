//! MatMul and Gemm on f32 through the packed GEMM kernel (`gemm_kernel.rs`).
//! A constant B (weights) is packed into panels at compile time. Each entry
//! returns `Ok(false)` when the fast path does not apply (other dtypes), so
//! the caller falls back to the generic lowering in `nn.rs`.

use super::epilogue::{Epilogue, OutIndex};
use super::gemm_kernel::{self as gk, Bias, Gemm, Side};
use super::*;


/// f32 values of a constant tensor.
pub(super) fn f32_values(t: &Tensor) -> Vec<f32> {
    t.bytes().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// A constant B operand packed into panels, or `None` (read at run time).
fn packed_b(cx: &mut Cx, bm: ValueId, dims: (i64, i64, i64), at: &dyn Fn(&[f32], usize, usize) -> f32) -> Option<BufRef> {
    let t = cx.konst(bm)?;
    let vals = f32_values(t);
    let (m, n, k) = dims;
    let panels = gk::pack_b_const(cx.tile, m, n, k, &|kk, j| at(&vals, kk, j));
    Some(cx.const_buf(gk::f32_bytes(&panels)))
}

/// The fused epilogue of `n` (if any) is applied to each output element.
pub(super) fn matmul(cx: &mut Cx, n: &Node) -> Result<bool, LowerError> {
    let (a, bm, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    if cx.ty(y).dtype != DType::F32 || cx.ty(a).shape.is_empty() || cx.ty(bm).shape.is_empty() {
        return Ok(false);
    }
    let super::nn::MatDims { m, k, nc, batch, bsa, bsb, bsy } = super::nn::mat_dims(cx, a, bm)?;
    // One B matrix shared by every batch: pack it once at compile time.
    let shared_b = bsb.iter().all(|s| *s == 0);
    let packed = if shared_b { packed_b(cx, bm, (m, nc, k), &|v, kk, j| v[kk * nc as usize + j]) } else { None };
    let tile = cx.tile;
    let parts = gk::chunks(tile, m, nc, k);
    let scratch_elems = gk::scratch_len(tile, m, nc, k, true, packed.is_none()) * parts;
    let mut b = cx.builder("matmul_gemm");
    let pa = b.input(Scalar::F32);
    let pb = b.input(Scalar::F32);
    let py = b.output(Scalar::F32);
    let ps = b.output(Scalar::F32);
    let epi = Epilogue::declare(cx, &mut b, n)?;
    let fin = |b: &mut KernelBuilder, acc: Expr, idx: Expr| epi.apply(b, acc, OutIndex::Flat(idx));
    let body = |b: &mut KernelBuilder, part: gk::Part| nest(b, &batch, false, &mut |b, bv| {
        let abase = b.let_(lin(bv, &bsa));
        let bbase = b.let_(lin(bv, &bsb));
        let ybase = b.let_(lin(bv, &bsy));
        let a_at = |_: &mut KernelBuilder, buf: ParamId, i: Expr, kk: Expr| load(buf, add(abase.clone(), add(mul(i, ci(k)), kk)));
        let b_at = |_: &mut KernelBuilder, buf: ParamId, j: Expr, kk: Expr| load(buf, add(bbase.clone(), add(mul(kk, ci(nc)), j)));
        let y_at = |i: Expr, j: Expr| add(ybase.clone(), add(mul(i, ci(nc)), j));
        let g = Gemm {
            m,
            n: nc,
            k,
            a: Side::Load { buf: pa, at: &a_at },
            b: if packed.is_some() { Side::Packed { buf: pb, base: ci(0) } } else { Side::Load { buf: pb, at: &b_at } },
            y: py,
            y_at: &y_at,
            bias: None,
            scratch: ps,
            tile,
        };
        gk::emit_part(b, &g, &fin, &part);
    });
    // The chunk loop is outermost (see `conv_kernel::conv`).
    gk::for_parts(&mut b, parts, body);
    let bbuf = match packed {
        Some(p) => p,
        None => cx.buf(bm)?,
    };
    let mut args = vec![cx.buf(a)?, bbuf, cx.buf(y)?, cx.scratch(scratch_elems as usize * 4)];
    epi.push_args(cx, &mut args)?;
    epi.check(cx)?;
    cx.emit(b.finish(), args);
    Ok(true)
}

/// Gemm: `alpha·A'·B' + beta·C` with `n`'s fused epilogue (if any) applied last.
pub(super) fn gemm(cx: &mut Cx, n: &Node, p: (f32, f32, bool, bool)) -> Result<bool, LowerError> {
    let (alpha, beta, ta, tb) = p;
    let (a, bm, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let cin = n.input(2);
    let (as_, ys) = (cx.ty(a).shape.clone(), cx.ty(y).shape.clone());
    if cx.ty(y).dtype != DType::F32 || as_.len() != 2 || ys.len() != 2 || cin.is_some_and(|c| cx.ty(c).dtype != DType::F32) {
        return Ok(false);
    }
    let (m, nc) = (ys[0] as i64, ys[1] as i64);
    let k = if ta { as_[0] } else { as_[1] } as i64;
    let (nu, ku) = (nc as usize, k as usize);
    let packed = packed_b(cx, bm, (m, nc, k), &|v, kk, j| if tb { v[j * ku + kk] } else { v[kk * nu + j] });
    let cst = cin.map(|c| bcast_strides(&cx.ty(c).shape, &ys));
    // A C that broadcasts along rows (shape [N] or [1, N]) is a column bias.
    let col_bias = alpha == 1.0 && beta == 1.0 && cst.as_ref().is_some_and(|s| s[0] == 0 && s[1] == 1);
    let tile = cx.tile;
    let parts = gk::chunks(tile, m, nc, k);
    let scratch_elems = gk::scratch_len(tile, m, nc, k, true, packed.is_none()) * parts;
    let mut b = cx.builder("gemm_packed");
    let pa = b.input(Scalar::F32);
    let pb = b.input(Scalar::F32);
    let pc = cin.map(|_| b.input(Scalar::F32));
    let py = b.output(Scalar::F32);
    let ps = b.output(Scalar::F32);
    let epi = Epilogue::declare(cx, &mut b, n)?;
    let fin = |b: &mut KernelBuilder, acc: Expr, idx: Expr| {
        let mut v = if alpha == 1.0 { acc } else { mul(cf(Scalar::F32, alpha as f64), acc) };
        if let (Some(pc), Some(cs), false) = (pc, &cst, col_bias) {
            let idx = b.let_(idx.clone());
            let (i, j) = (div(idx.clone(), ci(nc)), rem(idx, ci(nc)));
            let c = load(pc, add(mul(i, ci(cs[0])), mul(j, ci(cs[1]))));
            v = add(v, if beta == 1.0 { c } else { mul(cf(Scalar::F32, beta as f64), c) });
        }
        epi.apply(b, v, OutIndex::Flat(idx))
    };
    let a_at = |_: &mut KernelBuilder, buf: ParamId, i: Expr, kk: Expr| {
        load(buf, if ta { add(mul(kk, ci(m)), i) } else { add(mul(i, ci(k)), kk) })
    };
    let b_at = |_: &mut KernelBuilder, buf: ParamId, j: Expr, kk: Expr| {
        load(buf, if tb { add(mul(j, ci(k)), kk) } else { add(mul(kk, ci(nc)), j) })
    };
    let y_at = |i: Expr, j: Expr| add(mul(i, ci(nc)), j);
    let g = Gemm {
        m,
        n: nc,
        k,
        a: Side::Load { buf: pa, at: &a_at },
        b: if packed.is_some() { Side::Packed { buf: pb, base: ci(0) } } else { Side::Load { buf: pb, at: &b_at } },
        y: py,
        y_at: &y_at,
        bias: if col_bias { pc.map(|buf| Bias { buf, base: ci(0), per_row: false }) } else { None },
        scratch: ps,
        tile,
    };
    gk::for_parts(&mut b, parts, |b, part| gk::emit_part(b, &g, &fin, &part));
    let bbuf = match packed {
        Some(p) => p,
        None => cx.buf(bm)?,
    };
    let mut args = vec![cx.buf(a)?, bbuf];
    if let Some(c) = cin {
        args.push(cx.buf(c)?);
    }
    args.push(cx.buf(y)?);
    args.push(cx.scratch(scratch_elems as usize * 4));
    epi.push_args(cx, &mut args)?;
    epi.check(cx)?;
    cx.emit(b.finish(), args);
    Ok(true)
}
