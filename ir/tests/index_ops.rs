//! Index family: shape rules and reference semantics on hand-checked values.

use onnxc_ir::eval::eval_op;
use onnxc_ir::infer::{infer, InputInfo};
use onnxc_ir::op::ScatterReduction;
use onnxc_ir::tensor::Element;
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(shape, v)
}

fn eval(op: Op, inputs: &[&Tensor], n_out: usize) -> Result<Vec<Tensor>, String> {
    let ins: Vec<Option<&Tensor>> = inputs.iter().map(|t| Some(*t)).collect();
    let dummy = vec![TensorType::new(DType::F32, vec![]); n_out];
    eval_op(&op, &ins, &dummy).map_err(|e| e.0)
}

fn run1(op: Op, inputs: &[&Tensor]) -> Tensor {
    eval(op, inputs, 1).unwrap().remove(0)
}

/// Shape rule with every input passed as a constant.
fn shape_of(op: &Op, inputs: &[&Tensor], n: usize) -> Result<Vec<TensorType>, String> {
    let infos: Vec<_> = inputs
        .iter()
        .map(|x| {
            Some(InputInfo {
                ty: x.ty(),
                value: Some(*x),
            })
        })
        .collect();
    infer(op, &infos, n).map_err(|e| e.0)
}

#[test]
fn gather_elements_and_scatter_elements() {
    let x = t(&[2, 2], vec![1.0f32, 2.0, 3.0, 4.0]);
    let i = t(&[2, 2], vec![0i64, 0, 1, -2]);
    let y = run1(Op::GatherElements { axis: 1 }, &[&x, &i]);
    assert_eq!(y.to_vec::<f32>(), vec![1.0, 1.0, 4.0, 3.0]);
    assert!(eval(
        Op::GatherElements { axis: 1 },
        &[&x, &t(&[1, 1], vec![2i64])],
        1
    )
    .is_err());
    assert!(shape_of(
        &Op::GatherElements { axis: 0 },
        &[&x, &t(&[2], vec![0i64, 1])],
        1
    )
    .is_err());

    let d = t(&[1, 5], vec![1.0f32, 2.0, 3.0, 4.0, 5.0]);
    let idx = t(&[1, 2], vec![1i64, 1]);
    let u = t(&[1, 2], vec![1.1f32, 2.1]);
    let sum = run1(
        Op::ScatterElements {
            axis: 1,
            reduction: ScatterReduction::Add,
        },
        &[&d, &idx, &u],
    );
    assert_eq!(sum.to_vec::<f32>(), vec![1.0, 5.2, 3.0, 4.0, 5.0]);
    let last = run1(
        Op::ScatterElements {
            axis: 1,
            reduction: ScatterReduction::None,
        },
        &[&d, &idx, &u],
    );
    assert_eq!(last.to_vec::<f32>(), vec![1.0, 2.1, 3.0, 4.0, 5.0]);
}

#[test]
fn gather_nd_and_scatter_nd() {
    let x = t(&[2, 2], vec![0i32, 1, 2, 3]);
    let y = run1(
        Op::GatherND { batch_dims: 0 },
        &[&x, &t(&[2, 2], vec![0i64, 0, 1, 1])],
    );
    assert_eq!(y.to_vec::<i32>(), vec![0, 3]);
    let rows = run1(
        Op::GatherND { batch_dims: 0 },
        &[&x, &t(&[2, 1], vec![1i64, 0])],
    );
    assert_eq!(
        (rows.shape(), rows.to_vec::<i32>()),
        (&[2usize, 2][..], vec![2, 3, 0, 1])
    );
    let b = run1(
        Op::GatherND { batch_dims: 1 },
        &[&x, &t(&[2, 1], vec![1i64, 0])],
    );
    assert_eq!(b.to_vec::<i32>(), vec![1, 2]);

    let d = t(&[4], vec![1.0f32, 2.0, 3.0, 4.0]);
    let m = run1(
        Op::ScatterND {
            reduction: ScatterReduction::Mul,
        },
        &[&d, &t(&[2, 1], vec![3i64, 3]), &t(&[2], vec![2.0f32, 3.0])],
    );
    assert_eq!(m.to_vec::<f32>(), vec![1.0, 2.0, 3.0, 24.0]);
    let bad = [&d, &t(&[1, 1], vec![0i64]), &t(&[2], vec![0.0f32, 0.0])];
    assert!(shape_of(
        &Op::ScatterND {
            reduction: ScatterReduction::None
        },
        &bad,
        1
    )
    .is_err());
}

#[test]
fn trilu_keeps_the_right_triangle() {
    let x = t(&[3, 3], (1..=9).collect::<Vec<i64>>());
    let up = run1(Op::Trilu { upper: true }, &[&x, &Tensor::scalar(1i64)]);
    assert_eq!(up.to_vec::<i64>(), vec![0, 2, 3, 0, 0, 6, 0, 0, 0]);
    let lo = run1(Op::Trilu { upper: false }, &[&x, &Tensor::scalar(-1i64)]);
    assert_eq!(lo.to_vec::<i64>(), vec![0, 0, 0, 4, 0, 0, 7, 8, 0]);
    assert!(shape_of(&Op::Trilu { upper: true }, &[&t(&[3], vec![1i64, 2, 3])], 1).is_err());
}

