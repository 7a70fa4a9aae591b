//! Neural-network family: Conv, normalization, pooling, Gemm/MatMul,
//! softmax-like ops and Dropout (inference form).

use super::util::*;
use super::{broadcast_shapes, norm_axis};
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::Window;
use crate::op_err;

fn is_gemm_type(d: DType) -> bool {
    d.is_float() || matches!(d, DType::I32 | DType::I64 | DType::U32 | DType::U64)
}

fn is_max_pool_type(d: DType) -> bool {
    d.is_float() || matches!(d, DType::I8 | DType::U8)
}

/// Validates the window attributes against the input's spatial extents and
/// returns the output extents. The checks also make `Window::out_dim`'s
/// arithmetic safe: positive kernel/stride/dilation, no overflow.
fn window_out(w: &Window, spatial: &[usize], ceil_mode: bool) -> Result<Vec<usize>, OpError> {
    let r = w.spatial_rank();
    if r != spatial.len() {
        return Err(op_err!(
            "kernel_shape {:?} has {r} dims but the input has {} spatial dims {spatial:?}",
            w.kernel_shape,
            spatial.len()
        ));
    }
    if w.strides.len() != r || w.dilations.len() != r || w.pads.len() != 2 * r {
        return Err(op_err!(
            "window attributes disagree with {r} spatial dims: strides {:?}, dilations {:?}, pads {:?} (want {r}, {r} and {} values)",
            w.strides,
            w.dilations,
            w.pads,
            2 * r
        ));
    }
    let mut out = Vec::with_capacity(r);
    for (i, &n) in spatial.iter().enumerate() {
        let (k, s, d) = (w.kernel_shape[i], w.strides[i], w.dilations[i]);
        if k == 0 || s == 0 || d == 0 {
            return Err(op_err!(
                "spatial axis {i}: kernel_shape, strides and dilations must be positive, got {k}, {s}, {d}"
            ));
        }
        let eff = d.checked_mul(k - 1).and_then(|e| e.checked_add(1));
        let padded = n
            .checked_add(w.pads[i])
            .and_then(|p| p.checked_add(w.pads[i + r]))
            .filter(|p| p.checked_add(s).is_some());
        let (Some(eff), Some(padded)) = (eff, padded) else {
            return Err(op_err!("spatial axis {i}: window attributes are too large"));
        };
        if padded < eff {
            return Err(op_err!(
                "spatial axis {i}: dilated kernel extent {eff} exceeds the padded input extent {padded}"
            ));
        }
        out.push(w.out_dim(i, n, ceil_mode));
    }
    Ok(out)
}

pub(super) fn conv(
    w: &Window,
    group: usize,
    inputs: Inputs<'_, '_>,
) -> Result<TensorType, OpError> {
    arity(inputs, 2, 3)?;
    let x = req(inputs, 0, "X")?;
    let wt = req(inputs, 1, "W")?;
    dtype(x, "X", is_float, "a float")?;
    same_dtype(x, "X", wt, "W")?;
    let r = min_rank(x, "X", 3)?;
    rank_eq(wt, "W", r)?;
    let (xs, ws) = (&x.ty.shape, &wt.ty.shape);
    let (c, m) = (xs[1], ws[0]);
    if group == 0 || c % group != 0 || m % group != 0 || ws[1].checked_mul(group) != Some(c) {
        return Err(op_err!(
            "group {group} does not fit X channels {c}, W shape {ws:?} (want C % group == 0, M % group == 0, W[1] == C / group)"
        ));
    }
    if w.kernel_shape != ws[2..] {
        return Err(op_err!(
            "kernel_shape {:?} disagrees with W's spatial dims {:?}",
            w.kernel_shape,
            &ws[2..]
        ));
    }
    if let Some(b) = opt(inputs, 2) {
        same_dtype(x, "X", b, "B")?;
        if b.ty.shape != [m] {
            return Err(op_err!(
                "input `B` must have shape [{m}], got {:?}",
                b.ty.shape
            ));
        }
    }
    let mut shape = vec![xs[0], m];
    shape.extend(window_out(w, &xs[2..], false)?);
    Ok(TensorType::new(x.ty.dtype, shape))
}

pub(super) fn batch_norm(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 5, 5)?;
    let x = req(inputs, 0, "X")?;
    dtype(x, "X", is_float, "a float")?;
    let r = min_rank(x, "X", 1)?;
    let c = if r >= 2 { x.ty.shape[1] } else { 1 };
    for (i, name) in [(1, "scale"), (2, "B"), (3, "input_mean"), (4, "input_var")] {
        let p = req(inputs, i, name)?;
        same_dtype(x, "X", p, name)?;
        if p.ty.shape != [c] {
            return Err(op_err!(
                "input `{name}` must have shape [{c}], got {:?}",
                p.ty.shape
            ));
        }
    }
    Ok(x.ty.clone())
}

fn pool(
    w: &Window,
    ceil_mode: bool,
    inputs: Inputs<'_, '_>,
    ok: fn(DType) -> bool,
    what: &str,
) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "X")?;
    dtype(x, "X", ok, what)?;
    min_rank(x, "X", 3)?;
    let mut shape = x.ty.shape[..2].to_vec();
    shape.extend(window_out(w, &x.ty.shape[2..], ceil_mode)?);
    Ok(TensorType::new(x.ty.dtype, shape))
}

pub(super) fn max_pool(
    w: &Window,
    ceil_mode: bool,
    inputs: Inputs<'_, '_>,
    num_outputs: usize,
) -> Result<Vec<TensorType>, OpError> {
    if !(1..=2).contains(&num_outputs) {
        return Err(op_err!(
            "expected 1 or 2 outputs (Y, Indices), got {num_outputs}"
        ));
    }
    let y = pool(w, ceil_mode, inputs, is_max_pool_type, "a float, i8 or u8")?;
    let mut out = vec![y.clone()];
    if num_outputs == 2 {
        out.push(TensorType::new(DType::I64, y.shape));
    }
    Ok(out)
}

