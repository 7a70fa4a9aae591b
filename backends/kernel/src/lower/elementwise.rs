//! Elementwise ops: Unary, Activation, Binary (numpy broadcasting via
//! strides), Variadic, Clip, Where, Cast. Every dtype: f16/bf16 are loaded
//! from their `U16` buffers, computed in f32 and rounded back on store.

use super::*;
use onnxc_ir::op::{Activation, BinaryOp, UnaryOp, VariadicOp};

type R = Result<Expr, String>;

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let x = cx.input(n, 0)?;
    let dx = cx.ty(x).dtype;
    let tx = compute_ty(dx);
    match &n.op {
        Op::Unary(UnaryOp::Identity) => cx.copy_value(cx.output(n, 0)?, x),
        Op::Unary(u) => {
            let u = *u;
            map(cx, n, &[x], "unary", &|b, v| unary(b, u, tx, v[0].clone()))
        }
        Op::Activation(a) => {
            let a = *a;
            map(cx, n, &[x], "act", &|b, v| activation(b, a, tx, v[0].clone()))
        }
        Op::Binary(op) => {
            let op = *op;
            let y = cx.input(n, 1)?;
            let ty_ = compute_ty(cx.ty(y).dtype);
            map(cx, n, &[x, y], "binary", &|b, v| binary(b, op, tx, ty_, v[0].clone(), v[1].clone()))
        }
        Op::Variadic(op) => {
            let op = *op;
            let ins: Vec<ValueId> = n.inputs.iter().flatten().copied().collect();
            let count = ins.len();
            map(cx, n, &ins, "variadic", &|_, v| {
                let mut acc = v[0].clone();
                for e in &v[1..] {
                    acc = match op {
                        VariadicOp::Sum | VariadicOp::Mean => add(acc, e.clone()),
                        VariadicOp::Max => max(acc, e.clone()),
                        VariadicOp::Min => min(acc, e.clone()),
                    };
                }
                if op == VariadicOp::Mean {
                    acc = div(acc, cf(tx, count as f64));
                }
                Ok(acc)
            })
        }
        Op::Clip => {
            let (lo, hi) = (n.input(1), n.input(2));
            let mut ins = vec![x];
            ins.extend(lo);
            ins.extend(hi);
            map(cx, n, &ins, "clip", &|_, v| {
                let lo_v = lo.map(|_| v[1].clone());
                let hi_v = hi.map(|_| v[1 + lo.is_some() as usize].clone());
                Ok(clip(v[0].clone(), lo_v, hi_v))
            })
        }
        Op::Where => {
            let (a, c) = (cx.input(n, 1)?, cx.input(n, 2)?);
            map(cx, n, &[x, a, c], "where", &|_, v| Ok(select(v[0].clone(), v[1].clone(), v[2].clone())))
        }
        // The store converts to the output dtype (KIR cast rules).
        Op::Cast { .. } => map(cx, n, &[x], "cast", &|_, v| Ok(v[0].clone())),
        Op::CastNoSaturate { .. } => map_sat(cx, n, &[x], "cast", &|_, v| Ok(v[0].clone()), false),
        _ => Err(cx.invalid("not an elementwise op")),
    }
}

/// Emits `out[i] = f(inputs broadcast at i)`. `f` sees each input loaded
/// (once) in its compute type and returns a value that the store converts
/// to the output's dtype. Every input element of index `i` is loaded before
/// `out[i]` is stored, so the memory plan may give the output an input's
/// buffer (`memory_plan::in_place_input`); such an input is then read
/// through the output param, keeping the kernel's params alias-free.
pub(super) fn map(
    cx: &mut Cx,
    n: &Node,
    inputs: &[ValueId],
    kind: &str,
    f: &dyn Fn(&mut KernelBuilder, &[Expr]) -> R,
) -> Result<(), LowerError> {
    map_sat(cx, n, inputs, kind, f, true)
}

