//! Neural-network ops: Conv, Gemm, MatMul, BatchNormalization, Softmax
//! family, Dropout. Pooling and LRN live in `pool.rs`.
//!
//! Conv and MatMul/Gemm fold full CNNs and serve as test oracles, so they
//! share one blocked matrix kernel (`gemm_acc`) whose inner loop is a
//! contiguous axpy that LLVM vectorizes; Conv reaches it through im2col.

use super::util::{
    arg, axis, bcast_map, bcast_shapes, float_dispatch, num_dispatch2, opt, Data, Float, Num,
};
use crate::error::OpError;
use crate::op::Window;
use crate::op_err;
use crate::tensor::Tensor;

type Out = Result<Vec<Tensor>, OpError>;
type Args<'a, 'b> = &'a [Option<&'b Tensor>];

/// Columns of C per block: 4 row segments of C stay in L1 while B streams.
const NB: usize = 256;
/// Depth per block: a KB x NB panel of B stays in L2.
const KB: usize = 128;

/// Work (multiply-adds) below which threads cost more than they save.
const PAR_MIN_WORK: usize = 1 << 22;

/// `gemm_acc`, split by rows of C over the available cores for big products
/// (ResNet-sized folds); each thread owns disjoint rows, so results are
/// bit-identical to the serial kernel.
pub(crate) fn gemm_par<T: Num>(m: usize, k: usize, n: usize, a: &[T], b: &[T], c: &mut [T]) {
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(16);
    if threads < 2 || m < 8 || m.saturating_mul(k).saturating_mul(n) < PAR_MIN_WORK {
        return gemm_acc(m, k, n, a, b, c);
    }
    // Row blocks that are multiples of 4 keep the 4-row micro-kernel busy.
    let rows = m.div_ceil(threads).div_ceil(4) * 4;
    std::thread::scope(|s| {
        for (i, cb) in c[..m * n].chunks_mut(rows * n).enumerate() {
            let mr = cb.len() / n.max(1);
            let ab = &a[i * rows * k..(i * rows + mr) * k];
            s.spawn(move || gemm_acc(mr, k, n, ab, b, cb));
        }
    });
}

/// `c[m x n] += a[m x k] * b[k x n]`, all row-major and dense.
pub(crate) fn gemm_acc<T: Num>(m: usize, k: usize, n: usize, a: &[T], b: &[T], c: &mut [T]) {
    debug_assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    for j0 in (0..n).step_by(NB) {
        let j1 = (j0 + NB).min(n);
        for k0 in (0..k).step_by(KB) {
            let k1 = (k0 + KB).min(k);
            let mut i = 0;
            while i + 4 <= m {
                let rows = &mut c[i * n..(i + 4) * n];
                let (r0, rest) = rows.split_at_mut(n);
                let (r1, rest) = rest.split_at_mut(n);
                let (r2, r3) = rest.split_at_mut(n);
                let (r0, r1, r2, r3) = (
                    &mut r0[j0..j1],
                    &mut r1[j0..j1],
                    &mut r2[j0..j1],
                    &mut r3[j0..j1],
                );
                for kk in k0..k1 {
                    let br = &b[kk * n + j0..kk * n + j1];
                    let (x0, x1, x2, x3) = (
                        a[i * k + kk],
                        a[(i + 1) * k + kk],
                        a[(i + 2) * k + kk],
                        a[(i + 3) * k + kk],
                    );
                    axpy4(br, [x0, x1, x2, x3], r0, r1, r2, r3);
                }
                i += 4;
            }
            for i in i..m {
                let r = &mut c[i * n + j0..i * n + j1];
                for kk in k0..k1 {
                    let x = a[i * k + kk];
                    let br = &b[kk * n + j0..kk * n + j1];
                    for (o, &v) in r.iter_mut().zip(br) {
                        *o = o.add(x.mul(v));
                    }
                }
            }
        }
    }
}

