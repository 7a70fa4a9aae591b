//! f32 channels-last convolution (`Op::ConvNhwc`, from the `layout` pass) as
//! a GEMM on the packed kernel of `gemm_kernel.rs`: per image,
//! `Y[p, m] = X_rows[p, k] · W[k, m]` with `p` = output position (rows of
//! the NHWC output), `k = (kernel tap, in-channel)` and `m` = out-channel.
//! The weights are the compile-time packed B; the rows of X are packed into
//! A panels at run time (`Side::Custom`): per output position and kernel
//! tap they are one contiguous run of input channels, so the packer copies
//! runs and needs no division per element. With `M = H·W` on the tile's
//! short side (6) and the channels on its wide side (32), small feature
//! maps (14×14, 7×7) waste far fewer FMAs than the channels-first GEMM.
//! Fused epilogues apply at the store; their operands are already laid out
//! channels-last by the pass.

use super::epilogue::{Epilogue, OutIndex};
use super::depthwise::Axis;
use super::gemm_kernel::{self as gk, Bias, Gemm, PackBlock, Side};
use super::gemm_ops::f32_values;
use super::*;
use onnxc_ir::op::Window;

/// Lowers a plain or fused `ConvNhwc` (`n`'s epilogue, if any, applies at the store).
pub(super) fn lower(cx: &mut Cx, n: &Node, w: &Window, group: usize) -> Result<(), LowerError> {
    let (x, wt, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let bias = n.input(2);
    let (xs, ws, ys) = (cx.ty(x).shape.clone(), cx.ty(wt).shape.clone(), cx.ty(y).shape.clone());
    let r = xs.len().saturating_sub(2);
    let Some(wconst) = cx.konst(wt) else { return Err(cx.unsupported("ConvNhwc with run-time weights")) };
    let f32s = [x, wt, y].iter().chain(bias.iter()).all(|v| cx.ty(*v).dtype == DType::F32);
    if !f32s || !(1..=2).contains(&r) || group != 1 || ws.len() != r + 2 || w.pads.len() != 2 * r {
        return Err(cx.unsupported("ConvNhwc other than f32, 1-D/2-D, group 1"));
    }
    let (nb, c, m) = (xs[0] as i64, xs[r + 1] as i64, ys[r + 1] as i64);
    let ax = |i: usize| Axis { inp: xs[1 + i] as i64, out: ys[1 + i] as i64, k: ws[2 + i] as i64, s: w.strides[i] as i64, p: w.pads[i] as i64, pe: w.pads[r + i] as i64, d: w.dilations[i] as i64 };
    let one = Axis::ONE;
    let (ah, aw) = if r == 2 { (ax(0), ax(1)) } else { (one, ax(0)) };
    let taps = ah.k * aw.k;
    let (kdim, npos) = (c * taps, ah.out * aw.out);
    let tile = cx.tile;
    // B[k, j] with k = tap·C + ci reads W[j, ci, tap] (ONNX's [M, C, kh, kw]).
    let wv = f32_values(wconst);
    // K blocks of whole channel runs (`kc` divides C) let the micro-kernel
    // read A rows in place: within a block, row p's k values are the
    // channels pc.. of one (padded) input pixel. Padding is a zero-bordered
    // copy of the image in scratch.
    let kc = (16..=512).rev().find(|d| c % d == 0);
    let (hp, wp) = (ah.span(), aw.span());
    let padded = ah.p > 0 || aw.p > 0 || hp > ah.inp || wp > aw.inp;
    let wp = if padded { wp } else { aw.inp };
    let pad_elems = if padded && kc.is_some() { hp * wp * c } else { 0 };
    let gtile = match kc {
        Some(kc) => gk::Tile { kc, ..tile },
        None => tile,
    };
    // Packed with the product's own K blocks (the panel layout follows them).
    let packed = gk::pack_b_const(gtile, npos, m, kdim, &|kk, j| {
        let (tap, ci) = (kk / c as usize, kk % c as usize);
        wv[(j * c as usize + ci) * taps as usize + tap]
    });
    let wbuf = cx.const_buf(gk::f32_bytes(&packed));
    // One image: the product's chunks run on the pool (each with its own
    // scratch) after the padding copy; a batch runs image by image, serially.
    let parts = if nb == 1 { gk::chunks(gtile, npos, m, kdim) } else { 1 };
    let scratch_elems = gk::scratch_len(gtile, npos, m, kdim, kc.is_none(), false) * parts;
    let mut b = cx.builder("conv_nhwc_gemm");
    let px = b.input(Scalar::F32);
    let pw = b.input(Scalar::F32);
    let pbias = bias.map(|_| b.input(Scalar::F32));
    let py = b.output(Scalar::F32);
    let ps = b.output(Scalar::F32);
    let ppad = (pad_elems > 0).then(|| b.output(Scalar::F32));
    let epi = Epilogue::declare(cx, &mut b, n)?;
    let fin = |b: &mut KernelBuilder, acc: Expr, idx: Expr| epi.apply(b, acc, OutIndex::Flat(idx));
    let image = |b: &mut KernelBuilder, ni: Expr, part: &gk::Part| {
        let xbase = b.let_(mul(ni.clone(), ci(ah.inp * aw.inp * c)));
        let ybase = b.let_(mul(ni, ci(npos * m)));
        let (src, sbase) = match ppad {
            Some(pp) => (pp, ci(0)),
            None => (px, xbase.clone()),
        };
        let pack = |b: &mut KernelBuilder, blk: &PackBlock| pack_rows(b, px, &xbase, blk, (ah, aw), (c, npos));
        // Offset of A[i, pc]: pixel (oh·s + kh·d, ow·s + kw·d) of the padded image, channel pc - tap·C.
        let row = |b: &mut KernelBuilder, i: Expr, pc: Expr| {
            let (oh, ow) = (b.let_(div(i.clone(), ci(aw.out))), b.let_(rem(i, ci(aw.out))));
            let tap = b.let_(div(pc.clone(), ci(c)));
            let (kh, kw) = (b.let_(div(tap.clone(), ci(aw.k))), b.let_(rem(tap.clone(), ci(aw.k))));
            let ih = add(mul(oh, ci(ah.s)), mul(kh, ci(ah.d)));
            let iw = add(mul(ow, ci(aw.s)), mul(kw, ci(aw.d)));
            let pix = add(mul(ih, ci(wp)), iw);
            add(sbase.clone(), add(mul(pix, ci(c)), sub(pc, mul(tap, ci(c)))))
        };
        let y_at = |i: Expr, j: Expr| add(ybase.clone(), add(mul(i, ci(m)), j));
        let gm = Gemm {
            m: npos,
            n: m,
            k: kdim,
            a: if kc.is_some() { Side::Rows { buf: src, row: &row } } else { Side::Custom(&pack) },
            b: Side::Packed { buf: pw, base: ci(0) },
            y: py,
            y_at: &y_at,
            bias: pbias.map(|buf| Bias { buf, base: ci(0), per_row: false }),
            scratch: ps,
            tile: gtile,
        };
        gk::emit_part(b, &gm, &fin, part);
    };
    let pad = |b: &mut KernelBuilder, ni: Expr| {
        if let Some(pp) = ppad {
            let xbase = b.let_(mul(ni, ci(ah.inp * aw.inp * c)));
            pad_copy(b, px, pp, &xbase, (ah, aw), c);
        }
    };
    if nb == 1 {
        pad(&mut b, ci(0));
        gk::for_parts(&mut b, parts, |b, part| image(b, ci(0), &part));
    } else {
        b.for_loop(0, nb, |b, ni| {
            pad(b, ni.clone());
            image(b, ni, &gk::Part { idx: ci(0), of: ci(1), max: 1 });
        });
    }
    let mut args = vec![cx.buf(x)?, wbuf];
    if let Some(bv) = bias {
        args.push(cx.buf(bv)?);
    }
    args.push(cx.buf(y)?);
    args.push(cx.scratch(scratch_elems as usize * 4));
    if pad_elems > 0 {
        args.push(cx.scratch(pad_elems as usize * 4));
    }
    epi.push_args(cx, &mut args)?;
    epi.check(cx)?;
    cx.emit(b.finish(), args);
    Ok(())
}

/// Packs rows `blk.j0 ..+ blk.ncur` (output positions) and columns
/// `blk.pc ..+ blk.kcur` of the im2col matrix into `mr`-row panels. Per
/// row, the block's k range splits by kernel tap into runs of input
/// channels: each run is a contiguous slice of one input pixel (or zeros
/// where the tap falls in the padding).
fn pack_rows(b: &mut KernelBuilder, px: ParamId, xbase: &Expr, blk: &PackBlock, axes: (Axis, Axis), dims: (i64, i64)) {
    let ((ah, aw), (c, npos), mr, s) = (axes, dims, blk.nr, blk.scratch);
    let zero = cf(Scalar::F32, 0.0);
    let t0 = b.let_(div(blk.pc.clone(), ci(c)));
    let t1 = b.let_(add(div(sub(add(blk.pc.clone(), blk.kcur.clone()), ci(1)), ci(c)), ci(1)));
    let kend = b.let_(add(blk.pc.clone(), blk.kcur.clone()));
    b.for_step(0, blk.ncur.clone(), mr, |b, ir| {
        let pbase = b.let_(add(blk.off.clone(), mul(ir.clone(), blk.kcur.clone())));
        b.for_loop(0, mr, |b, r| {
            let i = b.let_(add(add(blk.j0.clone(), ir.clone()), r.clone()));
            let valid = b.let_(lt(i.clone(), ci(npos)));
            let ic = b.let_(min(i, ci(npos - 1)));
            let (oh, ow) = (b.let_(div(ic.clone(), ci(aw.out))), b.let_(rem(ic, ci(aw.out))));
            let ih0 = b.let_(sub(mul(oh, ci(ah.s)), ci(ah.p)));
            let iw0 = b.let_(sub(mul(ow, ci(aw.s)), ci(aw.p)));
            let dst0 = b.let_(add(pbase.clone(), r));
            b.for_loop(t0.clone(), t1.clone(), |b, tap| {
                let (kh, kw) = (b.let_(div(tap.clone(), ci(aw.k))), b.let_(rem(tap.clone(), ci(aw.k))));
                let ih = b.let_(add(ih0.clone(), mul(kh, ci(ah.d))));
                let iw = b.let_(add(iw0.clone(), mul(kw, ci(aw.d))));
                let tk = b.let_(mul(tap, ci(c)));
                let klo = b.let_(sub(max(tk.clone(), blk.pc.clone()), blk.pc.clone()));
                let khi = b.let_(sub(min(add(tk.clone(), ci(c)), kend.clone()), blk.pc.clone()));
                let in_h = math::band(ge(ih.clone(), ci(0)), lt(ih.clone(), ci(ah.inp)));
                let in_w = math::band(ge(iw.clone(), ci(0)), lt(iw.clone(), ci(aw.inp)));
                let inside = math::band(valid.clone(), math::band(in_h, in_w));
                b.if_else(
                    inside,
                    |b| {
                        // x[src + kk] is channel pc + kk - tap·C of pixel (ih, iw).
                        let pix = add(mul(ih.clone(), ci(aw.inp)), iw.clone());
                        let src = b.let_(add(xbase.clone(), sub(add(mul(pix, ci(c)), blk.pc.clone()), tk.clone())));
                        b.for_loop(klo.clone(), khi.clone(), |b, kk| {
                            let v = load(px, add(src.clone(), kk.clone()));
                            b.store(s, add(dst0.clone(), mul(kk, ci(mr))), v);
                        });
                    },
                    |b| b.for_loop(klo.clone(), khi.clone(), |b, kk| b.store(s, add(dst0.clone(), mul(kk, ci(mr))), zero.clone())),
                );
            });
        });
    });
}

/// Copies image `xbase` of X into `pp` as the `span × span` window the
/// output reads (begin pads shift it; zeros outside the image).
fn pad_copy(b: &mut KernelBuilder, px: ParamId, pp: ParamId, xbase: &Expr, axes: (Axis, Axis), c: i64) {
    let (ah, aw) = axes;
    let (hp, wp) = (ah.span(), aw.span());
    let zero = cf(Scalar::F32, 0.0);
    b.for_loop(0, hp, |b, h| {
        let ih = b.let_(sub(h.clone(), ci(ah.p)));
        let hin = b.let_(math::band(ge(ih.clone(), ci(0)), lt(ih.clone(), ci(ah.inp))));
        b.for_loop(0, wp, |b, w| {
            let iw = b.let_(sub(w.clone(), ci(aw.p)));
            let inside = math::band(hin.clone(), math::band(ge(iw.clone(), ci(0)), lt(iw.clone(), ci(aw.inp))));
            let dst = b.let_(mul(add(mul(h.clone(), ci(wp)), w), ci(c)));
            b.if_else(
                inside,
                |b| {
                    let src = b.let_(add(xbase.clone(), mul(add(mul(ih.clone(), ci(aw.inp)), iw.clone()), ci(c))));
                    b.for_loop(0, c, |b, q| b.store(pp, add(dst.clone(), q.clone()), load(px, add(src.clone(), q))));
                },
                |b| b.for_loop(0, c, |b, q| b.store(pp, add(dst.clone(), q), zero.clone())),
            );
        });
    });
}
