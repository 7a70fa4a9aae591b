//! The f32 matrix-product kernel behind MatMul, Gemm and Conv: a packed,
//! register-blocked micro-kernel inside BLIS-style cache blocking.
//!
//! `Y[i, j] = finish(Σ_k A[i, k] · B[k, j] (+ bias), flat index of (i, j))`.
//!
//! - Both operands are read from *panels*: A in `MR`-row panels laid out
//!   `[panel][k][MR]`, B in `NR`-column panels `[panel][k][NR]`, zero padded
//!   at the edges. A constant operand (weights) is packed at compile time
//!   (`pack_a_const`/`pack_b_const`, panels grouped by K block so one
//!   block's panels are one contiguous stream); any other is read through a closure and
//!   packed at run time into workspace scratch, one `MC×KC` / `KC×NC` block at
//!   a time (the closure may compute an im2col position: implicit GEMM).
//!   A caller-packed B (`Side::Custom`, the im2col packer) is instead a
//!   row-major `KC×NC` block with a padded row stride; the micro-kernel
//!   reads `NR` contiguous values per k either way.
//! - The register tile depends on the backend (`Codegen`): LLVM vectorizes
//!   rows of accumulators, Cranelift keeps each one in a scalar register.
//! - The micro-kernel keeps the `MR×NR` tile of Y in `MR·NR` scalar locals
//!   and runs an unrolled k-loop of `MR` broadcasts times `NR` contiguous
//!   loads; LLVM's SLP vectorizer turns each row of `NR` accumulators into
//!   `NR / lanes` vector registers (`--emit asm` shows the ymm mul/add block).
//! - Every output element is written by `store_tile`, which applies the
//!   caller's `finish` hook once, after the last K block: the place where
//!   fused epilogues (bias, activation, residual) plug in.

use super::*;
use crate::target::{Arch, Codegen, Target};

/// Register tile (`mr`×`nr`) and cache blocks (`kc`, `mc`, `nc`), in elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tile {
    pub mr: i64,
    pub nr: i64,
    pub kc: i64,
    pub mc: i64,
    pub nc: i64,
}

impl Tile {
    /// f32 tiles sized from the target's registers and how its backend
    /// generates code.
    pub(crate) fn for_target(t: &Target, codegen: Codegen) -> Tile {
        let (mr, nr) = match codegen {
            Codegen::Vectorizing => vector_tile(t),
            Codegen::Scalar => scalar_tile(t),
        };
        let (mr, nr) = tile_override().unwrap_or((mr, nr));
        // KC×NR of B (16 KiB) stays in L1 while MC×KC of A (L2) streams past it.
        let (kc, mc, nc) = blocks_override().unwrap_or((256, mr * 16, nr * 16));
        Tile { mr, nr, kc, mc: (mc / mr).max(1) * mr, nc: (nc / nr).max(1) * nr }
    }

    /// The tile shrunk to the problem (a 1-row product uses a 1-row tile).
    fn fit(self, m: i64, n: i64, k: i64) -> Tile {
        let mr = self.mr.min(m.max(1));
        let nr = self.nr;
        let kc = self.kc.min(k.max(1));
        let mc = (self.mc / mr * mr).min(round_up(m.max(1), mr)).max(mr);
        let nc = self.nc.min(round_up(n.max(1), nr));
        Tile { mr, nr, kc, mc, nc }
    }
}

/// Tiles for an auto-vectorizing backend: each row of `NR` accumulators is
/// `NR / lanes` vector registers.
fn vector_tile(t: &Target) -> (i64, i64) {
    match t.arch {
        // Two vectors per row: with AVX2 (16 ymm registers) 6×2 accumulators,
        // 2 for B, 1 product; with AVX-512 the same shape in zmm registers.
        Arch::X86_64 => (6, 2 * t.vector_bits() as i64 / 32),
        // 32 q registers of 4 lanes: 8×3 accumulators, 3 for B, A values.
        Arch::Aarch64 => (8, 12),
        // 32 vector registers; LLVM's RVV code keeps a 16-lane row in one or two of them.
        Arch::Riscv64 => (8, 16),
    }
}