/// Four row updates from one pass over `b` (one load of `b` per 4 FMAs).
#[inline(always)]
fn axpy4<T: Num>(b: &[T], x: [T; 4], r0: &mut [T], r1: &mut [T], r2: &mut [T], r3: &mut [T]) {
    let len = b.len();
    let (r0, r1, r2, r3) = (
        &mut r0[..len],
        &mut r1[..len],
        &mut r2[..len],
        &mut r3[..len],
    );
    for j in 0..len {
        let v = b[j];
        r0[j] = r0[j].add(x[0].mul(v));
        r1[j] = r1[j].add(x[1].mul(v));
        r2[j] = r2[j].add(x[2].mul(v));
        r3[j] = r3[j].add(x[3].mul(v));
    }
}

/// Spatial geometry padded to three dims (missing leading dims are size 1),
/// so Conv and the pools need one loop nest for 1-D, 2-D and 3-D.
#[derive(Clone, Debug)]
pub(crate) struct Geo {
    pub inp: [usize; 3],
    pub out: [usize; 3],
    pub k: [usize; 3],
    pub s: [usize; 3],
    pub d: [usize; 3],
    pub pb: [usize; 3],
    pub pe: [usize; 3],
}

impl Geo {
    pub fn new(
        w: &Window,
        spatial: &[usize],
        kernel: &[usize],
        ceil_mode: bool,
    ) -> Result<Geo, OpError> {
        let r = spatial.len();
        if r == 0 || r > 3 {
            return Err(op_err!(
                "{r}-D windows are not supported (1 to 3 spatial dims)"
            ));
        }
        let or_ones = |v: &[usize], n: usize| if v.is_empty() { vec![1; n] } else { v.to_vec() };
        let win = Window {
            kernel_shape: kernel.to_vec(),
            strides: or_ones(&w.strides, r),
            dilations: or_ones(&w.dilations, r),
            pads: if w.pads.is_empty() {
                vec![0; 2 * r]
            } else {
                w.pads.clone()
            },
        };
        let bad = win.kernel_shape.len() != r
            || win.strides.len() != r
            || win.dilations.len() != r
            || win.pads.len() != 2 * r
            || win
                .strides
                .iter()
                .chain(&win.dilations)
                .chain(&win.kernel_shape)
                .any(|&v| v == 0)
            // Absurd attributes would overflow the extent arithmetic.
            || (win.strides.iter())
                .chain(&win.dilations)
                .chain(&win.kernel_shape)
                .chain(&win.pads)
                .any(|&v| v > 1 << 31);
        if bad {
            return Err(op_err!("window {win:?} does not fit {r} spatial dims"));
        }
        let mut g = Geo {
            inp: [1; 3],
            out: [1; 3],
            k: [1; 3],
            s: [1; 3],
            d: [1; 3],
            pb: [0; 3],
            pe: [0; 3],
        };
        #[allow(clippy::needless_range_loop)]
        for i in 0..r {
            let j = 3 - r + i;
            g.inp[j] = spatial[i];
            g.out[j] = win.out_dim(i, spatial[i], ceil_mode);
            g.k[j] = win.kernel_shape[i];
            g.s[j] = win.strides[i];
            g.d[j] = win.dilations[i];
            g.pb[j] = win.pads[i];
            g.pe[j] = win.pads[i + r];
        }
        Ok(g)
    }

    /// Input coordinate along dim `a` of output `o`, tap `t`, if inside.
    #[inline]
    pub fn src(&self, a: usize, o: usize, t: usize) -> Option<usize> {
        (o * self.s[a] + t * self.d[a])
            .checked_sub(self.pb[a])
            .filter(|&i| i < self.inp[a])
    }

