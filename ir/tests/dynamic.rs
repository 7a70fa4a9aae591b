//! Upper-bound shape rules, the data-dependent axis of each op, and the
//! consumer rule of `onnxc_ir::dynamic`.

use onnxc_ir::dynamic::{check_consumers, dynamic_values, fits_bound};
use onnxc_ir::op::UnaryOp;
use onnxc_ir::{DType, Graph, Op, Tensor, TensorType};

fn outs(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("o{i}")).collect()
}

#[test]
fn bounds_and_dynamic_axes() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![2, 5]));
    let nz = g.add_node("nz", Op::NonZero, vec![Some(x)], &outs(1)).unwrap();
    assert_eq!(g.ty(nz[0]), &TensorType::new(DType::I64, vec![2, 10]));
    let u = g.add_node("u", Op::Unique { sorted: true, axis: Some(-1) }, vec![Some(x)], &outs(4)).unwrap();
    assert_eq!(g.ty(u[0]).shape, vec![2, 5]);
    assert_eq!(g.ty(u[2]).shape, vec![5]);
    let k = g.add_input("k", TensorType::new(DType::I64, vec![1]));
    let t = g.add_node("t", Op::TopK { axis: -1, largest: true, sorted: true }, vec![Some(x), Some(k)], &outs(2)).unwrap();
    assert_eq!(g.ty(t[0]).shape, vec![2, 5]);
    let kc = g.add_const("kc", Tensor::from_vec(vec![1], vec![2i64]));
    let tc = g.add_node("tc", Op::TopK { axis: -1, largest: true, sorted: true }, vec![Some(x), Some(kc)], &outs(2)).unwrap();
    let d = dynamic_values(&g);
    assert_eq!(d.get(&nz[0]), Some(&1));
    assert_eq!(d.get(&u[0]), Some(&1));
    assert_eq!(d.get(&u[1]), Some(&0));
    assert_eq!(d.get(&u[2]), None, "inverse_indices has a static shape");
    assert_eq!(d.get(&t[1]), Some(&1));
    assert_eq!(d.get(&tc[0]), None, "a constant K is static");
}

#[test]
fn nms_bound_uses_a_constant_max_output() {
    let mut g = Graph::new();
    let b = g.add_input("b", TensorType::new(DType::F32, vec![2, 6, 4]));
    let s = g.add_input("s", TensorType::new(DType::F32, vec![2, 3, 6]));
    let m = g.add_const("m", Tensor::from_vec(vec![1], vec![2i64]));
    let y = g.add_node("nms", Op::NonMaxSuppression { center_point_box: false }, vec![Some(b), Some(s), Some(m)], &outs(1)).unwrap();
    assert_eq!(g.ty(y[0]).shape, vec![12, 3]);
    let mi = g.add_input("mi", TensorType::new(DType::I64, vec![1]));
    let y = g.add_node("nms2", Op::NonMaxSuppression { center_point_box: false }, vec![Some(b), Some(s), Some(mi)], &outs(1)).unwrap();
    assert_eq!(g.ty(y[0]).shape, vec![36, 3]);
}

#[test]
fn only_outputs_and_elementwise_ops_may_read_dynamic_values() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![4]));
    let nz = g.add_node("nz", Op::NonZero, vec![Some(x)], &outs(1)).unwrap();
    let n = g.add_node("neg", Op::Unary(UnaryOp::Neg), vec![Some(nz[0])], &["n".to_string()]).unwrap();
    g.outputs = n.clone();
    check_consumers(&g).unwrap();
    assert_eq!(dynamic_values(&g).get(&n[0]), Some(&1));
    onnxc_ir::verify::verify(&g).unwrap();
    let r = g.add_node("flat", Op::Flatten { axis: 0 }, vec![Some(n[0])], &["f".to_string()]).unwrap();
    g.outputs = r;
    let err = check_consumers(&g).unwrap_err().to_string();
    assert!(err.contains("data-dependent shape of `n` cannot feed `flat` (Flatten)"), "{err}");
}

#[test]
fn eval_graph_returns_actual_shapes() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![2, 2]));
    let nz = g.add_node("nz", Op::NonZero, vec![Some(x)], &outs(1)).unwrap();
    g.outputs = nz;
    let out = onnxc_ir::eval::eval_graph(&g, &[Tensor::from_vec(vec![2, 2], vec![0.0f32, 1.0, 2.0, 0.0])]).unwrap();
    assert_eq!(out[0].shape(), &[2, 2]);
    assert_eq!(out[0].to_i64_vec(), vec![0, 1, 1, 0]);
    assert!(fits_bound(out[0].ty(), &TensorType::new(DType::I64, vec![2, 4]), 1));
    assert!(!fits_bound(out[0].ty(), &TensorType::new(DType::I64, vec![2, 4]), 0));
}
