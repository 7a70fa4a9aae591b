//! Shape rules and reference semantics of the normalization family and Swish/SwiGLU.

use onnxc_ir::eval::eval_op;
use onnxc_ir::infer::{infer, norm_plan, InputInfo, NormKind};
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn f(s: &[usize]) -> TensorType {
    TensorType::new(DType::F32, s.to_vec())
}

fn shapes(op: &Op, tys: &[Option<TensorType>], n: usize) -> Result<Vec<TensorType>, String> {
    let infos: Vec<_> = tys.iter().map(|o| o.as_ref().map(|ty| InputInfo { ty, value: None })).collect();
    infer(op, &infos, n).map_err(|e| e.0)
}

fn eval(op: &Op, ins: &[Option<&Tensor>], n: usize) -> Vec<Vec<f64>> {
    let dummy = vec![f(&[]); n];
    eval_op(op, ins, &dummy).unwrap().iter().map(|t| t.to_f64_vec()).collect()
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
    }
}

#[test]
fn layer_norm_shapes() {
    let op = Op::LayerNormalization { axis: 1, epsilon: 1e-5 };
    let out = shapes(&op, &[Some(f(&[2, 3, 4])), Some(f(&[3, 4])), Some(f(&[4]))], 3).unwrap();
    assert_eq!(out, vec![f(&[2, 3, 4]), f(&[2, 1, 1]), f(&[2, 1, 1])]);
    let e = shapes(&op, &[Some(f(&[2, 3, 4])), Some(f(&[5]))], 1).unwrap_err();
    assert!(e.contains("does not broadcast"), "{e}");
    let e = shapes(&Op::LayerNormalization { axis: 3, epsilon: 0.0 }, &[Some(f(&[2, 3])), Some(f(&[3]))], 1).unwrap_err();
    assert!(e.contains("axis 3 out of range"), "{e}");
    let e = shapes(&op, &[Some(f(&[2, 3, 4])), Some(f(&[4]))], 4).unwrap_err();
    assert!(e.contains("outputs"), "{e}");
}

#[test]
fn other_norm_shapes() {
    let gn = Op::GroupNormalization { num_groups: 4, epsilon: 1e-5 };
    let e = shapes(&gn, &[Some(f(&[1, 6, 2])), Some(f(&[6])), Some(f(&[6]))], 1).unwrap_err();
    assert!(e.contains("divide"), "{e}");
    assert_eq!(shapes(&gn, &[Some(f(&[1, 8, 2])), Some(f(&[4])), Some(f(&[4]))], 1).unwrap(), vec![f(&[1, 8, 2])]);
    let inorm = Op::InstanceNormalization { epsilon: 1e-5 };
    let e = shapes(&inorm, &[Some(f(&[1, 3, 2])), Some(f(&[2])), Some(f(&[3]))], 1).unwrap_err();
    assert!(e.contains("`scale` must have shape [3]"), "{e}");
    let e = shapes(&Op::Swish { alpha: 1.0 }, &[Some(TensorType::new(DType::I32, vec![2]))], 1).unwrap_err();
    assert!(e.contains("float"), "{e}");
    let e = shapes(&Op::SwiGLU { alpha: 1.0 }, &[Some(f(&[2, 4])), Some(f(&[4]))], 1).unwrap_err();
    assert!(e.contains("same shape"), "{e}");
    let plan = norm_plan(&Op::MeanVarianceNormalization { axes: vec![0, -1] }, &[Some(&[2, 3, 4][..])]).unwrap();
    assert_eq!((plan.kind, plan.group_len()), (NormKind::StandardizeStdEps, 8));
    assert_eq!(plan.reduced, vec![true, false, true]);
}

#[test]
fn layer_norm_values() {
    let x = Tensor::from_vec(vec![2, 2], vec![1.0f32, 3.0, -2.0, 2.0]);
    let s = Tensor::from_vec(vec![2], vec![1.0f32, 2.0]);
    let b = Tensor::from_vec(vec![2], vec![0.5f32, 0.0]);
    let out = eval(&Op::LayerNormalization { axis: -1, epsilon: 0.0 }, &[Some(&x), Some(&s), Some(&b)], 3);
    close(&out[0], &[-0.5, 2.0, -0.5, 2.0]);
    close(&out[1], &[2.0, 0.0]);
    close(&out[2], &[1.0, 0.5]);
}

#[test]
fn rms_lp_swish_values() {
    let x = Tensor::from_vec(vec![1, 2], vec![3.0f32, 4.0]);
    let s = Tensor::from_vec(vec![2], vec![1.0f32, 1.0]);
    let rms = (12.5f64).sqrt();
    close(&eval(&Op::RMSNormalization { axis: -1, epsilon: 0.0 }, &[Some(&x), Some(&s)], 1)[0], &[3.0 / rms, 4.0 / rms]);
    close(&eval(&Op::LpNormalization { axis: 1, p: 2 }, &[Some(&x)], 1)[0], &[0.6, 0.8]);
    close(&eval(&Op::LpNormalization { axis: 1, p: 1 }, &[Some(&x)], 1)[0], &[3.0 / 7.0, 4.0 / 7.0]);
    let sw = |v: f64| v / (1.0 + (-v).exp());
    close(&eval(&Op::Swish { alpha: 1.0 }, &[Some(&x)], 1)[0], &[sw(3.0), sw(4.0)]);
    close(&eval(&Op::SwiGLU { alpha: 1.0 }, &[Some(&x), Some(&x)], 1)[0], &[sw(3.0) * 3.0, sw(4.0) * 4.0]);
}
