//! The evaluator's helper layer: tensors as typed vectors (`Data`), numeric
//! traits that give every element type one generic code path, dtype-agnostic
//! element gathers for data-movement ops, and broadcasting index maps.
//!
//! f16 and bf16 are computed in f32 (`Data::F32`) and rounded back when the
//! result tensor is built, which is what the ONNX reference does in effect
//! (numpy's half arithmetic rounds each op to half, within tolerance).

use crate::dtype::DType;
use crate::error::OpError;
use crate::minifloat;
use crate::op_err;
use crate::tensor::{Element, Tensor};
use bytes::Bytes;
use half::{bf16, f16};

/// A tensor's elements as a typed vector; f16/bf16 and the small floats are
/// widened to `F32`, I4/I2 to `I8`, U4/U2 to `U8` (`into_tensor` narrows back).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
}

/// Runs `$body` with `$v` bound to the vector of whichever numeric variant
/// `$d` is (the body is monomorphized per arm); bool is an error.
macro_rules! num_dispatch {
    ($d:expr, $v:ident => $body:expr) => {
        match $d {
            $crate::eval::util::Data::F32($v) => $body,
            $crate::eval::util::Data::F64($v) => $body,
            $crate::eval::util::Data::I8($v) => $body,
            $crate::eval::util::Data::I16($v) => $body,
            $crate::eval::util::Data::I32($v) => $body,
            $crate::eval::util::Data::I64($v) => $body,
            $crate::eval::util::Data::U8($v) => $body,
            $crate::eval::util::Data::U16($v) => $body,
            $crate::eval::util::Data::U32($v) => $body,
            $crate::eval::util::Data::U64($v) => $body,
            $crate::eval::util::Data::Bool(_) => {
                Err($crate::op_err!("bool tensors are not supported here"))
            }
        }
    };
}

/// Like `num_dispatch!` for the float variants only.
macro_rules! float_dispatch {
    ($d:expr, $v:ident => $body:expr) => {
        match $d {
            $crate::eval::util::Data::F32($v) => $body,
            $crate::eval::util::Data::F64($v) => $body,
            other => Err($crate::op_err!(
                "{} tensors are not supported here (float only)",
                other.kind()
            )),
        }
    };
}

/// Like `num_dispatch!` for the integer variants only.
macro_rules! int_dispatch {
    ($d:expr, $v:ident => $body:expr) => {
        match $d {
            $crate::eval::util::Data::I8($v) => $body,
            $crate::eval::util::Data::I16($v) => $body,
            $crate::eval::util::Data::I32($v) => $body,
            $crate::eval::util::Data::I64($v) => $body,
            $crate::eval::util::Data::U8($v) => $body,
            $crate::eval::util::Data::U16($v) => $body,
            $crate::eval::util::Data::U32($v) => $body,
            $crate::eval::util::Data::U64($v) => $body,
            other => Err($crate::op_err!(
                "{} tensors are not supported here (integer only)",
                other.kind()
            )),
        }
    };
}

/// Runs `$body` with `$a`, `$b` bound to two vectors of the same variant.
macro_rules! num_dispatch2 {
    ($x:expr, $y:expr, $a:ident, $b:ident => $body:expr) => {{
        use $crate::eval::util::Data as D;
        match ($x, $y) {
            (D::F32($a), D::F32($b)) => $body,
            (D::F64($a), D::F64($b)) => $body,
            (D::I8($a), D::I8($b)) => $body,
            (D::I16($a), D::I16($b)) => $body,
            (D::I32($a), D::I32($b)) => $body,
            (D::I64($a), D::I64($b)) => $body,
            (D::U8($a), D::U8($b)) => $body,
            (D::U16($a), D::U16($b)) => $body,
            (D::U32($a), D::U32($b)) => $body,
            (D::U64($a), D::U64($b)) => $body,
            (x, y) => Err($crate::op_err!(
                "unsupported operand types {} and {}",
                x.kind(),
                y.kind()
            )),
        }
    }};
}

pub(crate) use {float_dispatch, int_dispatch, num_dispatch, num_dispatch2};

