//! Direct kernels for sliding-window ops that never mix channels:
//! depthwise convolution (one input channel per group) and Max/Average
//! pooling, over spatial rank 1 or 2.
//!
//! Everything is known at compile time, so each axis splits into the output
//! positions whose window lies wholly inside the input (the interior, one
//! counted loop) and the few border positions left and right of it (each
//! emitted on its own with exactly its in-bounds taps). The interior loop
//! along the output width therefore has no bounds checks and reads input
//! columns `ow*stride + const`: LLVM vectorizes it with contiguous loads at
//! stride 1 (interleaved loads at stride 2), one output vector at a time.
//! Returns `Ok(false)` where the fast path does not apply (other dtypes,
//! rank 3+, windows so large that most positions are border), and the
//! caller keeps the generic loops of `nn.rs`.

use super::epilogue::{Epilogue, OutIndex};
use super::*;
use onnxc_ir::op::Window;

/// Most border positions per axis emitted one by one (beyond: the generic loops).
const MAX_BORDER: i64 = 16;

/// Geometry of one spatial axis: input, output, kernel, stride, begin/end pad,
/// dilation (shared with the GEMM convolutions, `conv_kernel.rs` and `conv_nhwc.rs`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Axis {
    pub inp: i64,
    pub out: i64,
    pub k: i64,
    pub s: i64,
    pub p: i64,
    pub pe: i64,
    pub d: i64,
}

impl Axis {
    /// A size-1 axis (rank-1 convolutions run as rank 2 with a height of 1).
    pub(super) const ONE: Axis = Axis { inp: 1, out: 1, k: 1, s: 1, p: 0, pe: 0, d: 1 };

    /// Extent of the padded input the output reads: `[0, span)` in padded
    /// coordinates (input index + begin pad).
    pub(super) fn span(self) -> i64 {
        (self.out - 1) * self.s + (self.k - 1) * self.d + 1
    }

    fn pos(&self, o: i64, kk: i64) -> i64 {
        o * self.s - self.p + kk * self.d
    }

    /// Taps of output position `o` that read inside the input.
    fn taps(&self, o: i64) -> Vec<i64> {
        (0..self.k).filter(|&kk| (0..self.inp).contains(&self.pos(o, kk))).collect()
    }

    /// Window positions of `o` inside the padded input (AveragePool's
    /// `count_include_pad` divisor; a `ceil_mode` window may run past it).
    fn padded(&self, o: i64) -> i64 {
        (0..self.k).filter(|&kk| self.pos(o, kk) < self.inp + self.pe).count() as i64
    }

    /// Output positions `[lo, hi)` whose taps are all inside the input.
    fn interior(&self) -> (i64, i64) {
        let lo = ((self.p + self.s - 1) / self.s).min(self.out);
        let last = self.inp - 1 + self.p - (self.k - 1) * self.d;
        let hi = if last < 0 { 0 } else { (last / self.s + 1).min(self.out) };
        (lo, hi.max(lo))
    }

    fn border(&self) -> i64 {
        let (lo, hi) = self.interior();
        self.out - (hi - lo)
    }

    /// Border positions one by one and the interior as one range, in order.
    fn segments(&self) -> Vec<Seg> {
        let (lo, hi) = self.interior();
        let mut v: Vec<Seg> = (0..lo).map(Seg::One).collect();
        if hi > lo {
            v.push(Seg::Range(lo, hi));
        }
        v.extend((hi..self.out).map(Seg::One));
        v
    }
}

enum Seg {
    One(i64),
    Range(i64, i64),
}

/// Where `plane` reads the input: X itself, or (stride 2 along the width) a
/// copy of the plane split into its even-index then its odd-index elements,
/// so that every tap reads consecutive elements (stride-2 reads of X become
/// gathers). The split is by flat index, which is one long loop LLVM
/// vectorizes with shuffles; it follows the column parity when the width is
/// even, or when the height stride is even (then each kernel row has a
/// fixed row parity).
#[derive(Clone, Copy)]
pub(super) struct Src {
    pub x: ParamId,
    /// Scratch of X's size, used when the width stride is 2.
    pub split: Option<ParamId>,
}