/// Tiles for a backend that keeps every accumulator in its own scalar FP
/// register (Cranelift: no vectorizer, no FMA contraction): `MR·NR`
/// accumulators, `NR` B values, one A value and the product's temporary must
/// fit the FP register file, or the k-loop spills on every step.
fn scalar_tile(t: &Target) -> (i64, i64) {
    match t.arch {
        // 16 xmm registers: 9 + 3 + 1 + 1. (4×3 needs 17 and spills; on
        // ResNet-50 3×3 ran 0.92 s against 1.46 s for the vector tile 6×16.)
        Arch::X86_64 => (3, 3),
        // 32 FP registers: 16 + 4 + 1 + 1, room left for the allocator.
        Arch::Aarch64 | Arch::Riscv64 => (4, 4),
    }
}

/// `ONNXC_GEMM_TILE=MRxNR` overrides the register tile (for tuning experiments).
fn tile_override() -> Option<(i64, i64)> {
    let v = std::env::var("ONNXC_GEMM_TILE").ok()?;
    let (a, b) = v.split_once('x')?;
    let (mr, nr) = (a.parse().ok()?, b.parse().ok()?);
    (mr > 0 && nr > 0 && mr * nr <= 512).then_some((mr, nr))
}

/// `ONNXC_GEMM_BLOCKS=KC,MC,NC` overrides the cache blocks (tuning experiments).
fn blocks_override() -> Option<(i64, i64, i64)> {
    let v = std::env::var("ONNXC_GEMM_BLOCKS").ok()?;
    let p: Vec<i64> = v.split(',').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    match p[..] {
        [kc, mc, nc] if kc > 0 && mc > 0 && nc > 0 => Some((kc, mc, nc)),
        _ => None,
    }
}

fn round_up(x: i64, m: i64) -> i64 {
    (x + m - 1) / m * m
}

/// A GEMM operand.
pub(crate) enum Side<'a> {
    /// Panels packed at compile time (`pack_*_const`), starting at element `base`.
    Packed { buf: ParamId, base: Expr },
    /// `at(b, row_or_col, k)` gives `A[i, k]` (or `B[k, j]`) as an f32 value;
    /// packed into scratch at run time.
    Load { buf: ParamId, at: &'a dyn Fn(&mut KernelBuilder, ParamId, Expr, Expr) -> Expr },
    /// The caller packs each block itself (e.g. im2col: rows of B, or A panels).
    Custom(&'a dyn Fn(&mut KernelBuilder, &PackBlock)),
    /// A only, read in place without packing: `row(b, i, pc)` is the element
    /// offset in `buf` of `A[i, pc]` for a K block starting at `pc`, and the
    /// block's k values of a row are contiguous from there.
    /// The micro-kernel broadcasts A values one at a time anyway, so `MR`
    /// row streams cost no more than a panel (a 1×1 channels-last
    /// convolution reads its input this way).
    Rows { buf: ParamId, row: &'a dyn Fn(&mut KernelBuilder, Expr, Expr) -> Expr },
}

impl Side<'_> {
    fn runtime(&self) -> bool {
        matches!(self, Side::Load { .. } | Side::Custom(_))
    }
}

/// One block to pack for `Side::Custom`, row-major with row stride `ld`:
/// `scratch[off + kk·ld + jj] = B[pc + kk, j0 + jj]` for `jj` below
/// `ncur` rounded up to `nr`, zero where `j0 + jj >= n`. (Rows rather than
/// `nr`-column panels let the packer copy whole input rows at a time; the
/// micro-kernel reads `nr` contiguous values per row either way.)
///
/// For a custom A the block is `A[pc.., j0..]` (`j0`/`ncur` are rows, `nr`
/// is `mr`) in `mr`-row panels like `pack_a`'s:
/// `scratch[off + p·mr·kcur + kk·mr + r] = A[j0 + p·mr + r, pc + kk]`,
/// zero for rows at or past `m`; `ld` is unused.
pub(crate) struct PackBlock {
    pub scratch: ParamId,
    pub off: Expr,
    pub j0: Expr,
    pub ncur: Expr,
    pub pc: Expr,
    pub kcur: Expr,
    pub nr: i64,
    pub ld: i64,
}

/// Per-element finish hook: `(builder, accumulated value, flat output index) -> stored value`.
pub(crate) type Finish<'a> = &'a dyn Fn(&mut KernelBuilder, Expr, Expr) -> Expr;

/// A bias added to every accumulator before `finish`: `buf[base + i]` per row
/// (`per_row`) or `buf[base + j]` per column.
pub(crate) struct Bias {
    pub buf: ParamId,
    pub base: Expr,
    pub per_row: bool,
}

pub(crate) struct Gemm<'a> {
    pub m: i64,
    pub n: i64,
    pub k: i64,
    pub a: Side<'a>,
    pub b: Side<'a>,
    pub y: ParamId,
    /// Flat output index of `(i, j)`.
    pub y_at: &'a dyn Fn(Expr, Expr) -> Expr,
    pub bias: Option<Bias>,
    /// f32 scratch of `scratch_len` elements (packed blocks and the tile).
    pub scratch: ParamId,
    pub tile: Tile,
}

