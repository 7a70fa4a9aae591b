//! Reference evaluator: elementwise ops.

use half::{bf16, f16};
use onnxc_ir::eval::eval_op;
use onnxc_ir::op::{Activation, BinaryOp, UnaryOp, VariadicOp};
use onnxc_ir::tensor::Element;
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(shape, v)
}

fn run(op: Op, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, String> {
    let dummy = vec![TensorType::new(DType::F32, vec![]); 1];
    eval_op(&op, inputs, &dummy).map_err(|e| e.0)
}

fn run1(op: Op, inputs: &[&Tensor]) -> Tensor {
    let ins: Vec<Option<&Tensor>> = inputs.iter().map(|t| Some(*t)).collect();
    run(op, &ins).unwrap().remove(0)
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-5 * (1.0 + y.abs()))
}

#[test]
fn add_broadcasts() {
    let a = t(&[2, 3], vec![1f32, 2., 3., 4., 5., 6.]);
    let b = t(&[3], vec![10f32, 20., 30.]);
    let r = run1(Op::Binary(BinaryOp::Add), &[&a, &b]);
    assert_eq!(r.shape(), &[2, 3]);
    assert_eq!(r.to_vec::<f32>(), vec![11., 22., 33., 14., 25., 36.]);
    let c = t(&[2, 1], vec![1f32, 2.]);
    let r = run1(Op::Binary(BinaryOp::Mul), &[&b, &c]);
    assert_eq!(r.shape(), &[2, 3]);
    assert_eq!(r.to_vec::<f32>(), vec![10., 20., 30., 20., 40., 60.]);
}

#[test]
fn integer_arithmetic_is_exact_and_wraps() {
    let big = (1i64 << 60) + 1;
    let a = t(&[2], vec![big, i64::MAX]);
    let b = t(&[2], vec![2i64, 1]);
    assert_eq!(
        run1(Op::Binary(BinaryOp::Add), &[&a, &b]).to_vec::<i64>(),
        vec![big + 2, i64::MIN]
    );
    assert_eq!(
        run1(Op::Binary(BinaryOp::Mul), &[&a, &b]).to_vec::<i64>(),
        vec![big * 2, i64::MAX]
    );
    let x = t(&[4], vec![7i32, -7, 7, 5]);
    let y = t(&[4], vec![2i32, 2, -2, 0]);
    assert_eq!(
        run1(Op::Binary(BinaryOp::Div), &[&x, &y]).to_vec::<i32>(),
        vec![3, -3, -3, 0]
    );
    assert_eq!(
        run1(Op::Binary(BinaryOp::Mod { fmod: false }), &[&x, &y]).to_vec::<i32>(),
        vec![1, 1, -1, 0]
    );
    assert_eq!(
        run1(Op::Binary(BinaryOp::Mod { fmod: true }), &[&x, &y]).to_vec::<i32>(),
        vec![1, -1, 1, 0]
    );
    let u = t(&[2], vec![250u8, 3]);
    let v = t(&[2], vec![10u8, 5]);
    assert_eq!(
        run1(Op::Binary(BinaryOp::Add), &[&u, &v]).to_vec::<u8>(),
        vec![4, 8]
    );
    assert_eq!(
        run1(Op::Binary(BinaryOp::Sub), &[&v, &u]).to_vec::<u8>(),
        vec![16, 2]
    );
}

#[test]
fn float_mod_and_pow() {
    let x = t(&[2], vec![-5.5f64, 5.5]);
    let y = t(&[1], vec![2f64]);
    assert_eq!(
        run1(Op::Binary(BinaryOp::Mod { fmod: true }), &[&x, &y]).to_vec::<f64>(),
        vec![-1.5, 1.5]
    );
    assert_eq!(
        run1(Op::Binary(BinaryOp::Mod { fmod: false }), &[&x, &y]).to_vec::<f64>(),
        vec![0.5, 1.5]
    );
    // Exponent of another type than the base.
    let b = t(&[3], vec![2f32, 3., 4.]);
    let e = t(&[], vec![2i64]);
    assert_eq!(
        run1(Op::Binary(BinaryOp::Pow), &[&b, &e]).to_vec::<f32>(),
        vec![4., 9., 16.]
    );
    let ib = t(&[3], vec![3i64, -1, 2]);
    let ie = t(&[3], vec![39i64, -3, -1]);
    assert_eq!(
        run1(Op::Binary(BinaryOp::Pow), &[&ib, &ie]).to_vec::<i64>(),
        vec![3i64.pow(39), -1, 0]
    );
}

