//! f32 3×3, stride-1 convolution by Winograd's minimal filtering F(m×m, 3×3)
//! (Lavin & Gray 2015): the output is cut into `m×m` tiles, each read from an
//! `α×α` input patch (α = m + 2). Per tile and channel the patch becomes
//! `V = Bᵀ d B`; per ξ of the α² transform points the channel sum is one GEMM
//! `M_ξ[k, t] = Σ_c U_ξ[k, c] · V_ξ[c, t]` with the weights `U = G g Gᵀ`
//! transformed and packed at compile time; the output tile is `Aᵀ M A`
//! (plus the bias and the fused epilogue, applied at that store). F(4×4)
//! does 36 multiplications per 16 outputs and channel where the direct
//! convolution does 144: the fewer FLOPs onnxruntime's im2col GEMM cannot
//! skip.
//!
//! Tiles are processed in blocks of whole tile rows of one image so the
//! transformed input `V` (`α²·C·PB`) and the GEMM results `M` (`α²·K·PB`)
//! stay bounded (and mostly in L2); both live in node scratch after the
//! GEMM's own packing space. `Ok(false)` where it does not apply or the
//! cost rule (`pick`) prefers the implicit GEMM of `conv_kernel.rs`.

use super::epilogue::{Epilogue, OutIndex};
use super::gemm_kernel::{self as gk, Gemm, Side, Tile};
use super::gemm_ops::f32_values;
use super::*;
use onnxc_ir::op::Window;

/// The transform matrices of F(m×m, 3×3) with α = m + 2, row-major:
/// `bt` α×α, `g` α×3, `at` m×α.
struct Mats {
    m: usize,
    bt: Vec<f64>,
    g: Vec<f64>,
    at: Vec<f64>,
}

impl Mats {
    fn alpha(&self) -> usize {
        self.m + 2
    }

    fn new(m: usize) -> Mats {
        match m {
            2 => Mats {
                m,
                bt: vec![1., 0., -1., 0., 0., 1., 1., 0., 0., -1., 1., 0., 0., 1., 0., -1.],
                g: vec![1., 0., 0., 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0., 0., 1.],
                at: vec![1., 1., 1., 0., 0., 1., -1., -1.],
            },
            _ => Mats {
                m: 4,
                #[rustfmt::skip]
                bt: vec![
                    4., 0., -5., 0., 1., 0.,
                    0., -4., -4., 1., 1., 0.,
                    0., 4., -4., -1., 1., 0.,
                    0., -2., -1., 2., 1., 0.,
                    0., 2., -1., -2., 1., 0.,
                    0., 4., 0., -5., 0., 1.,
                ],
                #[rustfmt::skip]
                g: vec![
                    1. / 4., 0., 0.,
                    -1. / 6., -1. / 6., -1. / 6.,
                    -1. / 6., 1. / 6., -1. / 6.,
                    1. / 24., 1. / 12., 1. / 6.,
                    1. / 24., -1. / 12., 1. / 6.,
                    0., 0., 1.,
                ],
                #[rustfmt::skip]
                at: vec![
                    1., 1., 1., 1., 1., 0.,
                    0., 1., -1., 2., -2., 0.,
                    0., 1., 1., 4., 4., 0.,
                    0., 1., -1., 8., -8., 1.,
                ],
            },
        }
    }

    /// `U = G g Gᵀ` (α×α, row-major) of one 3×3 filter, in f64.
    fn weight(&self, w: &[f32]) -> Vec<f64> {
        let a = self.alpha();
        let mut t = vec![0f64; a * 3]; // G g
        for i in 0..a {
            for j in 0..3 {
                t[i * 3 + j] = (0..3).map(|q| self.g[i * 3 + q] * w[q * 3 + j] as f64).sum();
            }
        }
        let mut u = vec![0f64; a * a];
        for i in 0..a {
            for j in 0..a {
                u[i * a + j] = (0..3).map(|q| t[i * 3 + q] * self.g[j * 3 + q]).sum();
            }
        }
        u
    }
}