/// A kernel row that reads inside the input.
pub(super) struct Row {
    pub kh: i64,
    /// X layout: offset of input row `ih = oh*s - p + kh*d`. Split layout:
    /// `base + (ih*W - par) / 2`.
    off: Expr,
    /// Split layout: parity of `ih*W`.
    par: i64,
}

/// One output position (or the interior loop's current one) as seen by the
/// per-element code: its in-bounds taps and where they are in the input.
pub(super) struct Site<'a> {
    pub oh: Expr,
    pub ow: Expr,
    pub rows: &'a [Row],
    /// In-bounds kernel columns.
    pub cols: &'a [i64],
    /// Window positions inside the padded input.
    pub padded: i64,
    /// The buffer the taps are read from (`at` indexes it).
    pub buf: ParamId,
    /// `oh` is 0 and `ow` is the flat position in the plane (`plane`'s
    /// flattened interior); an epilogue must index by flat position.
    pub flat: bool,
    aw: Axis,
    /// Split layout: length of the even half (`None`: X's own layout).
    half: Option<i64>,
}

impl Site<'_> {
    /// Offset in `buf` of tap (`rows[r]`, `kw`).
    pub fn at(&self, r: usize, kw: i64) -> Expr {
        let q = kw * self.aw.d - self.aw.p;
        let row = &self.rows[r];
        let col = match self.half {
            None => add(mul(self.ow.clone(), ci(self.aw.s)), ci(q)),
            // Flat index f = ih*W + 2*ow + q, of parity `par`, is element
            // (f - par)/2 of the even (par 0) or odd half.
            Some(half) => {
                let par = (row.par + q).rem_euclid(2);
                add(self.ow.clone(), ci((row.par + q - par) / 2 + par * half))
            }
        };
        add(row.off.clone(), col)
    }
}

/// Copies plane `base[0]` of X to `base[1]` of `s`: its even-index
/// elements, then its odd-index ones.
fn split_plane(b: &mut KernelBuilder, x: ParamId, s: ParamId, base: [&Expr; 2], n: i64) {
    let half = (n + 1) / 2;
    b.for_loop(0, n / 2, |b, i| {
        let src = b.let_(add(base[0].clone(), mul(i.clone(), ci(2))));
        let dst = b.let_(add(base[1].clone(), i));
        b.store(s, dst.clone(), load(x, src.clone()));
        b.store(s, add(dst, ci(half)), load(x, add(src, ci(1))));
    });
    if n % 2 == 1 {
        b.store(s, add(base[1].clone(), ci(half - 1)), load(x, add(base[0].clone(), ci(n - 1))));
    }
}

/// The interior columns `[lo, hi)` as loops whose trip counts are multiples
/// of a vector length `v`: `[lo, lo + n/v*v)`, then, when `v` does not
/// divide `n`, the last `v` columns again (overlapping the first loop; the
/// values are recomputed, not accumulated, so writing them twice is
/// harmless). LLVM then emits whole vectors only, where a remainder of up
/// to 15 columns would run as scalar code (with NaN-propagating max, much
/// slower than the vector body). Rows shorter than 16 stay one loop (two
/// overlapping 8-column loops measured 4x slower there than LLVM's
/// masked vector loop).
fn vector_runs(lo: i64, hi: i64) -> Vec<(i64, i64)> {
    let n = hi - lo;
    let v = 16;
    if n < v {
        return vec![(lo, hi)];
    }
    let main = lo + n / v * v;
    let mut runs = vec![(lo, main)];
    if main < hi {
        runs.push((hi - v, hi));
    }
    runs
}

