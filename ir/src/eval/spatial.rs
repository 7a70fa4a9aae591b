//! Sampling ops: GridSample and AffineGrid (after the ONNX reference
//! implementation, computing coordinates and weights in f64), and BitCast.

use super::util::*;
use crate::dtype::DType;
use crate::error::OpError;
use crate::op::{GridPadding, Op, ResizeMode};
use crate::op_err;
use crate::tensor::Tensor;

pub(super) fn eval(op: &Op, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    match op {
        Op::GridSample { mode, padding, align_corners } => {
            grid_sample(*mode, *padding, *align_corners, arg(inputs, 0)?, arg(inputs, 1)?)
        }
        Op::AffineGrid { align_corners } => affine_grid(*align_corners, arg(inputs, 0)?, arg(inputs, 1)?),
        Op::BitCast { to } => {
            let x = arg(inputs, 0)?;
            if x.dtype().size() != to.size() {
                return Err(op_err!("cannot bitcast {} to {to}", x.dtype()));
            }
            let bytes = x.bytes().to_vec();
            // Bool elements must stay 0/1; any other byte reads as true.
            let bytes = if *to == DType::Bool { bytes.iter().map(|&b| (b != 0) as u8).collect() } else { bytes };
            Ok(vec![tensor_from_bytes(*to, x.shape(), bytes)?])
        }
        other => Err(op_err!("{} is not a sampling op", other.onnx_name())),
    }
}

/// Reflects `x` into `[lo, hi]` by its nearest border, repeatedly (the
/// reference's `_gs_reflect`).
pub fn gs_reflect(x: f64, lo: f64, hi: f64) -> f64 {
    let rng = hi - lo;
    if rng <= 0.0 {
        return lo;
    }
    if x < lo {
        let dx = lo - x;
        let n = (dx / rng).trunc();
        let r = dx - n * rng;
        if n % 2.0 == 0.0 { lo + r } else { hi - r }
    } else if x > hi {
        let dx = x - hi;
        let n = (dx / rng).trunc();
        let r = dx - n * rng;
        if n % 2.0 == 0.0 { hi - r } else { lo + r }
    } else {
        x
    }
}

/// Keys cubic convolution weights (a = -0.75) for the taps at -1, 0, 1, 2
/// relative to `floor(x)`, given `t = x - floor(x)`.
pub fn cubic_coeffs(t: f64) -> [f64; 4] {
    let a = -0.75;
    let w = |x: f64| -> f64 {
        let x = x.abs();
        if x <= 1.0 {
            ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
        } else {
            ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
        }
    };
    [w(t + 1.0), w(t), w(1.0 - t), w(2.0 - t)]
}

/// Per-axis borders `[lo, hi]` of valid coordinates.
pub fn gs_border(dim: usize, align_corners: bool) -> (f64, f64) {
    if align_corners { (0.0, dim as f64 - 1.0) } else { (-0.5, dim as f64 - 0.5) }
}

/// The pixel coordinate along an axis of extent `dim` of normalized `g`,
/// after border/reflection adjustment (and rounding for nearest).
pub fn gs_coord(g: f64, dim: usize, mode: ResizeMode, pad: GridPadding, align: bool) -> f64 {
    let d = dim as f64;
    let mut x = if align { (g + 1.0) / 2.0 * (d - 1.0) } else { ((g + 1.0) * d - 1.0) / 2.0 };
    if mode == ResizeMode::Nearest {
        x = x.round_ties_even();
    }
    let (lo, hi) = gs_border(dim, align);
    if x < lo || x > hi {
        match pad {
            GridPadding::Border => x = x.clamp(0.0, d - 1.0),
            GridPadding::Reflection => x = gs_reflect(x, lo, hi),
            GridPadding::Zeros => {}
        }
    }
    x
}

