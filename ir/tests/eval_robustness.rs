//! The evaluator must never panic, whatever the inputs: every op is run on
//! every combination of up to three tensors from a pool of odd ones
//! (wrong dtypes, empty, scalar, negative or huge integers) and may only
//! return an error.

use half::f16;
use onnxc_ir::eval::eval_op;
use onnxc_ir::op::*;
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn pool() -> Vec<Tensor> {
    vec![
        Tensor::from_vec([2, 3], vec![1f32, -2., f32::NAN, 4., f32::INFINITY, 0.]),
        Tensor::from_vec([1, 2, 3, 3], (0..18).map(|v| v as f32).collect::<Vec<_>>()),
        Tensor::from_vec([3], vec![f16::from_f32(1.0); 3]),
        Tensor::scalar(2i64),
        Tensor::from_vec([2], vec![-1i64, 0]),
        Tensor::from_vec([3], vec![i64::MAX, i64::MIN, 5]),
        Tensor::from_vec([4], vec![1i64, 2, -3, 4]),
        Tensor::from_vec([2], vec![7i32, -9]),
        Tensor::from_vec([2, 2], vec![true, false, true, true]),
        Tensor::from_vec([0, 3], Vec::<f32>::new()),
        Tensor::from_vec([0], Vec::<i64>::new()),
        Tensor::scalar(0.5f64),
        Tensor::from_vec([2], vec![250u8, 3]),
    ]
}

fn ops() -> Vec<Op> {
    let w = |k: &[usize]| Window {
        kernel_shape: k.to_vec(),
        strides: vec![1; k.len()],
        pads: vec![1; 2 * k.len()],
        dilations: vec![1; k.len()],
    };
    let mut v: Vec<Op> = vec![
        Op::Clip,
        Op::Where,
        Op::Cast { to: DType::I8 },
        Op::Cast { to: DType::F16 },
        Op::Conv {
            window: w(&[2, 2]),
            group: 1,
        },
        Op::Conv {
            window: w(&[]),
            group: 2,
        },
        Op::BatchNormalization { epsilon: 1e-5 },
        Op::MaxPool {
            window: w(&[2, 2]),
            ceil_mode: true,
        },
        Op::AveragePool {
            window: w(&[3]),
            ceil_mode: false,
            count_include_pad: true,
        },
        Op::GlobalAveragePool,
        Op::GlobalMaxPool,
        Op::Lrn {
            size: 3,
            alpha: 1e-4,
            beta: 0.75,
            bias: 1.0,
        },
        Op::Gemm {
            alpha: 1.0,
            beta: 1.0,
            trans_a: true,
            trans_b: false,
        },
        Op::MatMul,
        Op::Softmax { axis: -1 },
        Op::LogSoftmax { axis: 5 },
        Op::Hardmax { axis: 0 },
        Op::Dropout,
        Op::Reshape { allowzero: false },
        Op::Reshape { allowzero: true },
        Op::Flatten { axis: -3 },
        Op::Transpose { perm: None },
        Op::Transpose {
            perm: Some(vec![1, 0]),
        },
        Op::Squeeze,
        Op::Unsqueeze,
        Op::Concat { axis: -1 },
        Op::Shape {
            start: -9,
            end: Some(9),
        },
        Op::Size,
        Op::Gather { axis: -1 },
        Op::ConstantOfShape {
            value: Tensor::scalar(1u8),
        },
        Op::Slice,
        Op::Expand,
        Op::Split {
            axis: 0,
            num_outputs: 2,
        },
        Op::Split {
            axis: 1,
            num_outputs: 0,
        },
        Op::Pad {
            mode: PadMode::Reflect,
        },
        Op::Pad {
            mode: PadMode::Constant,
        },
        Op::Tile,
        Op::Range,
        Op::ArgMax {
            axis: 1,
            keepdims: false,
            select_last_index: true,
        },
        Op::ArgMin {
            axis: -1,
            keepdims: true,
            select_last_index: false,
        },
        Op::Activation(Activation::Shrink {
            bias: 1.0,
            lambd: 0.5,
        }),
        Op::Activation(Activation::IsInf {
            detect_positive: true,
            detect_negative: true,
        }),
        Op::Activation(Activation::Gelu { tanh_approx: true }),
    ];
    for u in [
        UnaryOp::Abs,
        UnaryOp::Neg,
        UnaryOp::Exp,
        UnaryOp::Not,
        UnaryOp::BitwiseNot,
        UnaryOp::IsNaN,
        UnaryOp::Sign,
    ] {
        v.push(Op::Unary(u));
    }
    for b in [
        BinaryOp::Add,
        BinaryOp::Div,
        BinaryOp::Pow,
        BinaryOp::Mod { fmod: false },
        BinaryOp::Max,
        BinaryOp::And,
        BinaryOp::Equal,
        BinaryOp::Less,
        BinaryOp::BitShiftLeft,
        BinaryOp::BitwiseXor,
        BinaryOp::PRelu,
    ] {
        v.push(Op::Binary(b));
    }
    for r in [
        ReduceOp::Sum,
        ReduceOp::Max,
        ReduceOp::LogSumExp,
        ReduceOp::Mean,
        ReduceOp::L2,
    ] {
        v.push(Op::Reduce {
            op: r,
            keepdims: false,
            noop_with_empty_axes: false,
        });
    }
    v.extend([
        Op::Variadic(VariadicOp::Sum),
        Op::Variadic(VariadicOp::Mean),
    ]);
    v
}

#[test]
fn never_panics() {
    let pool = pool();
    let mut combos: Vec<Vec<Option<&Tensor>>> = vec![vec![], vec![None]];
    for a in &pool {
        combos.push(vec![Some(a)]);
        for b in &pool {
            combos.push(vec![Some(a), Some(b)]);
            combos.push(vec![Some(a), None, Some(b)]);
            for c in &pool {
                combos.push(vec![Some(a), Some(b), Some(c)]);
            }
        }
    }
    let types = vec![TensorType::new(DType::F32, vec![]); 2];
    let mut ok = 0;
    for op in ops() {
        for ins in &combos {
            let r = std::panic::catch_unwind(|| eval_op(&op, ins, &types));
            assert!(r.is_ok(), "{op:?} panicked on {ins:?}");
            ok += r.map_or(0, |v| v.is_ok() as usize);
        }
    }
    eprintln!("{ok} successful evaluations");
    assert!(ok > 1000, "too few successful evaluations: {ok}");
}
