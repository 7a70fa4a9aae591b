//! Elementwise ops: Unary, Activation, Binary, Variadic, Clip, Where, Cast.

use super::util::{
    arg, bcast_map, bcast_shapes, erf, float_dispatch, int_dispatch, num_dispatch, num_dispatch2,
    opt, take, zip_bcast, CastTo, Data, Float, Num,
};
use crate::dtype::{DType, TensorType};
use crate::minifloat;
use crate::error::OpError;
use crate::op::{Activation, BinaryOp, UnaryOp, VariadicOp};
use crate::op_err;
use crate::tensor::Tensor;
use half::{bf16, f16};

type Out = Result<Vec<Tensor>, OpError>;

/// Bit operations of the integer types.
pub(crate) trait Int: Num {
    fn shl(self, s: Self) -> Self;
    fn shr(self, s: Self) -> Self;
    fn and(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
    fn not(self) -> Self;
}

macro_rules! int_impl {
    ($($t:ident),*) => {$(
        impl Int for $t {
            // numpy semantics: a shift count outside [0, width) shifts
            // every bit out, leaving 0 (or -1 for a negative signed value
            // shifted right, since that shift is arithmetic).
            fn shl(self, s: Self) -> Self {
                u32::try_from(s).ok().and_then(|s| self.checked_shl(s)).unwrap_or(0)
            }
            #[allow(unused_comparisons)]
            fn shr(self, s: Self) -> Self {
                let all = if self < 0 { (0 as $t).wrapping_sub(1) } else { 0 };
                u32::try_from(s).ok().and_then(|s| self.checked_shr(s)).unwrap_or(all)
            }
            fn and(self, o: Self) -> Self { self & o }
            fn or(self, o: Self) -> Self { self | o }
            fn xor(self, o: Self) -> Self { self ^ o }
            fn not(self) -> Self { !self }
        }
    )*};
}
int_impl!(i8, i16, i32, i64, u8, u16, u32, u64);

/// Applies a dtype-preserving transform to the elements of `t`.
fn map_tensor(t: &Tensor, f: impl FnOnce(Data) -> Result<Data, OpError>) -> Out {
    let d = f(Data::of(t))?;
    Ok(vec![d.into_tensor(t.dtype(), t.shape())?])
}

/// `r` converted to the type of `_like` (names the type inside dispatch macros).
fn f64_like<T: CastTo>(_like: T, r: f64) -> T {
    T::cast_f64(r)
}

fn map<T: Copy, R>(v: &[T], f: impl Fn(T) -> R) -> Vec<R> {
    v.iter().map(|&x| f(x)).collect()
}

pub(crate) fn unary(u: UnaryOp, inputs: &[Option<&Tensor>]) -> Out {
    use UnaryOp::*;
    let x = arg(inputs, 0)?;
    match u {
        Identity => Ok(vec![x.clone()]),
        Not => match Data::of(x) {
            Data::Bool(v) => Ok(vec![Tensor::from_vec(x.shape(), map(&v, |b| !b))]),
            d => Err(op_err!("Not needs bool, got {}", d.kind())),
        },
        IsNaN => {
            let d = Data::of(x);
            let r: Result<Vec<bool>, OpError> =
                float_dispatch!(&d, v => Ok(map(v, |e| e.is_nan())));
            Ok(vec![Tensor::from_vec(x.shape(), r?)])
        }
        BitwiseNot => map_tensor(
            x,
            |d| int_dispatch!(d, v => Ok(Num::wrap(map(&v, Int::not)))),
        ),
        Abs => map_tensor(
            x,
            |d| num_dispatch!(d, v => Ok(Num::wrap(map(&v, Num::abs)))),
        ),
        Neg => map_tensor(
            x,
            |d| num_dispatch!(d, v => Ok(Num::wrap(map(&v, Num::neg)))),
        ),
        Sign => map_tensor(
            x,
            |d| num_dispatch!(d, v => Ok(Num::wrap(map(&v, Num::sign)))),
        ),
        Relu => map_tensor(
            x,
            |d| num_dispatch!(d, v => Ok(Num::wrap(map(&v, |e| e.max_nan(Num::zero()))))),
        ),
        _ => map_tensor(
            x,
            |d| float_dispatch!(d, v => Ok(Num::wrap(float_unary(u, &v)?))),
        ),
    }
}

fn softplus(x: f64) -> f64 {
    // Stable form of ln(1 + e^x): no overflow for large x.
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn float_unary<T: Float>(u: UnaryOp, v: &[T]) -> Result<Vec<T>, OpError> {
    use UnaryOp::*;
    let one = T::one();
    Ok(match u {
        Exp => map(v, T::exp),
        Log => map(v, T::ln),
        Sqrt => map(v, T::sqrt),
        Reciprocal => map(v, |x| one.div(x)),
        Floor => map(v, T::floor),
        Ceil => map(v, T::ceil),
        Round => map(v, T::round_even),
        Sin => map(v, |x| x.via(f32::sin, f64::sin)),
        Cos => map(v, |x| x.via(f32::cos, f64::cos)),
        Tan => map(v, |x| x.via(f32::tan, f64::tan)),
        Asin => map(v, |x| x.via(f32::asin, f64::asin)),
        Acos => map(v, |x| x.via(f32::acos, f64::acos)),
        Atan => map(v, |x| x.via(f32::atan, f64::atan)),
        Sinh => map(v, |x| x.via(f32::sinh, f64::sinh)),
        Cosh => map(v, |x| x.via(f32::cosh, f64::cosh)),
        Asinh => map(v, |x| x.via(f32::asinh, f64::asinh)),
        Acosh => map(v, |x| x.via(f32::acosh, f64::acosh)),
        Atanh => map(v, |x| x.via(f32::atanh, f64::atanh)),
        Tanh => map(v, T::tanh),
        Erf => map(v, |x| x.via_f64(erf)),
        Sigmoid => map(v, |x| one.div(one.add(x.neg().exp()))),
        Softsign => map(v, |x| x.div(one.add(x.abs()))),
        Softplus => map(v, |x| x.via_f64(softplus)),
        HardSwish => map(v, |x| {
            let h = x.mul(T::of(1.0 / 6.0)).add(T::of(0.5));
            x.mul(h.min_nan(one).max_nan(T::zero()))
        }),
        Mish => map(v, |x| x.via_f64(|e| e * softplus(e).tanh())),
        Abs | Neg | Sign | Relu | Not | BitwiseNot | IsNaN | Identity => {
            return Err(op_err!("internal: {u:?} is not a float function"))
        }
    })
}

pub(crate) fn activation(a: &Activation, inputs: &[Option<&Tensor>]) -> Out {
    let x = arg(inputs, 0)?;
    match *a {
        Activation::IsInf {
            detect_positive,
            detect_negative,
        } => {
            let d = Data::of(x);
            let r: Result<Vec<bool>, OpError> = float_dispatch!(&d, v => Ok(map(v, |e| {
                e.is_inf() && if e.is_sign_negative() { detect_negative } else { detect_positive }
            })));
            Ok(vec![Tensor::from_vec(x.shape(), r?)])
        }
        Activation::Shrink { bias, lambd } => map_tensor(x, |d| {
            let (b, l) = (bias as f64, lambd as f64);
            // Integer inputs go through f64 like the reference's float math.
            num_dispatch!(d, v => Ok(Num::wrap(map(&v, |e| {
                let f = e.as_f64();
                let r = if f < -l { f + b } else if f > l { f - b } else { 0.0 };
                f64_like(e, r)
            }))))
        }),
        _ => map_tensor(
            x,
            |d| float_dispatch!(d, v => Ok(Num::wrap(float_activation(a, &v)?))),
        ),
    }
}

fn float_activation<T: Float>(a: &Activation, v: &[T]) -> Result<Vec<T>, OpError> {
    let (zero, one) = (T::zero(), T::one());
    Ok(match *a {
        Activation::LeakyRelu { alpha } => {
            let al = T::of(alpha as f64);
            map(v, |x| if x < zero { al.mul(x) } else { x })
        }
        Activation::Elu { alpha } => {
            let al = T::of(alpha as f64);
            map(v, |x| {
                if x < zero {
                    al.mul(x.exp().sub(one))
                } else {
                    x
                }
            })
        }
        Activation::Selu { alpha, gamma } => {
            let (al, g) = (T::of(alpha as f64), T::of(gamma as f64));
            map(v, |x| {
                if x > zero {
                    g.mul(x)
                } else {
                    g.mul(al.mul(x.exp()).sub(al))
                }
            })
        }
        Activation::Celu { alpha } => {
            let al = T::of(alpha as f64);
            map(v, |x| {
                let neg = al.mul(x.div(al).exp().sub(one));
                x.max_nan(zero).add(neg.min_nan(zero))
            })
        }
        Activation::HardSigmoid { alpha, beta } => {
            let (al, b) = (T::of(alpha as f64), T::of(beta as f64));
            map(v, |x| al.mul(x).add(b).min_nan(one).max_nan(zero))
        }
        Activation::ThresholdedRelu { alpha } => {
            let al = T::of(alpha as f64);
            // As the reference's `where(x > alpha, x, 0)`: NaN gives 0.
            map(v, |x| if x > al { x } else { zero })
        }
        Activation::Gelu { tanh_approx: true } => map(v, |x| {
            x.via_f64(|e| {
                let k = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * e * (1.0 + (k * (e + 0.044715 * e * e * e)).tanh())
            })
        }),
        Activation::Gelu { tanh_approx: false } => map(v, |x| {
            x.via_f64(|e| 0.5 * e * (1.0 + erf(e / std::f64::consts::SQRT_2)))
        }),
        Activation::Shrink { .. } | Activation::IsInf { .. } => {
            return Err(op_err!("internal: {a:?} is not a float activation"))
        }
    })
}

fn same_dtype(a: &Tensor, b: &Tensor) -> Result<(), OpError> {
    if a.dtype() != b.dtype() {
        return Err(op_err!(
            "operand types differ: {} and {}",
            a.dtype(),
            b.dtype()
        ));
    }
    Ok(())
}

pub(crate) fn binary(op: BinaryOp, inputs: &[Option<&Tensor>]) -> Out {
    let (a, b) = (arg(inputs, 0)?, arg(inputs, 1)?);
    if op == BinaryOp::Pow {
        return pow(a, b);
    }
    same_dtype(a, b)?;
    if op == BinaryOp::PRelu {
        return prelu(a, b);
    }
    let out = bcast_shapes(&[a.shape(), b.shape()])?;
    let (sa, sb) = (a.shape(), b.shape());
    let (da, db) = (Data::of(a), Data::of(b));
    if op.returns_bool() {
        let r = compare(op, &da, sa, &db, sb, &out)?;
        return Ok(vec![Tensor::from_vec(out, r)]);
    }
    use BinaryOp::*;
    let d: Data = match op {
        BitShiftLeft | BitShiftRight | BitwiseAnd | BitwiseOr | BitwiseXor => {
            int_binary(op, &da, sa, &db, sb, &out)?
        }
        _ => num_dispatch2!(&da, &db, x, y => Ok(Num::wrap(arith(op, x, sa, y, sb, &out)?)))?,
    };
    Ok(vec![d.into_tensor(a.dtype(), &out)?])
}

fn arith<T: Num>(
    op: BinaryOp,
    a: &[T],
    sa: &[usize],
    b: &[T],
    sb: &[usize],
    out: &[usize],
) -> Result<Vec<T>, OpError> {
    use BinaryOp::*;
    let f: fn(T, T) -> T = match op {
        Add => Num::add,
        Sub => Num::sub,
        Mul => Num::mul,
        Div => Num::div,
        Mod { fmod: true } => Num::fmod,
        Mod { fmod: false } => Num::pymod,
        Max => Num::max_nan,
        Min => Num::min_nan,
        _ => return Err(op_err!("{op:?} is not defined on numeric tensors")),
    };
    Ok(zip_bcast(a, sa, b, sb, out, f))
}

fn int_binary(
    op: BinaryOp,
    a: &Data,
    sa: &[usize],
    b: &Data,
    sb: &[usize],
    out: &[usize],
) -> Result<Data, OpError> {
    fn go<T: Int>(
        op: BinaryOp,
        a: &[T],
        sa: &[usize],
        b: &[T],
        sb: &[usize],
        out: &[usize],
    ) -> Data {
        use BinaryOp::*;
        let f: fn(T, T) -> T = match op {
            BitShiftLeft => Int::shl,
            BitShiftRight => Int::shr,
            BitwiseAnd => Int::and,
            BitwiseOr => Int::or,
            _ => Int::xor,
        };
        Num::wrap(zip_bcast(a, sa, b, sb, out, f))
    }
    match (a, b) {
        (Data::I8(x), Data::I8(y)) => Ok(go(op, x, sa, y, sb, out)),
        (Data::I16(x), Data::I16(y)) => Ok(go(op, x, sa, y, sb, out)),
        (Data::I32(x), Data::I32(y)) => Ok(go(op, x, sa, y, sb, out)),
        (Data::I64(x), Data::I64(y)) => Ok(go(op, x, sa, y, sb, out)),
        (Data::U8(x), Data::U8(y)) => Ok(go(op, x, sa, y, sb, out)),
        (Data::U16(x), Data::U16(y)) => Ok(go(op, x, sa, y, sb, out)),
        (Data::U32(x), Data::U32(y)) => Ok(go(op, x, sa, y, sb, out)),
        (Data::U64(x), Data::U64(y)) => Ok(go(op, x, sa, y, sb, out)),
        (x, _) => Err(op_err!("{op:?} needs integer operands, got {}", x.kind())),
    }
}

fn compare(
    op: BinaryOp,
    a: &Data,
    sa: &[usize],
    b: &Data,
    sb: &[usize],
    out: &[usize],
) -> Result<Vec<bool>, OpError> {
    use BinaryOp::*;
    fn cmp<T: PartialOrd + Copy>(
        op: BinaryOp,
        a: &[T],
        sa: &[usize],
        b: &[T],
        sb: &[usize],
        out: &[usize],
    ) -> Vec<bool> {
        let f: fn(T, T) -> bool = match op {
            Equal => |x, y| x == y,
            Less => |x, y| x < y,
            LessOrEqual => |x, y| x <= y,
            Greater => |x, y| x > y,
            _ => |x, y| x >= y,
        };
        zip_bcast(a, sa, b, sb, out, f)
    }
    match (op, a, b) {
        (And | Or | Xor, Data::Bool(x), Data::Bool(y)) => {
            let f: fn(bool, bool) -> bool = match op {
                And => |p, q| p && q,
                Or => |p, q| p || q,
                _ => |p, q| p != q,
            };
            Ok(zip_bcast(x, sa, y, sb, out, f))
        }
        (And | Or | Xor, x, _) => Err(op_err!("{op:?} needs bool operands, got {}", x.kind())),
        (_, Data::Bool(x), Data::Bool(y)) => Ok(cmp(op, x, sa, y, sb, out)),
        _ => num_dispatch2!(a, b, x, y => Ok(cmp(op, x, sa, y, sb, out))),
    }
}

/// PRelu: the slope broadcasts unidirectionally to X.
fn prelu(x: &Tensor, slope: &Tensor) -> Out {
    let out = bcast_shapes(&[x.shape(), slope.shape()])?;
    if out != x.shape() {
        return Err(op_err!(
            "PRelu slope {:?} does not broadcast to X {:?}",
            slope.shape(),
            x.shape()
        ));
    }
    let (dx, ds) = (Data::of(x), Data::of(slope));
    let d = num_dispatch2!(&dx, &ds, a, s => Ok(Num::wrap(zip_bcast(a, x.shape(), s, slope.shape(), &out, |v, k| {
        if v < Num::zero() { k.mul(v) } else { v }
    }))))?;
    Ok(vec![d.into_tensor(x.dtype(), &out)?])
}

/// Pow: the exponent may have another type than the base (ONNX T1/T2);
/// the result has the base's type. Integer bases stay exact.
fn pow(a: &Tensor, b: &Tensor) -> Out {
    let out = bcast_shapes(&[a.shape(), b.shape()])?;
    let (sa, sb) = (a.shape(), b.shape());
    let da = Data::of(a);
    let d = if a.dtype().is_float() {
        let e = Data::of(b).cast::<f64>();
        float_dispatch!(&da, x => Ok(Num::wrap(zip_bcast(x, sa, &e, sb, &out, |v, p| {
            Float::powf(v, Float::of(p))
        }))))?
    } else if b.dtype().is_int() {
        let e = Data::of(b).cast::<i64>();
        int_dispatch!(&da, x => Ok(Num::wrap(zip_bcast(x, sa, &e, sb, &out, int_pow))))?
    } else {
        let e = Data::of(b).cast::<f64>();
        num_dispatch!(&da, x => Ok(Num::wrap(zip_bcast(x, sa, &e, sb, &out, |v, p| {
            f64_like(v, v.as_f64().powf(p))
        }))))?
    };
    Ok(vec![d.into_tensor(a.dtype(), &out)?])
}

/// Exact wrapping integer power; a negative exponent truncates 1/x^n
/// toward zero (so only |x| = 1 gives a non-zero result).
fn int_pow<T: Num>(x: T, e: i64) -> T {
    if e < 0 {
        let one = T::one();
        return if x == one {
            one
        } else if one.neg() < T::zero() && x == one.neg() {
            if e % 2 == 0 {
                one
            } else {
                x
            }
        } else {
            T::zero()
        };
    }
    let (mut base, mut e, mut r) = (x, e as u64, T::one());
    while e > 0 {
        if e & 1 == 1 {
            r = r.mul(base);
        }
        base = base.mul(base);
        e >>= 1;
    }
    r
}

pub(crate) fn variadic(op: VariadicOp, inputs: &[Option<&Tensor>]) -> Out {
    let ts: Vec<&Tensor> = inputs.iter().flatten().copied().collect();
    let first = *ts
        .first()
        .ok_or_else(|| op_err!("{op:?} needs at least one input"))?;
    for t in &ts {
        same_dtype(first, t)?;
    }
    let bop = match op {
        VariadicOp::Sum | VariadicOp::Mean => BinaryOp::Add,
        VariadicOp::Max => BinaryOp::Max,
        VariadicOp::Min => BinaryOp::Min,
    };
    let mut acc = Data::of(first);
    let mut shape = first.shape().to_vec();
    for t in &ts[1..] {
        let out = bcast_shapes(&[&shape, t.shape()])?;
        let d = Data::of(t);
        acc = num_dispatch2!(&acc, &d, x, y => Ok(Num::wrap(arith(bop, x, &shape, y, t.shape(), &out)?)))?;
        shape = out;
    }
    if op == VariadicOp::Mean {
        let n = ts.len() as f64;
        acc = float_dispatch!(acc, v => Ok(Num::wrap(map(&v, |x| x.div(Float::of(n))))))?;
    }
    Ok(vec![acc.into_tensor(first.dtype(), &shape)?])
}

/// Clip: `min(max(x, lo), hi)` with numpy's NaN propagation; absent bounds
/// are unbounded.
pub(crate) fn clip(inputs: &[Option<&Tensor>]) -> Out {
    let x = arg(inputs, 0)?;
    let bound = |i: usize| -> Result<Option<Data>, OpError> {
        match opt(inputs, i) {
            None => Ok(None),
            Some(t) if t.numel() != 1 => {
                Err(op_err!("Clip bounds must be scalars, got {:?}", t.shape()))
            }
            Some(t) => {
                same_dtype(x, t)?;
                Ok(Some(Data::of(t)))
            }
        }
    };
    let (lo, hi) = (bound(1)?, bound(2)?);
    map_tensor(x, |d| {
        num_dispatch!(d, v => {
            let get = |b: &Option<Data>, dflt| -> Result<_, OpError> {
                Ok(match b { Some(b) => scalar_like(&v, b)?, None => dflt })
            };
            let lo = get(&lo, Num::lowest())?;
            let hi = get(&hi, Num::highest())?;
            Ok(Num::wrap(map(&v, |e| e.max_nan(lo).min_nan(hi))))
        })
    })
}

/// The single element of `b`, typed like the elements of `_like`.
fn scalar_like<T: Num>(_like: &[T], b: &Data) -> Result<T, OpError> {
    let v: Vec<T> = b.cast();
    v.first().copied().ok_or_else(|| op_err!("empty scalar"))
}

pub(crate) fn where_(inputs: &[Option<&Tensor>]) -> Out {
    let (c, x, y) = (arg(inputs, 0)?, arg(inputs, 1)?, arg(inputs, 2)?);
    same_dtype(x, y)?;
    let cond = match Data::of(c) {
        Data::Bool(v) => v,
        d => return Err(op_err!("Where condition must be bool, got {}", d.kind())),
    };
    let out = bcast_shapes(&[c.shape(), x.shape(), y.shape()])?;
    let (ic, ix, iy) = (
        bcast_map(c.shape(), &out),
        bcast_map(x.shape(), &out),
        bcast_map(y.shape(), &out),
    );
    // Pick from x or y by element bytes: one code path for every dtype.
    let w = x.dtype().size();
    let mut both = x.bytes().to_vec();
    both.extend_from_slice(y.bytes());
    let idx: Vec<usize> = (0..ic.len())
        .map(|i| {
            if cond[ic[i]] {
                ix[i]
            } else {
                x.numel() + iy[i]
            }
        })
        .collect();
    let joined = super::util::tensor_from_bytes(x.dtype(), &[both.len() / w.max(1)], both)?;
    Ok(vec![take(&joined, &idx, &out)?])
}

/// ONNX `Cast`; `saturate` matters only for the float8 targets (and E8M0).
pub(crate) fn cast(to: DType, saturate: bool, inputs: &[Option<&Tensor>]) -> Out {
    let x = arg(inputs, 0)?;
    let d = Data::of(x);
    let s = x.shape();
    let small = |bytes: Vec<u8>| Tensor::from_bytes(TensorType::new(to, s.to_vec()), bytes.into());
    Ok(vec![match to {
        // Floats go through f32 (f64 inputs round twice, as in the kernels).
        to if to.is_small_float() => {
            small(d.cast::<f32>().into_iter().map(|v| minifloat::encode(to, v, saturate)).collect())
                .map_err(|e| op_err!("{e}"))?
        }
        to if to.is_sub_byte_int() => {
            small(d.cast::<i32>().into_iter().map(|v| minifloat::int_encode(to, v)).collect())
                .map_err(|e| op_err!("{e}"))?
        }
        DType::F32 => Tensor::from_vec(s, d.cast::<f32>()),
        DType::F64 => Tensor::from_vec(s, d.cast::<f64>()),
        DType::F16 => Tensor::from_vec(s, d.cast::<f16>()),
        DType::BF16 => Tensor::from_vec(s, d.cast::<bf16>()),
        DType::I8 => Tensor::from_vec(s, d.cast::<i8>()),
        DType::I16 => Tensor::from_vec(s, d.cast::<i16>()),
        DType::I32 => Tensor::from_vec(s, d.cast::<i32>()),
        DType::I64 => Tensor::from_vec(s, d.cast::<i64>()),
        DType::U8 => Tensor::from_vec(s, d.cast::<u8>()),
        DType::U16 => Tensor::from_vec(s, d.cast::<u16>()),
        DType::U32 => Tensor::from_vec(s, d.cast::<u32>()),
        DType::U64 => Tensor::from_vec(s, d.cast::<u64>()),
        DType::Bool => Tensor::from_vec(s, d.cast::<bool>()),
        _ => return Err(op_err!("Cast to {to} is not supported")),
    }])
}