impl Data {
    pub fn of(t: &Tensor) -> Data {
        match t.dtype() {
            DType::F32 => Data::F32(t.to_vec()),
            DType::F64 => Data::F64(t.to_vec()),
            DType::F16 => Data::F32(t.to_vec::<f16>().into_iter().map(f32::from).collect()),
            DType::BF16 => Data::F32(t.to_vec::<bf16>().into_iter().map(f32::from).collect()),
            DType::I8 => Data::I8(t.to_vec()),
            DType::I16 => Data::I16(t.to_vec()),
            DType::I32 => Data::I32(t.to_vec()),
            DType::I64 => Data::I64(t.to_vec()),
            DType::U8 => Data::U8(t.to_vec()),
            DType::U16 => Data::U16(t.to_vec()),
            DType::U32 => Data::U32(t.to_vec()),
            DType::U64 => Data::U64(t.to_vec()),
            DType::Bool => Data::Bool(t.to_vec()),
            d if d.is_small_float() => {
                Data::F32(t.bytes().iter().map(|&b| minifloat::decode(d, b)).collect())
            }
            DType::I4 | DType::I2 => {
                Data::I8(t.bytes().iter().map(|&b| minifloat::int_decode(t.dtype(), b) as i8).collect())
            }
            // U4, U2
            d => Data::U8(t.bytes().iter().map(|&b| minifloat::int_decode(d, b) as u8).collect()),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Data::F32(_) => "f32",
            Data::F64(_) => "f64",
            Data::I8(_) => "i8",
            Data::I16(_) => "i16",
            Data::I32(_) => "i32",
            Data::I64(_) => "i64",
            Data::U8(_) => "u8",
            Data::U16(_) => "u16",
            Data::U32(_) => "u32",
            Data::U64(_) => "u64",
            Data::Bool(_) => "bool",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::I8(v) => v.len(),
            Data::I16(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::U8(v) => v.len(),
            Data::U16(v) => v.len(),
            Data::U32(v) => v.len(),
            Data::U64(v) => v.len(),
            Data::Bool(v) => v.len(),
        }
    }

    /// Builds a tensor of `dtype`: f16/bf16 round from `F32`; every other
    /// dtype must match the variant exactly.
    pub fn into_tensor(self, dtype: DType, shape: &[usize]) -> Result<Tensor, OpError> {
        let n: usize = shape.iter().product();
        if self.len() != n {
            return Err(op_err!(
                "internal: {} elements for shape {shape:?}",
                self.len()
            ));
        }
        let shape = shape.to_vec();
        Ok(match (self, dtype) {
            (Data::F32(v), DType::F16) => {
                Tensor::from_vec(shape, v.into_iter().map(f16::from_f32).collect())
            }
            (Data::F32(v), DType::BF16) => {
                Tensor::from_vec(shape, v.into_iter().map(bf16::from_f32).collect())
            }
            (Data::F32(v), DType::F32) => Tensor::from_vec(shape, v),
            (Data::F64(v), DType::F64) => Tensor::from_vec(shape, v),
            (Data::I8(v), DType::I8) => Tensor::from_vec(shape, v),
            (Data::I16(v), DType::I16) => Tensor::from_vec(shape, v),
            (Data::I32(v), DType::I32) => Tensor::from_vec(shape, v),
            (Data::I64(v), DType::I64) => Tensor::from_vec(shape, v),
            (Data::U8(v), DType::U8) => Tensor::from_vec(shape, v),
            (Data::U16(v), DType::U16) => Tensor::from_vec(shape, v),
            (Data::U32(v), DType::U32) => Tensor::from_vec(shape, v),
            (Data::U64(v), DType::U64) => Tensor::from_vec(shape, v),
            (Data::Bool(v), DType::Bool) => Tensor::from_vec(shape, v),
            (Data::F32(v), d) if d.is_small_float() => {
                let b: Vec<u8> = v.into_iter().map(|x| minifloat::encode(d, x, true)).collect();
                Tensor::from_bytes(crate::dtype::TensorType::new(d, shape), b.into()).map_err(|e| op_err!("{e}"))?
            }
            (Data::I8(v), d @ (DType::I4 | DType::I2)) => {
                let b: Vec<u8> = v.into_iter().map(|x| minifloat::int_encode(d, x as i32)).collect();
                Tensor::from_bytes(crate::dtype::TensorType::new(d, shape), b.into()).map_err(|e| op_err!("{e}"))?
            }
            (Data::U8(v), d @ (DType::U4 | DType::U2)) => {
                let b: Vec<u8> = v.into_iter().map(|x| minifloat::int_encode(d, x as i32)).collect();
                Tensor::from_bytes(crate::dtype::TensorType::new(d, shape), b.into()).map_err(|e| op_err!("{e}"))?
            }
            (d, want) => return Err(op_err!("internal: {} data for a {want} tensor", d.kind())),
        })
    }

    /// Every element converted to `T` with the `Cast` op's semantics.
    pub fn cast<T: CastTo>(&self) -> Vec<T> {
        fn ints<S: Copy + Into<i128>, T: CastTo>(v: &[S]) -> Vec<T> {
            v.iter().map(|&x| T::cast_i128(x.into())).collect()
        }
        match self {
            Data::F32(v) => v.iter().map(|&x| T::cast_f64(x as f64)).collect(),
            Data::F64(v) => v.iter().map(|&x| T::cast_f64(x)).collect(),
            Data::I8(v) => ints(v),
            Data::I16(v) => ints(v),
            Data::I32(v) => ints(v),
            Data::I64(v) => ints(v),
            Data::U8(v) => ints(v),
            Data::U16(v) => ints(v),
            Data::U32(v) => ints(v),
            Data::U64(v) => ints(v),
            Data::Bool(v) => v.iter().map(|&x| T::cast_i128(x as i128)).collect(),
        }
    }
}

/// Conversions with ONNX `Cast` semantics, matching the kernel IR: int to
/// int wraps, float to int truncates and saturates (NaN to 0), anything to
/// bool is `!= 0` (NaN is true), to float rounds to nearest.
pub(crate) trait CastTo: Element {
    fn cast_i128(v: i128) -> Self;
    fn cast_f64(v: f64) -> Self;
}

macro_rules! cast_int {
    ($($t:ty),*) => {$(
        impl CastTo for $t {
            fn cast_i128(v: i128) -> Self { v as $t }
            fn cast_f64(v: f64) -> Self { v as $t }
        }
    )*};
}
cast_int!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl CastTo for bool {
    fn cast_i128(v: i128) -> Self {
        v != 0
    }
    fn cast_f64(v: f64) -> Self {
        v != 0.0
    }
}
impl CastTo for f16 {
    fn cast_i128(v: i128) -> Self {
        f16::from_f64(v as f64)
    }
    fn cast_f64(v: f64) -> Self {
        f16::from_f64(v)
    }
}
impl CastTo for bf16 {
    fn cast_i128(v: i128) -> Self {
        bf16::from_f64(v as f64)
    }
    fn cast_f64(v: f64) -> Self {
        bf16::from_f64(v)
    }
}

/// Arithmetic shared by every numeric element type. Integer ops wrap (two's
/// complement) and never panic: a zero divisor gives 0, as numpy does.
pub(crate) trait Num: Element + CastTo + PartialOrd + std::fmt::Debug + Send + Sync {
    const FLOAT: bool;
    fn wrap(v: Vec<Self>) -> Data;
    fn zero() -> Self;
    fn one() -> Self;
    /// Lowest / highest value (-inf / +inf for floats): Max/Min identities.
    fn lowest() -> Self;
    fn highest() -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// Integers truncate toward zero.
    fn div(self, o: Self) -> Self;
    /// C `fmod`: the sign of the dividend.
    fn fmod(self, o: Self) -> Self;
    fn neg(self) -> Self;
    fn abs(self) -> Self;
    fn is_nan(self) -> bool;
    fn as_f64(self) -> f64;
    /// numpy maximum/minimum: NaN in either operand gives NaN.
    fn max_nan(self, o: Self) -> Self {
        if self.is_nan() || o.is_nan() {
            if self.is_nan() {
                self
            } else {
                o
            }
        } else if o > self {
            o
        } else {
            self
        }
    }
    fn min_nan(self, o: Self) -> Self {
        if self.is_nan() || o.is_nan() {
            if self.is_nan() {
                self
            } else {
                o
            }
        } else if o < self {
            o
        } else {
            self
        }
    }
    /// Python's `%`: the sign of the divisor.
    fn pymod(self, o: Self) -> Self {
        let r = self.fmod(o);
        if r != Self::zero() && ((r < Self::zero()) != (o < Self::zero())) {
            r.add(o)
        } else {
            r
        }
    }
    fn sign(self) -> Self {
        if self.is_nan() {
            self
        } else if self > Self::zero() {
            Self::one()
        } else if self < Self::zero() {
            Self::one().neg()
        } else {
            Self::zero()
        }
    }
}

macro_rules! num_int {
    ($($t:ident => $var:ident),*) => {$(
        impl Num for $t {
            const FLOAT: bool = false;
            fn wrap(v: Vec<Self>) -> Data { Data::$var(v) }
            fn zero() -> Self { 0 }
            fn one() -> Self { 1 }
            fn lowest() -> Self { $t::MIN }
            fn highest() -> Self { $t::MAX }
            #[inline] fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline] fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            #[inline] fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn div(self, o: Self) -> Self { if o == 0 { 0 } else { self.wrapping_div(o) } }
            fn fmod(self, o: Self) -> Self { if o == 0 { 0 } else { self.wrapping_rem(o) } }
            #[allow(unused_comparisons)]
            fn neg(self) -> Self { (0 as $t).wrapping_sub(self) }
            #[allow(unused_comparisons)]
            fn abs(self) -> Self { if self < 0 { self.neg() } else { self } }
            fn is_nan(self) -> bool { false }
            fn as_f64(self) -> f64 { self as f64 }
        }
    )*};
}

num_int!(i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16, u32 => U32, u64 => U64);

macro_rules! num_float {
    ($($t:ident => $var:ident),*) => {$(
        impl Num for $t {
            const FLOAT: bool = true;
            fn wrap(v: Vec<Self>) -> Data { Data::$var(v) }
            fn zero() -> Self { 0.0 }
            fn one() -> Self { 1.0 }
            fn lowest() -> Self { $t::NEG_INFINITY }
            fn highest() -> Self { $t::INFINITY }
            #[inline] fn add(self, o: Self) -> Self { self + o }
            #[inline] fn sub(self, o: Self) -> Self { self - o }
            #[inline] fn mul(self, o: Self) -> Self { self * o }
            fn div(self, o: Self) -> Self { self / o }
            fn fmod(self, o: Self) -> Self { self % o }
            fn neg(self) -> Self { -self }
            fn abs(self) -> Self { $t::abs(self) }
            fn is_nan(self) -> bool { $t::is_nan(self) }
            fn as_f64(self) -> f64 { self as f64 }
        }
    )*};
}
num_float!(f32 => F32, f64 => F64);

/// Float math for f32 and f64 (f16/bf16 arrive here as f32).
pub(crate) trait Float: Num + Copy {
    fn of(v: f64) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    fn powf(self, e: Self) -> Self;
    fn tanh(self) -> Self;
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn round_even(self) -> Self;
    fn is_inf(self) -> bool;
    /// Applies `f` (an f64 function) to one element; used where std lacks
    /// the function (erf) or a single code path keeps things short.
    fn via_f64(self, f: impl Fn(f64) -> f64) -> Self {
        Self::of(f(self.as_f64()))
    }
    fn via(self, f32f: fn(f32) -> f32, f64f: fn(f64) -> f64) -> Self;
}

macro_rules! float_impl {
    ($($t:ident),*) => {$(
        impl Float for $t {
            #[inline] fn of(v: f64) -> Self { v as $t }
            #[inline] fn exp(self) -> Self { $t::exp(self) }
            #[inline] fn ln(self) -> Self { $t::ln(self) }
            #[inline] fn sqrt(self) -> Self { $t::sqrt(self) }
            fn powf(self, e: Self) -> Self { $t::powf(self, e) }
            fn tanh(self) -> Self { $t::tanh(self) }
            fn floor(self) -> Self { $t::floor(self) }
            fn ceil(self) -> Self { $t::ceil(self) }
            fn round_even(self) -> Self { $t::round_ties_even(self) }
            fn is_inf(self) -> bool { $t::is_infinite(self) }
            float_impl!(@via $t);
        }
    )*};
    (@via f32) => { fn via(self, f: fn(f32) -> f32, _: fn(f64) -> f64) -> Self { f(self) } };
    (@via f64) => { fn via(self, _: fn(f32) -> f32, f: fn(f64) -> f64) -> Self { f(self) } };
}
float_impl!(f32, f64);

/// The error function to f64 precision. std has no stable `erf`; the series
/// `erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (2n+1)!!` has only
/// positive terms, so it does not cancel, and |x| >= 6 is +-1 in f64.
pub(crate) fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    if a >= 6.0 {
        return x.signum();
    }
    let x2 = a * a;
    let mut term = a;
    let mut sum = a;
    let mut n = 0.0;
    while term > sum * 1e-17 {
        n += 1.0;
        term *= 2.0 * x2 / (2.0 * n + 1.0);
        sum += term;
    }
    let r = std::f64::consts::FRAC_2_SQRT_PI * (-x2).exp() * sum;
    r.min(1.0).copysign(x)
}

