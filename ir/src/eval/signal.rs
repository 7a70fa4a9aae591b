//! DFT, STFT, windows and MelWeightMatrix, following the ONNX reference
//! (numpy's fft / irfft): plain O(N^2) sums in f64 with twiddle angles
//! reduced modulo the transform length.

use super::util::arg;
use crate::error::OpError;
use crate::infer::{dft_plan, stft_plan, DftPlan};
use crate::op::{Op, WindowKind};
use crate::op_err;
use crate::tensor::Tensor;
use std::f64::consts::PI;

type Out = Result<Vec<Tensor>, OpError>;
type Args<'a, 'b> = &'a [Option<&'b Tensor>];

fn scalar_of(inputs: Args, i: usize) -> Option<i64> {
    inputs.get(i).copied().flatten().and_then(|t| t.to_i64_vec().first().copied())
}

/// Weight of one-sided bin `k` in an inverse real transform of length `len`:
/// bins other than DC and Nyquist stand for themselves and their mirror.
pub fn irfft_weight(k: usize, len: usize) -> f64 {
    if k == 0 || (len.is_multiple_of(2) && k == len / 2) {
        1.0
    } else {
        2.0
    }
}

/// `x` as [outer, n_in, inner, c] transformed along n; see `DftPlan`.
pub fn dft_values(p: &DftPlan, x: &[f64]) -> Vec<f64> {
    let c = if p.complex_in { 2 } else { 1 };
    let oc = if p.irfft { 1 } else { 2 };
    let sign = if p.inverse { 1.0 } else { -1.0 };
    let norm = if p.inverse { 1.0 / p.len as f64 } else { 1.0 };
    let mut out = vec![0.0; p.outer * p.n_out * p.inner * oc];
    for o in 0..p.outer {
        for u in 0..p.n_out {
            for i in 0..p.inner {
                let (mut re, mut im) = (0.0, 0.0);
                for j in 0..p.terms {
                    let at = ((o * p.n_in + j) * p.inner + i) * c;
                    let (xr, xi) = (x[at], if c == 2 { x[at + 1] } else { 0.0 });
                    let th = 2.0 * PI * ((u * j) % p.len) as f64 / p.len as f64;
                    let (cs, sn) = (th.cos(), sign * th.sin());
                    if p.irfft {
                        re += irfft_weight(j, p.len) * (xr * cs - xi * sn);
                    } else {
                        re += xr * cs - xi * sn;
                        im += xr * sn + xi * cs;
                    }
                }
                let at = ((o * p.n_out + u) * p.inner + i) * oc;
                out[at] = re * norm;
                if oc == 2 {
                    out[at + 1] = im * norm;
                }
            }
        }
    }
    out
}

pub(crate) fn dft(op: &Op, inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let p = dft_plan(op, x.shape(), scalar_of(inputs, 1))?;
    let y = dft_values(&p, &x.to_f64_vec());
    Ok(vec![Tensor::from_f64(x.dtype(), p.out_shape.clone(), &y)])
}

pub(crate) fn stft(op: &Op, inputs: Args) -> Out {
    let Op::Stft { onesided } = op else { return Err(op_err!("not STFT")) };
    let x = arg(inputs, 0)?;
    let step = scalar_of(inputs, 1).ok_or_else(|| op_err!("frame_step is missing"))?;
    let window = inputs.get(2).copied().flatten();
    let p = stft_plan(*onesided, x.shape(), step, window.map(|w| w.shape()), scalar_of(inputs, 3))?;
    let xv = x.to_f64_vec();
    let win = window.map(|w| w.to_f64_vec());
    let c = if p.complex_in { 2 } else { 1 };
    let terms = p.window_len.min(p.len);
    let mut out = vec![0.0; p.batch * p.frames * p.bins * 2];
    for b in 0..p.batch {
        for f in 0..p.frames {
            for k in 0..p.bins {
                let (mut re, mut im) = (0.0, 0.0);
                for n in 0..terms {
                    let s = f * p.step + n;
                    if s >= p.signal_len {
                        break;
                    }
                    let w = win.as_ref().map_or(1.0, |w| w[n]);
                    let at = (b * p.signal_len + s) * c;
                    let (xr, xi) = (xv[at] * w, if c == 2 { xv[at + 1] * w } else { 0.0 });
                    let th = 2.0 * PI * ((k * n) % p.len) as f64 / p.len as f64;
                    let (cs, sn) = (th.cos(), -th.sin());
                    re += xr * cs - xi * sn;
                    im += xr * sn + xi * cs;
                }
                let at = ((b * p.frames + f) * p.bins + k) * 2;
                out[at] = re;
                out[at + 1] = im;
            }
        }
    }
    Ok(vec![Tensor::from_f64(x.dtype(), vec![p.batch, p.frames, p.bins, 2], &out)])
}

