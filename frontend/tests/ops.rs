//! Opset normalization onto the IR's `Op`, auto_pad, folding of shape chains.

mod common;
use common::*;
use onnxc_frontend::{FrontendError, ImportOptions};
use onnxc_ir::op::{PadMode, Window};
use onnxc_ir::{Graph, Op, Tensor, ValueId};

fn single_node(
    opset: i64,
    n: onnxc_frontend::proto::NodeProto,
    x_dims: &[i64],
    inits: Vec<onnxc_frontend::proto::TensorProto>,
) -> onnxc_frontend::Model {
    let y = n.output[0].clone();
    let m = model(opset, vec![n], vec![fixed("x", F32, x_dims)], vec![out(&y)], inits);
    import(&m).unwrap_or_else(|e| panic!("import failed: {e}"))
}

fn const_input(g: &Graph, id: Option<ValueId>) -> Option<Vec<i64>> {
    id.map(|i| g.const_value(i).expect("constant input").to_i64_vec())
}

#[test]
fn unsqueeze_11_and_13_normalize_to_the_same_form() {
    let g11 = single_node(
        11,
        node("Unsqueeze", &["x"], &["y"], vec![a_ints("axes", &[0, 3])]),
        &[2, 3],
        vec![],
    );
    let g13 = single_node(
        13,
        node("Unsqueeze", &["x", "axes"], &["y"], vec![]),
        &[2, 3],
        vec![i64s("axes", &[0, 3])],
    );
    for g in [&g11.graph, &g13.graph] {
        assert_eq!(g.nodes.len(), 1);
        let n = &g.nodes[0];
        assert_eq!(n.op, Op::Unsqueeze);
        assert_eq!(const_input(g, n.input(1)), Some(vec![0, 3]));
        assert_eq!(g.ty(g.outputs[0]).shape, vec![1, 2, 3, 1]);
    }
}

#[test]
fn squeeze_without_axes_has_no_axes_input() {
    let g = single_node(11, node("Squeeze", &["x"], &["y"], vec![]), &[1, 3, 1], vec![]).graph;
    assert_eq!(g.nodes[0].inputs, vec![Some(g.inputs[0]), None]);
    assert_eq!(g.ty(g.outputs[0]).shape, vec![3]);
    let g = single_node(
        7,
        node("Squeeze", &["x"], &["y"], vec![a_ints("axes", &[2])]),
        &[1, 3, 1],
        vec![],
    )
    .graph;
    assert_eq!(const_input(&g, g.nodes[0].input(1)), Some(vec![2]));
}

#[test]
fn clip_6_attributes_become_inputs() {
    let g = single_node(
        7,
        node("Clip", &["x"], &["y"], vec![a_float("min", -1.0), a_float("max", 6.0)]),
        &[4],
        vec![],
    )
    .graph;
    let n = &g.nodes[0];
    assert_eq!(n.op, Op::Clip);
    let min = g.const_value(n.input(1).unwrap()).unwrap();
    assert_eq!(min.to_vec::<f32>(), vec![-1.0]);
    assert_eq!(min.shape(), &[] as &[usize]);
    assert_eq!(g.const_value(n.input(2).unwrap()).unwrap().to_vec::<f32>(), vec![6.0]);
    let g =
        single_node(9, node("Clip", &["x"], &["y"], vec![a_float("max", 6.0)]), &[4], vec![]).graph;
    assert_eq!(g.nodes[0].input(1), None);
}

#[test]
fn slice_1_attributes_become_inputs() {
    let n = node(
        "Slice",
        &["x"],
        &["y"],
        vec![a_ints("starts", &[1]), a_ints("ends", &[3]), a_ints("axes", &[1])],
    );
    let g = single_node(9, n, &[2, 5], vec![]).graph;
    let n = &g.nodes[0];
    assert_eq!(const_input(&g, n.input(1)), Some(vec![1]));
    assert_eq!(const_input(&g, n.input(2)), Some(vec![3]));
    assert_eq!(const_input(&g, n.input(3)), Some(vec![1]));
    assert_eq!(n.input(4), None);
    assert_eq!(g.ty(g.outputs[0]).shape, vec![2, 2]);
}

