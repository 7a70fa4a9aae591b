//! Preview-domain ops: FlexAttention's subgraph inlining and optimizer
//! models that import no default opset.
mod common;
use common::*;
use onnxc_frontend::proto::{attribute_proto::AttributeType, AttributeProto, GraphProto, OperatorSetIdProto};
use onnxc_ir::Op;

fn graph_attr(name: &str, g: GraphProto) -> AttributeProto {
    AttributeProto { name: Some(name.into()), r#type: Some(AttributeType::Graph as i32), g: Some(g), ..Default::default() }
}

fn with_domain(mut n: onnxc_frontend::proto::NodeProto, d: &str) -> onnxc_frontend::proto::NodeProto {
    n.domain = Some(d.into());
    n
}

#[test]
fn flex_attention_inlines_score_mod() {
    let score_mod = GraphProto {
        name: Some("score_mod".into()),
        node: vec![node("Add", &["s", "bias"], &["s_out"], vec![])],
        input: vec![fixed("s", F32, &[1, 4, 3, 5])],
        output: vec![out("s_out")],
        initializer: vec![raw_f32("bias", &[], &[0.5])],
        ..Default::default()
    };
    let n = with_domain(node("FlexAttention", &["q", "k", "v"], &["y"], vec![graph_attr("score_mod", score_mod)]), "ai.onnx.preview");
    let mut m = model(
        26,
        vec![n],
        vec![fixed("q", F32, &[1, 4, 3, 8]), fixed("k", F32, &[1, 2, 5, 8]), fixed("v", F32, &[1, 2, 5, 6])],
        vec![out("y")],
        vec![],
    );
    m.opset_import.push(OperatorSetIdProto { domain: Some("ai.onnx.preview".into()), version: Some(1) });
    let model = import(&m).unwrap_or_else(|e| panic!("{e}"));
    let g = &model.graph;
    assert_eq!(g.ty(g.outputs[0]).shape, vec![1, 4, 3, 6]);
    let ops: Vec<String> = g.nodes.iter().map(|n| n.op.onnx_name()).collect();
    assert!(ops.contains(&"Softmax".to_string()), "{ops:?}");
    assert_eq!(ops.iter().filter(|o| *o == "Add").count(), 1, "{ops:?}");
    // GQA: K and V heads are repeated to the 4 query heads.
    assert!(ops.contains(&"Expand".to_string()), "{ops:?}");
}

#[test]
fn optimizer_model_without_default_opset_imports() {
    let n = with_domain(
        node("Momentum", &["r", "t", "x", "g", "v"], &["x2", "v2"], vec![a_float("alpha", 0.9), a_float("beta", 0.1), a_float("norm_coefficient", 0.0), a_str("mode", "nesterov")]),
        "ai.onnx.preview.training",
    );
    let mut m = model(
        1,
        vec![n],
        vec![fixed("r", F32, &[]), fixed("t", I64, &[]), fixed("x", F32, &[3]), fixed("g", F32, &[3]), fixed("v", F32, &[3])],
        vec![out("x2"), out("v2")],
        vec![],
    );
    m.opset_import = vec![OperatorSetIdProto { domain: Some("ai.onnx.preview.training".into()), version: Some(1) }];
    let model = import(&m).unwrap_or_else(|e| panic!("{e}"));
    let Op::Optimizer(kind) = &model.graph.nodes[0].op else { panic!("{:?}", model.graph.nodes[0].op) };
    assert!(matches!(kind, onnxc_ir::op::OptimizerKind::Momentum { nesterov: true, .. }));
}

#[test]
fn dft20_axis_input_must_be_constant_and_becomes_the_attribute() {
    let m = model(
        20,
        vec![node("DFT", &["x", "", "axis"], &["y"], vec![a_int("onesided", 1)])],
        vec![fixed("x", F32, &[2, 8, 3, 1])],
        vec![out("y")],
        vec![i64s("axis", &[1])],
    );
    let model = import(&m).unwrap_or_else(|e| panic!("{e}"));
    let g = &model.graph;
    assert_eq!(g.nodes[0].op, Op::Dft { axis: 1, inverse: false, onesided: true });
    assert_eq!(g.ty(g.outputs[0]).shape, vec![2, 5, 3, 2]);
}

#[test]
fn linear_attention_keeps_its_state_output_when_unused() {
    let attrs = vec![a_int("q_num_heads", 2), a_int("kv_num_heads", 2), a_str("update_rule", "linear")];
    let m = model(
        27,
        vec![node("LinearAttention", &["q", "k", "v"], &["y"], attrs)],
        vec![fixed("q", F32, &[1, 3, 8]), fixed("k", F32, &[1, 3, 8]), fixed("v", F32, &[1, 3, 4])],
        vec![out("y")],
        vec![],
    );
    let model = import(&m).unwrap_or_else(|e| panic!("{e}"));
    let g = &model.graph;
    assert_eq!(g.nodes[0].outputs.len(), 2);
    assert_eq!(g.ty(g.nodes[0].outputs[1]).shape, vec![1, 2, 4, 2]);
}