/// Row-major strides.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Flat indices into a tensor of `shape` for every element (row-major) of
/// the index space `dims`, where dim `d` advances by `step[d]` elements.
/// The building block of broadcasting, transposes and slices.
pub(crate) fn index_map(dims: &[usize], step: &[isize], base: isize) -> Vec<usize> {
    let n: usize = dims.iter().product();
    let mut out = Vec::with_capacity(n);
    out.push(base);
    let mut cur: Vec<isize> = Vec::with_capacity(n);
    for (&d, &st) in dims.iter().zip(step) {
        std::mem::swap(&mut cur, &mut out);
        out.clear();
        for &b in &cur {
            for j in 0..d as isize {
                out.push(b + j * st);
            }
        }
    }
    out.into_iter().map(|v| v as usize).collect()
}

/// For each element of the broadcast result `out`, the flat index of the
/// element of an input of `shape` that it reads (numpy broadcasting).
pub(crate) fn bcast_map(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let st = strides(shape);
    let off = out.len() - shape.len();
    let step: Vec<isize> = (0..out.len())
        .map(|i| {
            if i < off || shape[i - off] == 1 {
                0
            } else {
                st[i - off] as isize
            }
        })
        .collect();
    index_map(out, &step, 0)
}

/// The broadcast shape of several shapes.
pub(crate) fn bcast_shapes(shapes: &[&[usize]]) -> Result<Vec<usize>, OpError> {
    let mut out: Vec<usize> = Vec::new();
    for s in shapes {
        out = crate::infer::broadcast_shapes(&out, s)?;
    }
    Ok(out)
}