/// The taps of one axis: (index to read, weight), with `None` for a tap
/// that reads the zero padding.
fn taps(x: f64, dim: usize, mode: ResizeMode, pad: GridPadding, align: bool) -> Vec<(Option<usize>, f64)> {
    let (lo, hi) = gs_border(dim, align);
    let at = |i: i64| -> Option<usize> {
        let i = match pad {
            GridPadding::Zeros => i,
            GridPadding::Border => i.clamp(0, dim as i64 - 1),
            GridPadding::Reflection => gs_reflect(i as f64, lo, hi) as i64,
        };
        (0..dim as i64).contains(&i).then_some(i as usize)
    };
    match mode {
        ResizeMode::Nearest => vec![(at(x as i64), 1.0)],
        ResizeMode::Linear => {
            let f = x.floor();
            let t = x - f;
            vec![(at(f as i64), 1.0 - t), (at(f as i64 + 1), t)]
        }
        ResizeMode::Cubic => {
            let f = x.floor();
            let c = cubic_coeffs(x - f);
            (0..4).map(|k| (at(f as i64 - 1 + k as i64), c[k])).collect()
        }
    }
}

fn grid_sample(
    mode: ResizeMode,
    pad: GridPadding,
    align: bool,
    x: &Tensor,
    grid: &Tensor,
) -> Result<Vec<Tensor>, OpError> {
    let (xs, gs) = (x.shape(), grid.shape());
    let r = xs.len().checked_sub(2).ok_or_else(|| op_err!("X must have rank >= 3"))?;
    if gs.len() != r + 2 || gs[0] != xs[0] || gs[r + 1] != r {
        return Err(op_err!("grid of shape {gs:?} does not match X of shape {xs:?}"));
    }
    let (xv, gv) = (x.to_f64_vec(), grid.to_f64_vec());
    let dims = &xs[2..];
    let outer: usize = gs[1..=r].iter().product();
    let plane: usize = dims.iter().product();
    let xst = strides(dims);
    let (n, c) = (xs[0], xs[1]);
    let mut out = vec![0.0; n * c * outer];
    for b in 0..n {
        for o in 0..outer {
            let g = &gv[(b * outer + o) * r..(b * outer + o + 1) * r];
            // grid's last axis lists coordinates innermost-axis first.
            let axes: Vec<_> = (0..r).map(|i| taps(gs_coord(g[r - 1 - i], dims[i], mode, pad, align), dims[i], mode, pad, align)).collect();
            for ch in 0..c {
                let base = (b * c + ch) * plane;
                out[(b * c + ch) * outer + o] = sum_taps(&axes, 0, 0, 1.0, &|off| xv[base + off], &xst);
            }
        }
    }
    let mut shape = vec![n, c];
    shape.extend_from_slice(&gs[1..=r]);
    Ok(vec![Tensor::from_f64(x.dtype(), shape, &out)])
}

fn sum_taps(axes: &[Vec<(Option<usize>, f64)>], k: usize, off: usize, w: f64, at: &dyn Fn(usize) -> f64, st: &[usize]) -> f64 {
    if k == axes.len() {
        return w * at(off);
    }
    axes[k].iter().map(|&(i, wi)| match i {
        Some(i) => sum_taps(axes, k + 1, off + i * st[k], w * wi, at, st),
        None => 0.0,
    }).sum()
}

/// The base coordinates of AffineGrid along an axis of extent `n`.
pub fn affine_base(n: usize, align: bool) -> Vec<f64> {
    let d = n as f64;
    (0..n)
        .map(|i| {
            let i = i as f64;
            if align {
                if n == 1 { -1.0 } else { -1.0 + 2.0 * i / (d - 1.0) }
            } else {
                -1.0 + (2.0 * i + 1.0) / d
            }
        })
        .collect()
}

