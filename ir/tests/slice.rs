//! The backward slice to graph inputs and the `NeedsConstant` error built on
//! it: which node inputs must be constants, and which graph inputs to bind.

use onnxc_ir::op::BinaryOp;
use onnxc_ir::slice::graph_input_deps;
use onnxc_ir::{DType, Graph, IrError, Op, OpError, OpErrorKind, Tensor, TensorType};

fn names(g: &Graph, ids: &[onnxc_ir::ValueId]) -> Vec<String> {
    ids.iter().map(|i| g.display_name(*i)).collect()
}

#[test]
fn slice_stops_at_constants_and_shape() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![2, 3]));
    let k = g.add_input("k", TensorType::new(DType::I64, vec![2]));
    let unused = g.add_input("unused", TensorType::new(DType::I64, vec![2]));
    let c = g.add_const("c", Tensor::from_vec(vec![2], vec![1i64, 1]));
    let s = g.add_node("shape", Op::Shape { start: 0, end: None }, vec![Some(x)], &["s".into()]).unwrap()[0];
    let t = g.add_node("add", Op::Binary(BinaryOp::Add), vec![Some(s), Some(k)], &["t".into()]).unwrap()[0];
    let u = g.add_node("add2", Op::Binary(BinaryOp::Add), vec![Some(t), Some(c)], &["u".into()]).unwrap()[0];
    // x flows in only through Shape, whose value is its static shape.
    assert_eq!(names(&g, &graph_input_deps(&g, &[u])), ["k"]);
    assert_eq!(names(&g, &graph_input_deps(&g, &[x, unused])), ["x", "unused"]);
    assert!(graph_input_deps(&g, &[c]).is_empty());
}

#[test]
fn reshape_by_computed_shape_names_the_graph_input() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![2, 3]));
    let k = g.add_input("k", TensorType::new(DType::I64, vec![2]));
    let s = g.add_node("shape", Op::Shape { start: 0, end: None }, vec![Some(x)], &["s".into()]).unwrap()[0];
    let t = g.add_node("add", Op::Binary(BinaryOp::Add), vec![Some(s), Some(k)], &["t".into()]).unwrap()[0];
    let e = g.add_node("r", Op::Reshape { allowzero: false }, vec![Some(x), Some(t)], &["y".into()]).unwrap_err();
    match &e {
        IrError::NeedsConstant { node, op, inputs, graph_inputs, .. } => {
            assert_eq!((node.as_str(), op.as_str()), ("r", "Reshape"));
            assert_eq!(inputs, &["shape"]);
            assert_eq!(graph_inputs, &["k"]);
        }
        e => panic!("expected NeedsConstant, got {e:?}"),
    }
    // The message users know stays.
    assert_eq!(e.to_string(), "node `r` (Reshape): input `shape` must be a constant to compile ahead of time");
}

#[test]
fn slice_op_names_every_input_it_needs_but_not_the_data() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![4, 5]));
    let st = g.add_input("st", TensorType::new(DType::I64, vec![1]));
    let en = g.add_input("en", TensorType::new(DType::I64, vec![1]));
    let e = g.add_node("sl", Op::Slice, vec![Some(x), Some(st), Some(en)], &["y".into()]).unwrap_err();
    match e {
        IrError::NeedsConstant { inputs, graph_inputs, .. } => {
            assert_eq!(inputs, ["starts", "ends"]);
            assert_eq!(graph_inputs, ["st", "en"]);
        }
        e => panic!("expected NeedsConstant, got {e:?}"),
    }
}

#[test]
fn other_errors_stay_plain() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![2, 3]));
    let s = g.add_const("s", Tensor::from_vec(vec![1], vec![7i64]));
    let e = g.add_node("r", Op::Reshape { allowzero: false }, vec![Some(x), Some(s)], &["y".into()]).unwrap_err();
    assert!(matches!(e, IrError::Node { .. }), "{e:?}");
}

#[test]
fn op_error_kinds() {
    let e = OpError::needs_constant("axes");
    assert_eq!(e.needed_constant(), Some("axes"));
    assert_eq!(e.0, "input `axes` must be a constant to compile ahead of time");
    assert_eq!(OpError::new("x").1, OpErrorKind::Other);
    assert_eq!(onnxc_ir::op_err!("bad {}", 1).needed_constant(), None);
}
