//! Reference semantics of the resize family: Resize (also Upsample),
//! ConvTranspose and LpPool.
//!
//! Resize is separable, and with static shapes every axis's interpolation is
//! a compile-time table: for each output coordinate, `n` input indices
//! (clamped, which is ONNX's edge padding) and weights, plus a flag for
//! tf_crop_and_resize's extrapolation. `plan` builds these tables following
//! the ONNX reference implementation (`onnx/reference/ops/op_resize.py`);
//! the evaluator and the kernel lowering both consume them, so they agree.

use super::util::*;
use crate::error::OpError;
use crate::op::{AspectPolicy, CoordMode, NearestMode, Op, ResizeAttrs, ResizeMode, Window};
use crate::op_err;
use crate::tensor::Tensor;

/// Interpolation taps of one resized axis, row-major `[out][n]`.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisTaps {
    pub n: usize,
    pub idx: Vec<usize>,
    pub w: Vec<f64>,
    /// Output coordinates that take `extrapolation_value` (tf_crop_and_resize).
    pub extrap: Vec<bool>,
}

/// Output shape and, per axis, its taps (`None`: the axis is unchanged).
#[derive(Clone, Debug, PartialEq)]
pub struct ResizePlan {
    pub out_shape: Vec<usize>,
    pub axes: Vec<Option<AxisTaps>>,
}

/// Full-rank scales, output sizes, roi (begins then ends) and the resized axes.
type Geometry = (Vec<f64>, Vec<usize>, Option<Vec<f64>>, Vec<usize>);

/// Full-rank scales, output sizes and roi of a Resize, as the reference
/// derives them from whichever of `scales`/`sizes` is given.
fn geometry(
    a: &ResizeAttrs,
    shape: &[usize],
    roi: Option<&[f64]>,
    scales: Option<&[f64]>,
    sizes: Option<&[i64]>,
) -> Result<Geometry, OpError> {
    let r = shape.len();
    let axes: Vec<usize> = match &a.axes {
        Some(ax) => ax.iter().map(|&x| axis(x, r)).collect::<Result<_, _>>()?,
        None => (0..r).collect(),
    };
    let na = axes.len();
    let roi = match roi {
        Some(v) if !v.is_empty() => {
            if v.len() != 2 * na {
                return Err(op_err!("roi must have {} values, got {}", 2 * na, v.len()));
            }
            let mut full: Vec<f64> = [vec![0.0; r], vec![1.0; r]].concat();
            for (i, &d) in axes.iter().enumerate() {
                full[d] = v[i];
                full[r + d] = v[na + i];
            }
            Some(full)
        }
        _ => None,
    };
    let (sc, out) = match (scales, sizes) {
        (Some(s), None) => {
            if s.len() != na {
                return Err(op_err!("scales must have {na} values, got {}", s.len()));
            }
            let mut sc = vec![1.0; r];
            for (i, &d) in axes.iter().enumerate() {
                if s[i].is_nan() || s[i] <= 0.0 {
                    return Err(op_err!("scales must be positive, got {s:?}"));
                }
                sc[d] = s[i];
            }
            let out = (0..r).map(|d| (sc[d] * shape[d] as f64) as usize).collect();
            (sc, out)
        }
        (None, Some(z)) => {
            if z.len() != na {
                return Err(op_err!("sizes must have {na} values, got {}", z.len()));
            }
            let mut out = shape.to_vec();
            for (i, &d) in axes.iter().enumerate() {
                out[d] = dim(z[i], "sizes")?;
            }
            let mut sc: Vec<f64> = (0..r).map(|d| out[d] as f64 / shape[d] as f64).collect();
            if a.aspect != AspectPolicy::Stretch {
                let it = axes.iter().map(|&d| sc[d]);
                let s = if a.aspect == AspectPolicy::NotLarger {
                    it.fold(f64::INFINITY, f64::min)
                } else {
                    it.fold(f64::NEG_INFINITY, f64::max)
                };
                for d in 0..r {
                    let inside = axes.contains(&d);
                    sc[d] = if inside { s } else { 1.0 };
                    out[d] = if inside {
                        (s * shape[d] as f64 + 0.5) as usize
                    } else {
                        shape[d]
                    };
                }
            }
            (sc, out)
        }
        _ => return Err(op_err!("exactly one of scales and sizes must be given")),
    };
    Ok((sc, out, roi, axes))
}

