//! Reference evaluator: data-movement ops.

use onnxc_ir::eval::eval_op;
use onnxc_ir::op::PadMode;
use onnxc_ir::tensor::Element;
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(shape, v)
}

fn i64s(v: &[i64]) -> Tensor {
    Tensor::from_vec([v.len()], v.to_vec())
}

fn run_n(op: Op, inputs: &[Option<&Tensor>], n_out: usize) -> Result<Vec<Tensor>, String> {
    let dummy = vec![TensorType::new(DType::F32, vec![]); n_out];
    eval_op(&op, inputs, &dummy).map_err(|e| e.0)
}

fn run1(op: Op, inputs: &[&Tensor]) -> Tensor {
    let ins: Vec<Option<&Tensor>> = inputs.iter().map(|t| Some(*t)).collect();
    run_n(op, &ins, 1).unwrap().remove(0)
}

fn iota(shape: &[usize]) -> Tensor {
    t(shape, (0..shape.iter().product::<usize>() as i32).collect())
}

#[test]
fn reshape_flatten_squeeze_unsqueeze() {
    let x = iota(&[2, 3, 4]);
    assert_eq!(
        run1(Op::Reshape { allowzero: false }, &[&x, &i64s(&[0, -1])]).shape(),
        &[2, 12]
    );
    assert_eq!(
        run1(Op::Reshape { allowzero: false }, &[&x, &i64s(&[4, 0, 2])]).shape(),
        &[4, 3, 2]
    );
    assert!(run_n(
        Op::Reshape { allowzero: false },
        &[Some(&x), Some(&i64s(&[5, -1]))],
        1
    )
    .is_err());
    assert!(run_n(
        Op::Reshape { allowzero: true },
        &[Some(&x), Some(&i64s(&[0, -1]))],
        1
    )
    .is_err());
    assert_eq!(run1(Op::Flatten { axis: 0 }, &[&x]).shape(), &[1, 24]);
    assert_eq!(run1(Op::Flatten { axis: -1 }, &[&x]).shape(), &[6, 4]);
    assert_eq!(run1(Op::Flatten { axis: 3 }, &[&x]).shape(), &[24, 1]);
    let y = iota(&[1, 3, 1]);
    assert_eq!(run_n(Op::Squeeze, &[Some(&y)], 1).unwrap()[0].shape(), &[3]);
    assert_eq!(run1(Op::Squeeze, &[&y, &i64s(&[-1])]).shape(), &[1, 3]);
    assert!(run_n(Op::Squeeze, &[Some(&y), Some(&i64s(&[1]))], 1).is_err());
    assert_eq!(
        run1(Op::Unsqueeze, &[&y, &i64s(&[0, -1])]).shape(),
        &[1, 1, 3, 1, 1]
    );
    assert!(run_n(Op::Unsqueeze, &[Some(&y), Some(&i64s(&[0, 0]))], 1).is_err());
}

#[test]
fn transpose_and_concat() {
    let x = iota(&[2, 3]);
    let r = run1(Op::Transpose { perm: None }, &[&x]);
    assert_eq!(
        (r.shape(), r.to_vec::<i32>()),
        (&[3usize, 2][..], vec![0, 3, 1, 4, 2, 5])
    );
    let x3 = iota(&[2, 3, 4]);
    let r = run1(
        Op::Transpose {
            perm: Some(vec![1, 2, 0]),
        },
        &[&x3],
    );
    assert_eq!(r.shape(), &[3, 4, 2]);
    assert_eq!(&r.to_vec::<i32>()[..4], &[0, 12, 1, 13]);
    assert!(run_n(
        Op::Transpose {
            perm: Some(vec![0, 0])
        },
        &[Some(&x)],
        1
    )
    .is_err());
    let a = iota(&[2, 1]);
    let r = run1(Op::Concat { axis: -1 }, &[&x, &a]);
    assert_eq!(
        (r.shape(), r.to_vec::<i32>()),
        (&[2usize, 4][..], vec![0, 1, 2, 0, 3, 4, 5, 1])
    );
    assert!(run_n(Op::Concat { axis: 0 }, &[Some(&x), Some(&a)], 1).is_err());
}

#[test]
fn shape_size_gather() {
    let x = iota(&[2, 3, 4]);
    assert_eq!(
        run1(
            Op::Shape {
                start: 0,
                end: None
            },
            &[&x]
        )
        .to_vec::<i64>(),
        vec![2, 3, 4]
    );
    assert_eq!(
        run1(
            Op::Shape {
                start: -2,
                end: Some(-1)
            },
            &[&x]
        )
        .to_vec::<i64>(),
        vec![3]
    );
    assert_eq!(
        run1(
            Op::Shape {
                start: 5,
                end: Some(1)
            },
            &[&x]
        )
        .to_vec::<i64>(),
        Vec::<i64>::new()
    );
    assert_eq!(run1(Op::Size, &[&x]).to_vec::<i64>(), vec![24]);
    let r = run1(Op::Gather { axis: 1 }, &[&x, &t(&[2], vec![-1i32, 0])]);
    assert_eq!(r.shape(), &[2, 2, 4]);
    assert_eq!(&r.to_vec::<i32>()[..8], &[8, 9, 10, 11, 0, 1, 2, 3]);
    let r = run1(
        Op::Gather { axis: 0 },
        &[&i64s(&[5, 6, 7]), &t(&[], vec![2i64])],
    );
    assert_eq!((r.shape(), r.to_vec::<i64>()), (&[][..], vec![7]));
    assert!(run_n(Op::Gather { axis: 0 }, &[Some(&x), Some(&i64s(&[2]))], 1).is_err());
    assert!(run_n(
        Op::Gather { axis: 0 },
        &[Some(&x), Some(&t(&[1], vec![0f32]))],
        1
    )
    .is_err());
}