/// Calls `elem` for every output position of one `ah × aw` plane whose input
/// plane starts at `base[0]` in X (and `base[1]` in `src.split`, a region of
/// the plane's size that no other iteration of a parallel loop uses):
/// border rows and columns one by one, the interior as loops over rows and
/// (innermost) columns.
pub(super) fn plane(b: &mut KernelBuilder, src: Src, base: [&Expr; 2], ah: Axis, aw: Axis, elem: &mut dyn FnMut(&mut KernelBuilder, &Site)) {
    let (buf, half, xbase) = match src.split {
        Some(s) if aw.s == 2 && (aw.inp % 2 == 0 || ah.s % 2 == 0) => {
            split_plane(b, src.x, s, base, ah.inp * aw.inp);
            (s, Some((ah.inp * aw.inp + 1) / 2), base[1])
        }
        _ => (src.x, None, base[0]),
    };
    let all_w: Vec<i64> = (0..aw.k).collect();
    let (lo_w, hi_w) = aw.interior();
    let flat = half.is_none() && ah.s == 1 && aw.s == 1 && aw.out == aw.inp && aw.inp <= FLAT_MAX_W && ah.out <= FLAT_MAX_H && hi_w > lo_w;
    // `interior`: the row's interior columns too (else only its border ones).
    type Elem<'e> = &'e mut dyn FnMut(&mut KernelBuilder, &Site);
    let row = |b: &mut KernelBuilder, elem: Elem, oh: Expr, khs: Vec<i64>, padh: i64, interior: bool| {
        let ih0 = b.let_(sub(mul(oh.clone(), ci(ah.s)), ci(ah.p)));
        let rows: Vec<Row> = khs
            .iter()
            .map(|&kh| {
                let rowoff = mul(add(ih0.clone(), ci(kh * ah.d)), ci(aw.inp));
                match half {
                    None => Row { kh, off: b.let_(add(xbase.clone(), rowoff)), par: 0 },
                    Some(_) => {
                        // ih*W's parity is fixed: W even, or ih = even + kh*d - p.
                        let par = ((kh * ah.d - ah.p) * aw.inp).rem_euclid(2);
                        Row { kh, off: b.let_(add(xbase.clone(), div(sub(rowoff, ci(par)), ci(2)))), par }
                    }
                }
            })
            .collect();
        for seg in aw.segments() {
            match seg {
                Seg::One(ow) => {
                    let cols = aw.taps(ow);
                    let site = Site { oh: oh.clone(), ow: ci(ow), rows: &rows, cols: &cols, padded: padh * aw.padded(ow), buf, flat: false, aw, half };
                    elem(b, &site);
                }
                Seg::Range(..) if !interior => {}
                Seg::Range(lo, hi) => {
                    for (a, z) in vector_runs(lo, hi) {
                        b.for_loop(a, z, |b, ow| {
                            let site = Site { oh: oh.clone(), ow, rows: &rows, cols: &all_w, padded: padh * aw.k, buf, flat: false, aw, half };
                            elem(b, &site);
                        });
                    }
                }
            }
        }
    };
    for seg in ah.segments() {
        match seg {
            Seg::One(oh) => row(b, elem, ci(oh), ah.taps(oh), ah.padded(oh), true),
            Seg::Range(lo, hi) if !flat => b.for_loop(lo, hi, |b, oh| row(b, elem, oh, (0..ah.k).collect(), ah.k, true)),
            Seg::Range(lo, hi) => {
                // Narrow rows, stride 1, output as wide as the input: output
                // (oh, ow) reads X at its own flat position plus a constant
                // per tap, so all interior rows run as one long loop. Where
                // `ow` is a border column, that loop reads wrapped-around
                // values (still inside the plane); the loop after it
                // rewrites those positions.
                let rows: Vec<Row> = (0..ah.k).map(|kh| Row { kh, off: b.let_(add(xbase.clone(), ci((kh * ah.d - ah.p) * aw.inp))), par: 0 }).collect();
                for (a, z) in vector_runs(lo * aw.inp + lo_w, (hi - 1) * aw.inp + hi_w) {
                    b.for_loop(a, z, |b, j| {
                        let site = Site { oh: ci(0), ow: j, rows: &rows, cols: &all_w, padded: ah.k * aw.k, buf, flat: true, aw, half };
                        elem(b, &site);
                    });
                }
                // Unrolled: as a loop over rows, LLVM vectorizes it across
                // rows with gathers and scatters (measured 1.6x slower).
                for oh in lo..hi {
                    row(b, elem, ci(oh), (0..ah.k).collect(), ah.k, false);
                }
            }
        }
    }
}

