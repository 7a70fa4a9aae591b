//! Shape rules of the shape-manipulating family.

use onnxc_ir::infer::{infer, InputInfo};
use onnxc_ir::op::PadMode;
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn t(d: DType, s: &[usize]) -> TensorType {
    TensorType::new(d, s.to_vec())
}

fn f(s: &[usize]) -> TensorType {
    t(DType::F32, s)
}

/// An input: a plain type or a constant.
enum In {
    T(TensorType),
    K(Tensor),
    Absent,
}

fn ints(v: &[i64]) -> In {
    In::K(Tensor::from_vec(vec![v.len()], v.to_vec()))
}

fn run_n(op: &Op, ins: &[In], n: usize) -> Result<Vec<TensorType>, String> {
    let infos: Vec<_> = ins
        .iter()
        .map(|i| match i {
            In::T(ty) => Some(InputInfo { ty, value: None }),
            In::K(k) => Some(InputInfo {
                ty: k.ty(),
                value: Some(k),
            }),
            In::Absent => None,
        })
        .collect();
    infer(op, &infos, n).map_err(|e| e.0)
}

fn run(op: &Op, ins: &[In]) -> Result<TensorType, String> {
    run_n(op, ins, 1).map(|mut v| v.remove(0))
}

fn x(s: &[usize]) -> In {
    In::T(f(s))
}

#[test]
fn reshape() {
    let op = Op::Reshape { allowzero: false };
    assert_eq!(
        run(&op, &[x(&[2, 3, 4]), ints(&[0, -1])]).unwrap(),
        f(&[2, 12])
    );
    assert_eq!(
        run(&op, &[x(&[2, 3, 4]), ints(&[4, 0, 2])]).unwrap(),
        f(&[4, 3, 2])
    );
    assert_eq!(run(&op, &[x(&[0, 3]), ints(&[0, 3])]).unwrap(), f(&[0, 3]));
    assert!(run(&op, &[x(&[0, 3]), ints(&[3, 0])]).is_err());
    let e = run(&op, &[x(&[2, 3]), ints(&[4, -1])]).unwrap_err();
    assert!(e.contains("cannot be inferred"), "{e}");
    assert!(run(&op, &[x(&[2, 3]), ints(&[-1, -1])])
        .unwrap_err()
        .contains("more than one -1"));
    assert!(run(&op, &[x(&[2, 3]), ints(&[7])])
        .unwrap_err()
        .contains("cannot reshape"));
    assert!(run(&op, &[x(&[6]), ints(&[6, 0])])
        .unwrap_err()
        .contains("copies dim 1"));
    assert!(run(&op, &[x(&[6]), ints(&[-2, -3])])
        .unwrap_err()
        .contains("invalid dimension -2"));
    let allow = Op::Reshape { allowzero: true };
    assert_eq!(
        run(&allow, &[x(&[0, 4]), ints(&[4, 0])]).unwrap(),
        f(&[4, 0])
    );
    assert!(run(&allow, &[x(&[0, 4]), ints(&[0, -1])])
        .unwrap_err()
        .contains("both 0 and -1"));
    let e = run(&op, &[x(&[2, 3]), In::T(t(DType::I64, &[2]))]).unwrap_err();
    assert_eq!(
        e,
        "input `shape` must be a constant to compile ahead of time"
    );
    let e = run(
        &op,
        &[x(&[2, 3]), In::K(Tensor::from_vec(vec![1], vec![6i32]))],
    )
    .unwrap_err();
    assert!(e.contains("`shape` must be i64, got i32"), "{e}");
}

#[test]
fn flatten_transpose() {
    assert_eq!(
        run(&Op::Flatten { axis: 1 }, &[x(&[2, 3, 4])]).unwrap(),
        f(&[2, 12])
    );
    assert_eq!(
        run(&Op::Flatten { axis: 0 }, &[x(&[2, 3, 4])]).unwrap(),
        f(&[1, 24])
    );
    assert_eq!(
        run(&Op::Flatten { axis: 3 }, &[x(&[2, 3, 4])]).unwrap(),
        f(&[24, 1])
    );
    assert_eq!(
        run(&Op::Flatten { axis: -1 }, &[x(&[2, 3, 4])]).unwrap(),
        f(&[6, 4])
    );
    assert!(run(&Op::Flatten { axis: 4 }, &[x(&[2, 3, 4])]).is_err());
    let tr = |p: Option<Vec<usize>>| Op::Transpose { perm: p };
    assert_eq!(run(&tr(None), &[x(&[2, 3, 4])]).unwrap(), f(&[4, 3, 2]));
    assert_eq!(
        run(&tr(Some(vec![1, 2, 0])), &[x(&[2, 3, 4])]).unwrap(),
        f(&[3, 4, 2])
    );
    assert!(run(&tr(Some(vec![1, 1, 0])), &[x(&[2, 3, 4])])
        .unwrap_err()
        .contains("not a permutation"));
    assert!(run(&tr(Some(vec![1, 0])), &[x(&[2, 3, 4])]).is_err());
    assert!(run(&tr(Some(vec![0, 5, 1])), &[x(&[2, 3, 4])]).is_err());
}

