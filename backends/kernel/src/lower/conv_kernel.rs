//! f32 convolution as an implicit GEMM on the packed kernel of
//! `gemm_kernel.rs`: per image and group, `Y[m, p] = W[m, k] · X_col[k, p]`
//! with `k = (in-channel, kernel taps)` and `p` = output position. The
//! constant weights are packed into `MR`-row panels at compile time; the
//! im2col matrix is never materialized whole: the GEMM packs one `KC×NC`
//! block of it at a time into workspace scratch (a 1×1, stride-1, unpadded
//! convolution reads X directly as a matrix). Returns `Ok(false)` where the
//! fast path does not apply (non-f32, weights not constant, depthwise,
//! spatial rank above 2), and the caller keeps the generic lowering.

use super::gemm_kernel::{self as gk, Bias, Finish, Gemm, Side};
use super::gemm_ops::f32_values;
use super::*;
use onnxc_ir::op::Window;

fn identity(_: &mut KernelBuilder, v: Expr, _: Expr) -> Expr {
    v
}

/// Spatial geometry of one axis: input, output, kernel, stride, pad, dilation.
#[derive(Clone, Copy)]
struct Axis {
    inp: i64,
    out: i64,
    k: i64,
    s: i64,
    p: i64,
    d: i64,
}

pub(super) fn conv(cx: &mut Cx, n: &Node, w: &Window, group: usize, finish: Option<Finish>) -> Result<bool, LowerError> {
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
    let ax = |i: usize| Axis { inp: xs[2 + i] as i64, out: ys[2 + i] as i64, k: ws[2 + i] as i64, s: w.strides[i] as i64, p: w.pads[i] as i64, d: w.dilations[i] as i64 };
    let one = Axis { inp: 1, out: 1, k: 1, s: 1, p: 0, d: 1 };
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
    let scratch_elems = gk::scratch_len(tile, mg, npos, kdim, false, true);
    let mut b = cx.builder(if direct { "conv1x1_gemm" } else { "conv_gemm" });
    let px = b.input(Scalar::F32);
    let pw = b.input(Scalar::F32);
    let pbias = bias.map(|_| b.input(Scalar::F32));
    let py = b.output(Scalar::F32);
    let ps = b.output(Scalar::F32);
    let fin = finish.unwrap_or(&identity);
    b.for_loop(0, nb * g, |b, ng| {
        let gi = b.let_(rem(ng.clone(), ci(g)));
        let ni = b.let_(div(ng, ci(g)));
        let xbase = b.let_(mul(add(mul(ni.clone(), ci(c)), mul(gi.clone(), ci(cg))), ci(hw)));
        let ybase = b.let_(mul(add(mul(ni, ci(mtot)), mul(gi.clone(), ci(mg))), ci(npos)));
        let b_at = |b: &mut KernelBuilder, buf: ParamId, j: Expr, kk: Expr| {
            if direct {
                return load(buf, add(xbase.clone(), add(mul(kk, ci(hw)), j)));
            }
            im2col(b, buf, &xbase, j, kk, (ah, aw), hw)
        };
        let y_at = |i: Expr, j: Expr| add(ybase.clone(), add(mul(i, ci(npos)), j));
        let gm = Gemm {
            m: mg,
            n: npos,
            k: kdim,
            a: Side::Packed { buf: pw, base: mul(gi.clone(), ci(group_len)) },
            b: Side::Load { buf: px, at: &b_at },
            y: py,
            y_at: &y_at,
            bias: pbias.map(|buf| Bias { buf, base: mul(gi.clone(), ci(mg)), per_row: true }),
            scratch: ps,
            tile,
        };
        gk::emit(b, &gm, fin);
    });
    let mut args = vec![cx.buf(x)?, wbuf];
    if let Some(bv) = bias {
        args.push(cx.buf(bv)?);
    }
    args.push(cx.buf(y)?);
    args.push(cx.scratch(scratch_elems as usize * 4));
    cx.emit(b.finish(), args);
    Ok(true)
}

/// `X_col[kk, j]`: the input value under kernel tap `kk` for output position
/// `j`, 0 in the padding (the load index is clamped so it stays in bounds).
fn im2col(b: &mut KernelBuilder, buf: ParamId, xbase: &Expr, j: Expr, kk: Expr, axes: (Axis, Axis), hw: i64) -> Expr {
    let (ah, aw) = axes;
    let taps = ah.k * aw.k;
    let kk = b.let_(kk);
    let ch = div(kk.clone(), ci(taps));
    let t = b.let_(rem(kk, ci(taps)));
    let (kh, kw) = (div(t.clone(), ci(aw.k)), rem(t, ci(aw.k)));
    let j = b.let_(j);
    let (oh, ow) = (div(j.clone(), ci(aw.out)), rem(j, ci(aw.out)));
    let ih = b.let_(add(sub(mul(oh, ci(ah.s)), ci(ah.p)), mul(kh, ci(ah.d))));
    let iw = b.let_(add(sub(mul(ow, ci(aw.s)), ci(aw.p)), mul(kw, ci(aw.d))));
    let inside = math::band(
        math::band(ge(ih.clone(), ci(0)), lt(ih.clone(), ci(ah.inp))),
        math::band(ge(iw.clone(), ci(0)), lt(iw.clone(), ci(aw.inp))),
    );
    let inside = b.let_(inside);
    let idx = add(xbase.clone(), add(mul(ch, ci(hw)), add(mul(ih, ci(aw.inp)), iw)));
    let idx = select(inside.clone(), idx, xbase.clone());
    select(inside, load(buf, idx), cf(Scalar::F32, 0.0))
}