/// `map` whose store converts with Cast's `saturate` (float8 outputs).
fn map_sat(
    cx: &mut Cx,
    n: &Node,
    inputs: &[ValueId],
    kind: &str,
    f: &dyn Fn(&mut KernelBuilder, &[Expr]) -> R,
    saturate: bool,
) -> Result<(), LowerError> {
    let out = cx.output(n, 0)?;
    let oty = cx.ty(out);
    let mut ops: Vec<Vec<i64>> = inputs.iter().map(|v| bcast_strides(&cx.ty(*v).shape, &oty.shape)).collect();
    ops.push(strides(&oty.shape));
    let (dims, st) = coalesce(&oty.shape, &ops);
    let mut b = cx.builder(kind);
    if may_contract(&n.op) {
        b.allow_contract();
    }
    let out_buf = cx.buf(out)?;
    let mut aliased = Vec::with_capacity(inputs.len());
    for v in inputs {
        aliased.push(cx.buf(*v)? == out_buf);
    }
    let own: Vec<Option<ParamId>> = inputs.iter().zip(&aliased).map(|(v, a)| (!a).then(|| b.input(scalar(cx.ty(*v).dtype)))).collect();
    let o = b.output(scalar(oty.dtype));
    let params: Vec<ParamId> = own.iter().map(|p| p.unwrap_or(o)).collect();
    let dtypes: Vec<DType> = inputs.iter().map(|v| cx.ty(*v).dtype).collect();
    let mut err = None;
    nest(&mut b, &dims, true, &mut |b, vars| {
        let vals: Vec<Expr> = params
            .iter()
            .zip(&dtypes)
            .zip(&st)
            .map(|((p, d), s)| {
                let v = load_val(b, *d, *p, lin(vars, s));
                b.let_(v)
            })
            .collect();
        match f(b, &vals) {
            Ok(r) => {
                let r = convert(b, r, oty.dtype);
                let r = to_storage_sat(b, oty.dtype, r, saturate);
                b.store(o, lin(vars, &st[st.len() - 1]), r);
            }
            Err(e) => err = Some(e),
        }
    });
    if let Some(e) = err {
        return Err(cx.unsupported(e));
    }
    let mut args = Vec::new();
    for (v, a) in inputs.iter().zip(&aliased) {
        if !a {
            args.push(cx.buf(*v)?);
        }
    }
    args.push(out_buf);
    cx.emit(b.finish(), args);
    Ok(())
}

/// Lets LLVM fuse multiply-adds in the polynomials of `math.rs` (about
/// half their instructions; an FMA rounds once, so the error can only
/// shrink). Not where `fmod` runs: its Dekker product needs both roundings.
fn may_contract(op: &Op) -> bool {
    use onnxc_ir::fused::ElemFn;
    match op {
        Op::Unary(_) | Op::Activation(_) => true,
        Op::FusedElementwise { program } => {
            !program.iter().any(|i| matches!(i.f, ElemFn::Binary(BinaryOp::Mod { .. })))
        }
        _ => false,
    }
}

/// Clip: `min(max(x, lo), hi)`, with absent bounds skipped.
pub(super) fn clip(x: Expr, lo: Option<Expr>, hi: Option<Expr>) -> Expr {
    let r = lo.map_or(x.clone(), |l| max(x, l));
    hi.map_or(r.clone(), |h| min(r, h))
}

fn float_only(t: Scalar, what: &str) -> Result<(), String> {
    if t.is_float() {
        Ok(())
    } else {
        Err(format!("{what} on {t}"))
    }
}