    /// The outputs `lo..hi` along dim `a` whose tap `t` is inside the input
    /// (a contiguous range, since the source coordinate grows with `o`).
    pub fn valid_range(&self, a: usize, t: usize) -> (usize, usize) {
        let off = t * self.d[a];
        let s = self.s[a];
        // o * s + off >= pb  and  o * s + off < pb + inp
        let lo = self.pb[a].saturating_sub(off).div_ceil(s);
        let hi = (self.pb[a] + self.inp[a]).saturating_sub(off).div_ceil(s);
        (
            lo.min(self.out[a]),
            hi.min(self.out[a]).max(lo.min(self.out[a])),
        )
    }

    pub fn out_spatial(&self, r: usize) -> Vec<usize> {
        self.out[3 - r..].to_vec()
    }
}

pub(crate) fn conv(w: &Window, group: usize, inputs: Args) -> Out {
    let (x, wt) = (arg(inputs, 0)?, arg(inputs, 1)?);
    let (xs, ws) = (x.shape(), wt.shape());
    if xs.len() < 3 || ws.len() != xs.len() || x.dtype() != wt.dtype() {
        return Err(op_err!(
            "Conv needs X and W of one float type and equal rank >= 3, got {} and {}",
            x.ty(),
            wt.ty()
        ));
    }
    let (n, c, m) = (xs[0], xs[1], ws[0]);
    if group == 0 || c % group != 0 || m % group != 0 || ws[1] * group != c {
        return Err(op_err!(
            "Conv: X {xs:?}, W {ws:?} and group {group} do not match"
        ));
    }
    let kernel = if w.kernel_shape.is_empty() {
        ws[2..].to_vec()
    } else {
        w.kernel_shape.clone()
    };
    if kernel != ws[2..] {
        return Err(op_err!(
            "Conv kernel_shape {kernel:?} does not match W {ws:?}"
        ));
    }
    let g = Geo::new(w, &xs[2..], &kernel, false)?;
    let bias = match opt(inputs, 2) {
        Some(b) if b.shape() != [m] || b.dtype() != x.dtype() => {
            return Err(op_err!(
                "Conv bias {} does not match {m} output channels",
                b.ty()
            ))
        }
        b => b.map(Data::of),
    };
    let mut shape = vec![n, m];
    shape.extend(g.out_spatial(xs.len() - 2));
    let (dx, dw) = (Data::of(x), Data::of(wt));
    let d = match (&dx, &dw, &bias) {
        (Data::F32(a), Data::F32(b), Some(Data::F32(bi))) => {
            Data::F32(conv_t(a, b, Some(bi), &g, n, c, m, group))
        }
        (Data::F32(a), Data::F32(b), None) => Data::F32(conv_t(a, b, None, &g, n, c, m, group)),
        (Data::F64(a), Data::F64(b), Some(Data::F64(bi))) => {
            Data::F64(conv_t(a, b, Some(bi), &g, n, c, m, group))
        }
        (Data::F64(a), Data::F64(b), None) => Data::F64(conv_t(a, b, None, &g, n, c, m, group)),
        _ => {
            return Err(op_err!(
                "Conv is defined on float tensors, got {}",
                x.dtype()
            ))
        }
    };
    Ok(vec![d.into_tensor(x.dtype(), &shape)?])
}

#[allow(clippy::too_many_arguments)]
fn conv_t<T: Float>(
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    g: &Geo,
    n: usize,
    c: usize,
    m: usize,
    group: usize,
) -> Vec<T> {
    let (cg, mg) = (c / group, m / group);
    let plane_in: usize = g.inp.iter().product();
    let p: usize = g.out.iter().product();
    let taps: usize = g.k.iter().product();
    let kdim = cg * taps;
    let mut out = vec![T::zero(); n * m * p];
    // A 1x1, stride-1, unpadded conv reads its input as the column matrix.
    let direct = taps == 1 && g.s == [1; 3] && g.pb == [0; 3] && g.pe == [0; 3];
    let mut col = if direct {
        Vec::new()
    } else {
        vec![T::zero(); kdim * p]
    };
    for b in 0..n {
        for gi in 0..group {
            let xg = &x[(b * c + gi * cg) * plane_in..(b * c + (gi + 1) * cg) * plane_in];
            if !direct {
                im2col(xg, g, cg, &mut col);
            }
            let cols: &[T] = if direct { xg } else { &col };
            let o = &mut out[(b * m + gi * mg) * p..(b * m + (gi + 1) * mg) * p];
            if let Some(bias) = bias {
                for (oc, row) in o.chunks_mut(p.max(1)).enumerate() {
                    row.fill(bias[gi * mg + oc]);
                }
            }
            gemm_par(
                mg,
                kdim,
                p,
                &w[gi * mg * kdim..(gi + 1) * mg * kdim],
                cols,
                o,
            );
        }
    }
    out
}

