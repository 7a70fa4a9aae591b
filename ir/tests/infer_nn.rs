//! Shape rules of the neural-network family.

use onnxc_ir::infer::{infer, InputInfo};
use onnxc_ir::op::Window;
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn t(d: DType, s: &[usize]) -> TensorType {
    TensorType::new(d, s.to_vec())
}

fn f(s: &[usize]) -> TensorType {
    t(DType::F32, s)
}

/// Runs `op` on non-constant inputs (`None` = omitted) with `n` outputs.
fn run_n(op: &Op, tys: &[Option<TensorType>], n: usize) -> Result<Vec<TensorType>, String> {
    let infos: Vec<_> = tys
        .iter()
        .map(|o| o.as_ref().map(|ty| InputInfo { ty, value: None }))
        .collect();
    infer(op, &infos, n).map_err(|e| e.0)
}

fn run(op: &Op, tys: &[TensorType]) -> Result<TensorType, String> {
    let tys: Vec<_> = tys.iter().cloned().map(Some).collect();
    run_n(op, &tys, 1).map(|mut v| v.remove(0))
}

fn win(k: &[usize], s: &[usize], p: &[usize], d: &[usize]) -> Window {
    Window {
        kernel_shape: k.to_vec(),
        strides: s.to_vec(),
        pads: p.to_vec(),
        dilations: d.to_vec(),
    }
}

fn conv(w: Window, group: usize) -> Op {
    Op::Conv { window: w, group }
}

#[test]
fn conv_shapes() {
    let op = conv(win(&[3, 3], &[1, 1], &[0; 4], &[1, 1]), 1);
    assert_eq!(
        run(&op, &[f(&[1, 3, 8, 8]), f(&[4, 3, 3, 3]), f(&[4])]).unwrap(),
        f(&[1, 4, 6, 6])
    );
    let tys = [Some(f(&[1, 3, 8, 8])), Some(f(&[4, 3, 3, 3])), None];
    assert_eq!(run_n(&op, &tys, 1).unwrap(), vec![f(&[1, 4, 6, 6])]);
    // Strides, asymmetric pads, dilations.
    let op = conv(win(&[3, 3], &[2, 2], &[1, 0, 1, 1], &[2, 1]), 1);
    assert_eq!(
        run(&op, &[f(&[2, 3, 9, 9]), f(&[8, 3, 3, 3])]).unwrap(),
        f(&[2, 8, 4, 4])
    );
    // Depthwise: group = C.
    let op = conv(win(&[3], &[1], &[1, 1], &[1]), 6);
    assert_eq!(
        run(&op, &[f(&[1, 6, 10]), f(&[12, 1, 3])]).unwrap(),
        f(&[1, 12, 10])
    );
}

#[test]
fn conv_errors() {
    let op = conv(win(&[3, 3], &[1, 1], &[0; 4], &[1, 1]), 1);
    let e = run(&op, &[f(&[1, 3, 8, 8]), f(&[4, 2, 3, 3])]).unwrap_err();
    assert!(e.contains("group 1 does not fit"), "{e}");
    let e = run(&op, &[f(&[1, 3, 8, 8]), f(&[4, 3, 5, 5])]).unwrap_err();
    assert!(e.contains("kernel_shape [3, 3] disagrees"), "{e}");
    let e = run(
        &op,
        &[t(DType::I32, &[1, 3, 8, 8]), t(DType::I32, &[4, 3, 3, 3])],
    )
    .unwrap_err();
    assert!(e.contains("must be a float, got i32"), "{e}");
    let e = run(&op, &[f(&[1, 3, 8, 8]), f(&[4, 3, 3, 3]), f(&[3])]).unwrap_err();
    assert!(e.contains("`B` must have shape [4]"), "{e}");
    let e = run(&op, &[f(&[1, 3, 2, 2]), f(&[4, 3, 3, 3])]).unwrap_err();
    assert!(e.contains("exceeds the padded input"), "{e}");
    let bad = conv(win(&[3, 3], &[0, 1], &[0; 4], &[1, 1]), 1);
    assert!(run(&bad, &[f(&[1, 3, 8, 8]), f(&[4, 3, 3, 3])])
        .unwrap_err()
        .contains("must be positive"));
    let bad = conv(win(&[3, 3], &[1, 1], &[0; 3], &[1, 1]), 1);
    assert!(run(&bad, &[f(&[1, 3, 8, 8]), f(&[4, 3, 3, 3])])
        .unwrap_err()
        .contains("disagree"));
    let huge = conv(win(&[3, 3], &[1, 1], &[usize::MAX, 0, 0, 0], &[1, 1]), 1);
    assert!(run(&huge, &[f(&[1, 3, 8, 8]), f(&[4, 3, 3, 3])])
        .unwrap_err()
        .contains("too large"));
    let e = run(&op, &[f(&[1, 3, 8, 8])]).unwrap_err();
    assert!(e.contains("expected 2 to 3 inputs, got 1"), "{e}");
}