#[test]
fn constant_of_shape_expand_tile_range() {
    let r = run1(
        Op::ConstantOfShape {
            value: Tensor::scalar(7i64),
        },
        &[&i64s(&[2, 3])],
    );
    assert_eq!(
        (r.shape(), r.to_vec::<i64>()),
        (&[2usize, 3][..], vec![7; 6])
    );
    let r = run1(
        Op::ConstantOfShape {
            value: Tensor::scalar(0f32),
        },
        &[&i64s(&[])],
    );
    assert_eq!(r.shape(), &[] as &[usize]);
    assert!(run_n(
        Op::ConstantOfShape {
            value: Tensor::scalar(0f32)
        },
        &[Some(&i64s(&[-1]))],
        1
    )
    .is_err());
    assert!(run_n(
        Op::ConstantOfShape {
            value: Tensor::scalar(0f32)
        },
        &[Some(&i64s(&[1 << 40, 1 << 40]))],
        1
    )
    .is_err());
    let x = iota(&[3, 1]);
    let r = run1(Op::Expand, &[&x, &i64s(&[2, 1, 2])]);
    assert_eq!(r.shape(), &[2, 3, 2]);
    assert_eq!(&r.to_vec::<i32>()[..6], &[0, 0, 1, 1, 2, 2]);
    let r = run1(Op::Tile, &[&iota(&[2]), &i64s(&[3])]);
    assert_eq!(r.to_vec::<i32>(), vec![0, 1, 0, 1, 0, 1]);
    let r = run1(Op::Tile, &[&iota(&[1, 2]), &i64s(&[2, 2])]);
    assert_eq!(r.to_vec::<i32>(), vec![0, 1, 0, 1, 0, 1, 0, 1]);
    let s = |v: i64| Tensor::scalar(v);
    assert_eq!(
        run1(Op::Range, &[&s(10), &s(1), &s(-3)]).to_vec::<i64>(),
        vec![10, 7, 4]
    );
    assert_eq!(run1(Op::Range, &[&s(1), &s(10), &s(-3)]).numel(), 0);
    let big = (1i64 << 62) + 1;
    assert_eq!(
        run1(Op::Range, &[&s(big), &s(big + 3), &s(2)]).to_vec::<i64>(),
        vec![big, big + 2]
    );
    let f = |v: f32| Tensor::scalar(v);
    assert_eq!(
        run1(Op::Range, &[&f(0.), &f(1.), &f(0.25)]).to_vec::<f32>(),
        vec![0., 0.25, 0.5, 0.75]
    );
    assert!(run_n(Op::Range, &[Some(&s(0)), Some(&s(1)), Some(&s(0))], 1).is_err());
}

#[test]
fn slices() {
    let x = iota(&[3, 4]);
    let sl = |s: &[i64], e: &[i64], a: &[i64], st: &[i64]| {
        run1(Op::Slice, &[&x, &i64s(s), &i64s(e), &i64s(a), &i64s(st)])
    };
    let r = sl(&[0, 1], &[2, 3], &[0, 1], &[1, 1]);
    assert_eq!(
        (r.shape(), r.to_vec::<i32>()),
        (&[2usize, 2][..], vec![1, 2, 5, 6])
    );
    let r = sl(&[-1], &[i64::MIN], &[1], &[-1]);
    assert_eq!(
        (r.shape(), r.to_vec::<i32>()),
        (&[3usize, 4][..], vec![3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8])
    );
    let r = sl(&[10], &[-10], &[0], &[-2]);
    assert_eq!(r.to_vec::<i32>(), vec![8, 9, 10, 11, 0, 1, 2, 3]);
    let r = sl(&[1], &[i64::MAX], &[-1], &[2]);
    assert_eq!(r.to_vec::<i32>(), vec![1, 3, 5, 7, 9, 11]);
    let r = sl(&[3], &[1], &[0], &[1]);
    assert_eq!(r.shape(), &[0, 4]);
    let r = run1(Op::Slice, &[&x, &t(&[1], vec![1i32]), &t(&[1], vec![2i32])]);
    assert_eq!(r.to_vec::<i32>(), vec![4, 5, 6, 7]);
    assert!(run_n(
        Op::Slice,
        &[
            Some(&x),
            Some(&i64s(&[0])),
            Some(&i64s(&[1])),
            Some(&i64s(&[0])),
            Some(&i64s(&[0]))
        ],
        1
    )
    .is_err());
}

