//! Comparing a computed tensor with an expected one, with the semantics of
//! `numpy.testing.assert_allclose` (what the ONNX backend test runner uses):
//! floats pass where `|actual - expected| <= atol + rtol * |expected|`, NaN
//! equals NaN and an infinity equals the same infinity; integers and booleans
//! must be exactly equal.

use onnxc_ir::{DType, Tensor};
use std::fmt;

/// Why two tensors differ; `Display` is a one-line diagnostic.
#[derive(Clone, Debug, PartialEq)]
pub enum Mismatch {
    DType {
        actual: DType,
        expected: DType,
    },
    Shape {
        actual: Vec<usize>,
        expected: Vec<usize>,
    },
    Values {
        /// Elements out of tolerance.
        count: usize,
        total: usize,
        /// The element with the largest excess over the tolerance.
        index: usize,
        actual: f64,
        expected: f64,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::DType { actual, expected } => write!(f, "dtype {actual}, expected {expected}"),
            Mismatch::Shape { actual, expected } => write!(f, "shape {actual:?}, expected {expected:?}"),
            Mismatch::Values { count, total, index, actual, expected } => write!(
                f,
                "{count}/{total} elements differ; worst at flat index {index}: got {actual}, expected {expected}"
            ),
        }
    }
}

/// One float element within tolerance, NaN and infinities included.
pub fn close(actual: f64, expected: f64, rtol: f64, atol: f64) -> bool {
    if actual.is_nan() || expected.is_nan() {
        return actual.is_nan() && expected.is_nan();
    }
    if actual.is_infinite() || expected.is_infinite() {
        return actual == expected;
    }
    (actual - expected).abs() <= atol + rtol * expected.abs()
}

/// Compares `actual` with `expected`; `Ok` when they match.
pub fn compare(actual: &Tensor, expected: &Tensor, rtol: f64, atol: f64) -> Result<(), Mismatch> {
    if actual.dtype() != expected.dtype() {
        return Err(Mismatch::DType { actual: actual.dtype(), expected: expected.dtype() });
    }
    if actual.shape() != expected.shape() {
        return Err(Mismatch::Shape { actual: actual.shape().to_vec(), expected: expected.shape().to_vec() });
    }
    let dtype = actual.dtype();
    if dtype.is_small_float() {
        return compare_small_float(actual, expected);
    }
    if dtype.is_int() {
        return compare_exact(actual.bytes(), expected.bytes(), dtype.size(), actual, expected);
    }
    let (a, e) = (actual.to_f64_vec(), expected.to_f64_vec());
    let total = a.len();
    let mut count = 0;
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&x, &y)) in a.iter().zip(&e).enumerate() {
        let ok = if dtype == DType::Bool { x == y } else { close(x, y, rtol, atol) };
        if !ok {
            count += 1;
            // NaN/inf mismatches rank above every finite excess.
            let excess = (x - y).abs() - atol - rtol * y.abs();
            let excess = if excess.is_nan() { f64::INFINITY } else { excess };
            if worst.is_none_or(|(_, w)| excess > w) {
                worst = Some((i, excess));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((index, _)) => Err(Mismatch::Values { count, total, index, actual: a[index], expected: e[index] }),
    }
}

/// float8/float4/E8M0 compare bit for bit, except that any two NaN
/// patterns are equal (FN types have two, with either sign).
fn compare_small_float(at: &Tensor, et: &Tensor) -> Result<(), Mismatch> {
    let (a, e) = (at.to_f64_vec(), et.to_f64_vec());
    let diffs: Vec<usize> = (0..a.len())
        .filter(|&i| at.bytes()[i] != et.bytes()[i] && !(a[i].is_nan() && e[i].is_nan()))
        .collect();
    match diffs.first() {
        None => Ok(()),
        Some(&index) => {
            Err(Mismatch::Values { count: diffs.len(), total: a.len(), index, actual: a[index], expected: e[index] })
        }
    }
}

/// Integers compare bitwise (exact even for u64/i64 beyond 2^53).
fn compare_exact(a: &[u8], e: &[u8], width: usize, at: &Tensor, et: &Tensor) -> Result<(), Mismatch> {
    let diffs: Vec<usize> = a
        .chunks_exact(width)
        .zip(e.chunks_exact(width))
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, _)| i)
        .collect();
    match diffs.first() {
        None => Ok(()),
        Some(&index) => Err(Mismatch::Values {
            count: diffs.len(),
            total: a.len() / width.max(1),
            index,
            actual: at.to_f64_vec()[index],
            expected: et.to_f64_vec()[index],
        }),
    }
}

/// Index of the largest element (first on ties; NaN never wins): the top-1 class.
pub fn argmax(t: &Tensor) -> Option<usize> {
    let v = t.to_f64_vec();
    let mut best: Option<usize> = None;
    for (i, &x) in v.iter().enumerate() {
        if !x.is_nan() && best.is_none_or(|b| x > v[b]) {
            best = Some(i);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(v: &[f32]) -> Tensor {
        Tensor::from_vec(vec![v.len()], v.to_vec())
    }

    #[test]
    fn allclose_semantics() {
        let e = f32s(&[1.0, f32::NAN, f32::INFINITY, 0.0]);
        assert_eq!(compare(&f32s(&[1.0005, f32::NAN, f32::INFINITY, 1e-8]), &e, 1e-3, 1e-7), Ok(()));
        let err = compare(&f32s(&[1.01, f32::NAN, f32::INFINITY, 0.0]), &e, 1e-3, 1e-7).unwrap_err();
        assert!(matches!(err, Mismatch::Values { count: 1, index: 0, .. }), "{err}");
        assert!(compare(&f32s(&[1.0, 0.0, f32::INFINITY, 0.0]), &e, 1e-3, 1e-7).is_err());
        assert!(compare(&f32s(&[1.0, f32::NAN, f32::NEG_INFINITY, 0.0]), &e, 1e-3, 1e-7).is_err());
    }

    #[test]
    fn worst_element_is_reported() {
        let e = f32s(&[1.0, 2.0, 3.0]);
        let err = compare(&f32s(&[1.1, 2.0, 5.0]), &e, 1e-3, 0.0).unwrap_err();
        assert!(matches!(err, Mismatch::Values { count: 2, index: 2, .. }), "{err}");
    }

    #[test]
    fn ints_are_exact_and_shapes_and_dtypes_checked() {
        let e = Tensor::from_vec(vec![2], vec![u64::MAX, 3]);
        assert_eq!(compare(&e, &e, 1.0, 1.0), Ok(()));
        let a = Tensor::from_vec(vec![2], vec![u64::MAX - 1, 3]);
        assert!(compare(&a, &e, 1.0, 1.0).is_err(), "tolerances must not apply to ints");
        let a = Tensor::from_vec(vec![1, 2], vec![u64::MAX, 3]);
        assert!(matches!(compare(&a, &e, 0.0, 0.0), Err(Mismatch::Shape { .. })));
        let a = Tensor::from_vec(vec![2], vec![1i64, 3]);
        assert!(matches!(compare(&a, &e, 0.0, 0.0), Err(Mismatch::DType { .. })));
    }

    #[test]
    fn argmax_picks_first_largest() {
        assert_eq!(argmax(&f32s(&[0.1, 0.7, f32::NAN, 0.7])), Some(1));
        assert_eq!(argmax(&f32s(&[])), None);
    }
}