fn affine_grid(align: bool, theta: &Tensor, size: &Tensor) -> Result<Vec<Tensor>, OpError> {
    let size = ints(size, "size")?;
    let r = size.len().saturating_sub(2);
    let ts = theta.shape();
    if !(r == 2 || r == 3) || ts.len() != 3 || ts[0] as i64 != size[0] || ts[1] != r || ts[2] != r + 1 {
        return Err(op_err!("theta of shape {ts:?} does not match size {size:?}"));
    }
    let dims: Vec<usize> = size[2..].iter().map(|&v| dim(v, "size")).collect::<Result<_, _>>()?;
    let bases: Vec<Vec<f64>> = dims.iter().map(|&d| affine_base(d, align)).collect();
    let th = theta.to_f64_vec();
    let pts: usize = dims.iter().product();
    let mut out = Vec::with_capacity(ts[0] * pts * r);
    let st = strides(&dims);
    for b in 0..ts[0] {
        let t = &th[b * r * (r + 1)..(b + 1) * r * (r + 1)];
        for p in 0..pts {
            // Homogeneous point (x, y[, z], 1): x walks the last axis.
            let mut h = vec![1.0; r + 1];
            for i in 0..r {
                h[r - 1 - i] = bases[i][(p / st[i]) % dims[i]];
            }
            for row in 0..r {
                out.push((0..=r).map(|k| t[row * (r + 1) + k] * h[k]).sum());
            }
        }
    }
    let mut shape = vec![ts[0]];
    shape.extend_from_slice(&dims);
    shape.push(r);
    Ok(vec![Tensor::from_f64(theta.dtype(), shape, &out)])
}

pub(super) fn misc(op: &Op, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    match op {
        Op::Det => det(arg(inputs, 0)?),
        Op::TensorScatter { axis, circular } => tensor_scatter(*axis, *circular, arg(inputs, 0)?, arg(inputs, 1)?, opt(inputs, 2)),
        Op::CenterCropPad { axes } => {
            let x = arg(inputs, 0)?;
            let shape = ints(arg(inputs, 1)?, "shape")?;
            let (out, off) = crate::infer::center_crop_pad_shape(x.shape(), &shape, axes.as_deref())?;
            let w = x.dtype().size();
            let (xst, n) = (strides(x.shape()), checked_numel(&out)?);
            let ost = strides(&out);
            let mut bytes = vec![0u8; n * w];
            'outer: for (o, chunk) in bytes.chunks_mut(w).enumerate() {
                let mut src = 0usize;
                for a in 0..out.len() {
                    let s = ((o / ost[a]) % out[a]) as i64 + off[a];
                    if s < 0 || s >= x.shape()[a] as i64 {
                        continue 'outer;
                    }
                    src += s as usize * xst[a];
                }
                chunk.copy_from_slice(&x.bytes()[src * w..(src + 1) * w]);
            }
            Ok(vec![tensor_from_bytes(x.dtype(), &out, bytes)?])
        }
        Op::Col2Im { dilations, pads, strides: st } => {
            let x = arg(inputs, 0)?;
            let img = ints(arg(inputs, 1)?, "image_shape")?;
            let block = ints(arg(inputs, 2)?, "block_shape")?;
            let g = crate::infer::col2im_geometry(x.shape(), &img, &block, dilations, pads, st)?;
            col2im(x, &g)
        }
        other => Err(op_err!("{} is not handled here", other.onnx_name())),
    }
}

fn det(x: &Tensor) -> Result<Vec<Tensor>, OpError> {
    let s = x.shape();
    let r = s.len();
    if r < 2 || s[r - 1] != s[r - 2] {
        return Err(op_err!("X must hold square matrices, got shape {s:?}"));
    }
    let m = s[r - 1];
    let v = x.to_f64_vec();
    let count: usize = s[..r - 2].iter().product();
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        let mut a = v[k * m * m..(k + 1) * m * m].to_vec();
        out.push(lu_det(&mut a, m));
    }
    Ok(vec![Tensor::from_f64(x.dtype(), s[..r - 2].to_vec(), &out)])
}

/// Determinant by Gaussian elimination with partial pivoting (destroys `a`).
pub fn lu_det(a: &mut [f64], m: usize) -> f64 {
    let mut det = 1.0;
    for c in 0..m {
        let p = (c..m).max_by(|&i, &j| a[i * m + c].abs().total_cmp(&a[j * m + c].abs())).unwrap_or(c);
        if a[p * m + c] == 0.0 {
            return 0.0;
        }
        if p != c {
            for j in 0..m {
                a.swap(p * m + j, c * m + j);
            }
            det = -det;
        }
        let piv = a[c * m + c];
        det *= piv;
        for i in c + 1..m {
            let f = a[i * m + c] / piv;
            for j in c..m {
                a[i * m + j] -= f * a[c * m + j];
            }
        }
    }
    det
}