/// Widest rows that `plane` runs as one flattened loop (wider ones vectorize
/// well row by row).
const FLAT_MAX_W: i64 = 32;
/// Most rows of a flattened plane (its border columns are emitted per row).
const FLAT_MAX_H: i64 = 64;

/// The (height, width) axes of a rank-1 or rank-2 window, or `None` when
/// the fast path does not apply.
pub(super) fn axes(xs: &[usize], ys: &[usize], ks: &[usize], w: &Window) -> Option<(Axis, Axis)> {
    let r = xs.len().checked_sub(2)?;
    if !(1..=2).contains(&r) || ys.len() != r + 2 || ks.len() != r || w.strides.len() != r || w.dilations.len() != r || w.pads.len() != 2 * r {
        return None;
    }
    let ax = |i: usize| Axis {
        inp: xs[2 + i] as i64,
        out: ys[2 + i] as i64,
        k: ks[i] as i64,
        s: w.strides[i] as i64,
        p: w.pads[i] as i64,
        pe: w.pads[r + i] as i64,
        d: w.dilations[i] as i64,
    };
    let (ah, aw) = if r == 2 { (ax(0), ax(1)) } else { (Axis::ONE, ax(0)) };
    let ok = [ah, aw].iter().all(|a| a.s > 0 && a.d > 0 && a.k > 0 && a.border() <= MAX_BORDER);
    ok.then_some((ah, aw))
}

/// Most parallel chunks of planes (the pool splits a loop into at most 64).
const CHUNKS: i64 = 64;

/// `for p in 0..planes` as a parallel loop over at most `CHUNKS` contiguous
/// chunks; `f(b, p, chunk)`. Each chunk reuses one split-plane scratch slot
/// (`chunk * plane size`), which stays in cache, rather than every plane
/// writing its own region of a tensor-sized scratch.
fn chunked(b: &mut KernelBuilder, planes: i64, f: &mut dyn FnMut(&mut KernelBuilder, Expr, Expr)) {
    let n = planes.clamp(1, CHUNKS);
    b.par_for(0, n, |b, ch| {
        let lo = b.let_(div(mul(ch.clone(), ci(planes)), ci(n)));
        let hi = b.let_(div(mul(add(ch.clone(), ci(1)), ci(planes)), ci(n)));
        b.for_loop(lo, hi, |b, p| f(b, p, ch));
    });
}

/// The output multi-index `[n, c, (oh,) ow]` for an epilogue.
fn out_index(rank: usize, n: &Expr, c: &Expr, s: &Site) -> Vec<Expr> {
    let mut v = vec![n.clone(), c.clone()];
    if rank == 4 {
        v.push(s.oh.clone());
    }
    v.push(s.ow.clone());
    v
}

