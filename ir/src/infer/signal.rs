//! DFT, STFT, the window generators (Hann, Hamming, Blackman) and
//! MelWeightMatrix. [`DftPlan`] and [`StftPlan`] fix the sizes once for the
//! evaluator and the lowering. Window sizes, frame steps and DFT lengths
//! are shape-carrying and must be constants.

use super::util::*;
use super::InputInfo;
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::Op;
use crate::op_err;

/// A DFT along one axis of an input viewed as [outer, n_in, inner, c].
#[derive(Clone, Debug, PartialEq)]
pub struct DftPlan {
    pub outer: usize,
    pub n_in: usize,
    pub inner: usize,
    pub complex_in: bool,
    /// The transform length (dft_length).
    pub len: usize,
    pub n_out: usize,
    /// Input positions that contribute (the rest are zero padding).
    pub terms: usize,
    pub inverse: bool,
    /// Inverse of a one-sided spectrum: a real output (numpy irfft).
    pub irfft: bool,
    pub out_shape: Vec<usize>,
}

/// One scalar from a constant integer input (i32 or i64).
fn const_scalar(x: InputInfo<'_>, name: &str) -> Result<i64, OpError> {
    let v = const_ints(x, name, true)?;
    match v.as_slice() {
        [s] => Ok(*s),
        _ => Err(op_err!("input `{name}` must hold one value, got {v:?}")),
    }
}

fn positive(v: i64, name: &str) -> Result<usize, OpError> {
    usize::try_from(v).ok().filter(|&n| n > 0).ok_or_else(|| op_err!("`{name}` must be positive, got {v}"))
}

/// `dft_length` is the constant length input (None: the default).
pub fn dft_plan(op: &Op, shape: &[usize], dft_length: Option<i64>) -> Result<DftPlan, OpError> {
    let Op::Dft { axis, inverse, onesided } = op else { return Err(op_err!("{} is not DFT", op.onnx_name())) };
    let r = shape.len();
    if r < 2 || !(1..=2).contains(&shape[r - 1]) {
        return Err(op_err!("input must be [..., N, 1 or 2], got {shape:?}"));
    }
    let a = if *axis < 0 { *axis + r as i64 } else { *axis };
    if a < 0 || a >= r as i64 - 1 {
        return Err(op_err!("axis {axis} out of range for input {shape:?} (the last dim is the complex dim)"));
    }
    let a = a as usize;
    let n_in = shape[a];
    let irfft = *inverse && *onesided;
    let len = match dft_length {
        Some(l) => positive(l, "dft_length")?,
        None if irfft => positive(2 * (n_in as i64 - 1), "the default irfft length 2*(N-1)")?,
        None => positive(n_in as i64, "the signal length")?,
    };
    let (n_out, terms) = if irfft {
        (len, n_in.min(len / 2 + 1))
    } else if *onesided {
        (len / 2 + 1, n_in.min(len))
    } else {
        (len, n_in.min(len))
    };
    let mut out_shape = shape.to_vec();
    out_shape[a] = n_out;
    out_shape[r - 1] = if irfft { 1 } else { 2 };
    Ok(DftPlan {
        outer: shape[..a].iter().product(),
        n_in,
        inner: shape[a + 1..r - 1].iter().product(),
        complex_in: shape[r - 1] == 2,
        len,
        n_out,
        terms,
        inverse: *inverse,
        irfft,
        out_shape,
    })
}

pub(super) fn dft(op: &Op, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 2)?;
    let x = req(inputs, 0, "input")?;
    let dt = dtype(x, "input", is_float, "a float")?;
    let len = opt(inputs, 1).map(|l| const_scalar(l, "dft_length")).transpose()?;
    let p = dft_plan(op, &x.ty.shape, len)?;
    Ok(TensorType::new(dt, p.out_shape))
}

#[derive(Clone, Debug, PartialEq)]
pub struct StftPlan {
    pub batch: usize,
    pub signal_len: usize,
    pub complex_in: bool,
    pub step: usize,
    /// The DFT length (frame_length).
    pub len: usize,
    /// Samples per frame read (the window's length, or `len`).
    pub window_len: usize,
    pub frames: usize,
    pub bins: usize,
}