#[test]
fn pad_2_attributes_become_inputs() {
    let n = node(
        "Pad",
        &["x"],
        &["y"],
        vec![a_ints("pads", &[0, 1, 0, 2]), a_float("value", 3.0), a_str("mode", "constant")],
    );
    let g = single_node(9, n, &[2, 2], vec![]).graph;
    let n = &g.nodes[0];
    assert_eq!(n.op, Op::Pad { mode: PadMode::Constant });
    assert_eq!(const_input(&g, n.input(1)), Some(vec![0, 1, 0, 2]));
    assert_eq!(g.const_value(n.input(2).unwrap()).unwrap().to_vec::<f32>(), vec![3.0]);
    assert_eq!(g.ty(g.outputs[0]).shape, vec![2, 5]);
}

#[test]
fn split_2_attribute_becomes_input() {
    let n = node("Split", &["x"], &["a", "b"], vec![a_int("axis", 1), a_ints("split", &[1, 3])]);
    let m = model(9, vec![n], vec![fixed("x", F32, &[2, 4])], vec![out("a"), out("b")], vec![]);
    let g = import(&m).unwrap().graph;
    let n = &g.nodes[0];
    assert_eq!(n.op, Op::Split { axis: 1, num_outputs: 2 });
    assert_eq!(const_input(&g, n.input(1)), Some(vec![1, 3]));
    assert_eq!(g.ty(g.outputs[1]).shape, vec![2, 3]);
}

#[test]
fn reduce_axes_attribute_becomes_input() {
    let n = node("ReduceMean", &["x"], &["y"], vec![a_ints("axes", &[1]), a_int("keepdims", 0)]);
    let g = single_node(13, n, &[2, 3], vec![]).graph;
    let n = &g.nodes[0];
    assert!(matches!(n.op, Op::Reduce { keepdims: false, .. }));
    assert_eq!(const_input(&g, n.input(1)), Some(vec![1]));
    assert_eq!(g.ty(g.outputs[0]).shape, vec![2]);
    // ReduceSum takes axes as an input from opset 13.
    let n = node("ReduceSum", &["x", "axes"], &["y"], vec![]);
    let g = single_node(13, n, &[2, 3], vec![i64s("axes", &[0])]).graph;
    assert_eq!(g.ty(g.outputs[0]).shape, vec![1, 3]);
}

fn conv_model(auto_pad: Option<&str>, strides: &[i64]) -> Graph {
    let mut attrs = vec![a_ints("strides", strides)];
    if let Some(p) = auto_pad {
        attrs.push(a_str("auto_pad", p));
    }
    let w = raw_f32("w", &[4, 3, 3, 3], &[0.0; 108]);
    let n = node("Conv", &["x", "w"], &["y"], attrs);
    single_node(11, n, &[1, 3, 8, 7], vec![w]).graph
}

fn window_of(g: &Graph) -> Window {
    match &g.nodes[0].op {
        Op::Conv { window, group } => {
            assert_eq!(*group, 1);
            window.clone()
        }
        other => panic!("expected Conv, got {other:?}"),
    }
}

#[test]
fn conv_window_defaults_come_from_the_weight() {
    let g = conv_model(None, &[1, 1]);
    let w = window_of(&g);
    assert_eq!(
        w,
        Window {
            kernel_shape: vec![3, 3],
            strides: vec![1, 1],
            pads: vec![0; 4],
            dilations: vec![1, 1]
        }
    );
    assert_eq!(g.ty(g.outputs[0]).shape, vec![1, 4, 6, 5]);
    assert_eq!(g.nodes[0].input(2), None);
}