/// `Σ_i coef[i] · x[i]` as KIR, skipping zero coefficients and multiplying
/// only by coefficients other than ±1.
fn lin_comb(coef: &[f64], x: &[Expr]) -> Expr {
    let mut acc: Option<Expr> = None;
    for (c, v) in coef.iter().zip(x) {
        if *c == 0.0 {
            continue;
        }
        let term = if c.abs() == 1.0 { v.clone() } else { mul(cf(Scalar::F32, c.abs()), v.clone()) };
        acc = Some(match (acc, *c < 0.0) {
            (None, false) => term,
            (None, true) => neg(term),
            (Some(a), false) => add(a, term),
            (Some(a), true) => sub(a, term),
        });
    }
    acc.unwrap_or_else(|| cf(Scalar::F32, 0.0))
}

/// `L X Rᵀ` for an `r×n` matrix `L`, an `n×n` block `X` of expressions
/// (row-major) and an `s×n` matrix `R` (both constant, row-major).
fn sandwich(b: &mut KernelBuilder, l: &[f64], r: &[f64], n: usize, x: &[Expr]) -> Vec<Expr> {
    let (rl, rr) = (l.len() / n, r.len() / n);
    let mut t = Vec::with_capacity(rl * n);
    for i in 0..rl {
        for j in 0..n {
            let col: Vec<Expr> = (0..n).map(|q| x[q * n + j].clone()).collect();
            t.push(b.let_(lin_comb(&l[i * n..(i + 1) * n], &col)));
        }
    }
    let mut out = Vec::with_capacity(rl * rr);
    for i in 0..rl {
        for j in 0..rr {
            out.push(b.let_(lin_comb(&r[j * n..(j + 1) * n], &t[i * n..(i + 1) * n])));
        }
    }
    out
}

/// Geometry of one Winograd convolution.
#[derive(Clone, Copy)]
struct Geo {
    c: i64,
    k: i64,
    h: i64,
    w: i64,
    oh: i64,
    ow: i64,
    pt: i64,
    pl: i64,
    m: i64,
    /// Tile rows and columns.
    th: i64,
    tw: i64,
}

/// `ONNXC_WINOGRAD`: `0` disables, `2`/`4` restricts to F(2×2)/F(4×4),
/// `force2`/`force4` also skips the cost rule (tests, tuning).
fn setting() -> (Option<usize>, bool) {
    match std::env::var("ONNXC_WINOGRAD").ok().as_deref() {
        Some("0") => (Some(0), false),
        Some("2") => (Some(2), false),
        Some("4") => (Some(4), false),
        Some("force2") => (Some(2), true),
        Some("force4") => (Some(4), true),
        _ => (None, false),
    }
}

/// The tile size `m` of F(m×m, 3×3) for this layer (`onnxc_ir::layout::winograd_tile`,
/// the cost rule shared with the layout pass), unless `ONNXC_WINOGRAD` says otherwise.
fn pick(c: i64, k: i64, oh: i64, ow: i64, nr: i64) -> Option<usize> {
    let (only, forced) = setting();
    if only == Some(0) {
        return None;
    }
    if forced {
        return only;
    }
    let min_tiles = std::env::var("ONNXC_WINOGRAD_MIN_TILES").ok().and_then(|v| v.parse().ok()).unwrap_or(nr);
    onnxc_ir::layout::winograd_tile(c, k, oh, ow, min_tiles).filter(|m| only.is_none_or(|o| o == *m))
}