/// Elements of f32 scratch `emit` needs for this problem (one chunk's worth
/// for `emit_part`), a multiple of 16 so that chunks never share a cache line.
pub(crate) fn scratch_len(tile: Tile, m: i64, n: i64, k: i64, a_load: bool, b_load: bool) -> i64 {
    let (a, b) = scratch_parts(tile.fit(m, n, k), a_load, b_load);
    round_up(a + b + tile.fit(m, n, k).mr * tile.nr, 16)
}

/// One of `of` chunks of a product (`emit_part`): chunk `idx` (an I64
/// expression, usually the variable of a parallel loop over `0..of`) computes
/// a contiguous range of `NR`-column panels of Y (or of `MR`-row panels,
/// `Split::M`) with its own `scratch_len` elements of scratch, so chunks may
/// run on different threads. `of` (I64) is at most `max`, the chunk count
/// the scratch was sized for (`chunks`). Every output element is computed by
/// the same code and in the same order as by `emit`, so results are
/// bit-identical for any `of`.
pub(crate) struct Part {
    pub idx: Expr,
    pub of: Expr,
    pub max: i64,
}

/// Runs `f` for the chunks of a product that `chunks` splits into `max`:
/// a parallel loop over `max` chunks when the kernel has a pool
/// (`Expr::Pooled`), else one chunk covering the whole product, so a serial
/// run pays nothing for the split. Must be a top-level statement of the
/// kernel for the LLVM backend to hand it to the pool.
pub(crate) fn for_parts(b: &mut KernelBuilder, max: i64, f: impl FnOnce(&mut KernelBuilder, Part)) {
    if max <= 1 {
        return f(b, Part { idx: ci(0), of: ci(1), max: 1 });
    }
    let of = b.let_(select(Expr::Pooled, ci(max), ci(1)));
    b.par_for(0, of.clone(), |b, idx| f(b, Part { idx, of, max }));
}

/// Which panels the chunks of a product split.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Split {
    N,
    M,
}

/// Below this many multiply-adds a product stays on one thread: waking a
/// worker (tens of microseconds with a sleeping pool) would cost more than
/// half the product saves. `ONNXC_GEMM_PAR_MIN` overrides it.
const PAR_MIN_MACS: i64 = 1 << 22;
/// Chunks a large product splits into. Each chunk re-streams A (N split)
/// or re-packs B (M split), which a NULL pool pays too (the chunks then run
/// one after another): on ResNet-50 one thread ran 3% slower with 2 chunks
/// and 7% with 4, and two threads were no faster with 4 (panels are split
/// evenly, so 2 chunks balance 2 threads). `ONNXC_GEMM_CHUNKS` overrides it
/// (e.g. for machines with more cores).
const PAR_CHUNKS: i64 = 2;

fn env_i64(name: &str) -> Option<i64> {
    std::env::var(name).ok()?.parse().ok().filter(|v: &i64| *v >= 0)
}

/// How many chunks (`Part::of`) the product splits into; 1 means `emit`.
pub(crate) fn chunks(tile: Tile, m: i64, n: i64, k: i64) -> i64 {
    split_plan(tile, m, n, k).1
}

/// Split dimension and chunk count. Every chunk of an N split streams all
/// of A (M×K: the weights of a convolution) through the cache once more;
/// every chunk of an M split packs all of B (K×N: the im2col matrix) once
/// more. So the split goes along the larger of M and N: early convolution
/// layers (many positions, few channels) split N, late ones M.
fn split_plan(tile: Tile, m: i64, n: i64, k: i64) -> (Split, i64) {
    let t = tile.fit(m, n, k);
    let macs = m.max(1).saturating_mul(n.max(1)).saturating_mul(k.max(1));
    let want = env_i64("ONNXC_GEMM_CHUNKS").unwrap_or(PAR_CHUNKS).max(1);
    if macs < env_i64("ONNXC_GEMM_PAR_MIN").unwrap_or(PAR_MIN_MACS) || want == 1 {
        return (Split::N, 1);
    }
    let (pn, pm) = ((n.max(1) + t.nr - 1) / t.nr, (m.max(1) + t.mr - 1) / t.mr);
    if (n >= m && pn >= 2) || pm < 2 {
        (Split::N, want.min(pn))
    } else {
        (Split::M, want.min(pm))
    }
}