#[test]
fn auto_pad_resolves_to_explicit_pads() {
    // in 8x7, k 3, stride 2: out 4x4; total pad (4-1)*2+3-8 = 1 and (4-1)*2+3-7 = 2.
    let w = window_of(&conv_model(Some("SAME_UPPER"), &[2, 2]));
    assert_eq!(w.pads, vec![0, 1, 1, 1]);
    let g = conv_model(Some("SAME_LOWER"), &[2, 2]);
    assert_eq!(window_of(&g).pads, vec![1, 1, 0, 1]);
    assert_eq!(g.ty(g.outputs[0]).shape, vec![1, 4, 4, 4]);
    let w = window_of(&conv_model(Some("VALID"), &[2, 2]));
    assert_eq!(w.pads, vec![0; 4]);
    let e = import(&model(
        11,
        vec![node("Conv", &["x", "w"], &["y"], vec![a_str("auto_pad", "BOGUS")])],
        vec![fixed("x", F32, &[1, 3, 8, 8])],
        vec![out("y")],
        vec![raw_f32("w", &[4, 3, 3, 3], &[0.0; 108])],
    ))
    .unwrap_err();
    assert!(matches!(e, FrontendError::BadAttribute { ref attr, .. } if attr == "auto_pad"), "{e}");
}