/// Unfolds the `cg` channels of one image into `col[(ch, tap) x out_pos]`,
/// zero where a tap falls into padding.
fn im2col<T: Float>(x: &[T], g: &Geo, cg: usize, col: &mut [T]) {
    let [id, ih, iw] = g.inp;
    let [od, oh, ow] = g.out;
    let p = od * oh * ow;
    let mut row = 0;
    for ch in 0..cg {
        let xc = &x[ch * id * ih * iw..(ch + 1) * id * ih * iw];
        for kd in 0..g.k[0] {
            for kh in 0..g.k[1] {
                for kw in 0..g.k[2] {
                    let dst = &mut col[row * p..(row + 1) * p];
                    row += 1;
                    for zd in 0..od {
                        for zh in 0..oh {
                            let seg = &mut dst[(zd * oh + zh) * ow..(zd * oh + zh + 1) * ow];
                            let (Some(sd), Some(sh)) = (g.src(0, zd, kd), g.src(1, zh, kh)) else {
                                seg.fill(T::zero());
                                continue;
                            };
                            let src = &xc[(sd * ih + sh) * iw..(sd * ih + sh + 1) * iw];
                            let (lo, hi) = g.valid_range(2, kw);
                            seg[..lo].fill(T::zero());
                            seg[hi..].fill(T::zero());
                            if lo < hi {
                                let first = lo * g.s[2] + kw * g.d[2] - g.pb[2];
                                if g.s[2] == 1 {
                                    seg[lo..hi].copy_from_slice(&src[first..first + hi - lo]);
                                } else {
                                    for (j, o) in seg[lo..hi].iter_mut().enumerate() {
                                        *o = src[first + j * g.s[2]];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Batched matrix product with numpy's MatMul rules (1-D promotion,
/// broadcast batch dims).
pub(crate) fn matmul(inputs: Args) -> Out {
    let (a, b) = (arg(inputs, 0)?, arg(inputs, 1)?);
    if a.dtype() != b.dtype() || a.shape().is_empty() || b.shape().is_empty() {
        return Err(op_err!(
            "MatMul needs two tensors of one type and rank >= 1, got {} and {}",
            a.ty(),
            b.ty()
        ));
    }
    let mut sa = a.shape().to_vec();
    let mut sb = b.shape().to_vec();
    let (va, vb) = (sa.len() == 1, sb.len() == 1);
    if va {
        sa.insert(0, 1);
    }
    if vb {
        sb.push(1);
    }
    let (ra, rb) = (sa.len(), sb.len());
    let (m, k, k2, n) = (sa[ra - 2], sa[ra - 1], sb[rb - 2], sb[rb - 1]);
    if k != k2 {
        return Err(op_err!(
            "MatMul inner dims differ: {:?} x {:?}",
            a.shape(),
            b.shape()
        ));
    }
    let batch = bcast_shapes(&[&sa[..ra - 2], &sb[..rb - 2]])?;
    let (ia, ib) = (
        bcast_map(&sa[..ra - 2], &batch),
        bcast_map(&sb[..rb - 2], &batch),
    );
    let mut shape = batch.clone();
    if !va {
        shape.push(m);
    }
    if !vb {
        shape.push(n);
    }
    let (da, db) = (Data::of(a), Data::of(b));
    let d = num_dispatch2!(&da, &db, x, y => {
        let mut out = vec![Num::zero(); ia.len() * m * n];
        for (bi, o) in out.chunks_mut((m * n).max(1)).enumerate().take(ia.len()) {
            gemm_par(m, k, n, &x[ia[bi] * m * k..], &y[ib[bi] * k * n..], o);
        }
        Ok(Num::wrap(out))
    })?;
    Ok(vec![d.into_tensor(a.dtype(), &shape)?])
}

fn transposed<T: Copy>(v: &[T], rows: usize, cols: usize) -> Vec<T> {
    (0..cols)
        .flat_map(|j| (0..rows).map(move |i| v[i * cols + j]))
        .collect()
}

pub(crate) fn gemm(alpha: f32, beta: f32, trans_a: bool, trans_b: bool, inputs: Args) -> Out {
    let (a, b) = (arg(inputs, 0)?, arg(inputs, 1)?);
    let (sa, sb) = (a.shape(), b.shape());
    if a.dtype() != b.dtype() || sa.len() != 2 || sb.len() != 2 {
        return Err(op_err!(
            "Gemm needs two matrices of one type, got {} and {}",
            a.ty(),
            b.ty()
        ));
    }
    let (m, k) = if trans_a {
        (sa[1], sa[0])
    } else {
        (sa[0], sa[1])
    };
    let (k2, n) = if trans_b {
        (sb[1], sb[0])
    } else {
        (sb[0], sb[1])
    };
    if k != k2 {
        return Err(op_err!(
            "Gemm inner dims differ: {sa:?} x {sb:?} (trans {trans_a}, {trans_b})"
        ));
    }
    let c = opt(inputs, 2);
    let cidx = match c {
        Some(c) if c.dtype() != a.dtype() || bcast_shapes(&[c.shape(), &[m, n]])? != [m, n] => {
            return Err(op_err!(
                "Gemm C {} does not broadcast to [{m}, {n}]",
                c.ty()
            ))
        }
        Some(c) => Some((Data::of(c), bcast_map(c.shape(), &[m, n]))),
        None => None,
    };
    let (da, db) = (Data::of(a), Data::of(b));
    let d = num_dispatch2!(&da, &db, x, y => {
        let xa = if trans_a { transposed(x, sa[0], sa[1]) } else { x.clone() };
        let yb = if trans_b { transposed(y, sb[0], sb[1]) } else { y.clone() };
        let mut out = vec![Num::zero(); m * n];
        gemm_par(m, k, n, &xa, &yb, &mut out);
        let cv = cidx.as_ref().map(|(d, idx)| (d.cast(), idx));
        gemm_epilogue(&mut out, alpha, beta, cv);
        Ok(Num::wrap(out))
    })?;
    Ok(vec![d.into_tensor(a.dtype(), &[m, n])?])
}

/// `out = alpha * out + beta * C`; exact for integers when alpha = beta = 1.
fn gemm_epilogue<T: Num>(out: &mut [T], alpha: f32, beta: f32, c: Option<(Vec<T>, &Vec<usize>)>) {
    let exact = alpha == 1.0 && (beta == 1.0 || c.is_none());
    if !exact {
        for o in out.iter_mut() {
            *o = T::cast_f64(alpha as f64 * o.as_f64());
        }
    }
    if let Some((cv, idx)) = c {
        for (o, &i) in out.iter_mut().zip(idx) {
            *o = if beta == 1.0 {
                o.add(cv[i])
            } else {
                o.add(T::cast_f64(beta as f64 * cv[i].as_f64()))
            };
        }
    }
}

pub(crate) fn batch_norm(eps: f32, inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let xs = x.shape();
    if xs.len() < 2 {
        return Err(op_err!("BatchNormalization needs rank >= 2, got {:?}", xs));
    }
    let c = xs[1];
    let mut p = Vec::with_capacity(4);
    for i in 1..5 {
        let t = arg(inputs, i)?;
        if t.shape() != [c] || !t.dtype().is_float() {
            return Err(op_err!(
                "BatchNormalization parameter {i} is {}, expected [{c}] floats",
                t.ty()
            ));
        }
        p.push(Data::of(t).cast::<f64>());
    }
    // Fold the per-channel parameters once: y = x * a + b.
    let ab: Vec<(f64, f64)> = (0..c)
        .map(|ch| {
            let a = p[0][ch] / (p[3][ch] + eps as f64).sqrt();
            (a, p[1][ch] - p[2][ch] * a)
        })
        .collect();
    let inner: usize = xs[2..].iter().product();
    let d = float_dispatch!(Data::of(x), v => {
        let out = v.iter().enumerate().map(|(i, &e)| {
            let (a, b) = ab[(i / inner.max(1)) % c];
            of_like(e, e.as_f64() * a + b)
        }).collect::<Vec<_>>();
        Ok(Num::wrap(out))
    })?;
    Ok(vec![d.into_tensor(x.dtype(), xs)?])
}

/// `v` as the float type of `_like` (names the type inside dispatch macros).
fn of_like<T: Float>(_like: T, v: f64) -> T {
    T::of(v)
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum SoftKind {
    Softmax,
    LogSoftmax,
    Hardmax,
}

pub(crate) fn softmax(ax: i64, kind: SoftKind, inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let sh = x.shape();
    let a = axis(ax, sh.len())?;
    let (outer, d, inner) = (
        sh[..a].iter().product::<usize>(),
        sh[a],
        sh[a + 1..].iter().product::<usize>(),
    );
    let r = float_dispatch!(Data::of(x), v => {
        let mut out = v.clone();
        let mut line = Vec::with_capacity(d);
        for o in 0..outer {
            for i in 0..inner {
                line.clear();
                line.extend((0..d).map(|j| v[(o * d + j) * inner + i]));
                soft_line(kind, &mut line);
                for (j, &r) in line.iter().enumerate() {
                    out[(o * d + j) * inner + i] = r;
                }
            }
        }
        Ok(Num::wrap(out))
    })?;
    Ok(vec![r.into_tensor(x.dtype(), sh)?])
}

/// One softmax line, in place.
fn soft_line<T: Float>(kind: SoftKind, v: &mut [T]) {
    if v.is_empty() {
        return;
    }
    let max = v.iter().fold(T::lowest(), |m, &e| m.max_nan(e));
    if kind == SoftKind::Hardmax {
        // numpy argmax: the first maximum, a NaN counting as the maximum.
        let hit = v.iter().position(|&e| e == max || e.is_nan()).unwrap_or(0);
        for (j, e) in v.iter_mut().enumerate() {
            *e = if j == hit { T::one() } else { T::zero() };
        }
        return;
    }
    let sum = v.iter().fold(T::zero(), |s, &e| s.add(e.sub(max).exp()));
    let log_sum = sum.ln();
    for e in v.iter_mut() {
        *e = match kind {
            SoftKind::LogSoftmax => e.sub(max).sub(log_sum),
            _ => e.sub(max).exp().div(sum),
        };
    }
}

pub(crate) fn dropout(inputs: Args, n_out: usize) -> Out {
    let x = arg(inputs, 0)?;
    if let Some(t) = opt(inputs, 2) {
        let ratio = opt(inputs, 1).map_or(0.5, |r| {
            Data::of(r).cast::<f64>().first().copied().unwrap_or(0.5)
        });
        if Data::of(t).cast::<bool>().first() == Some(&true) && ratio != 0.0 {
            return Err(op_err!(
                "training-mode Dropout is random and cannot be evaluated"
            ));
        }
    }
    let mut outs = vec![x.clone()];
    if n_out >= 2 {
        outs.push(Tensor::from_vec(x.shape(), vec![true; x.numel()]));
    }
    Ok(outs)
}