pub(super) fn conv(cx: &mut Cx, n: &Node, w: &Window, group: usize) -> Result<bool, LowerError> {
    let (x, wt, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let bias = n.input(2);
    let (xs, ws, ys) = (cx.ty(x).shape.clone(), cx.ty(wt).shape.clone(), cx.ty(y).shape.clone());
    let Some(wconst) = cx.konst(wt) else { return Ok(false) };
    let f32s = [x, wt, y].iter().chain(bias.iter()).all(|v| cx.ty(*v).dtype == DType::F32);
    let shape_ok = xs.len() == 4 && ws.len() == 4 && ys.len() == 4 && ws[2] == 3 && ws[3] == 3 && ws[1] == xs[1];
    let win_ok = w.strides.iter().all(|s| *s == 1) && w.dilations.iter().all(|d| *d == 1) && w.pads.len() == 4;
    if !f32s || !shape_ok || !win_ok || group != 1 {
        return Ok(false);
    }
    let (oh, ow) = (ys[2] as i64, ys[3] as i64);
    if oh == 0 || ow == 0 {
        return Ok(false);
    }
    let Some(m) = pick(xs[1] as i64, ys[1] as i64, oh, ow, cx.tile.nr) else { return Ok(false) };
    let mi = m as i64;
    let geo = Geo {
        c: xs[1] as i64,
        k: ys[1] as i64,
        h: xs[2] as i64,
        w: xs[3] as i64,
        oh,
        ow,
        pt: w.pads[0] as i64,
        pl: w.pads[1] as i64,
        m: mi,
        th: (oh + mi - 1) / mi,
        tw: (ow + mi - 1) / mi,
    };
    let mats = Mats::new(m);
    lower(cx, n, geo, &mats, f32_values(wconst), bias)?;
    Ok(true)
}

/// Tile rows per block: about `ONNXC_WINOGRAD_TILES` tiles (default 128)
/// so the transformed weights, streamed once per block, are amortized over
/// many tiles, with `V` and `M` of a block within `ONNXC_WINOGRAD_BUDGET`
/// bytes (default 8 MiB). On VGG-19, 512 and 64 tiles measured slower (V
/// and M fall out of cache / the weights are streamed too often), and
/// choosing the height that minimizes the padding of the GEMM's N side to
/// `nr` columns (blocks up to 224 tiles) gained nothing measurable.
fn rows_per_block(geo: Geo, alpha: i64) -> i64 {
    let env = |k: &str, d: i64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let (target, budget) = (env("ONNXC_WINOGRAD_TILES", 128), env("ONNXC_WINOGRAD_BUDGET", 8 << 20));
    let per_row = alpha * alpha * (geo.c + geo.k) * geo.tw * 4;
    let r = ((target + geo.tw - 1) / geo.tw).min(budget / per_row.max(1)).clamp(1, geo.th);
    // Even blocks: the same rows in each (the last may have fewer).
    let blocks = (geo.th + r - 1) / r;
    // An even count, so the two chunks of a pool get the same work.
    let blocks = if blocks % 2 == 1 && geo.th > blocks { blocks + 1 } else { blocks };
    (geo.th + blocks - 1) / blocks
}

fn lower(cx: &mut Cx, n: &Node, geo: Geo, mats: &Mats, wv: Vec<f32>, bias: Option<ValueId>) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let alpha = mats.alpha() as i64;
    let a2 = alpha * alpha;
    let nb = cx.ty(x).shape[0] as i64;
    let tile = cx.tile;
    // U_ξ (K×C) for every ξ, each packed as GEMM A panels.
    let (kk, cc) = (geo.k as usize, geo.c as usize);
    let mut u = vec![0f32; a2 as usize * kk * cc];
    for ko in 0..kk {
        for ch in 0..cc {
            let f = &wv[(ko * cc + ch) * 9..(ko * cc + ch + 1) * 9];
            for (xi, v) in mats.weight(f).into_iter().enumerate() {
                u[(xi * kk + ko) * cc + ch] = v as f32;
            }
        }
    }
    let rows = rows_per_block(geo, alpha);
    let pb = rows * geo.tw;
    let mut packed = Vec::new();
    for xi in 0..a2 as usize {
        let base = xi * kk * cc;
        packed.extend(gk::pack_a_const(tile, geo.k, pb, geo.c, &|i, q| u[base + i * cc + q]));
    }
    let ulen = (packed.len() / a2 as usize) as i64;
    let wbuf = cx.const_buf(gk::f32_bytes(&packed));
    // Scratch: the GEMM's packing space, then V, then M.
    let gemm_len = (gk::scratch_len(tile, geo.k, pb, geo.c, false, true) + 15) / 16 * 16;
    let v_off = gemm_len;
    let m_off = v_off + a2 * geo.c * pb;
    // Row buffers of the transforms (one tile row of one channel, in L1).
    let row_len = alpha * geo.m * (geo.tw + 1);
    let t_off = m_off + a2 * geo.k * pb;
    let scratch_elems = t_off + 2 * row_len;

    let mut b = cx.builder("conv_winograd");
    let px = b.input(Scalar::F32);
    let pw = b.input(Scalar::F32);
    let pbias = bias.map(|_| b.input(Scalar::F32));
    let py = b.output(Scalar::F32);
    let ps = b.output(Scalar::F32);
    let epi = Epilogue::declare(cx, &mut b, n)?;
    // Blocks of all images are the units the pool's chunks share, each
    // chunk with its own scratch (a NULL pool runs one chunk over all).
    let (full, rest) = (geo.th / rows, geo.th % rows);
    let nblk = full + i64::from(rest > 0);
    let units = nb * nblk;
    let chunks = units.min(2);
    gk::for_parts(&mut b, chunks, |b, p| {
        let base = if p.max == 1 { ci(0) } else { b.let_(mul(p.idx.clone(), ci(scratch_elems))) };
        let k = Kern { geo, mats, tile, px, pw, pbias, py, ps, epi: &epi, ulen, v_off, m_off, t_off, row_len, base };
        let lo = b.let_(div(mul(p.idx.clone(), ci(units)), p.of.clone()));
        let hi = b.let_(div(mul(add(p.idx, ci(1)), ci(units)), p.of));
        b.for_loop(lo, hi, |b, u| {
            let ni = b.let_(div(u.clone(), ci(nblk)));
            let blk = b.let_(rem(u, ci(nblk)));
            let r0 = b.let_(mul(blk.clone(), ci(rows)));
            if rest == 0 {
                k.block(b, &ni, &r0, rows, pb);
            } else {
                b.if_else(lt(blk, ci(full)), |b| k.block(b, &ni, &r0, rows, pb), |b| k.block(b, &ni, &r0, rest, pb));
            }
        });
    });
    let scratch_elems = scratch_elems * chunks;
    let mut args = vec![cx.buf(x)?, wbuf];
    if let Some(bv) = bias {
        args.push(cx.buf(bv)?);
    }
    args.push(cx.buf(y)?);
    args.push(cx.scratch(scratch_elems as usize * 4));
    epi.push_args(cx, &mut args)?;
    epi.check(cx)?;
    cx.emit(b.finish(), args);
    Ok(())
}

