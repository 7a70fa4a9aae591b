//! Pooling ops and LRN.

use super::nn::Geo;
use super::util::{arg, float_dispatch, num_dispatch, Data, Float, Num};
use crate::error::OpError;
use crate::op::Window;
use crate::op_err;
use crate::tensor::Tensor;

type Out = Result<Vec<Tensor>, OpError>;
type Args<'a, 'b> = &'a [Option<&'b Tensor>];

/// Checks X is `[N, C, spatial...]` and returns (N * C, geometry, Y shape).
fn pool_geo(w: &Window, x: &Tensor, ceil_mode: bool) -> Result<(usize, Geo, Vec<usize>), OpError> {
    let xs = x.shape();
    if xs.len() < 3 {
        return Err(op_err!("pooling needs [N, C, spatial...], got {xs:?}"));
    }
    let g = Geo::new(w, &xs[2..], &w.kernel_shape, ceil_mode)?;
    let mut shape = xs[..2].to_vec();
    shape.extend(g.out_spatial(xs.len() - 2));
    Ok((xs[0] * xs[1], g, shape))
}

/// Calls `f(out_index, taps)` for every output position of every plane,
/// where `taps` lists the flat input indices inside the window and
/// `padded` counts the window positions within the explicit padding.
fn for_windows(planes: usize, g: &Geo, mut f: impl FnMut(usize, &[usize], usize)) {
    let plane_in: usize = g.inp.iter().product();
    let mut taps = Vec::with_capacity(g.k.iter().product());
    let mut o = 0;
    for pl in 0..planes {
        for zd in 0..g.out[0] {
            for zh in 0..g.out[1] {
                for zw in 0..g.out[2] {
                    taps.clear();
                    let mut padded = 0;
                    for kd in 0..g.k[0] {
                        for kh in 0..g.k[1] {
                            for kw in 0..g.k[2] {
                                let pos = [(zd, kd), (zh, kh), (zw, kw)];
                                let mut flat = pl * plane_in;
                                let mut stride = plane_in;
                                let mut inside_pad = true;
                                let mut valid = true;
                                for (a, &(z, k)) in pos.iter().enumerate() {
                                    let c = z * g.s[a] + k * g.d[a];
                                    inside_pad &= c < g.inp[a] + g.pb[a] + g.pe[a];
                                    stride /= g.inp[a].max(1);
                                    match g.src(a, z, k) {
                                        Some(i) => flat += i * stride,
                                        None => valid = false,
                                    }
                                }
                                if valid {
                                    taps.push(flat);
                                }
                                padded += inside_pad as usize;
                            }
                        }
                    }
                    f(o, &taps, padded);
                    o += 1;
                }
            }
        }
    }
}

pub(crate) fn max_pool(w: &Window, ceil_mode: bool, inputs: Args, n_out: usize) -> Out {
    let x = arg(inputs, 0)?;
    let (planes, g, shape) = pool_geo(w, x, ceil_mode)?;
    let n: usize = shape.iter().product();
    let mut indices = vec![0i64; n];
    let d = num_dispatch!(Data::of(x), v => {
        let mut out = vec![Num::lowest(); n];
        for_windows(planes, &g, |o, taps, _| {
            // numpy max semantics: NaN wins; otherwise the first maximum.
            let mut best = Num::lowest();
            let mut at = taps.first().copied().unwrap_or(0);
            for &t in taps {
                let e = v[t];
                if Num::is_nan(e) || e > best {
                    best = e;
                    at = t;
                    if Num::is_nan(e) {
                        break;
                    }
                }
            }
            out[o] = best;
            indices[o] = at as i64;
        });
        Ok(Num::wrap(out))
    })?;
    let mut outs = vec![d.into_tensor(x.dtype(), &shape)?];
    if n_out >= 2 {
        outs.push(Tensor::from_vec(shape, indices));
    }
    Ok(outs)
}

pub(crate) fn avg_pool(w: &Window, ceil_mode: bool, count_include_pad: bool, inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let (planes, g, shape) = pool_geo(w, x, ceil_mode)?;
    let n: usize = shape.iter().product();
    let d = float_dispatch!(Data::of(x), v => {
        let mut out = vec![Num::zero(); n];
        for_windows(planes, &g, |o, taps, padded| {
            let sum = taps.iter().fold(Num::zero(), |s: _, &t| Num::add(s, v[t]));
            let count = if count_include_pad { padded } else { taps.len() };
            out[o] = Num::div(sum, Float::of(count as f64));
        });
        Ok(Num::wrap(out))
    })?;
    Ok(vec![d.into_tensor(x.dtype(), &shape)?])
}

pub(crate) fn global_pool(max: bool, inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let xs = x.shape();
    if xs.len() < 3 {
        return Err(op_err!(
            "global pooling needs [N, C, spatial...], got {xs:?}"
        ));
    }
    let plane: usize = xs[2..].iter().product();
    let mut shape = xs[..2].to_vec();
    shape.resize(xs.len(), 1);
    let d = float_dispatch!(Data::of(x), v => {
        let out = v.chunks(plane.max(1)).take(xs[0] * xs[1]).map(|p| {
            if max {
                p.iter().fold(Num::lowest(), |m: _, &e| Num::max_nan(m, e))
            } else {
                let s = p.iter().fold(Num::zero(), |s: _, &e| Num::add(s, e));
                Num::div(s, Float::of(plane as f64))
            }
        }).collect::<Vec<_>>();
        Ok(Num::wrap(out))
    })?;
    Ok(vec![d.into_tensor(x.dtype(), &shape)?])
}

pub(crate) fn lrn(size: usize, alpha: f32, beta: f32, bias: f32, inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let xs = x.shape();
    if xs.len() < 3 || size == 0 {
        return Err(op_err!(
            "LRN needs [N, C, spatial...] and size > 0, got {xs:?}, size {size}"
        ));
    }
    let (c, inner) = (xs[1], xs[2..].iter().product::<usize>());
    let (lo, hi) = ((size - 1) / 2, (size - 1).div_ceil(2));
    let d = float_dispatch!(Data::of(x), v => {
        let mut out = v.clone();
        for (i, o) in out.iter_mut().enumerate() {
            let (ch, base) = ((i / inner) % c, i - ((i / inner) % c) * inner);
            let sq = (ch.saturating_sub(lo)..(ch + hi + 1).min(c))
                .fold(0.0f64, |s, k| s + v[base + k * inner].as_f64().powi(2));
            let den = (bias as f64 + alpha as f64 / size as f64 * sq).powf(beta as f64);
            *o = Float::of(v[i].as_f64() / den);
        }
        Ok(Num::wrap(out))
    })?;
    Ok(vec![d.into_tensor(x.dtype(), xs)?])
}
