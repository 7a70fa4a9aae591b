//! Reference evaluator: reductions and ArgMax/ArgMin.

use onnxc_ir::eval::eval_op;
use onnxc_ir::op::ReduceOp;
use onnxc_ir::tensor::Element;
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(shape, v)
}

fn i64s(v: &[i64]) -> Tensor {
    Tensor::from_vec([v.len()], v.to_vec())
}

fn run(op: Op, inputs: &[Option<&Tensor>]) -> Result<Tensor, String> {
    let dummy = vec![TensorType::new(DType::F32, vec![])];
    eval_op(&op, inputs, &dummy)
        .map(|mut v| v.remove(0))
        .map_err(|e| e.0)
}

fn red(op: ReduceOp, keepdims: bool) -> Op {
    Op::Reduce {
        op,
        keepdims,
        noop_with_empty_axes: false,
    }
}

#[test]
fn reduce_kinds() {
    let x = t(&[2, 3], vec![1f32, 2., 3., 4., 5., 6.]);
    let ax = i64s(&[1]);
    let r = |op| {
        run(red(op, false), &[Some(&x), Some(&ax)])
            .unwrap()
            .to_vec::<f32>()
    };
    assert_eq!(r(ReduceOp::Sum), vec![6., 15.]);
    assert_eq!(r(ReduceOp::Mean), vec![2., 5.]);
    assert_eq!(r(ReduceOp::Max), vec![3., 6.]);
    assert_eq!(r(ReduceOp::Min), vec![1., 4.]);
    assert_eq!(r(ReduceOp::Prod), vec![6., 120.]);
    assert_eq!(r(ReduceOp::L1), vec![6., 15.]);
    assert_eq!(r(ReduceOp::SumSquare), vec![14., 77.]);
    assert_eq!(r(ReduceOp::L2), vec![14f32.sqrt(), 77f32.sqrt()]);
    assert_eq!(r(ReduceOp::LogSum), vec![6f32.ln(), 15f32.ln()]);
    let lse = r(ReduceOp::LogSumExp);
    let want = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln() as f32;
    assert!((lse[0] - want).abs() < 1e-6);
}

#[test]
fn reduce_axes_and_keepdims() {
    let x = t(&[2, 3, 2], (0..12).map(|v| v as f32).collect());
    let r = run(red(ReduceOp::Sum, true), &[Some(&x), Some(&i64s(&[0, -1]))]).unwrap();
    assert_eq!(
        (r.shape(), r.to_vec::<f32>()),
        (&[1usize, 3, 1][..], vec![14., 22., 30.])
    );
    let r = run(red(ReduceOp::Sum, false), &[Some(&x)]).unwrap();
    assert_eq!((r.shape(), r.to_vec::<f32>()), (&[][..], vec![66.]));
    let noop = Op::Reduce {
        op: ReduceOp::Sum,
        keepdims: true,
        noop_with_empty_axes: true,
    };
    assert_eq!(run(noop, &[Some(&x), Some(&i64s(&[]))]).unwrap(), x);
    assert!(run(red(ReduceOp::Sum, true), &[Some(&x), Some(&i64s(&[1, -2]))]).is_err());
    assert!(run(red(ReduceOp::Sum, true), &[Some(&x), Some(&i64s(&[3]))]).is_err());
}

#[test]
fn reduce_integers_exact_and_empty() {
    let big = (1i64 << 60) + 1;
    let x = t(&[3], vec![big, 1, -7]);
    assert_eq!(
        run(red(ReduceOp::Sum, false), &[Some(&x)])
            .unwrap()
            .to_vec::<i64>(),
        vec![big - 6]
    );
    assert_eq!(
        run(red(ReduceOp::Max, false), &[Some(&x)])
            .unwrap()
            .to_vec::<i64>(),
        vec![big]
    );
    assert_eq!(
        run(red(ReduceOp::Mean, false), &[Some(&t(&[2], vec![3i32, 4]))])
            .unwrap()
            .to_vec::<i32>(),
        vec![3]
    );
    let e = t::<f32>(&[2, 0], vec![]);
    let ax = i64s(&[1]);
    let r = |op| {
        run(red(op, false), &[Some(&e), Some(&ax)])
            .unwrap()
            .to_vec::<f32>()
    };
    assert_eq!(r(ReduceOp::Sum), vec![0., 0.]);
    assert_eq!(r(ReduceOp::Prod), vec![1., 1.]);
    assert_eq!(r(ReduceOp::Max), vec![f32::NEG_INFINITY; 2]);
    assert_eq!(r(ReduceOp::LogSumExp), vec![f32::NEG_INFINITY; 2]);
    let n = t(&[3], vec![1f32, f32::NAN, 3.]);
    assert!(run(red(ReduceOp::Max, false), &[Some(&n)])
        .unwrap()
        .to_vec::<f32>()[0]
        .is_nan());
    assert!(run(red(ReduceOp::LogSumExp, false), &[Some(&n)])
        .unwrap()
        .to_vec::<f32>()[0]
        .is_nan());
    let b = t(&[2, 2], vec![true, false, true, true]);
    let ax = i64s(&[1]);
    assert_eq!(
        run(red(ReduceOp::Min, false), &[Some(&b), Some(&ax)])
            .unwrap()
            .to_vec::<bool>(),
        vec![false, true]
    );
    assert_eq!(
        run(red(ReduceOp::Max, false), &[Some(&b), Some(&ax)])
            .unwrap()
            .to_vec::<bool>(),
        vec![true, true]
    );
    assert!(run(red(ReduceOp::Sum, false), &[Some(&b)]).is_err());
}

#[test]
fn arg_max_min() {
    let x = t(&[2, 3], vec![1i64, 5, 5, 7, 0, 0]);
    let am = |axis, keepdims, select_last_index| Op::ArgMax {
        axis,
        keepdims,
        select_last_index,
    };
    let r = run(am(1, true, false), &[Some(&x)]).unwrap();
    assert_eq!(
        (r.shape(), r.to_vec::<i64>()),
        (&[2usize, 1][..], vec![1, 0])
    );
    assert_eq!(
        run(am(1, false, true), &[Some(&x)])
            .unwrap()
            .to_vec::<i64>(),
        vec![2, 0]
    );
    assert_eq!(
        run(am(0, false, false), &[Some(&x)])
            .unwrap()
            .to_vec::<i64>(),
        vec![1, 0, 0]
    );
    let mn = Op::ArgMin {
        axis: -1,
        keepdims: false,
        select_last_index: true,
    };
    assert_eq!(run(mn, &[Some(&x)]).unwrap().to_vec::<i64>(), vec![0, 2]);
    let n = t(&[4], vec![1f32, f32::NAN, 9., f32::NAN]);
    assert_eq!(
        run(am(0, false, false), &[Some(&n)])
            .unwrap()
            .to_vec::<i64>(),
        vec![1]
    );
    assert_eq!(
        run(am(0, false, true), &[Some(&n)])
            .unwrap()
            .to_vec::<i64>(),
        vec![3]
    );
    assert!(run(am(2, false, false), &[Some(&x)]).is_err());
}