/// Output shape of a Resize (the shape rule).
pub fn output_shape(
    a: &ResizeAttrs,
    shape: &[usize],
    roi: Option<&[f64]>,
    scales: Option<&[f64]>,
    sizes: Option<&[i64]>,
) -> Result<Vec<usize>, OpError> {
    Ok(geometry(a, shape, roi, scales, sizes)?.1)
}

/// The interpolation tables of a Resize.
pub fn plan(
    a: &ResizeAttrs,
    shape: &[usize],
    roi: Option<&[f64]>,
    scales: Option<&[f64]>,
    sizes: Option<&[i64]>,
) -> Result<ResizePlan, OpError> {
    let (sc, out, roi, axes) = geometry(a, shape, roi, scales, sizes)?;
    let r = shape.len();
    let mut taps = vec![None; r];
    for &d in &axes {
        let rr = roi.as_ref().map(|v| (v[d], v[d + r]));
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs());
        let same_roi = rr.is_none_or(|(b, e)| close(b, 0.0) && close(e, 1.0));
        if close(sc[d], 1.0) && out[d] == shape[d] && same_roi {
            continue; // the reference skips such axes
        }
        if shape[d] == 0 {
            return Err(op_err!("cannot resize an empty axis {d}"));
        }
        taps[d] = Some(axis_taps(a, shape[d], out[d], sc[d], rr)?);
    }
    Ok(ResizePlan {
        out_shape: out,
        axes: taps,
    })
}

fn source_coord(
    a: &ResizeAttrs,
    x: f64,
    scale: f64,
    len: usize,
    out: usize,
    roi: Option<(f64, f64)>,
) -> Result<f64, OpError> {
    let (lin, outw) = (len as f64, scale * len as f64);
    Ok(match a.coord {
        CoordMode::AlignCorners if outw == 1.0 => 0.0,
        CoordMode::AlignCorners => x * (lin - 1.0) / (outw - 1.0),
        CoordMode::Asymmetric => x / scale,
        CoordMode::TfCropAndResize => {
            let (b, e) = roi.ok_or_else(|| op_err!("tf_crop_and_resize needs roi"))?;
            let v = if outw == 1.0 {
                (e - b) * (lin - 1.0) / 2.0
            } else {
                x * (e - b) * (lin - 1.0) / (outw - 1.0)
            };
            v + b * (lin - 1.0)
        }
        CoordMode::PytorchHalfPixel if outw == 1.0 => -0.5,
        CoordMode::PytorchHalfPixel | CoordMode::HalfPixel => (x + 0.5) / scale - 0.5,
        CoordMode::HalfPixelSymmetric => {
            let adj = out as f64 / outw;
            let offset = lin / 2.0 * (1.0 - adj);
            offset + (x + 0.5) / scale - 0.5
        }
    })
}

fn cubic(x: f64, aa: f64) -> f64 {
    let x = x.abs();
    let (x2, x3) = (x * x, x * x * x);
    if x <= 1.0 {
        (aa + 2.0) * x3 - (aa + 3.0) * x2 + 1.0
    } else if x < 2.0 {
        aa * x3 - 5.0 * aa * x2 + 8.0 * aa * x - 4.0 * aa
    } else {
        0.0
    }
}