fn tensor_scatter(axis: i64, circular: bool, past: &Tensor, upd: &Tensor, wi: Option<&Tensor>) -> Result<Vec<Tensor>, OpError> {
    let (ps, us) = (past.shape(), upd.shape());
    let r = ps.len();
    let a = crate::infer::tensor_scatter_axis(axis, r)?;
    if us.len() != r || past.dtype() != upd.dtype() {
        return Err(op_err!("update {} does not match past_cache {}", upd.ty(), past.ty()));
    }
    let wi = match wi {
        Some(t) => ints(t, "write_indices")?,
        None => vec![0; ps[0]],
    };
    let w = past.dtype().size();
    let mut out = past.bytes().to_vec();
    let inner: usize = ps[a + 1..].iter().product();
    let outer: usize = ps[..a].iter().product();
    let per_batch = outer / ps[0].max(1);
    let ub = upd.bytes();
    for o in 0..outer {
        let b = o / per_batch.max(1);
        for s in 0..us[a] {
            let mut t = wi.get(b).copied().unwrap_or(0) + s as i64;
            if circular {
                t = t.rem_euclid(ps[a] as i64);
            }
            if t < 0 || t >= ps[a] as i64 {
                continue; // out of the cache: undefined in ONNX, skipped here
            }
            let dst = ((o * ps[a] + t as usize) * inner) * w;
            let src = ((o * us[a] + s) * inner) * w;
            out[dst..dst + inner * w].copy_from_slice(&ub[src..src + inner * w]);
        }
    }
    Ok(vec![tensor_from_bytes(past.dtype(), ps, out)?])
}

fn col2im(x: &Tensor, g: &crate::infer::Col2ImGeometry) -> Result<Vec<Tensor>, OpError> {
    let xs = x.shape();
    let v = x.to_f64_vec();
    let r = g.image.len();
    let k: usize = g.block.iter().product();
    let l = xs[2];
    let plane: usize = g.image.iter().product();
    let (kst, lst, ist) = (strides(&g.block), strides(&g.blocks), strides(&g.image));
    let mut out = vec![0.0; xs[0] * g.channels * plane];
    for n in 0..xs[0] {
        for c in 0..g.channels {
            for kk in 0..k {
                for ll in 0..l {
                    let mut pix = 0usize;
                    let mut inside = true;
                    for i in 0..r {
                        let ki = (kk / kst[i]) % g.block[i];
                        let li = (ll / lst[i]) % g.blocks[i];
                        let p = (li * g.strides[i] + ki * g.dilations[i]) as i64 - g.pads[i] as i64;
                        if p < 0 || p >= g.image[i] as i64 {
                            inside = false;
                            break;
                        }
                        pix += p as usize * ist[i];
                    }
                    if inside {
                        out[(n * g.channels + c) * plane + pix] += v[((n * g.channels + c) * k + kk) * l + ll];
                    }
                }
            }
        }
    }
    let mut shape = vec![xs[0], g.channels];
    shape.extend_from_slice(&g.image);
    Ok(vec![Tensor::from_f64(x.dtype(), shape, &out)])
}