/// Depthwise convolution (`group > 1`, one input channel per group, any
/// number of output channels per group), with its fused epilogue.
pub(super) fn conv(cx: &mut Cx, n: &Node, w: &Window, group: usize) -> Result<bool, LowerError> {
    let (x, wt, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let bias = n.input(2);
    let (xs, ws, ys) = (cx.ty(x).shape.clone(), cx.ty(wt).shape.clone(), cx.ty(y).shape.clone());
    let d = cx.ty(x).dtype;
    let same = [x, wt, y].iter().chain(bias.iter()).all(|v| cx.ty(*v).dtype == d);
    if !same || !matches!(d, DType::F32 | DType::F64) || group <= 1 || ws.len() != xs.len() || xs.len() < 3 {
        return Ok(false);
    }
    let (nb, c, m) = (xs[0] as i64, xs[1] as i64, ys[1] as i64);
    let g = group as i64;
    if ws[1] != 1 || c != g || m % g != 0 || m == 0 {
        return Ok(false);
    }
    let Some((ah, aw)) = axes(&xs, &ys, &ws[2..], w) else { return Ok(false) };
    let mg = m / g;
    let t = scalar(d);
    let (is, os, taps) = (ah.inp * aw.inp, ah.out * aw.out, ah.k * aw.k);
    let rank = ys.len();
    let mut b = cx.builder("dwconv");
    let px = b.input(t);
    let pw = b.input(t);
    let pb = bias.map(|_| b.input(t));
    let py = b.output(t);
    let ps = (aw.s == 2).then(|| b.output(t));
    let epi = Epilogue::declare(cx, &mut b, n)?;
    b.allow_contract();
    chunked(&mut b, nb * m, &mut |b, nm, chunk| {
        let ni = b.let_(div(nm.clone(), ci(m)));
        let mi = b.let_(rem(nm.clone(), ci(m)));
        let xbase = b.let_(mul(add(mul(ni.clone(), ci(c)), div(mi.clone(), ci(mg))), ci(is)));
        let ybase = b.let_(mul(nm.clone(), ci(os)));
        // The taps and the bias stay in registers for the whole plane.
        let wbase = b.let_(mul(mi.clone(), ci(taps)));
        let wv: Vec<Expr> = (0..taps).map(|q| b.let_(load(pw, add(wbase.clone(), ci(q))))).collect();
        let init = match pb {
            Some(pb) => b.let_(load(pb, mi.clone())),
            None => cf(t, 0.0),
        };
        let sbase = b.let_(mul(chunk, ci(is)));
        plane(b, Src { x: px, split: ps }, [&xbase, &sbase], ah, aw, &mut |b, s| {
            let mut acc = init.clone();
            for (r, row) in s.rows.iter().enumerate() {
                let kh = row.kh;
                for &kw in s.cols {
                    acc = add(acc, mul(wv[(kh * aw.k + kw) as usize].clone(), load(s.buf, s.at(r, kw))));
                }
            }
            let yi = b.let_(add(ybase.clone(), add(mul(s.oh.clone(), ci(aw.out)), s.ow.clone())));
            let idx = out_index(rank, &ni, &mi, s);
            let at = if s.flat { OutIndex::Flat(yi.clone()) } else { OutIndex::Multi(&idx) };
            let v = epi.apply(b, acc, at);
            b.store(py, yi, v);
        });
    });
    let mut args = vec![cx.buf(x)?, cx.buf(wt)?];
    if let Some(bv) = bias {
        args.push(cx.buf(bv)?);
    }
    args.push(cx.buf(y)?);
    if ps.is_some() {
        args.push(cx.scratch(((nb * m).clamp(1, CHUNKS) * is) as usize * d.size()));
    }
    epi.push_args(cx, &mut args)?;
    epi.check(cx)?;
    cx.emit(b.finish(), args);
    Ok(true)
}

/// MaxPool (without the Indices output) and AveragePool on f32/f64.
/// Average divides by a compile-time count per position: the in-bounds taps,
/// or with `include_pad` the window positions inside the padded input.
pub(super) fn pool(cx: &mut Cx, n: &Node, w: &Window, is_max: bool, include_pad: bool) -> Result<bool, LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let (xs, ys) = (cx.ty(x).shape.clone(), cx.ty(y).shape.clone());
    let d = cx.ty(x).dtype;
    let wants_indices = is_max && n.outputs.len() > 1;
    if wants_indices || !matches!(d, DType::F32 | DType::F64) || cx.ty(y).dtype != d || ys.len() != xs.len() {
        return Ok(false);
    }
    let Some((ah, aw)) = axes(&xs, &ys, &w.kernel_shape, w) else { return Ok(false) };
    let t = scalar(d);
    let (is, os) = (ah.inp * aw.inp, ah.out * aw.out);
    let mut b = cx.builder(if is_max { "maxpool" } else { "avgpool" });
    let px = b.input(t);
    let py = b.output(t);
    let ps = (aw.s == 2).then(|| b.output(t));
    chunked(&mut b, (xs[0] * xs[1]) as i64, &mut |b, nc, chunk| {
        let xbase = b.let_(mul(nc.clone(), ci(is)));
        let ybase = b.let_(mul(nc, ci(os)));
        let sbase = b.let_(mul(chunk, ci(is)));
        plane(b, Src { x: px, split: ps }, [&xbase, &sbase], ah, aw, &mut |b, s| {
            let mut acc: Option<Expr> = None;
            for r in 0..s.rows.len() {
                for &kw in s.cols {
                    let v = load(s.buf, s.at(r, kw));
                    acc = Some(match acc {
                        None => v,
                        Some(a) if is_max => max(a, v),
                        Some(a) => add(a, v),
                    });
                }
            }
            let count = if include_pad { s.padded } else { (s.rows.len() * s.cols.len()) as i64 };
            let res = match acc {
                None if is_max => extreme(t, true),
                None => cf(t, 0.0),
                Some(a) if is_max => a,
                Some(a) => div(a, cf(t, count.max(1) as f64)),
            };
            let yi = b.let_(add(ybase.clone(), add(mul(s.oh.clone(), ci(aw.out)), s.ow.clone())));
            b.store(py, yi, res);
        });
    });
    let mut args = vec![cx.buf(x)?, cx.buf(y)?];
    if ps.is_some() {
        args.push(cx.scratch(((xs[0] * xs[1]) as i64).clamp(1, CHUNKS) as usize * is as usize * d.size()));
    }
    cx.emit(b.finish(), args);
    Ok(true)
}