#[test]
fn squeeze_unsqueeze() {
    assert_eq!(run(&Op::Squeeze, &[x(&[1, 3, 1, 2])]).unwrap(), f(&[3, 2]));
    assert_eq!(
        run(&Op::Squeeze, &[x(&[1, 3, 1, 2]), ints(&[-2])]).unwrap(),
        f(&[1, 3, 2])
    );
    let e = run(&Op::Squeeze, &[x(&[1, 3]), ints(&[1])]).unwrap_err();
    assert!(e.contains("its size is 3, not 1"), "{e}");
    assert!(run(&Op::Squeeze, &[x(&[1, 1]), ints(&[0, -2])])
        .unwrap_err()
        .contains("repeats axis"));
    assert_eq!(
        run(&Op::Unsqueeze, &[x(&[3, 4]), ints(&[0, 3])]).unwrap(),
        f(&[1, 3, 4, 1])
    );
    assert_eq!(
        run(&Op::Unsqueeze, &[x(&[]), ints(&[-1])]).unwrap(),
        f(&[1])
    );
    assert!(run(&Op::Unsqueeze, &[x(&[3]), ints(&[2])])
        .unwrap_err()
        .contains("out of range"));
    assert!(run(&Op::Unsqueeze, &[x(&[3]), In::T(t(DType::I64, &[1]))])
        .unwrap_err()
        .contains("constant"));
}

#[test]
fn concat_shape_size() {
    let op = Op::Concat { axis: -1 };
    assert_eq!(
        run(&op, &[x(&[2, 3]), x(&[2, 5]), x(&[2, 0])]).unwrap(),
        f(&[2, 8])
    );
    assert!(run(&op, &[x(&[2, 3]), x(&[3, 3])])
        .unwrap_err()
        .contains("does not match"));
    assert!(run(&op, &[x(&[2, 3]), In::T(t(DType::I64, &[2, 3]))])
        .unwrap_err()
        .contains("same dtype"));
    assert!(run(&op, &[x(&[])]).is_err());
    assert!(run(&op, &[]).is_err());
    let sh = |s, e| Op::Shape { start: s, end: e };
    assert_eq!(
        run(&sh(0, None), &[x(&[2, 3, 4])]).unwrap(),
        t(DType::I64, &[3])
    );
    assert_eq!(
        run(&sh(-2, None), &[x(&[2, 3, 4])]).unwrap(),
        t(DType::I64, &[2])
    );
    assert_eq!(
        run(&sh(1, Some(-1)), &[x(&[2, 3, 4])]).unwrap(),
        t(DType::I64, &[1])
    );
    assert_eq!(
        run(&sh(-10, Some(10)), &[x(&[2, 3, 4])]).unwrap(),
        t(DType::I64, &[3])
    );
    assert_eq!(
        run(&sh(2, Some(1)), &[x(&[2, 3, 4])]).unwrap(),
        t(DType::I64, &[0])
    );
    assert_eq!(run(&Op::Size, &[x(&[2, 3])]).unwrap(), t(DType::I64, &[]));
}

#[test]
fn gather() {
    let op = Op::Gather { axis: 1 };
    let idx = In::T(t(DType::I32, &[4, 5]));
    assert_eq!(run(&op, &[x(&[2, 3, 6]), idx]).unwrap(), f(&[2, 4, 5, 6]));
    let scalar = In::K(Tensor::scalar(-3i64));
    assert_eq!(run(&op, &[x(&[2, 3, 6]), scalar]).unwrap(), f(&[2, 6]));
    let e = run(&op, &[x(&[2, 3, 6]), ints(&[3])]).unwrap_err();
    assert!(
        e.contains("index 3 is out of range for axis 1 of size 3"),
        "{e}"
    );
    assert!(run(&op, &[x(&[2, 3]), x(&[1])])
        .unwrap_err()
        .contains("i32 or i64"));
}