pub fn stft_plan(onesided: bool, signal: &[usize], step: i64, window: Option<&[usize]>, frame_length: Option<i64>) -> Result<StftPlan, OpError> {
    let [batch, s, c] = *signal else { return Err(op_err!("signal must be [B, N, 1 or 2], got {signal:?}")) };
    if !(1..=2).contains(&c) {
        return Err(op_err!("signal must be [B, N, 1 or 2], got {signal:?}"));
    }
    let step = positive(step, "frame_step")?;
    let window_len = match window {
        None => None,
        Some([w]) => Some(*w),
        Some(w) => return Err(op_err!("window must be 1-D, got {w:?}")),
    };
    let len = match (frame_length, window_len) {
        (Some(l), _) => positive(l, "frame_length")?,
        (None, Some(w)) => positive(w as i64, "the window length")?,
        (None, None) => positive(s as i64, "the signal length")?,
    };
    if len > s {
        return Err(op_err!("frame_length {len} exceeds the signal length {s}"));
    }
    let frames = 1 + (s - len) / step;
    let bins = if onesided { len / 2 + 1 } else { len };
    Ok(StftPlan { batch, signal_len: s, complex_in: c == 2, step, len, window_len: window_len.unwrap_or(len), frames, bins })
}

pub(super) fn stft(op: &Op, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    let Op::Stft { onesided } = op else { return Err(op_err!("not STFT")) };
    arity(inputs, 2, 4)?;
    let x = req(inputs, 0, "signal")?;
    let dt = dtype(x, "signal", is_float, "a float")?;
    let step = const_scalar(req(inputs, 1, "frame_step")?, "frame_step")?;
    let window = opt(inputs, 2);
    if let Some(w) = window {
        same_dtype(x, "signal", w, "window")?;
    }
    let fl = opt(inputs, 3).map(|l| const_scalar(l, "frame_length")).transpose()?;
    let p = stft_plan(*onesided, &x.ty.shape, step, window.map(|w| w.ty.shape.as_slice()), fl)?;
    Ok(TensorType::new(dt, vec![p.batch, p.frames, p.bins, 2]))
}

pub(super) fn window(op: &Op, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    let Op::Window { dtype: out, .. } = op else { return Err(op_err!("not a window op")) };
    arity(inputs, 1, 1)?;
    let size = const_scalar(req(inputs, 0, "size")?, "size")?;
    let n = usize::try_from(size).map_err(|_| op_err!("size must be nonnegative, got {size}"))?;
    if !out.is_float() && !out.is_int() {
        return Err(op_err!("output_datatype must be numeric, got {out}"));
    }
    Ok(TensorType::new(*out, vec![n]))
}

/// (num_mel_bins, dft_length, sample_rate) of MelWeightMatrix.
pub(super) fn mel_sizes(inputs: Inputs<'_, '_>) -> Result<(usize, usize, i64), OpError> {
    arity(inputs, 5, 5)?;
    let bins = const_scalar(req(inputs, 0, "num_mel_bins")?, "num_mel_bins")?;
    let len = const_scalar(req(inputs, 1, "dft_length")?, "dft_length")?;
    let rate = const_scalar(req(inputs, 2, "sample_rate")?, "sample_rate")?;
    for (i, n) in [(3, "lower_edge_hertz"), (4, "upper_edge_hertz")] {
        let x = req(inputs, i, n)?;
        dtype(x, n, is_float, "a float")?;
        scalar_like(x, n)?;
    }
    if rate <= 0 {
        return Err(op_err!("sample_rate must be positive, got {rate}"));
    }
    Ok((positive(bins, "num_mel_bins")?, positive(len, "dft_length")?, rate))
}

pub(super) fn mel(op: &Op, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    let Op::MelWeightMatrix { dtype: out } = op else { return Err(op_err!("not MelWeightMatrix")) };
    let (bins, len, _) = mel_sizes(inputs)?;
    if !out.is_float() && !out.is_int() || *out == DType::Bool {
        return Err(op_err!("output_datatype must be numeric, got {out}"));
    }
    Ok(TensorType::new(*out, vec![len / 2 + 1, bins]))
}