/// The reference's `get_coeffs(ratio, scale)` for the op's mode.
fn coeffs(a: &ResizeAttrs, ratio: f64, scale: f64) -> Vec<f64> {
    let aa = a.cubic_coeff_a as f64;
    let normalize = |v: Vec<f64>| {
        let s: f64 = v.iter().sum();
        v.into_iter().map(|c| c / s).collect()
    };
    match (a.mode, a.antialias) {
        (ResizeMode::Nearest, _) => {
            let up = if ratio.fract() == 0.0 {
                true
            } else {
                match a.nearest {
                    NearestMode::RoundPreferFloor => ratio > 0.5,
                    NearestMode::RoundPreferCeil => ratio >= 0.5,
                    NearestMode::Floor => false,
                    NearestMode::Ceil => true,
                }
            };
            vec![(!up) as u8 as f64, up as u8 as f64]
        }
        (ResizeMode::Linear, false) => vec![1.0 - ratio, ratio],
        (ResizeMode::Cubic, false) => {
            let (r, q) = (ratio, 1.0 - ratio);
            vec![
                cubic(r + 1.0, aa),
                cubic(r, aa),
                cubic(q, aa),
                cubic(q + 1.0, aa),
            ]
        }
        (ResizeMode::Linear, true) => {
            let s = scale.min(1.0);
            let start = (-1.0 / s).floor() as i64 + 1;
            let n = 2 - 2 * start;
            normalize(
                (start..start + n)
                    .map(|i| (1.0 - ((i as f64 - ratio) * s).abs()).clamp(0.0, 1.0))
                    .collect(),
            )
        }
        (ResizeMode::Cubic, true) => {
            let s = scale.min(1.0);
            let start = (-2.0 / s).floor() as i64 + 1;
            normalize(
                (start..2 - start)
                    .map(|i| cubic(s * (i as f64 - ratio), aa))
                    .collect(),
            )
        }
    }
}

fn axis_taps(
    a: &ResizeAttrs,
    len: usize,
    out: usize,
    scale: f64,
    roi: Option<(f64, f64)>,
) -> Result<AxisTaps, OpError> {
    let mut t = AxisTaps {
        n: 0,
        idx: Vec::new(),
        w: Vec::new(),
        extrap: Vec::new(),
    };
    for o in 0..out {
        let x = source_coord(a, o as f64, scale, len, out, roi)?;
        let outside = a.coord == CoordMode::TfCropAndResize && (x < 0.0 || x > len as f64 - 1.0);
        let fl = x.floor();
        let ratio = if x == fl { 1.0 } else { x - fl };
        let mut c = coeffs(a, ratio, scale);
        let n = c.len();
        // The n nearest indices in the edge-padded axis, ties to the smaller.
        let pw = n.div_ceil(2) as i64;
        let xp = x + pw as f64;
        let p = xp.floor() as i64;
        let start = if xp == xp.floor() {
            p - (n as i64 / 2)
        } else {
            p - (n as i64 / 2) + 1
        };
        let start = start - pw;
        let raw: Vec<i64> = (0..n as i64).map(|k| start + k).collect();
        if a.exclude_outside {
            for (k, &i) in raw.iter().enumerate() {
                if i < 0 || i >= len as i64 {
                    c[k] = 0.0;
                }
            }
            let s: f64 = c.iter().sum();
            let s = if s == 0.0 { 1.0 } else { s };
            c.iter_mut().for_each(|v| *v /= s);
        }
        if a.mode == ResizeMode::Nearest {
            // One tap: the neighbor whose coefficient is 1.
            let k = if c[0] != 0.0 { 0 } else { 1 };
            t.idx.push(raw[k].clamp(0, len as i64 - 1) as usize);
            t.w.push(1.0);
        } else {
            if t.n != 0 && t.n != n {
                return Err(op_err!("internal: tap count changed along an axis"));
            }
            t.idx
                .extend(raw.iter().map(|&i| i.clamp(0, len as i64 - 1) as usize));
            t.w.extend(c);
        }
        t.n = if a.mode == ResizeMode::Nearest { 1 } else { n };
        t.extrap.push(outside);
    }
    Ok(t)
}