pub(super) fn unary(b: &mut KernelBuilder, op: UnaryOp, t: Scalar, x: Expr) -> R {
    use UnaryOp::*;
    let z = || cf(t, 0.0);
    let one = || cf(t, 1.0);
    match op {
        Abs => return Ok(if t.is_float() || t.is_signed() { abs(x) } else { x }),
        Neg => return Ok(neg(x)),
        Relu => return Ok(max(x, z())),
        Sign => {
            let minus = if t.is_signed() || t.is_float() { cf(t, -1.0) } else { x.clone() };
            return Ok(select(gt(x.clone(), z()), one(), select(lt(x.clone(), z()), minus, x)));
        }
        Not => return Ok(not(x)),
        BitwiseNot if t.is_int() => return Ok(not(x)),
        IsNaN => return Ok(if t.is_float() { math::is_nan(x) } else { cbool(false) }),
        Identity => return Ok(x),
        Reciprocal if !t.is_float() => return Ok(div(one(), x)),
        Floor | Ceil | Round if !t.is_float() => return Ok(x),
        _ => float_only(t, &format!("{op:?}"))?,
    }
    Ok(match op {
        Exp => math::exp(b, x),
        Log => math::log(b, x),
        Sqrt => sqrt(x),
        Reciprocal => div(one(), x),
        Floor => floor(x),
        Ceil => ceil(x),
        Round => round_even(x),
        Sin => math::sin(b, x),
        Cos => math::cos(b, x),
        Tan => math::tan(b, x),
        Asin => math::asin(b, x),
        Acos => math::acos(b, x),
        Atan => math::atan(b, x),
        Sinh => math::sinh(b, x),
        Cosh => math::cosh(b, x),
        Asinh => math::asinh(b, x),
        Acosh => math::acosh(b, x),
        Atanh => math::atanh(b, x),
        Erf => math::erf(b, x),
        Sigmoid => math::sigmoid(b, x),
        Tanh => math::tanh(b, x),
        Softsign => div(x.clone(), add(one(), abs(x))),
        Softplus => math::softplus(b, x),
        HardSwish => mul(x.clone(), max(z(), min(one(), add(mul(x, cf(t, 1.0 / 6.0)), cf(t, 0.5))))),
        Mish => {
            let sp = math::softplus(b, x.clone());
            let sp = b.let_(sp);
            mul(x, math::tanh(b, sp))
        }
        _ => return Err(format!("{op:?} on {t}")),
    })
}

pub(super) fn activation(b: &mut KernelBuilder, a: Activation, t: Scalar, x: Expr) -> R {
    use Activation::*;
    let c = |v: f32| cf(t, v as f64);
    let z = || cf(t, 0.0);
    if let IsInf { detect_positive, detect_negative } = a {
        if !t.is_float() {
            return Ok(cbool(false));
        }
        let p = math::band(cbool(detect_positive), eq(x.clone(), cf(t, f64::INFINITY)));
        let n = math::band(cbool(detect_negative), eq(x, cf(t, f64::NEG_INFINITY)));
        return Ok(math::bor(p, n));
    }
    match a {
        LeakyRelu { alpha } => return Ok(select(lt(x.clone(), z()), mul(x.clone(), c(alpha)), x)),
        ThresholdedRelu { alpha } => return Ok(select(gt(x.clone(), c(alpha)), x, z())),
        Shrink { bias, lambd } => {
            let lo = select(lt(x.clone(), c(-lambd)), add(x.clone(), c(bias)), z());
            return Ok(select(gt(x.clone(), c(lambd)), sub(x, c(bias)), lo));
        }
        _ => float_only(t, &format!("{a:?}"))?,
    }
    let one = || cf(t, 1.0);
    Ok(match a {
        Elu { alpha } => {
            let e = math::exp(b, x.clone());
            select(lt(x.clone(), z()), mul(c(alpha), sub(e, one())), x)
        }
        Selu { alpha, gamma } => {
            let e = math::exp(b, x.clone());
            mul(c(gamma), select(le(x.clone(), z()), mul(c(alpha), sub(e, one())), x))
        }
        Celu { alpha } => {
            let e = math::exp(b, div(x.clone(), c(alpha)));
            add(max(z(), x), min(z(), mul(c(alpha), sub(e, one()))))
        }
        HardSigmoid { alpha, beta } => max(z(), min(one(), add(mul(x, c(alpha)), c(beta)))),
        Gelu { tanh_approx: false } => {
            let e = math::erf(b, mul(x.clone(), cf(t, std::f64::consts::FRAC_1_SQRT_2)));
            mul(mul(cf(t, 0.5), x), add(one(), e))
        }
        Gelu { tanh_approx: true } => {
            let inner = mul(cf(t, (2.0 / std::f64::consts::PI).sqrt()), add(x.clone(), mul(cf(t, 0.044715), mul(x.clone(), mul(x.clone(), x.clone())))));
            let th = math::tanh(b, inner);
            mul(mul(cf(t, 0.5), x), add(one(), th))
        }
        _ => return Err(format!("{a:?} on {t}")),
    })
}