#[test]
fn max_min_propagate_nan() {
    let a = t(&[3], vec![1f32, f32::NAN, 3.]);
    let b = t(&[3], vec![2f32, 0., f32::NAN]);
    let r = run1(Op::Binary(BinaryOp::Max), &[&a, &b]).to_vec::<f32>();
    assert_eq!(r[0], 2.);
    assert!(r[1].is_nan() && r[2].is_nan());
    let r = run1(Op::Variadic(VariadicOp::Min), &[&a, &b, &a]).to_vec::<f32>();
    assert_eq!(r[0], 1.);
    assert!(r[1].is_nan() && r[2].is_nan());
}

#[test]
fn comparisons_and_logic() {
    let a = t(&[3], vec![1i64, 2, 3]);
    let b = t(&[], vec![2i64]);
    assert_eq!(
        run1(Op::Binary(BinaryOp::Less), &[&a, &b]).to_vec::<bool>(),
        vec![true, false, false]
    );
    assert_eq!(
        run1(Op::Binary(BinaryOp::GreaterOrEqual), &[&a, &b]).to_vec::<bool>(),
        vec![false, true, true]
    );
    assert_eq!(
        run1(Op::Binary(BinaryOp::Equal), &[&a, &b]).to_vec::<bool>(),
        vec![false, true, false]
    );
    let n = t(&[2], vec![f32::NAN, 1.]);
    assert_eq!(
        run1(Op::Binary(BinaryOp::Equal), &[&n, &n]).to_vec::<bool>(),
        vec![false, true]
    );
    let p = t(&[4], vec![true, true, false, false]);
    let q = t(&[4], vec![true, false, true, false]);
    assert_eq!(
        run1(Op::Binary(BinaryOp::Xor), &[&p, &q]).to_vec::<bool>(),
        vec![false, true, true, false]
    );
    assert_eq!(
        run1(Op::Binary(BinaryOp::And), &[&p, &q]).to_vec::<bool>(),
        vec![true, false, false, false]
    );
    assert_eq!(
        run1(Op::Unary(UnaryOp::Not), &[&p]).to_vec::<bool>(),
        vec![false, false, true, true]
    );
}

#[test]
fn bit_ops() {
    let a = t(&[3], vec![1u32, 0xF0, 8]);
    let s = t(&[3], vec![3u32, 4, 40]);
    assert_eq!(
        run1(Op::Binary(BinaryOp::BitShiftLeft), &[&a, &s]).to_vec::<u32>(),
        vec![8, 0xF00, 0]
    );
    assert_eq!(
        run1(Op::Binary(BinaryOp::BitShiftRight), &[&a, &s]).to_vec::<u32>(),
        vec![0, 0xF, 0]
    );
    assert_eq!(
        run1(Op::Binary(BinaryOp::BitwiseXor), &[&a, &s]).to_vec::<u32>(),
        vec![2, 0xF4, 32]
    );
    let i = t(&[2], vec![0i8, -1]);
    assert_eq!(
        run1(Op::Unary(UnaryOp::BitwiseNot), &[&i]).to_vec::<i8>(),
        vec![-1, 0]
    );
}

#[test]
fn errors_on_bad_input() {
    let a = t(&[2], vec![1f32, 2.]);
    let b = t(&[3], vec![1f32, 2., 3.]);
    let i = t(&[2], vec![1i32, 2]);
    assert!(run(Op::Binary(BinaryOp::Add), &[Some(&a), Some(&b)]).is_err());
    assert!(run(Op::Binary(BinaryOp::Add), &[Some(&a), Some(&i)]).is_err());
    assert!(run(Op::Binary(BinaryOp::And), &[Some(&a), Some(&a)]).is_err());
    assert!(run(Op::Binary(BinaryOp::Add), &[Some(&a)]).is_err());
    assert!(run(Op::Unary(UnaryOp::Exp), &[Some(&i)]).is_err());
    assert!(run(Op::Where, &[Some(&a), Some(&a), Some(&a)]).is_err());
}