struct Kern<'a> {
    geo: Geo,
    mats: &'a Mats,
    tile: Tile,
    px: ParamId,
    pw: ParamId,
    pbias: Option<ParamId>,
    py: ParamId,
    ps: ParamId,
    epi: &'a Epilogue,
    ulen: i64,
    v_off: i64,
    m_off: i64,
    /// Two row buffers of `row_len` elements at `t_off`.
    t_off: i64,
    row_len: i64,
    /// Where this chunk's scratch starts (the offsets above are relative).
    base: Expr,
}

impl Kern<'_> {
    fn alpha(&self) -> i64 {
        self.mats.alpha() as i64
    }

    /// Scratch element `off` of this chunk.
    fn at(&self, off: i64) -> Expr {
        if self.base == ci(0) {
            ci(off)
        } else {
            add(self.base.clone(), ci(off))
        }
    }

    /// One block of `rows` tile rows from tile row `r0` of image `ni`; `pb`
    /// is the row stride of V and M (tiles of a full block).
    fn block(&self, b: &mut KernelBuilder, ni: &Expr, r0: &Expr, rows: i64, pb: i64) {
        let g = self.geo;
        let a2 = self.alpha() * self.alpha();
        let npos = rows * g.tw;
        let xbase = b.let_(mul(ni.clone(), ci(g.c * g.h * g.w)));
        b.for_loop(0, g.c, |b, c| {
            let chbase = b.let_(add(xbase.clone(), mul(c.clone(), ci(g.h * g.w))));
            let vrow = b.let_(add(self.at(self.v_off), mul(c, ci(pb))));
            b.for_loop(0, rows, |b, rr| {
                let tr = b.let_(add(r0.clone(), rr.clone()));
                let vt = b.let_(add(vrow.clone(), mul(rr, ci(g.tw))));
                self.input_row(b, &chbase, &tr, &vt, pb);
            });
        });
        b.for_loop(0, a2, |b, xi| {
            let vbase = b.let_(add(self.at(self.v_off), mul(xi.clone(), ci(g.c * pb))));
            let mbase = b.let_(add(self.at(self.m_off), mul(xi.clone(), ci(g.k * pb))));
            let s = self.ps;
            let pack = |b: &mut KernelBuilder, blk: &gk::PackBlock| {
                let jend = b.let_(round_up_expr(blk.ncur.clone(), blk.nr));
                b.for_loop(0, blk.kcur.clone(), |b, q| {
                    let src = b.let_(add(vbase.clone(), add(mul(add(blk.pc.clone(), q.clone()), ci(pb)), blk.j0.clone())));
                    let dst = b.let_(add(blk.off.clone(), mul(q, ci(blk.ld))));
                    b.for_loop(0, blk.ncur.clone(), |b, j| b.store(s, add(dst.clone(), j.clone()), load(s, add(src.clone(), j))));
                    b.for_loop(blk.ncur.clone(), jend.clone(), |b, j| b.store(s, add(dst.clone(), j), cf(Scalar::F32, 0.0)));
                });
            };
            let y_at = |i: Expr, j: Expr| add(mbase.clone(), add(mul(i, ci(pb)), j));
            let gm = Gemm {
                m: g.k,
                n: npos,
                k: g.c,
                a: Side::Packed { buf: self.pw, base: mul(xi, ci(self.ulen)) },
                b: Side::Custom(&pack),
                y: s,
                y_at: &y_at,
                bias: None,
                scratch: s,
                tile: self.tile,
            };
            gk::emit_at(b, &gm, &|_, v, _| v, self.base.clone());
        });
        let ybase = b.let_(mul(ni.clone(), ci(g.k * g.oh * g.ow)));
        b.for_loop(0, g.k, |b, ko| {
            let bias = match self.pbias {
                Some(p) => b.let_(load(p, ko.clone())),
                None => cf(Scalar::F32, 0.0),
            };
            let mrow = b.let_(add(self.at(self.m_off), mul(ko.clone(), ci(pb))));
            b.for_loop(0, rows, |b, rr| {
                let tr = b.let_(add(r0.clone(), rr.clone()));
                let mt = b.let_(add(mrow.clone(), mul(rr, ci(g.tw))));
                let o = OutRow { ni, ko: &ko, tr: &tr, mt: &mt, ybase: &ybase, bias: &bias, pb };
                self.output_row(b, &o);
            });
        });
    }

    /// Input transform of tile row `tr` of one channel into `V[ξ][c][t]`
    /// at `vt + ξ·C·pb + tc`, in three passes whose inner loops run over
    /// contiguous memory (no gathers of stride `m`): (1) the `α` input rows
    /// with their zero padding, de-interleaved by column phase into
    /// `R[i][col % m][col / m]`; (2) the vertical transform
    /// `T[a][r][·] = Σ_i Bᵀ[a][i] R[i][r][·]`; (3) the horizontal one, where
    /// patch column `j` of tile `tc` is `T[a][j % m][tc + j / m]`.
    fn input_row(&self, b: &mut KernelBuilder, chbase: &Expr, tr: &Expr, vt: &Expr, pb: i64) {
        let g = self.geo;
        let (alpha, m, s) = (self.alpha(), g.m, self.ps);
        let w1 = g.tw + 1;
        let (r_off, t_off) = (self.t_off, self.t_off + self.row_len);
        let (rb, tb) = (b.let_(self.at(r_off)), b.let_(self.at(t_off)));
        let zero = cf(Scalar::F32, 0.0);
        let ih0 = b.let_(sub(mul(tr.clone(), ci(m)), ci(g.pt)));
        b.for_loop(0, alpha, |b, i| {
            let ih = b.let_(add(ih0.clone(), i.clone()));
            let rbase = b.let_(add(rb.clone(), mul(i, ci(m * w1))));
            let row_in = math::band(ge(ih.clone(), ci(0)), lt(ih.clone(), ci(g.h)));
            let xrow = b.let_(add(chbase.clone(), mul(ih, ci(g.w))));
            let at = |col: Expr| add(rbase.clone(), add(mul(rem(col.clone(), ci(m)), ci(w1)), div(col, ci(m))));
            b.if_else(
                row_in,
                |b| {
                    b.for_loop(0, m * w1, |b, col| {
                        let iw = b.let_(sub(col.clone(), ci(g.pl)));
                        let ok = b.let_(math::band(ge(iw.clone(), ci(0)), lt(iw.clone(), ci(g.w))));
                        let src = b.let_(add(xrow.clone(), select(ok.clone(), iw, ci(0))));
                        b.store(s, at(col), select(ok, load(self.px, src), zero.clone()));
                    })
                },
                |b| b.for_loop(0, m * w1, |b, col| b.store(s, at(col), zero.clone())),
            );
        });
        b.for_loop(0, w1, |b, q| {
            for r in 0..m {
                let col: Vec<Expr> = (0..alpha).map(|i| b.let_(load(s, add(add(q.clone(), rb.clone()), ci((i * m + r) * w1))))).collect();
                for a in 0..alpha {
                    let v = lin_comb(&self.mats.bt[(a * alpha) as usize..((a + 1) * alpha) as usize], &col);
                    b.store(s, add(add(q.clone(), tb.clone()), ci((a * m + r) * w1)), v);
                }
            }
        });
        b.for_loop(0, g.tw, |b, tc| {
            let dst = b.let_(add(vt.clone(), tc.clone()));
            for a in 0..alpha {
                let row: Vec<Expr> = (0..alpha).map(|j| b.let_(load(s, add(add(tc.clone(), tb.clone()), ci((a * m + j % m) * w1 + j / m))))).collect();
                for bb in 0..alpha {
                    let v = lin_comb(&self.mats.bt[(bb * alpha) as usize..((bb + 1) * alpha) as usize], &row);
                    b.store(s, add(dst.clone(), ci((a * alpha + bb) * g.c * pb)), v);
                }
            }
        });
    }

    /// Output transform of tile row `o.tr` of one output channel: (1) per
    /// tile `Aᵀ M A` plus the bias into `O[q][r][tc]` (contiguous in `tc`);
    /// (2) per valid output row, the epilogue and the store over contiguous
    /// output columns (reading `O` at the column's tile and phase).
    fn output_row(&self, b: &mut KernelBuilder, o: &OutRow) {
        let g = self.geo;
        let (alpha, m, s) = (self.alpha(), g.m, self.ps);
        let ob = b.let_(self.at(self.t_off));
        b.for_loop(0, g.tw, |b, tc| {
            let mt = b.let_(add(o.mt.clone(), tc.clone()));
            let mv: Vec<Expr> = (0..alpha * alpha).map(|xi| b.let_(load(s, add(mt.clone(), ci(xi * g.k * o.pb))))).collect();
            let yv = sandwich(b, &self.mats.at, &self.mats.at, alpha as usize, &mv);
            for (qr, v) in yv.into_iter().enumerate() {
                b.store(s, add(add(tc.clone(), ob.clone()), ci(qr as i64 * g.tw)), add(v, o.bias.clone()));
            }
        });
        b.for_loop(0, m, |b, q| {
            let ohv = b.let_(add(mul(o.tr.clone(), ci(m)), q.clone()));
            let obq = b.let_(add(ob.clone(), mul(q, ci(m * g.tw))));
            b.if_(lt(ohv.clone(), ci(g.oh)), |b| {
                let yrow = b.let_(add(o.ybase.clone(), add(mul(o.ko.clone(), ci(g.oh * g.ow)), mul(ohv.clone(), ci(g.ow)))));
                b.for_loop(0, g.ow, |b, ow| {
                    let v = load(s, add(obq.clone(), add(mul(rem(ow.clone(), ci(m)), ci(g.tw)), div(ow.clone(), ci(m)))));
                    let idx = [o.ni.clone(), o.ko.clone(), ohv.clone(), ow.clone()];
                    let v = self.epi.apply(b, v, OutIndex::Multi(&idx));
                    b.store(self.py, add(yrow.clone(), ow), v);
                });
            });
        });
    }
}

struct OutRow<'a> {
    ni: &'a Expr,
    ko: &'a Expr,
    tr: &'a Expr,
    mt: &'a Expr,
    ybase: &'a Expr,
    bias: &'a Expr,
    pb: i64,
}

fn round_up_expr(x: Expr, m: i64) -> Expr {
    mul(div(add(x, ci(m - 1)), ci(m)), ci(m))
}