pub(super) fn average_pool(
    w: &Window,
    ceil_mode: bool,
    inputs: Inputs<'_, '_>,
) -> Result<TensorType, OpError> {
    pool(w, ceil_mode, inputs, is_float, "a float")
}

pub(super) fn global_pool(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "X")?;
    dtype(x, "X", is_float, "a float")?;
    let r = min_rank(x, "X", 3)?;
    let mut shape = x.ty.shape[..2].to_vec();
    shape.resize(r, 1);
    Ok(TensorType::new(x.ty.dtype, shape))
}

pub(super) fn lrn(size: usize, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "X")?;
    dtype(x, "X", is_float, "a float")?;
    min_rank(x, "X", 2)?;
    if size == 0 {
        return Err(op_err!("attribute `size` must be positive, got 0"));
    }
    Ok(x.ty.clone())
}

pub(super) fn gemm(
    trans_a: bool,
    trans_b: bool,
    inputs: Inputs<'_, '_>,
) -> Result<TensorType, OpError> {
    arity(inputs, 2, 3)?;
    let a = req(inputs, 0, "A")?;
    let b = req(inputs, 1, "B")?;
    dtype(a, "A", is_gemm_type, "a float, i32, i64, u32 or u64")?;
    same_dtype(a, "A", b, "B")?;
    rank_eq(a, "A", 2)?;
    rank_eq(b, "B", 2)?;
    let (m, ka) = if trans_a {
        (a.ty.shape[1], a.ty.shape[0])
    } else {
        (a.ty.shape[0], a.ty.shape[1])
    };
    let (kb, n) = if trans_b {
        (b.ty.shape[1], b.ty.shape[0])
    } else {
        (b.ty.shape[0], b.ty.shape[1])
    };
    if ka != kb {
        return Err(op_err!(
            "inner dimensions differ: A {:?} (trans_a={trans_a}) and B {:?} (trans_b={trans_b}) give K = {ka} vs {kb}",
            a.ty.shape,
            b.ty.shape
        ));
    }
    if let Some(c) = opt(inputs, 2) {
        same_dtype(a, "A", c, "C")?;
        let fits = c.ty.rank() <= 2
            && broadcast_shapes(&c.ty.shape, &[m, n]).ok().as_deref() == Some(&[m, n][..]);
        if !fits {
            return Err(op_err!(
                "input `C` of shape {:?} must broadcast to [{m}, {n}]",
                c.ty.shape
            ));
        }
    }
    Ok(TensorType::new(a.ty.dtype, vec![m, n]))
}

pub(super) fn matmul(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let a = req(inputs, 0, "A")?;
    let b = req(inputs, 1, "B")?;
    dtype(a, "A", is_gemm_type, "a float, i32, i64, u32 or u64")?;
    same_dtype(a, "A", b, "B")?;
    min_rank(a, "A", 1)?;
    min_rank(b, "B", 1)?;
    // numpy.matmul: a 1-D A is a row vector, a 1-D B a column vector; the
    // added axis is dropped from the result.
    let (sa, sb) = (&a.ty.shape, &b.ty.shape);
    let (a_batch, m, ka) = match sa.len() {
        1 => (&sa[..0], None, sa[0]),
        r => (&sa[..r - 2], Some(sa[r - 2]), sa[r - 1]),
    };
    let (b_batch, kb, n) = match sb.len() {
        1 => (&sb[..0], sb[0], None),
        r => (&sb[..r - 2], sb[r - 2], Some(sb[r - 1])),
    };
    if ka != kb {
        return Err(op_err!(
            "inner dimensions differ: A {sa:?} has K = {ka}, B {sb:?} has K = {kb}"
        ));
    }
    let mut shape = broadcast_shapes(a_batch, b_batch).map_err(|_| {
        op_err!("batch dimensions of A {sa:?} and B {sb:?} cannot be broadcast together")
    })?;
    shape.extend(m);
    shape.extend(n);
    Ok(TensorType::new(a.ty.dtype, shape))
}

pub(super) fn softmax(axis: i64, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "input")?;
    dtype(x, "input", is_float, "a float")?;
    let r = min_rank(x, "input", 1)?;
    norm_axis(axis, r)?;
    Ok(x.ty.clone())
}

pub(super) fn dropout(
    inputs: Inputs<'_, '_>,
    num_outputs: usize,
) -> Result<Vec<TensorType>, OpError> {
    arity(inputs, 1, 3)?;
    if !(1..=2).contains(&num_outputs) {
        return Err(op_err!(
            "expected 1 or 2 outputs (output, mask), got {num_outputs}"
        ));
    }
    let x = req(inputs, 0, "data")?;
    dtype(x, "data", is_float, "a float")?;
    if let Some(r) = opt(inputs, 1) {
        dtype(r, "ratio", is_float, "a float")?;
        scalar_like(r, "ratio")?;
    }
    if let Some(t) = opt(inputs, 2) {
        dtype(t, "training_mode", is_bool, "bool")?;
        scalar_like(t, "training_mode")?;
        // Training-mode dropout is random; only the inference identity compiles.
        let v = t.value.ok_or_else(|| OpError::needs_constant("training_mode"))?;
        if !v.to_f64_vec().iter().all(|&b| b == 0.0) {
            return Err(op_err!(
                "input `training_mode` must be a constant false to compile ahead of time"
            ));
        }
    }
    let mut out = vec![x.ty.clone()];
    if num_outputs == 2 {
        out.push(TensorType::new(DType::Bool, x.ty.shape.clone()));
    }
    Ok(out)
}