/// Float values of an optional float input (roi, scales); empty means absent.
pub fn floats_of(t: Option<&Tensor>) -> Option<Vec<f64>> {
    t.map(|t| t.to_f64_vec()).filter(|v| !v.is_empty())
}

pub(super) fn eval(
    op: &Op,
    inputs: &[Option<&Tensor>],
    _n_out: usize,
) -> Result<Vec<Tensor>, OpError> {
    match op {
        Op::Resize(a) => Ok(vec![resize(a, inputs)?]),
        Op::ConvTranspose {
            window,
            group,
            output_padding,
        } => Ok(vec![conv_transpose(
            window,
            *group,
            output_padding,
            inputs,
        )?]),
        Op::LpPool {
            window,
            p,
            ceil_mode,
        } => Ok(vec![lp_pool(window, *p, *ceil_mode, inputs)?]),
        other => Err(op_err!("{} is not a resize-family op", other.onnx_name())),
    }
}

fn resize(a: &ResizeAttrs, inputs: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    let x = arg(inputs, 0)?;
    let sizes = opt(inputs, 3)
        .map(|t| t.to_i64_vec())
        .filter(|v| !v.is_empty());
    let pl = plan(
        a,
        x.shape(),
        floats_of(opt(inputs, 1)).as_deref(),
        floats_of(opt(inputs, 2)).as_deref(),
        sizes.as_deref(),
    )?;
    if !x.dtype().is_float() && a.mode != ResizeMode::Nearest {
        return Err(op_err!(
            "{:?} resize of {} is not supported",
            a.mode,
            x.dtype()
        ));
    }
    let mut shape = x.shape().to_vec();
    let mut v = x.to_f64_vec();
    let ev = a.extrapolation_value as f64;
    for (d, t) in pl.axes.iter().enumerate() {
        let Some(t) = t else { continue };
        let (outer, len, inner) = (
            shape[..d].iter().product::<usize>(),
            shape[d],
            shape[d + 1..].iter().product::<usize>(),
        );
        let out = pl.out_shape[d];
        let mut nv = vec![0.0; outer * out * inner];
        for b in 0..outer {
            for o in 0..out {
                for i in 0..inner {
                    let mut acc = 0.0;
                    for k in 0..t.n {
                        acc += t.w[o * t.n + k] * v[(b * len + t.idx[o * t.n + k]) * inner + i];
                    }
                    nv[(b * out + o) * inner + i] = if t.extrap[o] { ev } else { acc };
                }
            }
        }
        v = nv;
        shape[d] = out;
    }
    Ok(Tensor::from_f64(x.dtype(), shape, &v))
}

/// Output extent of ConvTranspose along spatial axis `i` for input extent `n`.
pub fn conv_transpose_dim(
    w: &Window,
    output_padding: &[usize],
    i: usize,
    n: usize,
) -> Option<usize> {
    let r = w.spatial_rank();
    let eff = w.dilations[i] * (w.kernel_shape[i].checked_sub(1)?) + 1;
    let full = w.strides[i] * n.checked_sub(1)? + output_padding.get(i).copied().unwrap_or(0) + eff;
    full.checked_sub(w.pads[i] + w.pads[i + r])
}