/// Lanes of the partial sums in `global_pool`: one AVX-512 vector of f32.
const LANES: i64 = 16;

/// GlobalAveragePool / GlobalMaxPool on f32/f64: each plane is reduced in
/// `LANES` interleaved partial results (which LLVM keeps in one vector
/// register; a single running sum would be a serial chain it may not
/// reorder), then the lanes are combined.
pub(super) fn global_pool(cx: &mut Cx, n: &Node, is_max: bool) -> Result<bool, LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let d = cx.ty(x).dtype;
    if xs.len() < 3 || !matches!(d, DType::F32 | DType::F64) || cx.ty(y).dtype != d {
        return Ok(false);
    }
    let t = scalar(d);
    let inner = xs[2..].iter().product::<usize>() as i64;
    let (body, tail) = (inner / LANES * LANES, inner % LANES);
    let ident = if is_max { extreme(t, true) } else { cf(t, 0.0) };
    let comb = |a: Expr, v: Expr| if is_max { max(a, v) } else { add(a, v) };
    let mut b = cx.builder(if is_max { "gmaxpool" } else { "gavgpool" });
    let px = b.input(t);
    let py = b.output(t);
    b.par_for(0, (xs[0] * xs[1]) as i64, |b, nc| {
        let base = b.let_(mul(nc.clone(), ci(inner)));
        let accs: Vec<_> = (0..LANES).map(|_| b.var(ident.clone())).collect();
        b.for_step(0, body, LANES, |b, i| {
            let at = b.let_(add(base.clone(), i));
            for (q, a) in accs.iter().enumerate() {
                b.assign(*a, comb(Expr::Local(*a), load(px, add(at.clone(), ci(q as i64)))));
            }
        });
        for (q, a) in accs.iter().enumerate().take(tail as usize) {
            b.assign(*a, comb(Expr::Local(*a), load(px, add(base.clone(), ci(body + q as i64)))));
        }
        // Pairwise combination: log2(LANES) vector steps.
        let mut v: Vec<Expr> = accs.iter().map(|a| Expr::Local(*a)).collect();
        while v.len() > 1 {
            let h = v.len() / 2;
            v = (0..h).map(|q| b.let_(comb(v[q].clone(), v[q + h].clone()))).collect();
        }
        let r = if is_max { v[0].clone() } else { div(v[0].clone(), cf(t, inner.max(1) as f64)) };
        b.store(py, nc, r);
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(true)
}
