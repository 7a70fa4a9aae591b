//! Elementwise lowering vs the reference evaluator.
mod common;
use common::*;
use onnxc_ir::op::{Activation, BinaryOp, UnaryOp, VariadicOp};
use onnxc_ir::{DType, Op, Tensor};

fn unary(d: DType, u: UnaryOp, data: Option<Tensor>) {
    let mut g = G::new();
    let x = match data {
        Some(t) => g.input_with(t),
        None => g.input(d, &[3, 17]),
    };
    let y = g.node(Op::Unary(u), vec![Some(x)]);
    g.output(y);
    g.check();
}

#[test]
fn float_unary_ops() {
    use UnaryOp::*;
    let all = [
        Abs, Neg, Exp, Log, Sqrt, Reciprocal, Floor, Ceil, Round, Sign, Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh,
        Acosh, Atanh, Erf, Relu, Sigmoid, Tanh, Softsign, Softplus, HardSwish, Mish, IsNaN, Identity,
    ];
    for d in [DType::F32, DType::F64, DType::F16] {
        for u in all {
            let mut v = rand_vals(40, u as u64, -3.0, 3.0);
            v.extend([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
            v.extend(rand_vals(50, 7, -0.99, 0.99));
            let t = Tensor::from_f64(d, vec![100], &v);
            unary(d, u, Some(t));
        }
    }
}

#[test]
fn int_and_bool_unary_ops() {
    use UnaryOp::*;
    for d in [DType::I8, DType::I32, DType::I64, DType::U8] {
        for u in [Abs, Neg, Sign, Relu, BitwiseNot] {
            if matches!(u, Neg | Relu | Sign | Abs) && !d.is_signed_int() {
                continue;
            }
            unary(d, u, None);
        }
    }
    unary(DType::Bool, Not, None);
}

#[test]
fn activations() {
    use Activation::*;
    let acts = [
        LeakyRelu { alpha: 0.1 },
        Elu { alpha: 0.7 },
        Selu { alpha: 1.67, gamma: 1.05 },
        Celu { alpha: 1.3 },
        HardSigmoid { alpha: 0.2, beta: 0.5 },
        ThresholdedRelu { alpha: 0.4 },
        Shrink { bias: 0.2, lambd: 0.6 },
        Gelu { tanh_approx: false },
        Gelu { tanh_approx: true },
        IsInf { detect_positive: true, detect_negative: false },
        IsInf { detect_positive: true, detect_negative: true },
    ];
    for a in acts {
        for d in [DType::F32, DType::F64] {
            let mut v = rand_vals(60, 3, -4.0, 4.0);
            v.extend([f64::INFINITY, f64::NEG_INFINITY, 0.0]);
            let mut g = G::new();
            let x = g.input_with(Tensor::from_f64(d, vec![63], &v));
            let y = g.node(Op::Activation(a), vec![Some(x)]);
            g.output(y);
            g.check();
        }
    }
}

fn binary(op: BinaryOp, da: DType, db: DType, sa: &[usize], sb: &[usize]) {
    let mut g = G::new();
    let a = g.input(da, sa);
    let b = g.input(db, sb);
    let y = g.node(Op::Binary(op), vec![Some(a), Some(b)]);
    g.output(y);
    g.check();
}

#[test]
fn binary_broadcasting() {
    use BinaryOp::*;
    let shapes: [(&[usize], &[usize]); 5] =
        [(&[2, 3, 4], &[2, 3, 4]), (&[2, 3, 4], &[4]), (&[2, 1, 4], &[3, 1]), (&[], &[5, 2]), (&[1, 3, 1], &[2, 1, 5])];
    for (sa, sb) in shapes {
        for op in [Add, Sub, Mul, Div, Max, Min, Equal, Less, LessOrEqual, Greater, GreaterOrEqual] {
            binary(op, DType::F32, DType::F32, sa, sb);
        }
        for op in [Add, Sub, Mul, Div, Max, Min, Equal, Greater, BitwiseAnd, BitwiseOr, BitwiseXor] {
            binary(op, DType::I32, DType::I32, sa, sb);
        }
        for op in [And, Or, Xor] {
            binary(op, DType::Bool, DType::Bool, sa, sb);
        }
        binary(Add, DType::F16, DType::F16, sa, sb);
        binary(Mul, DType::BF16, DType::BF16, sa, sb);
        binary(Sub, DType::F64, DType::F64, sa, sb);
        binary(Sub, DType::U8, DType::U8, sa, sb);
    }
}

#[test]
fn pow_mod_shift() {
    use BinaryOp::*;
    binary(PRelu, DType::F32, DType::F32, &[2, 3, 4], &[4]);
    binary(PRelu, DType::F32, DType::F32, &[2, 3, 4], &[3, 1]);
    binary(Pow, DType::F32, DType::F32, &[4, 5], &[5]);
    binary(Pow, DType::F64, DType::F64, &[4, 5], &[]);
    binary(Pow, DType::F32, DType::I64, &[4, 5], &[5]);
    binary(Pow, DType::I64, DType::I64, &[6], &[6]);
    binary(Mod { fmod: true }, DType::F32, DType::F32, &[4, 5], &[4, 5]);
    binary(Mod { fmod: true }, DType::F64, DType::F64, &[4, 5], &[5]);
    binary(Mod { fmod: false }, DType::I32, DType::I32, &[4, 5], &[4, 5]);
    binary(Mod { fmod: true }, DType::I64, DType::I64, &[4, 5], &[4, 5]);
    let mut g = G::new();
    let a = g.input_with(Tensor::from_vec(vec![4], vec![1u8, 7, 200, 255]));
    let b = g.input_with(Tensor::from_vec(vec![4], vec![1u8, 3, 7, 0]));
    let l = g.node(Op::Binary(BitShiftLeft), vec![Some(a), Some(b)]);
    let r = g.node(Op::Binary(BitShiftRight), vec![Some(a), Some(b)]);
    g.output(l);
    g.output(r);
    g.check();
}

#[test]
fn variadic_clip_where() {
    for op in [VariadicOp::Sum, VariadicOp::Mean, VariadicOp::Max, VariadicOp::Min] {
        let mut g = G::new();
        let a = g.input(DType::F32, &[2, 3]);
        let b = g.input(DType::F32, &[3]);
        let c = g.input(DType::F32, &[2, 1]);
        let y = g.node(Op::Variadic(op), vec![Some(a), Some(b), Some(c)]);
        g.output(y);
        g.check();
    }
    let mut g = G::new();
    let x = g.input(DType::F32, &[4, 4]);
    let lo = g.konst(Tensor::scalar(-1.0f32));
    let hi = g.konst(Tensor::scalar(0.5f32));
    let y1 = g.node(Op::Clip, vec![Some(x), Some(lo), Some(hi)]);
    let y2 = g.node(Op::Clip, vec![Some(x), None, Some(hi)]);
    let y3 = g.node(Op::Clip, vec![Some(x)]);
    let c = g.input(DType::Bool, &[4, 1]);
    let z = g.input(DType::F32, &[4]);
    let w = g.node(Op::Where, vec![Some(c), Some(x), Some(z)]);
    for v in [y1, y2, y3, w] {
        g.output(v);
    }
    g.check();
}

#[test]
fn casts() {
    let ds = [DType::F32, DType::F64, DType::F16, DType::BF16, DType::I8, DType::I32, DType::I64, DType::U8, DType::U16, DType::Bool];
    for from in ds {
        for to in ds {
            let mut g = G::new();
            let x = g.input(from, &[3, 7]);
            let y = g.node(Op::Cast { to }, vec![Some(x)]);
            g.output(y);
            g.check();
        }
    }
}

#[test]
fn signed_shifts_match_eval() {
    for op in [BinaryOp::BitShiftLeft, BinaryOp::BitShiftRight] {
        let mut g = G::new();
        let a = g.input_with(Tensor::from_vec(&[8], vec![-8i32, 4, -1, 1 << 30, i32::MIN, 7, -7, 3]));
        let s = g.input_with(Tensor::from_vec(&[8], vec![1i32, -1, 32, 1, 31, 100, 2, 0]));
        let y = g.node(Op::Binary(op), vec![Some(a), Some(s)]);
        g.output(y);
        g.check();
    }
}