#[test]
fn pools() {
    let w = win(&[2, 2], &[2, 2], &[0; 4], &[1, 1]);
    let floor = Op::MaxPool {
        window: w.clone(),
        ceil_mode: false,
    };
    let ceil = Op::MaxPool {
        window: w.clone(),
        ceil_mode: true,
    };
    assert_eq!(run(&floor, &[f(&[1, 3, 5, 5])]).unwrap(), f(&[1, 3, 2, 2]));
    assert_eq!(run(&ceil, &[f(&[1, 3, 5, 5])]).unwrap(), f(&[1, 3, 3, 3]));
    let both = run_n(&floor, &[Some(t(DType::U8, &[1, 3, 4, 4]))], 2).unwrap();
    assert_eq!(
        both,
        vec![t(DType::U8, &[1, 3, 2, 2]), t(DType::I64, &[1, 3, 2, 2])]
    );
    assert!(run_n(&floor, &[Some(f(&[1, 3, 4, 4]))], 3).is_err());
    let avg = Op::AveragePool {
        window: w,
        ceil_mode: true,
        count_include_pad: false,
    };
    assert_eq!(run(&avg, &[f(&[1, 3, 5, 5])]).unwrap(), f(&[1, 3, 3, 3]));
    assert!(run(&avg, &[t(DType::U8, &[1, 3, 4, 4])]).is_err());
    assert!(run(&avg, &[f(&[3, 4])]).unwrap_err().contains("rank >= 3"));
    assert_eq!(
        run(&Op::GlobalAveragePool, &[f(&[2, 3, 5, 7])]).unwrap(),
        f(&[2, 3, 1, 1])
    );
    assert_eq!(
        run(&Op::GlobalMaxPool, &[f(&[2, 3, 5])]).unwrap(),
        f(&[2, 3, 1])
    );
    let lrn = Op::Lrn {
        size: 3,
        alpha: 1e-4,
        beta: 0.75,
        bias: 1.0,
    };
    assert_eq!(run(&lrn, &[f(&[1, 4, 2, 2])]).unwrap(), f(&[1, 4, 2, 2]));
}

#[test]
fn batch_norm() {
    let op = Op::BatchNormalization { epsilon: 1e-5 };
    let c = f(&[3]);
    let x = f(&[2, 3, 4, 4]);
    assert_eq!(
        run(
            &op,
            &[x.clone(), c.clone(), c.clone(), c.clone(), c.clone()]
        )
        .unwrap(),
        x
    );
    let e = run(&op, &[x.clone(), c.clone(), f(&[4]), c.clone(), c.clone()]).unwrap_err();
    assert!(e.contains("`B` must have shape [3], got [4]"), "{e}");
    assert!(run_n(
        &op,
        &[
            Some(x.clone()),
            Some(c.clone()),
            Some(c.clone()),
            Some(c.clone()),
            Some(c)
        ],
        3
    )
    .is_err());
}