#[test]
fn splits() {
    let x = iota(&[2, 5]);
    let r = run_n(
        Op::Split {
            axis: 1,
            num_outputs: 0,
        },
        &[Some(&x), Some(&i64s(&[2, 3]))],
        2,
    )
    .unwrap();
    assert_eq!(r[0].to_vec::<i32>(), vec![0, 1, 5, 6]);
    assert_eq!(r[1].to_vec::<i32>(), vec![2, 3, 4, 7, 8, 9]);
    let r = run_n(
        Op::Split {
            axis: -1,
            num_outputs: 3,
        },
        &[Some(&x)],
        3,
    )
    .unwrap();
    let shapes: Vec<&[usize]> = r.iter().map(|t| t.shape()).collect();
    assert_eq!(shapes, vec![&[2usize, 2][..], &[2, 2], &[2, 1]]);
    assert!(run_n(
        Op::Split {
            axis: 1,
            num_outputs: 0
        },
        &[Some(&x), Some(&i64s(&[2, 2]))],
        2
    )
    .is_err());
}

#[test]
fn pads_all_modes() {
    let x = t(&[3], vec![1f32, 2., 3.]);
    let p = |mode, pads: &[i64]| run1(Op::Pad { mode }, &[&x, &i64s(pads)]).to_vec::<f32>();
    assert_eq!(p(PadMode::Constant, &[2, 1]), vec![0., 0., 1., 2., 3., 0.]);
    assert_eq!(
        p(PadMode::Reflect, &[2, 2]),
        vec![3., 2., 1., 2., 3., 2., 1.]
    );
    assert_eq!(p(PadMode::Edge, &[2, 1]), vec![1., 1., 1., 2., 3., 3.]);
    assert_eq!(p(PadMode::Wrap, &[2, 1]), vec![2., 3., 1., 2., 3., 1.]);
    assert_eq!(p(PadMode::Constant, &[-1, 1]), vec![2., 3., 0.]);
    let v = Tensor::scalar(9f32);
    let r = run_n(
        Op::Pad {
            mode: PadMode::Constant,
        },
        &[Some(&x), Some(&i64s(&[1, 0])), Some(&v)],
        1,
    )
    .unwrap();
    assert_eq!(r[0].to_vec::<f32>(), vec![9., 1., 2., 3.]);
    let m = iota(&[2, 2]);
    let r = run1(
        Op::Pad {
            mode: PadMode::Edge,
        },
        &[&m, &i64s(&[1, 1]), &t(&[], vec![0i32]), &i64s(&[-1])],
    );
    assert_eq!(
        (r.shape(), r.to_vec::<i32>()),
        (&[2usize, 4][..], vec![0, 0, 1, 1, 2, 2, 3, 3])
    );
    assert!(run_n(
        Op::Pad {
            mode: PadMode::Constant
        },
        &[Some(&x), Some(&i64s(&[1]))],
        1
    )
    .is_err());
    assert!(run_n(
        Op::Pad {
            mode: PadMode::Constant
        },
        &[Some(&x), Some(&i64s(&[-2, -2]))],
        1
    )
    .is_err());
}

#[test]
fn absurd_shape_values_are_errors_not_panics() {
    let x = iota(&[2, 2]);
    let huge = i64s(&[1 << 40, 1 << 40, 1 << 40]);
    assert!(run_n(
        Op::Reshape { allowzero: false },
        &[Some(&x), Some(&huge)],
        1
    )
    .is_err());
    assert!(run_n(
        Op::Expand,
        &[Some(&x), Some(&i64s(&[1 << 40, 1 << 40, 2, 2]))],
        1
    )
    .is_err());
    assert!(run_n(Op::Tile, &[Some(&x), Some(&i64s(&[1 << 40, 1 << 40]))], 1).is_err());
    let pads = i64s(&[i64::MAX, i64::MAX, 0, 0]);
    assert!(run_n(
        Op::Pad {
            mode: PadMode::Constant
        },
        &[Some(&x), Some(&pads)],
        1
    )
    .is_err());
    let pads = i64s(&[i64::MIN, i64::MAX, 0, 0]);
    assert!(run_n(
        Op::Pad {
            mode: PadMode::Reflect
        },
        &[Some(&x), Some(&pads)],
        1
    )
    .is_err());
    let sizes = i64s(&[i64::MAX, i64::MAX, 2]);
    assert!(run_n(
        Op::Split {
            axis: 0,
            num_outputs: 0
        },
        &[Some(&x), Some(&sizes)],
        3
    )
    .is_err());
    let s = |v: i64| Tensor::scalar(v);
    assert!(run_n(
        Op::Range,
        &[Some(&s(i64::MIN)), Some(&s(i64::MAX)), Some(&s(1))],
        1
    )
    .is_err());
    let sl = [
        Some(&x),
        Some(&i64s(&[i64::MIN])),
        Some(&i64s(&[i64::MAX])),
        Some(&i64s(&[0])),
        Some(&i64s(&[i64::MIN])),
    ];
    assert_eq!(run_n(Op::Slice, &sl, 1).unwrap()[0].shape(), &[0, 2]);
}