/// Elements of the packed A block and of the packed B block (room for
/// either layout: panels, or rows of `b_ld`).
fn scratch_parts(t: Tile, a_load: bool, b_load: bool) -> (i64, i64) {
    (if a_load { t.mc * t.kc } else { 0 }, if b_load { b_ld(t) * t.kc } else { 0 })
}

/// Row stride of a row-major B block: `NC` plus 16 so that successive rows
/// do not map to the same L1 sets (a power-of-two stride would).
fn b_ld(t: Tile) -> i64 {
    t.nc + 16
}

/// Packs row-major-addressed A (`a(i, k)` = element) for a `Side::Packed`
/// operand: `mr`-row panels, grouped by K block, `[k block][panel][kk][mr]`.
pub(crate) fn pack_a_const(tile: Tile, m: i64, n: i64, k: i64, a: &dyn Fn(usize, usize) -> f32) -> Vec<f32> {
    let t = tile.fit(m, n, k);
    pack_panels(m as usize, k as usize, t.mr as usize, t.kc as usize, a)
}

/// Packs B (`b(k, j)` = element) the same way in `nr`-column panels.
pub(crate) fn pack_b_const(tile: Tile, m: i64, n: i64, k: i64, b: &dyn Fn(usize, usize) -> f32) -> Vec<f32> {
    let t = tile.fit(m, n, k);
    pack_panels(n as usize, k as usize, t.nr as usize, t.kc as usize, &|j, kk| b(kk, j))
}

/// `[k block][panel][kk][w]` with `w`-wide panels over `len` rows (or
/// columns), zero padded: the panels one K block of the product reads are
/// one contiguous run, so the hardware prefetcher streams weights that do
/// not fit the cache (ResNet-50's 3×3 convs at 7×7 hold 9 MiB each)
/// instead of starting a new stream at every panel.
fn pack_panels(len: usize, k: usize, w: usize, kc: usize, at: &dyn Fn(usize, usize) -> f32) -> Vec<f32> {
    let panels = len.div_ceil(w);
    let padded = panels * w;
    let mut out = vec![0f32; padded * k];
    for pc in (0..k).step_by(kc.max(1)) {
        let kcur = kc.min(k - pc);
        for p in 0..panels {
            for kk in 0..kcur {
                for r in 0..w {
                    let i = p * w + r;
                    if i < len {
                        out[pc * padded + (p * kcur + kk) * w + r] = at(i, pc + kk);
                    }
                }
            }
        }
    }
    out
}