/// `f` over two broadcast operands; `out` is their broadcast shape.
pub(crate) fn zip_bcast<A: Copy, B: Copy, R>(
    a: &[A],
    ash: &[usize],
    b: &[B],
    bsh: &[usize],
    out: &[usize],
    f: impl Fn(A, B) -> R,
) -> Vec<R> {
    if ash == bsh {
        return a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect();
    }
    let n: usize = out.iter().product();
    if b.len() == 1 && ash == out {
        return a.iter().map(|&x| f(x, b[0])).collect();
    }
    if a.len() == 1 && bsh == out {
        return b.iter().map(|&y| f(a[0], y)).collect();
    }
    let ia = bcast_map(ash, out);
    let ib = bcast_map(bsh, out);
    (0..n).map(|i| f(a[ia[i]], b[ib[i]])).collect()
}

/// A tensor of `shape` whose elements are `src`'s elements at `idx`
/// (dtype-agnostic: copies element bytes).
pub(crate) fn take(src: &Tensor, idx: &[usize], shape: &[usize]) -> Result<Tensor, OpError> {
    let w = src.dtype().size();
    let bytes = src.bytes();
    let mut out = Vec::with_capacity(idx.len() * w);
    for &i in idx {
        let s = bytes
            .get(i * w..(i + 1) * w)
            .ok_or_else(|| op_err!("internal: element {i} out of range"))?;
        out.extend_from_slice(s);
    }
    tensor_from_bytes(src.dtype(), shape, out)
}