/// RoiAlign after the ONNX reference (bilinear samples, avg or max per bin).
pub(super) fn roi_align(op: &Op, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let Op::RoiAlign { half_pixel, max, output_height: oh, output_width: ow, sampling_ratio, spatial_scale } = op else {
        return Err(op_err!("not RoiAlign"));
    };
    let (x, rois, bi) = (arg(inputs, 0)?, arg(inputs, 1)?, arg(inputs, 2)?);
    let xs = x.shape();
    if xs.len() != 4 || rois.shape().len() != 2 || rois.shape()[1] != 4 {
        return Err(op_err!("X must be [N, C, H, W] and rois [R, 4]"));
    }
    let (c, h, w) = (xs[1], xs[2], xs[3]);
    let (xv, rv, bv) = (x.to_f64_vec(), rois.to_f64_vec(), ints(bi, "batch_indices")?);
    let r = rois.shape()[0];
    let mut out = vec![0.0; r * c * oh * ow];
    let scale = *spatial_scale as f64;
    for n in 0..r {
        let b = usize::try_from(bv[n]).ok().filter(|&b| b < xs[0]).ok_or_else(|| op_err!("batch index {} out of range", bv[n]))?;
        let off = if *half_pixel { 0.5 } else { 0.0 };
        let roi = &rv[n * 4..n * 4 + 4];
        let (sw, sh) = (roi[0] * scale - off, roi[1] * scale - off);
        let (mut rw, mut rh) = (roi[2] * scale - off - sw, roi[3] * scale - off - sh);
        if !*half_pixel {
            rw = rw.max(1.0);
            rh = rh.max(1.0);
        }
        let (bh, bw) = (rh / *oh as f64, rw / *ow as f64);
        let gh = if *sampling_ratio > 0 { *sampling_ratio } else { (rh / *oh as f64).ceil().max(0.0) as usize };
        let gw = if *sampling_ratio > 0 { *sampling_ratio } else { (rw / *ow as f64).ceil().max(0.0) as usize };
        let count = (gh * gw).max(1) as f64;
        for ch in 0..c {
            let plane = &xv[(b * c + ch) * h * w..(b * c + ch + 1) * h * w];
            for ph in 0..*oh {
                for pw in 0..*ow {
                    let mut acc: Option<f64> = None;
                    for iy in 0..gh {
                        let y = sh + ph as f64 * bh + (iy as f64 + 0.5) * bh / gh as f64;
                        for ix in 0..gw {
                            let xx = sw + pw as f64 * bw + (ix as f64 + 0.5) * bw / gw as f64;
                            let v = roi_sample(plane, h, w, y, xx);
                            let s = if *max { v.into_iter().fold(f64::NEG_INFINITY, f64::max) } else { v.iter().sum() };
                            acc = Some(match acc {
                                None => s,
                                Some(a) if *max => a.max(s),
                                Some(a) => a + s,
                            });
                        }
                    }
                    let v = acc.unwrap_or(0.0);
                    out[((n * c + ch) * oh + ph) * ow + pw] = if *max { v } else { v / count };
                }
            }
        }
    }
    Ok(vec![Tensor::from_f64(x.dtype(), vec![r, c, *oh, *ow], &out)])
}

/// The four weighted bilinear taps of RoiAlign at (y, x).
fn roi_sample(plane: &[f64], h: usize, w: usize, y: f64, x: f64) -> [f64; 4] {
    if h == 0 || w == 0 || y < -1.0 || y > h as f64 || x < -1.0 || x > w as f64 {
        return [0.0; 4];
    }
    let ((y, yl, yh), (x, xl, xh)) = (roi_axis(y, h), roi_axis(x, w));
    let (ly, lx) = (y - yl as f64, x - xl as f64);
    let (hy, hx) = (1.0 - ly, 1.0 - lx);
    [hy * hx * plane[yl * w + xl], hy * lx * plane[yl * w + xh], ly * hx * plane[yh * w + xl], ly * lx * plane[yh * w + xh]]
}

/// RoiAlign's clamping along one axis of extent `n` (> 0): the coordinate
/// (at least 0, pinned to the last index past it) and its low/high taps.
fn roi_axis(v: f64, n: usize) -> (f64, usize, usize) {
    let v = v.max(0.0);
    let lo = v as usize;
    if lo >= n - 1 {
        ((n - 1) as f64, n - 1, n - 1)
    } else {
        (v, lo, lo + 1)
    }
}

/// Bilinear sample of an `h` x `w` plane at (y, x); taps outside read 0.
pub fn bilinear_zeros(plane: &[f64], h: usize, w: usize, y: f64, x: f64) -> f64 {
    let (y0, x0) = (y.floor(), x.floor());
    let (ty, tx) = (y - y0, x - x0);
    let at = |yy: f64, xx: f64| -> f64 {
        if yy < 0.0 || xx < 0.0 || yy >= h as f64 || xx >= w as f64 {
            0.0
        } else {
            plane[yy as usize * w + xx as usize]
        }
    };
    (1.0 - ty) * ((1.0 - tx) * at(y0, x0) + tx * at(y0, x0 + 1.0)) + ty * ((1.0 - tx) * at(y0 + 1.0, x0) + tx * at(y0 + 1.0, x0 + 1.0))
}

