//! f32 convolution as an implicit GEMM on the packed kernel of
//! `gemm_kernel.rs`: per image and group, `Y[m, p] = W[m, k] · X_col[k, p]`
//! with `k = (in-channel, kernel taps)` and `p` = output position. The
//! constant weights are packed into `MR`-row panels at compile time; the
//! im2col matrix is never materialized whole: the GEMM packs one `KC×NC`
//! block of it at a time into workspace scratch (a 1×1, stride-1, unpadded
//! convolution reads X directly as a matrix). Returns `Ok(false)` where the
//! fast path does not apply (non-f32, weights not constant, depthwise,
//! spatial rank above 2), and the caller keeps the generic lowering.

use super::depthwise::Axis;
use super::epilogue::{Epilogue, OutIndex};
use super::gemm_kernel::{self as gk, Bias, Gemm, Side};
use super::gemm_ops::f32_values;
use super::*;
use onnxc_ir::op::Window;

pub(super) fn conv(cx: &mut Cx, n: &Node, w: &Window, group: usize) -> Result<bool, LowerError> {
    let (x, wt, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let bias = n.input(2);
    let (xs, ws, ys) = (cx.ty(x).shape.clone(), cx.ty(wt).shape.clone(), cx.ty(y).shape.clone());
    let r = xs.len().saturating_sub(2);
    let Some(wconst) = cx.konst(wt) else { return Ok(false) };
    let f32s = [x, wt, y].iter().chain(bias.iter()).all(|v| cx.ty(*v).dtype == DType::F32);
    if !f32s || !(1..=2).contains(&r) || ws.len() != r + 2 || ys.len() != r + 2 || group == 0 || w.pads.len() != 2 * r {
        return Ok(false);
    }
    let (nb, c, mtot, cg) = (xs[0] as i64, xs[1] as i64, ys[1] as i64, ws[1] as i64);
    let g = group as i64;
    let mg = mtot / g;
    if mg == 0 || cg * g != c || (cg == 1 && mg == 1 && g > 1) {
        return Ok(false); // depthwise: the direct kernel vectorizes better
    }
    // Rank 1 is rank 2 with a height of 1.
    let ax = |i: usize| Axis { inp: xs[2 + i] as i64, out: ys[2 + i] as i64, k: ws[2 + i] as i64, s: w.strides[i] as i64, p: w.pads[i] as i64, pe: w.pads[r + i] as i64, d: w.dilations[i] as i64 };
    let one = Axis::ONE;
    let (ah, aw) = if r == 2 { (ax(0), ax(1)) } else { (one, ax(0)) };
    let taps = ah.k * aw.k;
    let (kdim, npos, hw) = (cg * taps, ah.out * aw.out, ah.inp * aw.inp);
    let tile = cx.tile;
    // Weights of group gi: rows gi*mg.., each a row-major [cg, kh, kw] = k vector.
    let wv = f32_values(wconst);
    let mut packed = Vec::new();
    for gi in 0..g {
        let part = gk::pack_a_const(tile, mg, npos, kdim, &|i, kk| wv[((gi * mg) as usize + i) * kdim as usize + kk]);
        packed.extend(part);
    }
    let group_len = (packed.len() / group) as i64;
    let wbuf = cx.const_buf(gk::f32_bytes(&packed));
    let direct = taps == 1 && ah.s == 1 && aw.s == 1 && ah.p == 0 && aw.p == 0 && ah.inp == ah.out && aw.inp == aw.out;
    // Chunks of the product run on the pool's threads (LLVM), each with its
    // own scratch; the chunk loop is outermost so the backend can outline it.
    let parts = gk::chunks(tile, mg, npos, kdim);
    let scratch_elems = gk::scratch_len(tile, mg, npos, kdim, false, true) * parts;
    let mut b = cx.builder(if direct { "conv1x1_gemm" } else { "conv_gemm" });
    let px = b.input(Scalar::F32);
    let pw = b.input(Scalar::F32);
    let pbias = bias.map(|_| b.input(Scalar::F32));
    let py = b.output(Scalar::F32);
    let ps = b.output(Scalar::F32);
    // A width stride of 2 reads the input through a copy with each row's
    // even and odd columns split (`split_columns`), so the im2col copies
    // contiguous runs instead of gathering every other element per tap.
    let w2 = (aw.inp + 1) / 2;
    let split = (!direct && aw.s == 2 && aw.d == 1).then(|| b.output(Scalar::F32));
    if let Some(pd) = split {
        split_columns(&mut b, px, pd, nb * c * ah.inp, aw.inp);
    }
    let epi = Epilogue::declare(cx, &mut b, n)?;
    let fin = |b: &mut KernelBuilder, acc: Expr, idx: Expr| epi.apply(b, acc, OutIndex::Flat(idx));
    let body = |b: &mut KernelBuilder, part: gk::Part| b.for_loop(0, nb * g, |b, ng| {
        let gi = b.let_(rem(ng.clone(), ci(g)));
        let ni = b.let_(div(ng, ci(g)));
        let xbase = b.let_(mul(add(mul(ni.clone(), ci(c)), mul(gi.clone(), ci(cg))), ci(hw)));
        let ybase = b.let_(mul(add(mul(ni, ci(mtot)), mul(gi.clone(), ci(mg))), ci(npos)));
        let b_at = |_: &mut KernelBuilder, buf: ParamId, j: Expr, kk: Expr| load(buf, add(xbase.clone(), add(mul(kk, ci(hw)), j)));
        let src = match split {
            Some(pd) => Src::Split { buf: pd, base: b.let_(mul(div(xbase.clone(), ci(hw)), ci(ah.inp * 2 * w2))), w2 },
            None => Src::Plain { buf: px, base: xbase.clone() },
        };
        let pack = |b: &mut KernelBuilder, blk: &gk::PackBlock| pack_im2col(b, &src, blk, (ah, aw), npos);
        let y_at = |i: Expr, j: Expr| add(ybase.clone(), add(mul(i, ci(npos)), j));
        let gm = Gemm {
            m: mg,
            n: npos,
            k: kdim,
            a: Side::Packed { buf: pw, base: mul(gi.clone(), ci(group_len)) },
            b: if direct { Side::Load { buf: px, at: &b_at } } else { Side::Custom(&pack) },
            y: py,
            y_at: &y_at,
            bias: pbias.map(|buf| Bias { buf, base: mul(gi.clone(), ci(mg)), per_row: true }),
            scratch: ps,
            tile,
        };
        gk::emit_part(b, &gm, &fin, &part);
    });
    gk::for_parts(&mut b, parts, body);
    let mut args = vec![cx.buf(x)?, wbuf];
    if let Some(bv) = bias {
        args.push(cx.buf(bv)?);
    }
    args.push(cx.buf(y)?);
    args.push(cx.scratch(scratch_elems as usize * 4));
    if split.is_some() {
        args.push(cx.scratch((nb * c * ah.inp * 2 * w2) as usize * 4));
    }
    epi.push_args(cx, &mut args)?;
    epi.check(cx)?;
    cx.emit(b.finish(), args);
    Ok(true)
}

/// Packs a block of the im2col matrix (`gk::PackBlock`, row-major) without
/// divisions per element: per k row (input channel and kernel tap), the
/// block's output positions split into output-row segments; in each, the
/// input row is either outside (zeros) or read over the valid output-column
/// range computed up front (zeros left and right for the padding). A
/// segment is a whole output row (not a panel's share of one), so the
/// per-segment set-up is paid a few times per k row, not per panel.
/// Where the im2col reads the input image.
enum Src {
    /// The input itself, channel planes from `base`.
    Plain { buf: ParamId, base: Expr },
    /// `split_columns`'s copy: row `r` is `[even columns; odd columns]`,
    /// `2·w2` elements, channel planes from `base`.
    Split { buf: ParamId, base: Expr, w2: i64 },
}

/// `dst` row `r` = the even columns of `src` row `r`, then the odd ones
/// (`w2 = ⌈w/2⌉` elements each), for `rows` rows of `w`: a top-level loop,
/// shared by the pool's threads.
fn split_columns(b: &mut KernelBuilder, src: ParamId, dst: ParamId, rows: i64, w: i64) {
    let w2 = (w + 1) / 2;
    b.par_for(0, rows, |b, r| {
        let (sb, db) = (b.let_(mul(r.clone(), ci(w))), b.let_(mul(r, ci(2 * w2))));
        b.for_loop(0, w2, |b, q| b.store(dst, add(db.clone(), q.clone()), load(src, add(sb.clone(), mul(q, ci(2))))));
        b.for_loop(0, w / 2, |b, q| b.store(dst, add(add(db.clone(), ci(w2)), q.clone()), load(src, add(sb.clone(), add(mul(q, ci(2)), ci(1))))));
    });
}

fn pack_im2col(b: &mut KernelBuilder, src: &Src, blk: &gk::PackBlock, axes: (Axis, Axis), npos: i64) {
    let (ah, aw) = axes;
    let (taps, hw, nr, s) = (ah.k * aw.k, ah.inp * aw.inp, blk.nr, blk.scratch);
    let zero = cf(Scalar::F32, 0.0);
    let j0 = blk.j0.clone();
    let jend = b.let_(min(add(j0.clone(), blk.ncur.clone()), ci(npos)));
    // Columns up to the next multiple of nr are read by the micro-kernel: zeros.
    let ncols = b.let_(mul(div(add(blk.ncur.clone(), ci(nr - 1)), ci(nr)), ci(nr)));
    let (oh0, oh1) = (b.let_(div(j0.clone(), ci(aw.out))), b.let_(div(sub(jend.clone(), ci(1)), ci(aw.out))));
    let (lmax, rmax) = pad_bounds(aw);
    // Few padding zeros per row (the usual case): fixed runs of stores that
    // may spill past the row segment (into a later segment, which overwrites
    // them, or the block row's slack of 16) instead of variable-length loops
    // that become a `memset` call each.
    let fixed = lmax <= 8 && rmax <= 8;
    b.for_loop(0, blk.kcur.clone(), |b, kk| {
        let kabs = b.let_(add(blk.pc.clone(), kk.clone()));
        let t = b.let_(rem(kabs.clone(), ci(taps)));
        let (kh, kw) = (b.let_(div(t.clone(), ci(aw.k))), b.let_(rem(t, ci(aw.k))));
        let ch = b.let_(div(kabs, ci(taps)));
        let dst = b.let_(add(blk.off.clone(), mul(kk, ci(blk.ld))));
        b.for_loop(sub(jend.clone(), j0.clone()), ncols.clone(), |b, c| b.store(s, add(dst.clone(), c), zero.clone()));
        let shift = b.let_(sub(mul(kw, ci(aw.d)), ci(aw.p)));
        // Output columns whose input column is inside: [vlo, vhi).
        let num = b.let_(neg(shift.clone()));
        let vlo = b.let_(select(gt(num.clone(), ci(0)), div(add(num, ci(aw.s - 1)), ci(aw.s)), ci(0)));
        let num2 = b.let_(sub(ci(aw.inp - 1), shift.clone()));
        let vhi = b.let_(select(lt(num2.clone(), ci(0)), ci(0), add(div(num2, ci(aw.s)), ci(1))));
        b.for_loop(oh0.clone(), add(oh1.clone(), ci(1)), |b, oh| {
            let rowj = b.let_(mul(oh.clone(), ci(aw.out)));
            let lo = b.let_(max(sub(j0.clone(), rowj.clone()), ci(0)));
            let hi = b.let_(min(sub(jend.clone(), rowj.clone()), ci(aw.out)));
            let cbase = b.let_(add(dst.clone(), sub(rowj, j0.clone())));
            let ih = b.let_(add(sub(mul(oh, ci(ah.s)), ci(ah.p)), mul(kh.clone(), ci(ah.d))));
            let row_in = math::band(ge(ih.clone(), ci(0)), lt(ih.clone(), ci(ah.inp)));
            b.if_else(
                row_in,
                |b| {
                    let (a, z) = (b.let_(max(lo.clone(), min(vlo.clone(), hi.clone()))), b.let_(min(hi.clone(), max(vhi.clone(), lo.clone()))));
                    if fixed {
                        let at = b.let_(add(cbase.clone(), lo.clone()));
                        (0..lmax).for_each(|q| b.store(s, add(at.clone(), ci(q)), zero.clone()));
                    } else {
                        b.for_loop(lo.clone(), a.clone(), |b, ow| b.store(s, add(cbase.clone(), ow), zero.clone()));
                    }
                    match src {
                        Src::Plain { buf, base } => {
                            let xrow = b.let_(add(add(base.clone(), mul(ch.clone(), ci(hw))), add(mul(ih.clone(), ci(aw.inp)), shift.clone())));
                            b.for_loop(a.clone(), z.clone(), |b, ow| {
                                let v = load(*buf, add(xrow.clone(), mul(ow.clone(), ci(aw.s))));
                                b.store(s, add(cbase.clone(), ow), v);
                            });
                        }
                        Src::Split { buf, base, w2 } => {
                            // Input column 2·ow + shift: phase p0 = shift mod 2
                            // (shift ≥ -pad), at (shift - p0)/2 + ow of that half.
                            let p0 = b.let_(rem(add(shift.clone(), ci(2 * (aw.p + 1))), ci(2)));
                            let row = b.let_(add(base.clone(), mul(add(mul(ch.clone(), ci(ah.inp)), ih.clone()), ci(2 * w2))));
                            let xrow = b.let_(add(add(row, mul(p0.clone(), ci(*w2))), div(sub(shift.clone(), p0), ci(2))));
                            b.for_loop(a.clone(), z.clone(), |b, ow| {
                                let v = load(*buf, add(xrow.clone(), ow.clone()));
                                b.store(s, add(cbase.clone(), ow), v);
                            });
                        }
                    }
                    if fixed {
                        let at = b.let_(add(cbase.clone(), max(z, a)));
                        (0..rmax).for_each(|q| b.store(s, add(at.clone(), ci(q)), zero.clone()));
                    } else {
                        b.for_loop(max(z, a), hi.clone(), |b, ow| b.store(s, add(cbase.clone(), ow), zero.clone()));
                    }
                },
                |b| b.for_loop(lo.clone(), hi.clone(), |b, ow| b.store(s, add(cbase.clone(), ow), zero.clone())),
            );
        });
    });
}

/// Most zeros left and right of the inside columns of one output row, over
/// all kernel columns: the first kernel column reads furthest left, the last
/// furthest right.
fn pad_bounds(aw: Axis) -> (i64, i64) {
    let left = if aw.p > 0 { (aw.p + aw.s - 1) / aw.s } else { 0 };
    let num2 = aw.inp - 1 - ((aw.k - 1) * aw.d - aw.p);
    let vhi = if num2 < 0 { 0 } else { num2 / aw.s + 1 };
    (left, (aw.out - vhi).max(0))
}