/// The window's values (numpy's formulas; `periodic` divides by N, else N - 1).
pub fn window_values(kind: WindowKind, periodic: bool, size: usize) -> Vec<f64> {
    let n1 = if periodic { size as f64 } else { size as f64 - 1.0 };
    (0..size)
        .map(|n| {
            let a = 2.0 * PI * n as f64 / n1;
            match kind {
                WindowKind::Hann => (PI * n as f64 / n1).sin().powi(2),
                WindowKind::Hamming => 25.0 / 46.0 - (1.0 - 25.0 / 46.0) * a.cos(),
                WindowKind::Blackman => 0.42 - 0.5 * a.cos() + 0.08 * (2.0 * a).cos(),
            }
        })
        .collect()
}

pub(crate) fn window(op: &Op, inputs: Args) -> Out {
    let Op::Window { kind, periodic, dtype } = op else { return Err(op_err!("not a window op")) };
    let size = scalar_of(inputs, 0).ok_or_else(|| op_err!("size is missing"))?;
    let n = usize::try_from(size).map_err(|_| op_err!("size must be nonnegative, got {size}"))?;
    Ok(vec![Tensor::from_f64(*dtype, vec![n], &window_values(*kind, *periodic, n))])
}

/// Triangular mel filters, [dft_length/2 + 1, num_mel_bins], as the ONNX
/// reference computes them (band edges in f32, bin indices floored).
pub fn mel_values(bins: usize, len: usize, rate: i64, lower: f64, upper: f64) -> Vec<f64> {
    let to_mel = |hz: f64| (2595.0f32 * (hz as f32 / 700.0).ln_1p() / 10f32.ln()) as f64;
    let (lo, hi) = (to_mel(lower), to_mel(upper));
    let step = (hi - lo) / (bins + 2) as f64;
    let edges: Vec<i64> = (0..bins + 2)
        .map(|i| {
            let mel = i as f64 * step + lo;
            let hz = 700.0 * (mel / 2595.0 * 10f64.ln()).exp_m1();
            (((len + 1) as f64 * hz) / rate as f64).floor() as i64
        })
        .collect();
    let rows = len / 2 + 1;
    let mut out = vec![0.0; rows * bins];
    let mut set = |j: i64, i: usize, v: f64| {
        if let Ok(j) = usize::try_from(j) {
            if j < rows {
                out[j * bins + i] = v;
            }
        }
    };
    for i in 0..bins {
        let (l, c, h) = (edges[i], edges[i + 1], edges[i + 2]);
        // Only rows inside the matrix are written (edges can be far out
        // for extreme band limits).
        let span = |a: i64, b: i64| a.max(0)..b.min(rows as i64);
        if c == l {
            set(c, i, 1.0);
        } else {
            for j in span(l, c + 1) {
                set(j, i, (j - l) as f64 / (c - l) as f64);
            }
        }
        if h > c {
            for j in span(c, h) {
                set(j, i, (h - j) as f64 / (h - c) as f64);
            }
        }
    }
    out
}

pub(crate) fn mel(op: &Op, inputs: Args) -> Out {
    let Op::MelWeightMatrix { dtype } = op else { return Err(op_err!("not MelWeightMatrix")) };
    let get = |i: usize| scalar_of(inputs, i).ok_or_else(|| op_err!("input {i} is missing"));
    let (bins, len, rate) = (get(0)?, get(1)?, get(2)?);
    let (bins, len) = match (usize::try_from(bins), usize::try_from(len)) {
        (Ok(b), Ok(l)) if b > 0 && l > 0 && rate > 0 => (b, l),
        _ => return Err(op_err!("num_mel_bins {bins}, dft_length {len} and sample_rate {rate} must be positive")),
    };
    let f = |i: usize| -> Result<f64, OpError> { Ok(arg(inputs, i)?.to_f64_vec().first().copied().unwrap_or(0.0)) };
    let v = mel_values(bins, len, rate, f(3)?, f(4)?);
    Ok(vec![Tensor::from_f64(*dtype, vec![len / 2 + 1, bins], &v)])
}
