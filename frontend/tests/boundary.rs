//! Sequence and optional graph inputs/outputs (`ImportOptions::sequence_inputs`,
//! `absent_inputs`): sequences are flattened into `x.0`, `x.1`, ... ABI
//! tensors; absent optionals have no slot.
mod common;
use common::*;
use onnxc_frontend::proto::{type_proto, TypeProto, ValueInfoProto};
use onnxc_frontend::{FrontendError, ImportOptions};
use onnxc_ir::Tensor;
use std::collections::{HashMap, HashSet};

/// `x` declared as a sequence (or an optional of one) of f32 tensors of
/// rank 1 with a symbolic length.
fn seq_vi(name: &str, optional: bool) -> ValueInfoProto {
    let elem = vi("e", F32, &[D::S("n")]).r#type.unwrap();
    let seq = TypeProto {
        value: Some(type_proto::Value::SequenceType(Box::new(type_proto::Sequence { elem_type: Some(Box::new(elem)) }))),
        ..Default::default()
    };
    let ty = if optional {
        TypeProto {
            value: Some(type_proto::Value::OptionalType(Box::new(type_proto::Optional { elem_type: Some(Box::new(seq)) }))),
            ..Default::default()
        }
    } else {
        seq
    };
    ValueInfoProto { name: Some(name.into()), r#type: Some(ty), ..Default::default() }
}

fn opt_tensor_vi(name: &str) -> ValueInfoProto {
    let t = fixed("t", F32, &[2]).r#type.unwrap();
    let ty = TypeProto {
        value: Some(type_proto::Value::OptionalType(Box::new(type_proto::Optional { elem_type: Some(Box::new(t)) }))),
        ..Default::default()
    };
    ValueInfoProto { name: Some(name.into()), r#type: Some(ty), ..Default::default() }
}

/// y = SequenceInsert(x, t): a sequence input and a sequence output.
fn insert_model(optional: bool) -> onnxc_frontend::proto::ModelProto {
    let nodes = if optional {
        vec![
            node("OptionalGetElement", &["x"], &["s"], vec![]),
            node("SequenceInsert", &["s", "t"], &["y"], vec![]),
        ]
    } else {
        vec![node("SequenceInsert", &["x", "t"], &["y"], vec![])]
    };
    model(17, nodes, vec![seq_vi("x", optional), fixed("t", F32, &[4])], vec![out("y")], vec![])
}

fn names(g: &onnxc_ir::Graph, ids: &[onnxc_ir::ValueId]) -> Vec<String> {
    ids.iter().map(|i| g.display_name(*i)).collect()
}

fn seq_opts(shapes: Vec<Vec<usize>>) -> ImportOptions {
    ImportOptions { sequence_inputs: HashMap::from([("x".to_string(), shapes)]), ..Default::default() }
}

#[test]
fn sequence_input_and_output_are_flattened() {
    for optional in [false, true] {
        let m = import_with(&insert_model(optional), &seq_opts(vec![vec![2], vec![3]])).unwrap();
        let g = &m.graph;
        assert_eq!(names(g, &g.inputs), ["x.0", "x.1", "t"]);
        assert_eq!(names(g, &g.outputs), ["y.0", "y.1", "y.2"]);
        let shapes: Vec<Vec<usize>> = g.outputs.iter().map(|o| g.ty(*o).shape.clone()).collect();
        assert_eq!(shapes, [vec![2], vec![3], vec![4]]);
        assert_eq!(m.boundary.len(), 2, "{:?}", m.boundary);
        // Evaluated: the elements pass through, the tensor is appended.
        let ins = [
            Tensor::from_vec(vec![2], vec![1f32, 2.]),
            Tensor::from_vec(vec![3], vec![3f32, 4., 5.]),
            Tensor::from_vec(vec![4], vec![6f32, 7., 8., 9.]),
        ];
        let outs = onnxc_ir::eval::eval_graph(g, &ins).unwrap();
        assert_eq!(outs, ins);
    }
}

#[test]
fn empty_sequence_input_has_no_slot() {
    let m = import_with(&insert_model(false), &seq_opts(vec![])).unwrap();
    let g = &m.graph;
    assert_eq!(names(g, &g.inputs), ["t"]);
    assert_eq!(names(g, &g.outputs), ["y.0"]);
}

#[test]
fn sequence_input_needs_its_length() {
    match import(&insert_model(false)).unwrap_err() {
        FrontendError::BadInputShape { input, msg } => {
            assert_eq!(input, "x");
            assert!(msg.contains("--input-seq"), "{msg}");
        }
        e => panic!("expected BadInputShape, got {e:?}"),
    }
}

/// y = OptionalHasElement(o); z = Identity(o) (an optional output).
fn has_element_model() -> onnxc_frontend::proto::ModelProto {
    model(
        18,
        vec![node("OptionalHasElement", &["o"], &["y"], vec![]), node("Identity", &["o"], &["z"], vec![])],
        vec![opt_tensor_vi("o")],
        vec![out("y"), out("z")],
        vec![],
    )
}

#[test]
fn absent_optional_input_and_output_have_no_slot() {
    let opts = ImportOptions { absent_inputs: HashSet::from(["o".to_string()]), ..Default::default() };
    let m = import_with(&has_element_model(), &opts).unwrap();
    let g = &m.graph;
    assert!(g.inputs.is_empty());
    assert_eq!(g.outputs.len(), 1, "the absent optional output `z` has no slot");
    assert_eq!(g.const_value(g.outputs[0]), Some(&Tensor::scalar(false)));
    assert!(m.boundary.iter().any(|l| l.contains("`z`") && l.contains("absent")), "{:?}", m.boundary);
}

#[test]
fn present_optional_input_is_a_tensor() {
    let m = import(&has_element_model()).unwrap();
    let g = &m.graph;
    assert_eq!(names(g, &g.inputs), ["o"]);
    assert_eq!(g.outputs.len(), 2);
    assert_eq!(g.const_value(g.outputs[0]), Some(&Tensor::scalar(true)));
}

#[test]
fn absent_names_must_be_optional_inputs() {
    let opts = ImportOptions { absent_inputs: HashSet::from(["t".to_string()]), ..seq_opts(vec![]) };
    assert!(matches!(import_with(&insert_model(false), &opts), Err(FrontendError::BadInputShape { .. })));
    let opts = ImportOptions { absent_inputs: HashSet::from(["nope".to_string()]), ..Default::default() };
    assert!(matches!(import_with(&has_element_model(), &opts), Err(FrontendError::BadInputShape { .. })));
}
