//! Lowering reports unsupported or malformed nodes as errors naming the node.
use onnxc_ir::op::Window;
use onnxc_ir::{DType, Graph, Node, Op, TensorType};
use onnxc_kernel::lower::{lower_graph, LowerError};

/// Appends a node without running shape rules (to build graphs the
/// compiler must reject gracefully).
fn raw_node(g: &mut Graph, name: &str, op: Op, inputs: Vec<Option<onnxc_ir::ValueId>>, out: TensorType) -> onnxc_ir::ValueId {
    let o = g.add_value(format!("{name}_out"), out);
    g.nodes.push(Node { name: name.into(), op, inputs, outputs: vec![o] });
    o
}

#[test]
fn integer_conv_is_unsupported() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::I32, vec![1, 1, 3, 3]));
    let w = g.add_input("w", TensorType::new(DType::I32, vec![1, 1, 1, 1]));
    let win = Window { kernel_shape: vec![1, 1], strides: vec![1, 1], pads: vec![0; 4], dilations: vec![1, 1] };
    let y = raw_node(&mut g, "conv0", Op::Conv { window: win, group: 1 }, vec![Some(x), Some(w)], TensorType::new(DType::I32, vec![1, 1, 3, 3]));
    g.outputs.push(y);
    let e = lower_graph(&g, &onnxc_passes::plan(&g), "m").unwrap_err();
    match &e {
        LowerError::Unsupported { node, op, .. } => assert_eq!((node.as_str(), op.as_str()), ("conv0", "Conv")),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("conv0"));
}

#[test]
fn runtime_slice_bounds_need_constants() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![4]));
    let s = g.add_input("s", TensorType::new(DType::I64, vec![1]));
    let e = g.add_input("e", TensorType::new(DType::I64, vec![1]));
    let y = raw_node(&mut g, "sl", Op::Slice, vec![Some(x), Some(s), Some(e)], TensorType::new(DType::F32, vec![2]));
    g.outputs.push(y);
    let err = lower_graph(&g, &onnxc_passes::plan(&g), "m").unwrap_err();
    // The value is named so the driver can say which graph inputs to bind.
    match &err {
        LowerError::NeedsConstant { node, value, .. } => assert_eq!((node.as_str(), *value), ("sl", s)),
        other => panic!("expected NeedsConstant, got {other}"),
    }
    assert!(err.to_string().contains("must be a constant to compile ahead of time"), "{err}");
}

#[test]
fn missing_plan_entry_is_an_error() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![4]));
    let t = raw_node(&mut g, "a", Op::Unary(onnxc_ir::op::UnaryOp::Relu), vec![Some(x)], TensorType::new(DType::F32, vec![4]));
    let y = raw_node(&mut g, "b", Op::Unary(onnxc_ir::op::UnaryOp::Relu), vec![Some(t)], TensorType::new(DType::F32, vec![4]));
    g.outputs.push(y);
    let err = lower_graph(&g, &onnxc_passes::MemoryPlan::default(), "m").unwrap_err();
    assert!(matches!(err, LowerError::NoBuffer(_)), "{err}");
}

#[test]
fn bad_window_is_invalid_not_a_panic() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![1, 1, 3, 3]));
    let win = Window { kernel_shape: vec![2], strides: vec![1], pads: vec![0; 2], dilations: vec![1] };
    let y = raw_node(&mut g, "p", Op::MaxPool { window: win, ceil_mode: false }, vec![Some(x)], TensorType::new(DType::F32, vec![1, 1, 2, 2]));
    g.outputs.push(y);
    let err = lower_graph(&g, &onnxc_passes::plan(&g), "m").unwrap_err();
    assert!(matches!(err, LowerError::Invalid { .. }), "{err}");
}