fn conv_transpose(
    w: &Window,
    group: usize,
    op: &[usize],
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, OpError> {
    let (x, wt) = (arg(inputs, 0)?, arg(inputs, 1)?);
    let (xs, ws) = (x.shape(), wt.shape());
    let r = w.spatial_rank();
    if xs.len() != r + 2 || ws.len() != r + 2 || group == 0 || xs[1] != ws[0] || xs[1] % group != 0
    {
        return Err(op_err!(
            "ConvTranspose: bad shapes X {xs:?}, W {ws:?} for group {group}"
        ));
    }
    let (cg, mg) = (xs[1] / group, ws[1]);
    let m = mg * group;
    let os: Vec<usize> = (0..r)
        .map(|i| {
            conv_transpose_dim(w, op, i, xs[2 + i])
                .ok_or_else(|| op_err!("ConvTranspose: empty output"))
        })
        .collect::<Result<_, _>>()?;
    let mut shape = vec![xs[0], m];
    shape.extend_from_slice(&os);
    let (xv, wv) = (x.to_f64_vec(), wt.to_f64_vec());
    let bias = opt(inputs, 2).map(|b| b.to_f64_vec());
    let (ist, ost, wst) = (strides(xs), strides(&shape), strides(ws));
    let mut out = vec![0.0; shape.iter().product()];
    let in_sp: Vec<usize> = xs[2..].to_vec();
    let nsp: usize = in_sp.iter().product();
    let ksp: usize = w.kernel_shape.iter().product();
    // Scatter form: every input element adds into the outputs its taps reach.
    for nb in 0..xs[0] {
        for c in 0..xs[1] {
            let g = c / cg;
            for s in 0..nsp {
                let ic: Vec<usize> = (0..r).map(|i| (s / ist[2 + i]) % in_sp[i]).collect();
                let xval = xv[nb * ist[0] + c * ist[1] + s];
                for k in 0..ksp {
                    let kc: Vec<usize> = (0..r)
                        .map(|i| (k / wst[2 + i]) % w.kernel_shape[i])
                        .collect();
                    let mut o = 0;
                    let mut ok = true;
                    for i in 0..r {
                        let p = (ic[i] * w.strides[i] + kc[i] * w.dilations[i]) as i64
                            - w.pads[i] as i64;
                        if p < 0 || p >= os[i] as i64 {
                            ok = false;
                            break;
                        }
                        o += p as usize * ost[2 + i];
                    }
                    if !ok {
                        continue;
                    }
                    for mm in 0..mg {
                        let wi = c * wst[0] + mm * wst[1] + k;
                        out[nb * ost[0] + (g * mg + mm) * ost[1] + o] += xval * wv[wi];
                    }
                }
            }
        }
    }
    if let Some(b) = bias {
        let plane: usize = os.iter().product();
        for (i, v) in out.iter_mut().enumerate() {
            *v += b.get((i / plane.max(1)) % m).copied().unwrap_or(0.0);
        }
    }
    Ok(Tensor::from_f64(x.dtype(), shape, &out))
}

/// LpPool: `(sum of |x|^p over the window)^(1/p)`; padding contributes 0.
fn lp_pool(w: &Window, p: i64, ceil: bool, inputs: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    let x = arg(inputs, 0)?;
    let xs = x.shape();
    let r = w.spatial_rank();
    if xs.len() != r + 2 || p <= 0 {
        return Err(op_err!("LpPool: bad input {xs:?} or p {p}"));
    }
    let os: Vec<usize> = (0..r).map(|i| w.out_dim(i, xs[2 + i], ceil)).collect();
    let mut shape = xs[..2].to_vec();
    shape.extend_from_slice(&os);
    let xv = x.to_f64_vec();
    let (ist, ost) = (strides(xs), strides(&shape));
    let ksp: usize = w.kernel_shape.iter().product();
    let kst = strides(&w.kernel_shape);
    let n: usize = shape.iter().product();
    let mut out = vec![0.0; n];
    for (e, o) in out.iter_mut().enumerate() {
        let plane = e / ost[1].max(1);
        let mut sum = 0.0f64;
        for k in 0..ksp {
            let mut off = plane * ist[1];
            let mut ok = true;
            for i in 0..r {
                let oc = (e / ost[2 + i]) % os[i];
                let kc = (k / kst[i]) % w.kernel_shape[i];
                let q = (oc * w.strides[i] + kc * w.dilations[i]) as i64 - w.pads[i] as i64;
                if q < 0 || q >= xs[2 + i] as i64 {
                    ok = false;
                    break;
                }
                off += q as usize * ist[2 + i];
            }
            if ok {
                sum += xv[off].abs().powi(p as i32);
            }
        }
        *o = sum.powf(1.0 / p as f64);
    }
    Ok(Tensor::from_f64(x.dtype(), shape, &out))
}