#[test]
fn cumsum_and_cumprod_flags() {
    let x = t(&[4], vec![1.0f64, 2.0, 3.0, 4.0]);
    let ax = Tensor::scalar(0i32);
    let cs =
        |exclusive, reverse| run1(Op::CumSum { exclusive, reverse }, &[&x, &ax]).to_vec::<f64>();
    assert_eq!(cs(false, false), vec![1.0, 3.0, 6.0, 10.0]);
    assert_eq!(cs(true, false), vec![0.0, 1.0, 3.0, 6.0]);
    assert_eq!(cs(false, true), vec![10.0, 9.0, 7.0, 4.0]);
    assert_eq!(cs(true, true), vec![9.0, 7.0, 4.0, 0.0]);
    let cp = run1(
        Op::CumProd {
            exclusive: true,
            reverse: false,
        },
        &[&x, &ax],
    );
    assert_eq!(cp.to_vec::<f64>(), vec![1.0, 1.0, 2.0, 6.0]);
    assert!(shape_of(
        &Op::CumSum {
            exclusive: false,
            reverse: false
        },
        &[&x, &Tensor::scalar(1i64)],
        1
    )
    .is_err());
}

#[test]
fn top_k_values_indices_and_shape() {
    let x = t(&[2, 3], vec![1u64, 3, 3, 9, 0, 9]);
    let k = t(&[1], vec![2i64]);
    let op = Op::TopK {
        axis: -1,
        largest: true,
        sorted: true,
    };
    let out = eval(op.clone(), &[&x, &k], 2).unwrap();
    assert_eq!(out[0].to_vec::<u64>(), vec![3, 3, 9, 9]);
    assert_eq!(out[1].to_vec::<i64>(), vec![1, 2, 0, 2]);
    let tys = shape_of(&op, &[&x, &k], 2).unwrap();
    assert_eq!(tys[1], TensorType::new(DType::I64, vec![2, 2]));
    assert!(shape_of(&op, &[&x, &t(&[1], vec![4i64])], 2).is_err());
    let small = eval(
        Op::TopK {
            axis: 0,
            largest: false,
            sorted: true,
        },
        &[&x, &t(&[1], vec![1i64])],
        2,
    )
    .unwrap();
    assert_eq!(small[1].to_vec::<i64>(), vec![0, 1, 0]);
}

#[test]
fn one_hot_eye_like_reverse_sequence() {
    let i = t(&[3], vec![0i64, -1, 5]);
    let y = run1(
        Op::OneHot { axis: -1 },
        &[&i, &Tensor::scalar(3i64), &t(&[2], vec![0.0f32, 1.0])],
    );
    assert_eq!(y.shape(), &[3, 3]);
    assert_eq!(
        y.to_vec::<f32>(),
        vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    );

    let e = run1(
        Op::EyeLike {
            k: -1,
            dtype: DType::I32,
        },
        &[&t(&[3, 2], vec![0.0f32; 6])],
    );
    assert_eq!(e.to_vec::<i32>(), vec![0, 0, 1, 0, 0, 1]);

    let x = t(&[3, 2], vec![0i32, 1, 2, 3, 4, 5]); // time x batch
    let r = run1(
        Op::ReverseSequence {
            batch_axis: 1,
            time_axis: 0,
        },
        &[&x, &t(&[2], vec![3i64, 2])],
    );
    assert_eq!(r.to_vec::<i32>(), vec![4, 3, 2, 1, 0, 5]);
}

#[test]
fn depth_space_roundtrip() {
    let x = t(&[1, 4, 1, 2], (0..8).collect::<Vec<i32>>());
    for crd in [false, true] {
        let y = run1(Op::DepthToSpace { blocksize: 2, crd }, &[&x]);
        assert_eq!(y.shape(), &[1, 1, 2, 4]);
        let back = run1(Op::SpaceToDepth { blocksize: 2, crd }, &[&y]);
        assert_eq!(back.to_vec::<i32>(), x.to_vec::<i32>());
    }
    let dcr = run1(
        Op::DepthToSpace {
            blocksize: 2,
            crd: false,
        },
        &[&x],
    );
    assert_eq!(dcr.to_vec::<i32>(), vec![0, 2, 1, 3, 4, 6, 5, 7]);
    assert!(shape_of(
        &Op::SpaceToDepth {
            blocksize: 2,
            crd: false
        },
        &[&t(&[1, 1, 3, 2], vec![0i32; 6])],
        1
    )
    .is_err());
}

#[test]
fn einsum_semantics() {
    let a = t(&[2, 2], vec![1.0f32, 2.0, 3.0, 4.0]);
    let b = t(&[2, 2], vec![5.0f32, 6.0, 7.0, 8.0]);
    let mm = run1(
        Op::Einsum {
            equation: "ij, jk -> ik".into(),
        },
        &[&a, &b],
    );
    assert_eq!(mm.to_vec::<f32>(), vec![19.0, 22.0, 43.0, 50.0]);
    let tr = run1(
        Op::Einsum {
            equation: "ii".into(),
        },
        &[&a],
    );
    assert_eq!((tr.shape(), tr.to_vec::<f32>()), (&[][..], vec![5.0]));
    let implicit = run1(
        Op::Einsum {
            equation: "ji".into(),
        },
        &[&a],
    );
    assert_eq!(implicit.to_vec::<f32>(), vec![1.0, 3.0, 2.0, 4.0]);
    let diag = run1(
        Op::Einsum {
            equation: "...ii->...i".into(),
        },
        &[&t(&[1, 2, 2], vec![1.0f32, 2.0, 3.0, 4.0])],
    );
    assert_eq!(
        (diag.shape(), diag.to_vec::<f32>()),
        (&[1usize, 2][..], vec![1.0, 4.0])
    );
    assert!(shape_of(
        &Op::Einsum {
            equation: "ij,jk->ik".into()
        },
        &[&a, &t(&[3], vec![0.0f32; 3])],
        1
    )
    .is_err());
    assert!(shape_of(
        &Op::Einsum {
            equation: "i#".into()
        },
        &[&a],
        1
    )
    .is_err());
}