#[test]
fn max_pool_same_upper() {
    let n = node(
        "MaxPool",
        &["x"],
        &["y"],
        vec![
            a_ints("kernel_shape", &[2, 2]),
            a_ints("strides", &[2, 2]),
            a_str("auto_pad", "SAME_UPPER"),
        ],
    );
    let g = single_node(11, n, &[1, 1, 5, 5], vec![]).graph;
    match &g.nodes[0].op {
        Op::MaxPool { window, ceil_mode } => {
            assert_eq!(window.pads, vec![0, 0, 1, 1]);
            assert!(!ceil_mode);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(g.ty(g.outputs[0]).shape, vec![1, 1, 3, 3]);
}

#[test]
fn softmax_before_13_coerces_to_2d() {
    let g = single_node(11, node("Softmax", &["x"], &["y"], vec![]), &[2, 3, 4], vec![]).graph;
    let ops: Vec<String> = g.nodes.iter().map(|n| n.op.onnx_name()).collect();
    assert_eq!(ops, ["Flatten", "Softmax", "Reshape"]);
    assert_eq!(g.nodes[1].op, Op::Softmax { axis: 1 });
    assert_eq!(g.ty(g.outputs[0]).shape, vec![2, 3, 4]);
    assert_eq!(g.value(g.outputs[0]).name, "y");
    // On the last axis the old and new semantics agree: one node.
    let g = single_node(
        11,
        node("LogSoftmax", &["x"], &["y"], vec![a_int("axis", -1)]),
        &[2, 3],
        vec![],
    )
    .graph;
    assert_eq!(g.nodes.len(), 1);
    let g = single_node(13, node("Softmax", &["x"], &["y"], vec![]), &[2, 3, 4], vec![]).graph;
    assert_eq!(g.nodes[0].op, Op::Softmax { axis: -1 });
}

#[test]
fn batch_norm_training_outputs_are_rejected() {
    let inits: Vec<_> = ["s", "b", "m", "v"].iter().map(|n| raw_f32(n, &[3], &[1.0; 3])).collect();
    let ok = node(
        "BatchNormalization",
        &["x", "s", "b", "m", "v"],
        &["y"],
        vec![a_float("epsilon", 1e-3)],
    );
    let g = single_node(9, ok, &[1, 3, 2, 2], inits.clone()).graph;
    assert_eq!(g.nodes[0].op, Op::BatchNormalization { epsilon: 1e-3 });
    let bad = node("BatchNormalization", &["x", "s", "b", "m", "v"], &["y", "rm", "rv"], vec![]);
    let m = model(9, vec![bad], vec![fixed("x", F32, &[1, 3, 2, 2])], vec![out("y")], inits);
    let e = import(&m).unwrap_err();
    assert!(
        matches!(e, FrontendError::BadNode { ref op, .. } if op == "BatchNormalization"),
        "{e}"
    );
}

#[test]
fn dropout_is_kept_for_inference() {
    let g =
        single_node(9, node("Dropout", &["x"], &["y"], vec![a_float("ratio", 0.3)]), &[2], vec![])
            .graph;
    assert_eq!(g.nodes[0].op, Op::Dropout);
}

/// PyTorch's dynamic-reshape idiom folds into a constant shape.
#[test]
fn shape_gather_concat_reshape_folds() {
    let nodes = vec![
        node("Shape", &["x"], &["s"], vec![]),
        node("Constant", &[], &["zero"], vec![a_tensor("value", i64s("", &[0]))]),
        node("Gather", &["s", "zero"], &["n"], vec![a_int("axis", 0)]),
        node("Constant", &[], &["minus1"], vec![a_tensor("value", i64s("", &[-1]))]),
        node("Concat", &["n", "minus1"], &["shape"], vec![a_int("axis", 0)]),
        node("Reshape", &["x", "shape"], &["y"], vec![]),
    ];
    let m = model(13, nodes, vec![fixed("x", F32, &[2, 3, 4])], vec![out("y")], vec![]);
    let g = import(&m).unwrap().graph;
    assert_eq!(g.nodes.len(), 1, "{:?}", g.nodes);
    let n = &g.nodes[0];
    assert_eq!(n.op, Op::Reshape { allowzero: false });
    assert_eq!(const_input(&g, n.input(1)), Some(vec![2, -1]));
    assert_eq!(g.ty(g.outputs[0]).shape, vec![2, 12]);
}

#[test]
fn no_folding_when_disabled() {
    let nodes = vec![node("Shape", &["x"], &["s"], vec![])];
    let m = model(13, nodes, vec![fixed("x", F32, &[2, 3])], vec![out("s")], vec![]);
    let opts = ImportOptions { fold_constants: false, ..Default::default() };
    let g = import_with(&m, &opts).unwrap().graph;
    assert_eq!(g.nodes.len(), 1);
    let g = import(&m).unwrap();
    assert_eq!(output_const(&g, 0), Tensor::from_vec(vec![2], vec![2i64, 3]));
}

#[test]
fn gemm_and_elementwise_attributes() {
    let n = node("Gemm", &["x", "w"], &["y"], vec![a_int("transB", 1), a_float("alpha", 2.0)]);
    let g = single_node(9, n, &[2, 3], vec![raw_f32("w", &[4, 3], &[0.0; 12])]).graph;
    assert_eq!(g.nodes[0].op, Op::Gemm { alpha: 2.0, beta: 1.0, trans_a: false, trans_b: true });
    assert_eq!(g.ty(g.outputs[0]).shape, vec![2, 4]);
    let g = single_node(9, node("LeakyRelu", &["x"], &["y"], vec![]), &[2], vec![]).graph;
    assert_eq!(g.nodes[0].op, Op::Activation(onnxc_ir::op::Activation::LeakyRelu { alpha: 0.01 }));
}

#[test]
fn symbolic_dims_are_bound_from_options() {
    let m = model(
        13,
        vec![node("Relu", &["x"], &["y"], vec![])],
        vec![vi("x", F32, &[D::S("N"), D::N(3), D::S("H")])],
        vec![out("y")],
        vec![],
    );
    let e = import(&m).unwrap_err();
    match &e {
        FrontendError::UnboundDim { input, dim, .. } => {
            assert_eq!((input.as_str(), *dim), ("x", 0))
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("--input-shape x=1x3x1"), "{e}");
    let mut opts = ImportOptions::default();
    opts.input_shapes.insert("x".into(), vec![5, 3, 7]);
    let g = import_with(&m, &opts).unwrap().graph;
    assert_eq!(g.ty(g.inputs[0]).shape, vec![5, 3, 7]);
    // The binding must agree with the fixed dims and the rank.
    opts.input_shapes.insert("x".into(), vec![5, 4, 7]);
    assert!(matches!(import_with(&m, &opts), Err(FrontendError::BadInputShape { .. })));
    opts.input_shapes.insert("x".into(), vec![5, 3]);
    assert!(matches!(import_with(&m, &opts), Err(FrontendError::BadInputShape { .. })));
    opts.input_shapes.insert("x".into(), vec![0, 3, 7]);
    assert!(matches!(import_with(&m, &opts), Err(FrontendError::BadInputShape { .. })));
    let mut opts = ImportOptions::default();
    opts.input_shapes.insert("typo".into(), vec![1]);
    assert!(matches!(import_with(&m, &opts), Err(FrontendError::BadInputShape { .. })));
}