pub(super) fn binary(b: &mut KernelBuilder, op: BinaryOp, t: Scalar, ty_: Scalar, x: Expr, y: Expr) -> R {
    use BinaryOp::*;
    let z = || cf(t, 0.0);
    if op == Pow {
        return Ok(pow(b, t, ty_, x, y));
    }
    // Every other binary op has same-typed operands.
    let y = if ty_ != t { cast(t, y) } else { y };
    Ok(match op {
        Add => add(x, y),
        Sub => sub(x, y),
        Mul => mul(x, y),
        Div if t.is_float() => div(x, y),
        // ONNX leaves integer division by zero undefined; KIR makes it UB, so guard it.
        Div => {
            let y = b.let_(y);
            let zero = b.let_(eq(y.clone(), z()));
            select(zero.clone(), z(), div(x, select(zero, cf(t, 1.0), y)))
        }
        Mod { fmod } => modulo(b, t, fmod, x, y),
        Max => max(x, y),
        Min => min(x, y),
        And => math::band(x, y),
        Or => math::bor(x, y),
        Xor => select(x, not(y.clone()), y),
        Equal => eq(x, y),
        Less => lt(x, y),
        LessOrEqual => le(x, y),
        Greater => gt(x, y),
        GreaterOrEqual => ge(x, y),
        BitShiftLeft | BitShiftRight => {
            // A count outside [0, width) shifts every bit out (numpy), not
            // KIR's modulo: 0, or -1 for a negative value shifted right.
            let w = (t.size() * 8) as f64;
            let y = b.let_(y);
            let x = b.let_(x);
            let mut out_of_range = ge(y.clone(), cf(t, w));
            if t.is_signed() {
                out_of_range = math::bor(out_of_range, lt(y.clone(), z()));
            }
            let (s, all) = if op == BitShiftLeft {
                (shl(x, y.clone()), z())
            } else if t.is_signed() {
                (shr(x.clone(), y.clone()), select(lt(x, z()), cf(t, -1.0), z()))
            } else {
                (shr(x, y.clone()), z())
            };
            select(out_of_range, all, s)
        }
        BitwiseAnd => and(x, y),
        BitwiseOr => or(x, y),
        BitwiseXor => xor(x, y),
        PRelu => select(lt(x.clone(), z()), mul(x.clone(), y), x),
        Pow => unreachable!("handled above"),
    })
}

/// Pow for any base type `t` and exponent type `ty_`: float bases use
/// `math::pow`; integer bases compute in f64 and round back.
fn pow(b: &mut KernelBuilder, t: Scalar, ty_: Scalar, x: Expr, y: Expr) -> Expr {
    if t.is_float() {
        let y = if ty_ != t { cast(t, y) } else { y };
        return math::pow(b, x, y);
    }
    let xf = cast(Scalar::F64, x);
    let yf = if ty_ == Scalar::F64 { y } else { cast(Scalar::F64, y) };
    let r = math::pow(b, xf, yf);
    cast(t, round_even(r))
}

fn modulo(b: &mut KernelBuilder, t: Scalar, fmod: bool, x: Expr, y: Expr) -> Expr {
    let z = || cf(t, 0.0);
    let y = b.let_(y);
    let r = if t.is_float() {
        math::fmod(b, x, y.clone())
    } else {
        let zero = b.let_(eq(y.clone(), z()));
        let q = rem(x, select(zero.clone(), cf(t, 1.0), y.clone()));
        select(zero, z(), q)
    };
    if fmod || (!t.is_float() && !t.is_signed()) {
        return r;
    }
    // Python mod: a non-zero remainder takes the divisor's sign.
    let r = b.let_(r);
    let differ = select(lt(r.clone(), z()), ge(y.clone(), z()), lt(y.clone(), z()));
    let fix = math::band(ne(r.clone(), z()), differ);
    select(fix, add(r.clone(), y), r)
}
