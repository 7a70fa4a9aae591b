//! Shape rules of reductions and ArgMax/ArgMin.

use onnxc_ir::infer::{infer, InputInfo};
use onnxc_ir::op::ReduceOp;
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn f(s: &[usize]) -> TensorType {
    TensorType::new(DType::F32, s.to_vec())
}

fn reduce(
    keepdims: bool,
    noop: bool,
    x: &TensorType,
    axes: Option<&[i64]>,
) -> Result<TensorType, String> {
    let op = Op::Reduce {
        op: ReduceOp::Sum,
        keepdims,
        noop_with_empty_axes: noop,
    };
    let k = axes.map(|a| Tensor::from_vec(vec![a.len()], a.to_vec()));
    let infos = [
        Some(InputInfo { ty: x, value: None }),
        k.as_ref().map(|k| InputInfo {
            ty: k.ty(),
            value: Some(k),
        }),
    ];
    infer(&op, &infos, 1)
        .map(|mut v| v.remove(0))
        .map_err(|e| e.0)
}

#[test]
fn reduce_axes_and_keepdims() {
    let x = f(&[2, 3, 4]);
    assert_eq!(reduce(true, false, &x, Some(&[1])).unwrap(), f(&[2, 1, 4]));
    assert_eq!(reduce(false, false, &x, Some(&[-1, 0])).unwrap(), f(&[3]));
    assert_eq!(reduce(false, false, &x, None).unwrap(), f(&[]));
    assert_eq!(reduce(true, false, &x, Some(&[])).unwrap(), f(&[1, 1, 1]));
    assert_eq!(reduce(false, true, &x, Some(&[])).unwrap(), x);
    assert_eq!(reduce(false, true, &x, None).unwrap(), x);
    assert!(reduce(true, false, &x, Some(&[3]))
        .unwrap_err()
        .contains("out of range"));
    assert!(reduce(true, false, &x, Some(&[1, -2]))
        .unwrap_err()
        .contains("repeats axis"));
}

#[test]
fn reduce_dtype_and_constness() {
    let b = TensorType::new(DType::Bool, vec![2]);
    let op = |r| Op::Reduce {
        op: r,
        keepdims: true,
        noop_with_empty_axes: false,
    };
    let infos = [Some(InputInfo {
        ty: &b,
        value: None,
    })];
    assert!(infer(&op(ReduceOp::Max), &infos, 1).is_ok());
    assert!(infer(&op(ReduceOp::Sum), &infos, 1)
        .unwrap_err()
        .0
        .contains("numeric"));
    let x = f(&[2]);
    let axes_ty = TensorType::new(DType::I64, vec![1]);
    let infos = [
        Some(InputInfo {
            ty: &x,
            value: None,
        }),
        Some(InputInfo {
            ty: &axes_ty,
            value: None,
        }),
    ];
    let e = infer(&op(ReduceOp::Sum), &infos, 1).unwrap_err();
    assert_eq!(
        e.0,
        "input `axes` must be a constant to compile ahead of time"
    );
}

#[test]
fn arg_max_min() {
    let x = f(&[2, 3, 4]);
    let infos = [Some(InputInfo {
        ty: &x,
        value: None,
    })];
    let i64t = |s: &[usize]| TensorType::new(DType::I64, s.to_vec());
    let am = |axis, keepdims| Op::ArgMax {
        axis,
        keepdims,
        select_last_index: false,
    };
    assert_eq!(
        infer(&am(1, true), &infos, 1).unwrap(),
        vec![i64t(&[2, 1, 4])]
    );
    assert_eq!(
        infer(&am(-1, false), &infos, 1).unwrap(),
        vec![i64t(&[2, 3])]
    );
    let amin = Op::ArgMin {
        axis: 0,
        keepdims: false,
        select_last_index: true,
    };
    assert_eq!(infer(&amin, &infos, 1).unwrap(), vec![i64t(&[3, 4])]);
    assert!(infer(&am(3, true), &infos, 1).is_err());
    let empty = f(&[2, 0]);
    let infos = [Some(InputInfo {
        ty: &empty,
        value: None,
    })];
    assert!(infer(&am(1, true), &infos, 1)
        .unwrap_err()
        .0
        .contains("empty axis"));
}