#[test]
fn gemm() {
    let op = |ta, tb| Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: ta,
        trans_b: tb,
    };
    assert_eq!(
        run(&op(false, false), &[f(&[2, 3]), f(&[3, 4])]).unwrap(),
        f(&[2, 4])
    );
    assert_eq!(
        run(&op(true, true), &[f(&[3, 2]), f(&[4, 3]), f(&[4])]).unwrap(),
        f(&[2, 4])
    );
    assert_eq!(
        run(&op(false, true), &[f(&[2, 3]), f(&[4, 3]), f(&[2, 1])]).unwrap(),
        f(&[2, 4])
    );
    assert_eq!(
        run(&op(false, false), &[f(&[2, 3]), f(&[3, 4]), f(&[])]).unwrap(),
        f(&[2, 4])
    );
    let e = run(&op(false, false), &[f(&[2, 3]), f(&[3, 4]), f(&[3, 4])]).unwrap_err();
    assert!(
        e.contains("`C` of shape [3, 4] must broadcast to [2, 4]"),
        "{e}"
    );
    let e = run(&op(false, false), &[f(&[2, 3]), f(&[4, 3])]).unwrap_err();
    assert!(e.contains("inner dimensions differ"), "{e}");
    assert!(run(&op(false, false), &[f(&[2, 3, 1]), f(&[3, 4])])
        .unwrap_err()
        .contains("rank 2"));
}

#[test]
fn matmul() {
    let op = Op::MatMul;
    assert_eq!(run(&op, &[f(&[2, 3]), f(&[3, 4])]).unwrap(), f(&[2, 4]));
    assert_eq!(run(&op, &[f(&[3]), f(&[3])]).unwrap(), f(&[]));
    assert_eq!(run(&op, &[f(&[3]), f(&[2, 3, 4])]).unwrap(), f(&[2, 4]));
    assert_eq!(run(&op, &[f(&[2, 5, 3]), f(&[3])]).unwrap(), f(&[2, 5]));
    assert_eq!(
        run(&op, &[f(&[2, 1, 3, 4]), f(&[5, 4, 6])]).unwrap(),
        f(&[2, 5, 3, 6])
    );
    assert_eq!(
        run(&op, &[t(DType::I64, &[2, 2]), t(DType::I64, &[2, 2])]).unwrap(),
        t(DType::I64, &[2, 2])
    );
    assert!(run(&op, &[f(&[2, 3]), f(&[4, 4])])
        .unwrap_err()
        .contains("inner dimensions differ"));
    assert!(run(&op, &[f(&[2, 3, 4]), f(&[3, 4, 5])])
        .unwrap_err()
        .contains("batch dimensions"));
    assert!(run(&op, &[f(&[]), f(&[3])])
        .unwrap_err()
        .contains("rank >= 1"));
    assert!(run(&op, &[t(DType::Bool, &[2, 2]), t(DType::Bool, &[2, 2])]).is_err());
}

#[test]
fn softmax_and_dropout() {
    assert_eq!(
        run(&Op::Softmax { axis: -1 }, &[f(&[2, 3])]).unwrap(),
        f(&[2, 3])
    );
    assert_eq!(
        run(&Op::Hardmax { axis: 0 }, &[f(&[2, 3])]).unwrap(),
        f(&[2, 3])
    );
    assert!(run(&Op::LogSoftmax { axis: 2 }, &[f(&[2, 3])])
        .unwrap_err()
        .contains("axis 2 out of range"));
    assert!(run(&Op::Softmax { axis: 0 }, &[t(DType::I32, &[2])]).is_err());
    let both = run_n(&Op::Dropout, &[Some(f(&[2, 3])), None, None], 2).unwrap();
    assert_eq!(both, vec![f(&[2, 3]), t(DType::Bool, &[2, 3])]);
    let off = Tensor::scalar(false);
    let on = Tensor::scalar(true);
    let x = f(&[2]);
    let r = f(&[]);
    let with_mode = |m: &Tensor| {
        let infos = [
            Some(InputInfo {
                ty: &x,
                value: None,
            }),
            Some(InputInfo {
                ty: &r,
                value: None,
            }),
            Some(InputInfo {
                ty: m.ty(),
                value: Some(m),
            }),
        ];
        infer(&Op::Dropout, &infos, 1).map_err(|e| e.0)
    };
    assert_eq!(with_mode(&off).unwrap(), vec![f(&[2])]);
    assert!(with_mode(&on).unwrap_err().contains("constant false"));
}

#[test]
fn absurd_sizes_are_rejected() {
    let big = 1usize << 30;
    let op = Op::MatMul;
    let e = run(&op, &[f(&[big, 2]), f(&[2, big])]).unwrap_err();
    assert!(e.contains("2^40-byte limit"), "{e}");
}