#[test]
fn constant_of_shape() {
    let op = Op::ConstantOfShape {
        value: Tensor::from_vec(vec![1], vec![7i32]),
    };
    assert_eq!(
        run(&op, &[ints(&[2, 0, 3])]).unwrap(),
        t(DType::I32, &[2, 0, 3])
    );
    assert_eq!(run(&op, &[ints(&[])]).unwrap(), t(DType::I32, &[]));
    assert!(run(&op, &[ints(&[2, -1])])
        .unwrap_err()
        .contains("negative dimension"));
    let bad = Op::ConstantOfShape {
        value: Tensor::from_vec(vec![2], vec![1f32, 2.0]),
    };
    assert!(run(&bad, &[ints(&[2])])
        .unwrap_err()
        .contains("one element"));
    let e = run(&op, &[ints(&[1 << 20, 1 << 20, 1 << 20])]).unwrap_err();
    assert!(e.contains("2^40-byte limit"), "{e}");
    assert!(run(&op, &[ints(&[i64::MAX, i64::MAX])])
        .unwrap_err()
        .contains("too many elements"));
}

#[test]
fn slice() {
    let s = |st: &[i64], en: &[i64], ax: Option<&[i64]>, sp: Option<&[i64]>| {
        let mut v = vec![x(&[10, 8]), ints(st), ints(en)];
        v.push(ax.map_or(In::Absent, ints));
        v.push(sp.map_or(In::Absent, ints));
        run(&Op::Slice, &v)
    };
    assert_eq!(s(&[2], &[5], None, None).unwrap(), f(&[3, 8]));
    assert_eq!(s(&[1, 0], &[-1, 100], None, None).unwrap(), f(&[8, 8]));
    assert_eq!(
        s(&[0], &[i64::MAX], Some(&[1]), Some(&[3])).unwrap(),
        f(&[10, 3])
    );
    assert_eq!(
        s(&[-1], &[i64::MIN], Some(&[0]), Some(&[-1])).unwrap(),
        f(&[10, 8])
    );
    assert_eq!(
        s(&[100], &[-100], Some(&[-1]), Some(&[-2])).unwrap(),
        f(&[10, 4])
    );
    assert_eq!(s(&[5], &[2], None, None).unwrap(), f(&[0, 8]));
    assert_eq!(
        s(&[0], &[10], Some(&[0]), Some(&[i64::MIN])).unwrap(),
        f(&[0, 8])
    );
    assert!(s(&[0], &[1], None, Some(&[0]))
        .unwrap_err()
        .contains("step must not be 0"));
    assert!(s(&[0, 0], &[1], None, None)
        .unwrap_err()
        .contains("equal lengths"));
    assert!(s(&[0, 0], &[1, 1], Some(&[1, 1]), None)
        .unwrap_err()
        .contains("repeats axis"));
    assert!(s(&[0], &[1], Some(&[2]), None)
        .unwrap_err()
        .contains("out of range"));
    let i32s = In::K(Tensor::from_vec(vec![1], vec![1i32]));
    assert_eq!(
        run(&Op::Slice, &[x(&[4]), i32s, ints(&[3])]).unwrap(),
        f(&[2])
    );
}

#[test]
fn expand_tile() {
    assert_eq!(
        run(&Op::Expand, &[x(&[3, 1]), ints(&[2, 1, 4])]).unwrap(),
        f(&[2, 3, 4])
    );
    assert_eq!(
        run(&Op::Expand, &[x(&[3, 4]), ints(&[1])]).unwrap(),
        f(&[3, 4])
    );
    assert!(run(&Op::Expand, &[x(&[3]), ints(&[2])])
        .unwrap_err()
        .contains("cannot be broadcast"));
    assert_eq!(
        run(&Op::Tile, &[x(&[2, 3]), ints(&[2, 0])]).unwrap(),
        f(&[4, 0])
    );
    assert!(run(&Op::Tile, &[x(&[2, 3]), ints(&[2])])
        .unwrap_err()
        .contains("must have 2 values"));
    assert!(run(&Op::Tile, &[x(&[3, 3]), ints(&[i64::MAX, 4])])
        .unwrap_err()
        .contains("overflows"));
}