pub(crate) fn tensor_from_bytes(
    dtype: DType,
    shape: &[usize],
    bytes: Vec<u8>,
) -> Result<Tensor, OpError> {
    let ty = crate::dtype::TensorType::new(dtype, shape.to_vec());
    Tensor::from_bytes(ty, Bytes::from(bytes)).map_err(|e| op_err!("internal: {e}"))
}

/// Input `i`, which the op requires.
pub(crate) fn arg<'a>(inputs: &[Option<&'a Tensor>], i: usize) -> Result<&'a Tensor, OpError> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| op_err!("missing required input {i}"))
}

/// Optional input `i`.
pub(crate) fn opt<'a>(inputs: &[Option<&'a Tensor>], i: usize) -> Option<&'a Tensor> {
    inputs.get(i).copied().flatten()
}

/// The values of an integer tensor (shapes, axes, indices) as i64.
pub(crate) fn ints(t: &Tensor, what: &str) -> Result<Vec<i64>, OpError> {
    if !t.dtype().is_int() {
        return Err(op_err!(
            "{what} must be an integer tensor, got {}",
            t.dtype()
        ));
    }
    Ok(Data::of(t).cast::<i64>())
}

/// A non-negative dimension from an i64, rejecting negatives.
pub(crate) fn dim(v: i64, what: &str) -> Result<usize, OpError> {
    usize::try_from(v).map_err(|_| op_err!("{what} must be non-negative, got {v}"))
}

/// Normalizes an axis in `[-rank, rank)`.
pub(crate) fn axis(a: i64, rank: usize) -> Result<usize, OpError> {
    let r = rank as i64;
    let v = if a < 0 { a + r } else { a };
    if v < 0 || v >= r {
        return Err(op_err!("axis {a} out of range for rank {rank}"));
    }
    Ok(v as usize)
}

/// Guards allocations derived from input values (ConstantOfShape, Range,
/// Expand, Tile): a bad constant must be an error, not an abort.
pub(crate) fn checked_numel(shape: &[usize]) -> Result<usize, OpError> {
    const LIMIT: usize = 1 << 32;
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= LIMIT)
        .ok_or_else(|| op_err!("shape {shape:?} is too large to evaluate"))
}