pub(super) fn deform_conv(window: &crate::op::Window, group: usize, og: usize, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let (x, wt, off) = (arg(inputs, 0)?, arg(inputs, 1)?, arg(inputs, 2)?);
    let (xs, ws) = (x.shape(), wt.shape());
    if xs.len() != 4 || ws.len() != 4 || off.shape().len() != 4 || group == 0 || og == 0 {
        return Err(op_err!("DeformConv supports 2-D inputs only"));
    }
    let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3]);
    let (oc, cpg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let (oh, ow) = (off.shape()[2], off.shape()[3]);
    let (xv, wv, ov) = (x.to_f64_vec(), wt.to_f64_vec(), off.to_f64_vec());
    let bv = opt(inputs, 3).map(|t| t.to_f64_vec());
    let mv = opt(inputs, 4).map(|t| t.to_f64_vec());
    let (ocpg, cpog, k) = (oc / group, c / og, kh * kw);
    let mut out = vec![0.0; n * oc * oh * ow];
    for b in 0..n {
        for o in 0..oc {
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = bv.as_ref().map_or(0.0, |bv| bv[o]);
                    for ci_ in 0..cpg {
                        let ch = (o / ocpg) * cpg + ci_;
                        let g = ch / cpog;
                        let plane = &xv[(b * c + ch) * h * w..(b * c + ch + 1) * h * w];
                        for p in 0..kh {
                            for q in 0..kw {
                                let kk = p * kw + q;
                                let oidx = |comp: usize| (((b * og + g) * k + kk) * 2 + comp) * oh * ow + i * ow + j;
                                let y = (i * window.strides[0] + p * window.dilations[0]) as f64 - window.pads[0] as f64 + ov[oidx(0)];
                                let xx = (j * window.strides[1] + q * window.dilations[1]) as f64 - window.pads[1] as f64 + ov[oidx(1)];
                                let m = mv.as_ref().map_or(1.0, |mv| mv[((b * og + g) * k + kk) * oh * ow + i * ow + j]);
                                acc += wv[((o * cpg + ci_) * kh + p) * kw + q] * m * bilinear_zeros(plane, h, w, y, xx);
                            }
                        }
                    }
                    out[((b * oc + o) * oh + i) * ow + j] = acc;
                }
            }
        }
    }
    Ok(vec![Tensor::from_f64(x.dtype(), vec![n, oc, oh, ow], &out)])
}

pub(super) fn max_unpool(window: &crate::op::Window, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let (x, idx) = (arg(inputs, 0)?, arg(inputs, 1)?);
    let inferred = crate::infer::max_unpool_inferred(window, x.shape())?;
    let shape = match opt(inputs, 2) {
        Some(s) => ints(s, "output_shape")?.iter().map(|&d| dim(d, "output_shape")).collect::<Result<Vec<_>, _>>()?,
        None => inferred.clone(),
    };
    if shape.len() != inferred.len() {
        return Err(op_err!("output_shape {shape:?} has the wrong rank"));
    }
    let w = x.dtype().size();
    let n = checked_numel(&shape)?;
    let mut out = vec![0u8; n * w];
    let (ist, ost) = (strides(&inferred), strides(&shape));
    let total = inferred.iter().product::<usize>() as i64;
    for (k, &i) in ints(idx, "I")?.iter().enumerate() {
        if i < 0 || i >= total {
            continue; // outside the unpooled tensor: undefined in ONNX, skipped here
        }
        let o: usize = (0..shape.len()).map(|a| ((i as usize / ist[a]) % inferred[a]) * ost[a]).sum();
        out[o * w..(o + 1) * w].copy_from_slice(&x.bytes()[k * w..(k + 1) * w]);
    }
    Ok(vec![tensor_from_bytes(x.dtype(), &shape, out)?])
}
