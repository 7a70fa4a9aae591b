//! Helpers shared by the shape rules: input access, dtype and rank checks,
//! constant shape-carrying inputs, and overflow-checked size arithmetic.

use super::{InputInfo, MAX_TENSOR_BYTES};
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op_err;

pub(super) type Inputs<'b, 'a> = &'b [Option<InputInfo<'a>>];

/// Checks the number of input slots (present or omitted).
pub(super) fn arity(inputs: Inputs<'_, '_>, min: usize, max: usize) -> Result<(), OpError> {
    let n = inputs.len();
    if n < min || n > max {
        let want = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(op_err!("expected {want} inputs, got {n}"));
    }
    Ok(())
}

/// The `i`th input, which must be present.
pub(super) fn req<'a>(
    inputs: Inputs<'_, 'a>,
    i: usize,
    name: &str,
) -> Result<InputInfo<'a>, OpError> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| op_err!("required input `{name}` (#{i}) is missing"))
}

/// The `i`th input if present.
pub(super) fn opt<'a>(inputs: Inputs<'_, 'a>, i: usize) -> Option<InputInfo<'a>> {
    inputs.get(i).copied().flatten()
}

pub(super) fn is_numeric(d: DType) -> bool {
    d != DType::Bool
}

pub(super) fn is_any(_: DType) -> bool {
    true
}

pub(super) fn is_bool(d: DType) -> bool {
    d == DType::Bool
}

pub(super) fn is_float(d: DType) -> bool {
    d.is_float()
}

pub(super) fn is_int(d: DType) -> bool {
    d.is_int()
}

/// Checks `x`'s dtype with `ok`; `what` describes the accepted set in errors.
pub(super) fn dtype(
    x: InputInfo<'_>,
    name: &str,
    ok: fn(DType) -> bool,
    what: &str,
) -> Result<DType, OpError> {
    let d = x.ty.dtype;
    if ok(d) {
        Ok(d)
    } else {
        Err(op_err!("input `{name}` must be {what}, got {d}"))
    }
}

/// Checks that `b` has the same dtype as `a`.
pub(super) fn same_dtype(
    a: InputInfo<'_>,
    an: &str,
    b: InputInfo<'_>,
    bn: &str,
) -> Result<(), OpError> {
    if a.ty.dtype != b.ty.dtype {
        return Err(op_err!(
            "inputs `{an}` and `{bn}` must have the same dtype, got {} and {}",
            a.ty.dtype,
            b.ty.dtype
        ));
    }
    Ok(())
}

/// Checks `x`'s rank is at least `min`.
pub(super) fn min_rank(x: InputInfo<'_>, name: &str, min: usize) -> Result<usize, OpError> {
    let r = x.ty.rank();
    if r < min {
        return Err(op_err!(
            "input `{name}` must have rank >= {min}, got shape {:?}",
            x.ty.shape
        ));
    }
    Ok(r)
}

/// Checks `x`'s rank is exactly `want`.
pub(super) fn rank_eq(x: InputInfo<'_>, name: &str, want: usize) -> Result<(), OpError> {
    if x.ty.rank() != want {
        return Err(op_err!(
            "input `{name}` must have rank {want}, got shape {:?}",
            x.ty.shape
        ));
    }
    Ok(())
}

/// Checks `x` holds exactly one element (a scalar or a one-element tensor).
pub(super) fn scalar_like(x: InputInfo<'_>, name: &str) -> Result<(), OpError> {
    if checked_numel(&x.ty.shape)? != 1 {
        return Err(op_err!(
            "input `{name}` must be a scalar, got shape {:?}",
            x.ty.shape
        ));
    }
    Ok(())
}

/// Values of a shape-carrying integer input (rank 0 or 1), which must be a
/// constant because every size is fixed at compile time. `int32_ok` admits
/// inputs that ONNX types as `Tind` (int32 or int64).
pub(super) fn const_ints(
    x: InputInfo<'_>,
    name: &str,
    int32_ok: bool,
) -> Result<Vec<i64>, OpError> {
    let d = x.ty.dtype;
    if !(d == DType::I64 || (int32_ok && d == DType::I32)) {
        let want = if int32_ok { "i32 or i64" } else { "i64" };
        return Err(op_err!("input `{name}` must be {want}, got {d}"));
    }
    if x.ty.rank() > 1 {
        return Err(op_err!(
            "input `{name}` must be 1-D, got shape {:?}",
            x.ty.shape
        ));
    }
    let v = x
        .value
        .ok_or_else(|| OpError::needs_constant(name))?;
    if v.ty() != x.ty {
        return Err(op_err!(
            "input `{name}` has type {} but its constant is {}",
            x.ty,
            v.ty()
        ));
    }
    Ok(v.to_i64_vec())
}

/// Converts requested dims (from a constant tensor) to sizes, rejecting negatives.
pub(super) fn dims_from_i64(v: &[i64], name: &str) -> Result<Vec<usize>, OpError> {
    v.iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| op_err!("input `{name}` has negative dimension {d} in {v:?}"))
        })
        .collect()
}

/// Element count of `shape`, failing instead of overflowing.
pub(super) fn checked_numel(shape: &[usize]) -> Result<usize, OpError> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| op_err!("shape {shape:?} has too many elements"))
}

pub(super) fn checked_add(a: usize, b: usize) -> Result<usize, OpError> {
    a.checked_add(b)
        .ok_or_else(|| op_err!("dimension {a} + {b} overflows"))
}

pub(super) fn checked_mul(a: usize, b: usize) -> Result<usize, OpError> {
    a.checked_mul(b)
        .ok_or_else(|| op_err!("dimension {a} * {b} overflows"))
}

/// Rejects outputs beyond `MAX_TENSOR_BYTES`.
pub(super) fn check_size(ty: &TensorType) -> Result<(), OpError> {
    match ty.byte_size() {
        Some(n) if n <= MAX_TENSOR_BYTES => Ok(()),
        _ => Err(op_err!(
            "output type {ty} is larger than the 2^40-byte limit"
        )),
    }
}

/// Normalizes each of `axes` against `rank` and rejects duplicates.
pub(super) fn norm_axes(axes: &[i64], rank: usize, name: &str) -> Result<Vec<usize>, OpError> {
    let mut seen = vec![false; rank];
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = super::norm_axis(a, rank).map_err(|e| op_err!("input `{name}`: {}", e.0))?;
        if n >= rank {
            return Err(op_err!(
                "input `{name}`: axis {a} out of range for rank {rank}"
            ));
        }
        if seen[n] {
            return Err(op_err!("input `{name}` repeats axis {a} in {axes:?}"));
        }
        seen[n] = true;
        out.push(n);
    }
    Ok(out)
}