#[test]
fn unary_math() {
    let x = t(&[5], vec![-2.5f32, -0.5, 0.5, 1.5, 2.5]);
    assert_eq!(
        run1(Op::Unary(UnaryOp::Round), &[&x]).to_vec::<f32>(),
        vec![-2., -0., 0., 2., 2.]
    );
    assert_eq!(
        run1(Op::Unary(UnaryOp::Relu), &[&x]).to_vec::<f32>(),
        vec![0., 0., 0.5, 1.5, 2.5]
    );
    assert_eq!(
        run1(Op::Unary(UnaryOp::Sign), &[&x]).to_vec::<f32>(),
        vec![-1., -1., 1., 1., 1.]
    );
    let e = run1(
        Op::Unary(UnaryOp::Erf),
        &[&t(&[4], vec![0f64, 0.5, -1.0, 3.0])],
    )
    .to_vec::<f64>();
    assert!(close(
        &e,
        &[
            0.0,
            0.5204998778130465,
            -0.8427007929497149,
            0.9999779095030014
        ]
    ));
    let s = run1(Op::Unary(UnaryOp::Sigmoid), &[&t(&[2], vec![0f32, 100.])]).to_vec::<f32>();
    assert_eq!(s, vec![0.5, 1.0]);
    let sp = run1(Op::Unary(UnaryOp::Softplus), &[&t(&[2], vec![0f64, 1000.])]).to_vec::<f64>();
    assert!(close(&sp, &[2f64.ln(), 1000.0]));
    let hs = run1(
        Op::Unary(UnaryOp::HardSwish),
        &[&t(&[3], vec![-4f32, 1., 4.])],
    )
    .to_vec::<f32>();
    assert!(close(
        &hs.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        &[0.0, 1.0 * (1.0 / 6.0 + 0.5), 4.0]
    ));
    let i = t(&[3], vec![i64::MIN + 1, -3, 4]);
    assert_eq!(
        run1(Op::Unary(UnaryOp::Abs), &[&i]).to_vec::<i64>(),
        vec![i64::MAX, 3, 4]
    );
    assert_eq!(
        run1(Op::Unary(UnaryOp::Neg), &[&i]).to_vec::<i64>(),
        vec![i64::MAX, 3, -4]
    );
    let n = t(&[2], vec![f32::NAN, 1.]);
    assert_eq!(
        run1(Op::Unary(UnaryOp::IsNaN), &[&n]).to_vec::<bool>(),
        vec![true, false]
    );
}

#[test]
fn half_types_compute_in_f32() {
    let a = t(&[2], vec![f16::from_f32(1.5), f16::from_f32(-2.0)]);
    let r = run1(Op::Binary(BinaryOp::Mul), &[&a, &a]);
    assert_eq!(r.dtype(), DType::F16);
    assert_eq!(
        r.to_vec::<f16>(),
        vec![f16::from_f32(2.25), f16::from_f32(4.0)]
    );
    let b = t(&[1], vec![bf16::from_f32(4.0)]);
    let r = run1(Op::Unary(UnaryOp::Sqrt), &[&b]);
    assert_eq!(r.to_vec::<bf16>(), vec![bf16::from_f32(2.0)]);
}

#[test]
fn activations() {
    let x = t(&[3], vec![-1f32, 0., 2.]);
    let a = |act: Activation| run1(Op::Activation(act), &[&x]).to_f64_vec();
    assert!(close(
        &a(Activation::LeakyRelu { alpha: 0.1 }),
        &[-0.1, 0.0, 2.0]
    ));
    assert!(close(
        &a(Activation::Elu { alpha: 1.0 }),
        &[(-1f64).exp() - 1.0, 0.0, 2.0]
    ));
    assert!(close(
        &a(Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5
        }),
        &[0.3, 0.5, 0.9]
    ));
    assert!(close(
        &a(Activation::ThresholdedRelu { alpha: 1.0 }),
        &[0.0, 0.0, 2.0]
    ));
    assert!(close(
        &a(Activation::Shrink {
            bias: 0.5,
            lambd: 0.5
        }),
        &[-0.5, 0.0, 1.5]
    ));
    assert!(close(
        &a(Activation::Celu { alpha: 1.0 }),
        &[(-1f64).exp() - 1.0, 0.0, 2.0]
    ));
    let g = a(Activation::Gelu { tanh_approx: false });
    assert!(close(&g, &[-0.15865525393145707, 0.0, 1.9544997361036416]));
    let inf = t(&[3], vec![f32::INFINITY, f32::NEG_INFINITY, 1.]);
    let r = run1(
        Op::Activation(Activation::IsInf {
            detect_positive: false,
            detect_negative: true,
        }),
        &[&inf],
    );
    assert_eq!(r.to_vec::<bool>(), vec![false, true, false]);
    let ix = t(&[3], vec![-5i32, 0, 5]);
    let r = run1(
        Op::Activation(Activation::Shrink {
            bias: 1.0,
            lambd: 2.0,
        }),
        &[&ix],
    );
    assert_eq!(r.to_vec::<i32>(), vec![-4, 0, 4]);
}

#[test]
fn variadic_sum_mean() {
    let a = t(&[2], vec![1f32, 2.]);
    let b = t(&[2, 1], vec![10f32, 20.]);
    let c = t(&[], vec![100f32]);
    let r = run1(Op::Variadic(VariadicOp::Sum), &[&a, &b, &c]);
    assert_eq!(r.shape(), &[2, 2]);
    assert_eq!(r.to_vec::<f32>(), vec![111., 112., 121., 122.]);
    let r = run1(Op::Variadic(VariadicOp::Mean), &[&a, &a, &a]);
    assert_eq!(r.to_vec::<f32>(), vec![1., 2.]);
    let i = t(&[2], vec![3i64, -4]);
    assert_eq!(
        run1(Op::Variadic(VariadicOp::Max), &[&i]).to_vec::<i64>(),
        vec![3, -4]
    );
}