/// f32 values as the little-endian bytes of a constant buffer.
pub(crate) fn f32_bytes(v: &[f32]) -> Bytes {
    let mut out = Vec::with_capacity(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    Bytes::from(out)
}

/// Where the micro-kernel reads one operand's panel: `buf[base + kk·stride + r]`.
#[derive(Clone)]
struct PanelRef {
    buf: ParamId,
    base: Expr,
    stride: i64,
}

/// Emits the whole product into `b` (the caller wraps batch loops around it).
#[allow(dead_code)] // the product in one piece, for callers that split nothing (Winograd)
pub(crate) fn emit(b: &mut KernelBuilder, g: &Gemm, finish: Finish) {
    emit_part(b, g, finish, &Part { idx: ci(0), of: ci(1), max: 1 })
}

/// `[lo, hi)` of chunk `p.idx` over `len` elements in panels of `w`:
/// constants for a single chunk (the serial kernel is unchanged).
fn part_range(b: &mut KernelBuilder, p: &Part, len: i64, w: i64) -> (Expr, Expr) {
    if p.max == 1 {
        return (ci(0), ci(len));
    }
    let panels = (len + w - 1) / w;
    let at = |b: &mut KernelBuilder, c: Expr| b.let_(min(mul(div(mul(c, ci(panels)), p.of.clone()), ci(w)), ci(len)));
    (at(b, p.idx.clone()), at(b, add(p.idx.clone(), ci(1))))
}

/// Calls `f(start, len)` for blocks of at most `blk` elements covering
/// `[lo, hi)`, each a whole number of `w`-panels (but the last), of equal
/// size within one panel: a 3136-column product runs 7 blocks of 448
/// columns, not 6 of 512 and one of 64, which would stream A once more for
/// little work.
fn blocks(b: &mut KernelBuilder, range: (Expr, Expr), w: i64, blk: i64, f: &mut dyn FnMut(&mut KernelBuilder, Expr, Expr)) {
    let (lo, hi) = range;
    let panels = b.let_(div(add(sub(hi.clone(), lo.clone()), ci(w - 1)), ci(w)));
    let per = blk / w;
    let nblk = b.let_(div(add(panels.clone(), ci(per - 1)), ci(per)));
    let edge = |b: &mut KernelBuilder, q: Expr| {
        let at = add(lo.clone(), mul(div(mul(q, panels.clone()), nblk.clone()), ci(w)));
        b.let_(min(at, hi.clone()))
    };
    b.for_loop(0, nblk.clone(), |b, q| {
        let start = edge(b, q.clone());
        let end = edge(b, add(q, ci(1)));
        let len = b.let_(sub(end, start.clone()));
        f(b, start, len)
    });
}

/// Emits chunk `p` of the product (`Part`); its scratch is chunk `p.idx`'s
/// `scratch_len` elements of `g.scratch`. `p.max` must be `chunks(..)` of
/// the same problem (or 1), which fixes how the panels are split.
pub(crate) fn emit_part(b: &mut KernelBuilder, g: &Gemm, finish: Finish, p: &Part) {
    emit_part_at(b, g, finish, p, ci(0))
}

/// `emit` with the product's scratch starting at element `scratch0` of
/// `g.scratch` (a caller that runs several products in parallel chunks of
/// its own, each with its own scratch: Winograd).
pub(crate) fn emit_at(b: &mut KernelBuilder, g: &Gemm, finish: Finish, scratch0: Expr) {
    emit_part_at(b, g, finish, &Part { idx: ci(0), of: ci(1), max: 1 }, scratch0)
}

fn emit_part_at(b: &mut KernelBuilder, g: &Gemm, finish: Finish, p: &Part, scratch0: Expr) {
    let t = g.tile.fit(g.m, g.n, g.k);
    let (m, n, k) = (g.m, g.n, g.k);
    b.allow_contract();
    let (a_len, b_len) = scratch_parts(t, g.a.runtime(), g.b.runtime());
    let split = if p.max == 1 { Split::N } else { split_plan(g.tile, m, n, k).0 };
    let ((jlo, jhi), (ilo, ihi)) = match split {
        Split::N => (part_range(b, p, n, t.nr), (ci(0), ci(m))),
        Split::M => ((ci(0), ci(n)), part_range(b, p, m, t.mr)),
    };
    // This chunk's scratch: [A block][B block][tile].
    let whole = p.max == 1 && scratch0 == ci(0);
    let base = if p.max == 1 { scratch0 } else { b.let_(add(scratch0, mul(p.idx.clone(), ci(scratch_len(g.tile, m, n, k, g.a.runtime(), g.b.runtime()))))) };
    let at_off = |b: &mut KernelBuilder, off: i64| if whole { ci(off) } else { b.let_(add(base.clone(), ci(off))) };
    let (a_scratch, b_scratch, tile_off) = (base.clone(), at_off(b, a_len), at_off(b, a_len + b_len));
    let single_k = k <= t.kc;
    blocks(b, (jlo, jhi), t.nr, t.nc, &mut |b, jc, ncur| {
        b.for_step(0, k.max(1), t.kc, |b, pc| {
            let kcur = b.let_(min(ci(t.kc), sub(ci(k), pc.clone())));
            match &g.b {
                Side::Load { buf, at } => {
                    pack_b(b, t, n, [*buf, g.scratch], *at, b_scratch.clone(), jc.clone(), ncur.clone(), pc.clone(), kcur.clone())
                }
                Side::Custom(pack) => {
                    let blk = PackBlock { scratch: g.scratch, off: b_scratch.clone(), j0: jc.clone(), ncur: ncur.clone(), pc: pc.clone(), kcur: kcur.clone(), nr: t.nr, ld: b_ld(t) };
                    pack(b, &blk);
                }
                Side::Packed { .. } | Side::Rows { .. } => {}
            }
            blocks(b, (ilo.clone(), ihi.clone()), t.mr, t.mc, &mut |b, ic, mcur| {
                match &g.a {
                    Side::Load { buf, at } => {
                        let s = g.scratch;
                        pack_a(b, t, m, [*buf, s], *at, a_scratch.clone(), ic.clone(), mcur.clone(), pc.clone(), kcur.clone());
                    }
                    // A custom A packer fills `mr`-row panels (see `PackBlock`).
                    Side::Custom(pack) => {
                        let blk = PackBlock { scratch: g.scratch, off: a_scratch.clone(), j0: ic.clone(), ncur: mcur.clone(), pc: pc.clone(), kcur: kcur.clone(), nr: t.mr, ld: 0 };
                        pack(b, &blk);
                    }
                    Side::Packed { .. } | Side::Rows { .. } => {}
                }
                // Y tiles walk along rows (ir outer) so each tile's rows are
                // a few sequential streams for the prefetcher (the output and
                // a fused residual), except over a caller-packed B, whose
                // strided panel is best kept in L1 across the ir tiles.
                let tile = |b: &mut KernelBuilder, ir: Expr, jr: Expr| {
                    let (i0, j0) = (b.let_(add(ic.clone(), ir.clone())), b.let_(add(jc.clone(), jr.clone())));
                    let pa = match &g.a {
                        Side::Packed { buf, base } => APanel::Panel(PanelRef { buf: *buf, base: add(base.clone(), add(mul(pc.clone(), ci(round_up(m, t.mr))), mul(i0.clone(), kcur.clone()))), stride: t.mr }),
                        Side::Rows { buf, row } => APanel::Rows { buf: *buf, bases: row_bases(b, t, m, &i0, &pc, *row) },
                        _ => APanel::Panel(PanelRef { buf: g.scratch, base: add(a_scratch.clone(), mul(ir.clone(), kcur.clone())), stride: t.mr }),
                    };
                    let pb = match &g.b {
                        Side::Packed { buf, base } => PanelRef { buf: *buf, base: add(base.clone(), add(mul(pc.clone(), ci(round_up(n, t.nr))), mul(j0.clone(), kcur.clone()))), stride: t.nr },
                        Side::Custom(_) => PanelRef { buf: g.scratch, base: add(b_scratch.clone(), jr.clone()), stride: b_ld(t) },
                        Side::Load { .. } => PanelRef { buf: g.scratch, base: add(b_scratch.clone(), mul(jr.clone(), kcur.clone())), stride: t.nr },
                        Side::Rows { .. } => unreachable!("Side::Rows is an A operand only"),
                    };
                    let accs = micro(b, t, pa, pb, kcur.clone());
                    let first = if single_k { cbool(true) } else { b.let_(eq(pc.clone(), ci(0))) };
                    let last = if single_k { cbool(true) } else { b.let_(ge(add(pc.clone(), ci(t.kc)), ci(k))) };
                    let tile = TileAt { i0, j0, first, last, accs, off: tile_off.clone() };
                    store_tile(b, g, t, &tile, finish);
                };
                if matches!(g.b, Side::Custom(_)) {
                    b.for_step(0, ncur.clone(), t.nr, |b, jr| b.for_step(0, mcur.clone(), t.mr, |b, ir| tile(b, ir, jr.clone())));
                } else {
                    b.for_step(0, mcur.clone(), t.mr, |b, ir| b.for_step(0, ncur.clone(), t.nr, |b, jr| tile(b, ir.clone(), jr)));
                }
            });
        });
    });
}

/// The register tile: `MR·NR` accumulators over `kcur` steps of k.
fn micro(b: &mut KernelBuilder, t: Tile, pa: APanel, pb: PanelRef, kcur: Expr) -> Vec<LocalIdx> {
    let (mr, nr) = (t.mr as usize, t.nr as usize);
    let accs: Vec<LocalIdx> = (0..mr * nr).map(|_| b.var(cf(Scalar::F32, 0.0))).collect();
    let abase = match &pa {
        APanel::Panel(p) => b.let_(p.base.clone()),
        APanel::Rows { .. } => ci(0),
    };
    let bbase = b.let_(pb.base);
    b.for_loop(0, kcur, |b, kk| {
        let ao = match &pa {
            APanel::Panel(p) => b.let_(add(abase.clone(), mul(kk.clone(), ci(p.stride)))),
            APanel::Rows { .. } => kk.clone(),
        };
        let bo = b.let_(add(bbase.clone(), mul(kk, ci(pb.stride))));
        let bv: Vec<Expr> = (0..nr).map(|c| b.let_(load(pb.buf, add(bo.clone(), ci(c as i64))))).collect();
        for r in 0..mr {
            let av = match &pa {
                APanel::Panel(p) => b.let_(load(p.buf, add(ao.clone(), ci(r as i64)))),
                APanel::Rows { buf, bases } => b.let_(load(*buf, add(bases[r].clone(), ao.clone()))),
            };
            for c in 0..nr {
                let acc = accs[r * nr + c];
                b.assign(acc, add(Expr::Local(acc), mul(av.clone(), bv[c].clone())));
            }
        }
    });
    accs
}

type LocalIdx = crate::kir::LocalId;

/// Where the micro-kernel reads A: a panel, or `MR` rows in place
/// (`buf[bases[r] + kk]`).
enum APanel {
    Panel(PanelRef),
    Rows { buf: ParamId, bases: Vec<Expr> },
}

/// Offsets of `A[i0 + r, pc]` for the tile's rows (`Side::Rows`); rows past
/// `m` re-read row `m - 1` (their results are never stored).
fn row_bases(b: &mut KernelBuilder, t: Tile, m: i64, i0: &Expr, pc: &Expr, row: &dyn Fn(&mut KernelBuilder, Expr, Expr) -> Expr) -> Vec<Expr> {
    (0..t.mr)
        .map(|r| {
            let i = add(i0.clone(), ci(r));
            let i = if m % t.mr == 0 { i } else { min(i, ci(m - 1)) };
            let i = b.let_(i);
            let o = row(b, i, pc.clone());
            b.let_(o)
        })
        .collect()
}

struct TileAt {
    i0: Expr,
    j0: Expr,
    /// Bool: the first K block (accumulators start the sum) / the last one (apply `finish`).
    first: Expr,
    last: Expr,
    accs: Vec<LocalIdx>,
    /// Scratch offset of the `MR×NR` tile buffer.
    off: Expr,
}

/// Writes the tile: the accumulators go to a small tile buffer (contiguous,
/// vector stores), then one loop nest over the valid `rows × cols` adds the
/// earlier K blocks' partial sum kept in Y and, on the last K block, the
/// bias and `finish`. That loop is the one place an output element is
/// written, and it handles edge tiles without a second copy of the code.
fn store_tile(b: &mut KernelBuilder, g: &Gemm, t: Tile, at: &TileAt, finish: Finish) {
    let (full_rows, full_cols) = (g.m % t.mr == 0, g.n % t.nr == 0);
    let whole = |b: &mut KernelBuilder| store_rows(b, g, t, at, finish, ci(t.mr), ci(t.nr));
    if full_rows && full_cols {
        return whole(b);
    }
    let rows = if full_rows { ci(t.mr) } else { b.let_(min(ci(t.mr), sub(ci(g.m), at.i0.clone()))) };
    let cols = if full_cols { ci(t.nr) } else { b.let_(min(ci(t.nr), sub(ci(g.n), at.j0.clone()))) };
    // Whole tiles take a copy of the store loop with constant bounds: with
    // a run-time row count LLVM vectorizes the row loop into gathers and
    // scatters (ShuffleNet's 28-row groups, ResNet-50's 64-row convs).
    let full = b.let_(math::band(eq(rows.clone(), ci(t.mr)), eq(cols.clone(), ci(t.nr))));
    b.if_else(full, whole, |b| store_rows(b, g, t, at, finish, rows, cols));
}

/// Stores the valid `rows × cols` of a tile through the tile buffer.
fn store_rows(b: &mut KernelBuilder, g: &Gemm, t: Tile, at: &TileAt, finish: Finish, rows: Expr, cols: Expr) {
    for (q, acc) in at.accs.iter().enumerate() {
        b.store(g.scratch, add(at.off.clone(), ci(q as i64)), Expr::Local(*acc));
    }
    let write = |b: &mut KernelBuilder, finish: Option<Finish>| {
        b.for_loop(0, rows.clone(), |b, r| {
            let i = b.let_(add(at.i0.clone(), r.clone()));
            let trow = b.let_(add(at.off.clone(), mul(r, ci(t.nr))));
            b.for_loop(0, cols.clone(), |b, c| {
                let j = b.let_(add(at.j0.clone(), c.clone()));
                let acc = load(g.scratch, add(trow.clone(), c));
                let yi = b.let_((g.y_at)(i.clone(), j.clone()));
                let sum = if at.first == cbool(true) { acc } else { select(at.first.clone(), acc.clone(), add(load(g.y, yi.clone()), acc)) };
                let v = match finish {
                    Some(f) => {
                        let v = with_bias(b, g, sum, &i, &j);
                        f(b, v, yi.clone())
                    }
                    None => sum,
                };
                b.store(g.y, yi, v);
            });
        });
    };
    if at.last == cbool(true) {
        write(b, Some(finish));
    } else {
        b.if_else(at.last.clone(), |b| write(b, Some(finish)), |b| write(b, None));
    }
}

fn with_bias(_b: &mut KernelBuilder, g: &Gemm, v: Expr, i: &Expr, j: &Expr) -> Expr {
    match &g.bias {
        None => v,
        Some(bs) => {
            let idx = if bs.per_row { i.clone() } else { j.clone() };
            add(v, load(bs.buf, add(bs.base.clone(), idx)))
        }
    }
}

type At<'a> = &'a dyn Fn(&mut KernelBuilder, ParamId, Expr, Expr) -> Expr;

/// Packs `A[ic..ic+mcur, pc..pc+kcur]` into `scratch[off..]` as `mr`-row
/// panels. The k loop is outermost with the `mr` rows unrolled, so the
/// stores are contiguous (the vectorizer makes one interleaved store group);
/// rows past `m` read a clamped row and store 0.
#[allow(clippy::too_many_arguments)]
fn pack_a(b: &mut KernelBuilder, t: Tile, m: i64, p: [ParamId; 2], at: At, off: Expr, ic: Expr, mcur: Expr, pc: Expr, kcur: Expr) {
    let [src, s] = p;
    b.for_step(0, mcur, t.mr, |b, ir| {
        let pbase = b.let_(add(off.clone(), mul(ir.clone(), kcur.clone())));
        let rows: Vec<(Expr, Expr)> = (0..t.mr)
            .map(|r| {
                let i = add(add(ic.clone(), ir.clone()), ci(r));
                if m % t.mr == 0 {
                    (b.let_(i), cbool(true))
                } else {
                    let i = b.let_(i);
                    let inside = b.let_(lt(i.clone(), ci(m)));
                    (b.let_(min(i, ci(m - 1))), inside)
                }
            })
            .collect();
        b.for_loop(0, kcur.clone(), |b, kk| {
            let kabs = b.let_(add(pc.clone(), kk.clone()));
            let dst = b.let_(add(pbase.clone(), mul(kk, ci(t.mr))));
            for (r, (i, inside)) in rows.iter().enumerate() {
                let v = at(b, src, i.clone(), kabs.clone());
                let v = if *inside == cbool(true) { v } else { select(inside.clone(), v, cf(Scalar::F32, 0.0)) };
                b.store(s, add(dst.clone(), ci(r as i64)), v);
            }
        });
    });
}

/// Packs `B[pc..pc+kcur, jc..jc+ncur]` into `scratch[off..]` as `nr`-column panels.
#[allow(clippy::too_many_arguments)]
fn pack_b(b: &mut KernelBuilder, t: Tile, n: i64, p: [ParamId; 2], at: At, off: Expr, jc: Expr, ncur: Expr, pc: Expr, kcur: Expr) {
    let [src, s] = p;
    b.for_step(0, ncur, t.nr, |b, jr| {
        let pbase = b.let_(add(off.clone(), mul(jr.clone(), kcur.clone())));
        let j0 = b.let_(add(jc.clone(), jr));
        let full = le(add(j0.clone(), ci(t.nr)), ci(n));
        let row = |b: &mut KernelBuilder, guard: bool| {
            b.for_loop(0, kcur.clone(), |b, kk| {
                let kabs = b.let_(add(pc.clone(), kk.clone()));
                let dst = b.let_(add(pbase.clone(), mul(kk, ci(t.nr))));
                b.for_loop(0, t.nr, |b, c| {
                    let j = add(j0.clone(), c.clone());
                    let di = add(dst.clone(), c);
                    if guard {
                        let j = b.let_(j);
                        b.if_else(
                            lt(j.clone(), ci(n)),
                            |b| {
                                let v = at(b, src, j.clone(), kabs.clone());
                                b.store(s, di.clone(), v)
                            },
                            |b| b.store(s, di.clone(), cf(Scalar::F32, 0.0)),
                        );
                    } else {
                        let v = at(b, src, j, kabs.clone());
                        b.store(s, di, v);
                    }
                });
            });
        };
        if n % t.nr == 0 {
            row(b, false);
        } else {
            b.if_else(full, |b| row(b, false), |b| row(b, true));
        }
    });
}
