//! Import of the normalization family, CastLike, Attention and RotaryEmbedding.
mod common;
use common::*;
use onnxc_frontend::ImportOptions;
use onnxc_ir::{DType, Op};

const F64: i32 = 11;

fn ops(m: &onnxc_frontend::Model) -> Vec<Op> {
    m.graph.nodes.iter().map(|n| n.op.clone()).collect()
}

#[test]
fn cast_like_becomes_cast_and_accepts_an_empty_like() {
    let nodes = vec![node("CastLike", &["x", "like"], &["y"], vec![])];
    let m = model(21, nodes, vec![fixed("x", F32, &[3, 4]), fixed("like", F64, &[0])], vec![out("y")], vec![]);
    let imported = import(&m).unwrap();
    assert_eq!(ops(&imported), vec![Op::Cast { to: DType::F64 }]);
    // Binding the model's own 0 is fine (the conformance harness binds every input).
    let mut opts = ImportOptions::default();
    opts.input_shapes.insert("like".into(), vec![0]);
    opts.input_shapes.insert("x".into(), vec![3, 4]);
    assert!(import_with(&m, &opts).is_ok());
    // A 0 for a symbolic dim is still refused.
    let m = model(21, vec![], vec![vi("x", F32, &[D::S("n")])], vec![out("x")], vec![]);
    let mut opts = ImportOptions::default();
    opts.input_shapes.insert("x".into(), vec![0]);
    assert!(import_with(&m, &opts).is_err());
}

#[test]
fn norm_attributes_and_defaults() {
    let nodes = vec![
        node("LayerNormalization", &["x", "s", "b"], &["y", "mean", "inv"], vec![a_int("axis", 1), a_float("epsilon", 1e-3)]),
        node("GroupNormalization", &["x", "g", "g"], &["z"], vec![a_int("num_groups", 2)]),
        node("MeanVarianceNormalization", &["x"], &["w"], vec![]),
    ];
    let ins = vec![fixed("x", F32, &[2, 4, 3, 1]), fixed("s", F32, &[4, 3, 1]), fixed("b", F32, &[4, 3, 1]), fixed("g", F32, &[2])];
    let m = model(18, nodes, ins, vec![out("y"), out("mean"), out("z"), out("w")], vec![]);
    let imported = import(&m).unwrap();
    assert_eq!(
        ops(&imported),
        vec![
            Op::LayerNormalization { axis: 1, epsilon: 1e-3 },
            Op::GroupNormalization { num_groups: 2, epsilon: 1e-5 },
            Op::MeanVarianceNormalization { axes: vec![0, 2, 3] },
        ]
    );
    let bad = vec![node("LpNormalization", &["x"], &["y"], vec![a_int("p", 3)])];
    let m = model(22, bad, vec![fixed("x", F32, &[2])], vec![out("y")], vec![]);
    assert!(import(&m).unwrap_err().to_string().contains("must be 1 or 2"));
}

#[test]
fn attention_with_an_omitted_middle_output() {
    let attrs = vec![a_int("is_causal", 1), a_int("qk_matmul_output_mode", 3)];
    let nodes = vec![node("Attention", &["q", "k", "v"], &["y", "", "", "qk"], attrs)];
    let ins = vec![fixed("q", F32, &[1, 2, 3, 4]), fixed("k", F32, &[1, 2, 5, 4]), fixed("v", F32, &[1, 2, 5, 6])];
    let m = model(23, nodes, ins, vec![out("y"), out("qk")], vec![]);
    let imported = import(&m).unwrap();
    let g = &imported.graph;
    assert_eq!(g.ty(g.outputs[1]).shape, vec![1, 2, 3, 5]);
    assert!(matches!(g.nodes[0].op, Op::Attention { is_causal: true, qk_matmul_output_mode: 3, .. }));
}