#[test]
fn clip_where_prelu() {
    let x = t(&[4], vec![-2f32, 0.5, 3., f32::NAN]);
    let lo = t(&[], vec![0f32]);
    let hi = t(&[], vec![1f32]);
    let r = run(Op::Clip, &[Some(&x), Some(&lo), Some(&hi)]).unwrap()[0].to_vec::<f32>();
    assert_eq!(&r[..3], &[0., 0.5, 1.]);
    assert!(r[3].is_nan());
    let r = run(Op::Clip, &[Some(&x), None, Some(&hi)]).unwrap()[0].to_vec::<f32>();
    assert_eq!(&r[..3], &[-2., 0.5, 1.]);
    let xi = t(&[3], vec![-5i64, 5, 50]);
    let hi = t(&[], vec![10i64]);
    assert_eq!(
        run(Op::Clip, &[Some(&xi), None, Some(&hi)]).unwrap()[0].to_vec::<i64>(),
        vec![-5, 5, 10]
    );

    let c = t(&[2, 1], vec![true, false]);
    let a = t(&[2], vec![1i64, 2]);
    let b = t(&[], vec![0i64]);
    let r = run1(Op::Where, &[&c, &a, &b]);
    assert_eq!(r.shape(), &[2, 2]);
    assert_eq!(r.to_vec::<i64>(), vec![1, 2, 0, 0]);

    let px = t(&[2, 2], vec![-1f32, 2., -3., 4.]);
    let sl = t(&[2], vec![0.5f32, 0.25]);
    assert_eq!(
        run1(Op::Binary(BinaryOp::PRelu), &[&px, &sl]).to_vec::<f32>(),
        vec![-0.5, 2., -1.5, 4.]
    );
    let bad = t(&[2, 2, 2], vec![0f32; 8]);
    assert!(run(Op::Binary(BinaryOp::PRelu), &[Some(&px), Some(&bad)]).is_err());
}

#[test]
fn casts() {
    let x = t(&[5], vec![-1.7f32, 2.5, f32::NAN, 1e10, 300.]);
    let c = |to| run1(Op::Cast { to }, &[&x]);
    assert_eq!(c(DType::I32).to_vec::<i32>(), vec![-1, 2, 0, i32::MAX, 300]);
    assert_eq!(c(DType::U8).to_vec::<u8>(), vec![0, 2, 0, 255, 255]);
    assert_eq!(
        c(DType::Bool).to_vec::<bool>(),
        vec![true, true, true, true, true]
    );
    assert_eq!(c(DType::F16).to_vec::<f16>()[1], f16::from_f32(2.5));
    let big = t(&[2], vec![(1i64 << 53) + 1, -1]);
    let r = run1(Op::Cast { to: DType::U64 }, &[&big]).to_vec::<u64>();
    assert_eq!(r, vec![(1u64 << 53) + 1, u64::MAX]);
    let r = run1(Op::Cast { to: DType::I8 }, &[&t(&[1], vec![300i32])]).to_vec::<i8>();
    assert_eq!(r, vec![44]);
    let b = t(&[2], vec![true, false]);
    assert_eq!(
        run1(Op::Cast { to: DType::F64 }, &[&b]).to_vec::<f64>(),
        vec![1., 0.]
    );
}

#[test]
fn signed_shifts_follow_numpy() {
    let a = t(&[5], vec![-8i8, 4, -1, 64, -128]);
    let s = t(&[5], vec![1i8, -1, 8, 1, 7]);
    // Left: wraps; counts outside [0, 8) give 0.
    assert_eq!(
        run1(Op::Binary(BinaryOp::BitShiftLeft), &[&a, &s]).to_vec::<i8>(),
        vec![-16, 0, 0, -128, 0]
    );
    // Right: arithmetic; counts outside [0, 8) give 0 or -1 by sign.
    assert_eq!(
        run1(Op::Binary(BinaryOp::BitShiftRight), &[&a, &s]).to_vec::<i8>(),
        vec![-4, 0, -1, 32, -1]
    );
}

#[test]
fn float_python_mod_takes_divisor_sign() {
    let a = t(&[4], vec![5.5f32, -5.5, 5.5, -5.5]);
    let b = t(&[4], vec![2f32, 2., -2., -2.]);
    assert_eq!(
        run1(Op::Binary(BinaryOp::Mod { fmod: false }), &[&a, &b]).to_vec::<f32>(),
        vec![1.5, 0.5, -0.5, -1.5]
    );
}