#[test]
fn split() {
    let op = |n| Op::Split {
        axis: 1,
        num_outputs: n,
    };
    let out = run_n(&op(3), &[x(&[2, 7])], 3).unwrap();
    assert_eq!(out, vec![f(&[2, 3]), f(&[2, 3]), f(&[2, 1])]);
    let out = run_n(&op(2), &[x(&[2, 6]), ints(&[1, 5])], 2).unwrap();
    assert_eq!(out, vec![f(&[2, 1]), f(&[2, 5])]);
    assert!(run_n(&op(2), &[x(&[2, 6]), ints(&[1, 4])], 2)
        .unwrap_err()
        .contains("sum to 5"));
    assert!(run_n(&op(2), &[x(&[2, 6]), ints(&[6])], 2)
        .unwrap_err()
        .contains("1 sizes for 2 outputs"));
    assert!(run_n(&op(3), &[x(&[2, 6])], 2)
        .unwrap_err()
        .contains("num_outputs is 3"));
    assert!(run_n(&op(4), &[x(&[2, 5])], 4)
        .unwrap_err()
        .contains("cannot be split"));
    assert!(run_n(&op(0), &[x(&[2, 5])], 0).is_err());
}

#[test]
fn pad() {
    let p = |m| Op::Pad { mode: m };
    assert_eq!(
        run(&p(PadMode::Constant), &[x(&[2, 3]), ints(&[1, 0, 1, 2])]).unwrap(),
        f(&[4, 5])
    );
    assert_eq!(
        run(&p(PadMode::Constant), &[x(&[2, 3]), ints(&[0, -1, 0, -1])]).unwrap(),
        f(&[2, 1])
    );
    let cv = In::K(Tensor::scalar(1.5f32));
    let axes = ints(&[-1]);
    assert_eq!(
        run(&p(PadMode::Edge), &[x(&[2, 3]), ints(&[2, 2]), cv, axes]).unwrap(),
        f(&[2, 7])
    );
    assert!(
        run(&p(PadMode::Constant), &[x(&[2, 3]), ints(&[0, -4, 0, 0])])
            .unwrap_err()
            .contains("invalid size")
    );
    assert!(run(&p(PadMode::Constant), &[x(&[2, 3]), ints(&[1, 1])])
        .unwrap_err()
        .contains("4 values"));
    assert!(
        run(&p(PadMode::Reflect), &[x(&[2, 3]), ints(&[0, 3, 0, 0])])
            .unwrap_err()
            .contains("does not fit")
    );
    let bad_cv = In::K(Tensor::scalar(1i64));
    assert!(
        run(&p(PadMode::Constant), &[x(&[2]), ints(&[1, 1]), bad_cv])
            .unwrap_err()
            .contains("same dtype")
    );
}

#[test]
fn range() {
    let r = |a: Tensor, b: Tensor, c: Tensor| run(&Op::Range, &[In::K(a), In::K(b), In::K(c)]);
    let i = Tensor::scalar::<i64>;
    assert_eq!(r(i(0), i(10), i(3)).unwrap(), t(DType::I64, &[4]));
    assert_eq!(r(i(10), i(0), i(-3)).unwrap(), t(DType::I64, &[4]));
    assert_eq!(r(i(10), i(0), i(3)).unwrap(), t(DType::I64, &[0]));
    assert_eq!(
        r(i(i64::MIN), i(i64::MAX), i(i64::MAX)).unwrap(),
        t(DType::I64, &[3])
    );
    assert!(r(i(0), i(1), i(0)).unwrap_err().contains("must not be 0"));
    let g = Tensor::scalar::<f32>;
    assert_eq!(r(g(0.0), g(1.0), g(0.25)).unwrap(), f(&[4]));
    assert_eq!(r(g(1.0), g(0.0), g(0.3)).unwrap(), f(&[0]));
    assert!(r(g(0.0), g(f32::INFINITY), g(1.0)).is_err());
    assert!(r(g(0.0), g(1e30), g(1e-30)).unwrap_err().contains("limit"));
    assert!(r(g(0.0), i(1), g(1.0)).unwrap_err().contains("same dtype"));
    let e = run(
        &Op::Range,
        &[In::T(t(DType::I64, &[])), In::K(i(3)), In::K(i(1))],
    )
    .unwrap_err();
    assert!(e.contains("`start` must be a constant"), "{e}");
}
