//! Every error kind, `summarize`, and the regression inputs.

mod common;
use bytes::Bytes;
use common::*;
use onnxc_frontend::proto::{NodeProto, OperatorSetIdProto};
use onnxc_frontend::{import_bytes, summarize, Dim, FrontendError, ImportOptions};

fn relu_model() -> onnxc_frontend::proto::ModelProto {
    model(
        13,
        vec![node("Relu", &["x"], &["y"], vec![])],
        vec![fixed("x", F32, &[2, 3])],
        vec![out("y")],
        vec![],
    )
}

#[test]
fn truncated_and_garbage_bytes_are_decode_errors() {
    let data = encode(&relu_model());
    for cut in [1, data.len() / 2, data.len() - 1] {
        let e = import_bytes(data.slice(..cut), None, &ImportOptions::default()).unwrap_err();
        assert!(matches!(e, FrontendError::Decode(_)), "cut at {cut}: {e}");
    }
    let e = import_bytes(
        Bytes::from_static(b"\xff\xff\xff\xff garbage"),
        None,
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, FrontendError::Decode(_)), "{e}");
    assert!(summarize(&data[..data.len() - 1]).is_err());
}

#[test]
fn unknown_ops_are_listed_together() {
    let mut foreign = node("FusedThing", &["y"], &["z"], vec![]);
    foreign.domain = Some("com.microsoft".into());
    let nodes = vec![
        node("Relu", &["x"], &["a"], vec![]),
        node("NoSuchOp", &["a"], &["y"], vec![]),
        foreign,
    ];
    let m = model(13, nodes, vec![fixed("x", F32, &[2])], vec![out("z")], vec![]);
    match import(&m).unwrap_err() {
        FrontendError::Unsupported { nodes } => {
            let ops: Vec<(&str, &str)> =
                nodes.iter().map(|n| (n.op_type.as_str(), n.domain.as_str())).collect();
            assert_eq!(ops, [("NoSuchOp", ""), ("FusedThing", "com.microsoft")]);
            assert_eq!(nodes[0].name, "NoSuchOp_y");
        }
        other => panic!("{other}"),
    }
    let s = summarize(&encode(&m)).unwrap();
    assert_eq!(s.unsupported.len(), 2);
    assert_eq!(s.op_histogram.get("Relu"), Some(&1));
    assert_eq!(s.op_histogram.get("com.microsoft::FusedThing"), Some(&1));
}

#[test]
fn missing_initializer() {
    let m = model(
        13,
        vec![node("Add", &["x", "bias"], &["y"], vec![])],
        vec![fixed("x", F32, &[2])],
        vec![out("y")],
        vec![],
    );
    match import(&m).unwrap_err() {
        FrontendError::MissingInput { node, name } => {
            assert_eq!((node.as_str(), name.as_str()), ("Add_y", "bias"))
        }
        other => panic!("{other}"),
    }
    let m = model(13, vec![], vec![], vec![out("nowhere")], vec![]);
    assert!(matches!(import(&m), Err(FrontendError::MissingInput { .. })));
}

#[test]
fn wrong_dtypes() {
    // Add of f32 and i64: the shape rule's error names the node and op.
    let m = model(
        13,
        vec![node("Add", &["x", "k"], &["y"], vec![])],
        vec![fixed("x", F32, &[2])],
        vec![out("y")],
        vec![i64s("k", &[1, 2])],
    );
    let e = import(&m).unwrap_err();
    assert!(matches!(e, FrontendError::Shape(_)), "{e}");
    assert!(e.to_string().contains("Add_y"), "{e}");
    // A string input cannot be compiled.
    let m = model(13, vec![], vec![fixed("s", 8, &[1])], vec![out("s")], vec![]);
    assert!(matches!(import(&m), Err(FrontendError::Invalid(_))));
    // An attribute of the wrong kind.
    let m = model(
        13,
        vec![node("Flatten", &["x"], &["y"], vec![a_float("axis", 1.0)])],
        vec![fixed("x", F32, &[2, 3])],
        vec![out("y")],
        vec![],
    );
    let e = import(&m).unwrap_err();
    assert!(
        matches!(e, FrontendError::BadAttribute { ref attr, ref op, .. } if attr == "axis" && op == "Flatten"),
        "{e}"
    );
    // Cast to an unsupported type.
    let m = model(
        13,
        vec![node("Cast", &["x"], &["y"], vec![a_int("to", 8)])],
        vec![fixed("x", F32, &[2])],
        vec![out("y")],
        vec![],
    );
    assert!(matches!(import(&m), Err(FrontendError::BadAttribute { .. })));
}

#[test]
fn opset_range_and_domain() {
    let mut m = relu_model();
    m.opset_import = vec![OperatorSetIdProto { domain: Some("ai.onnx".into()), version: Some(6) }];
    assert!(matches!(import(&m), Err(FrontendError::UnsupportedOpset { version: 6, .. })));
    m.opset_import[0].version = Some(29);
    assert!(matches!(import(&m), Err(FrontendError::UnsupportedOpset { .. })));
    m.opset_import.clear();
    assert!(matches!(import(&m), Err(FrontendError::Invalid(_))));
    // Opset 1..=6 is read as 7 when every op kept its opset-1 definition.
    let not = |opset| {
        let n = node("Not", &["x"], &["y"], vec![]);
        model(opset, vec![n], vec![fixed("x", 9 /* BOOL */, &[2])], vec![out("y")], vec![])
    };
    assert_eq!(import(&not(1)).unwrap().opset, 7);
    let relu = node("Relu", &["x"], &["y"], vec![]);
    let mixed = model(1, vec![node("Not", &["x"], &["z"], vec![]), relu], vec![fixed("x", 9 /* BOOL */, &[2])], vec![out("y")], vec![]);
    assert!(matches!(import(&mixed), Err(FrontendError::UnsupportedOpset { version: 1, .. })));
}

#[test]
fn zero_and_absurd_input_dims() {
    // A declared 0 is an empty tensor; binding 0 with --input-shape is an error.
    let m = model(13, vec![], vec![fixed("x", F32, &[2, 0])], vec![out("x")], vec![]);
    assert_eq!(import(&m).unwrap().graph.values[0].ty.shape, vec![2, 0]);
    let m = model(13, vec![], vec![fixed("x", F32, &[1 << 40, 1 << 40])], vec![out("x")], vec![]);
    assert!(matches!(import(&m), Err(FrontendError::Invalid(_))));
    // No shape at all: must be bound.
    let mut m = model(13, vec![], vec![fixed("x", F32, &[1])], vec![out("x")], vec![]);
    if let Some(onnxc_frontend::proto::type_proto::Value::TensorType(t)) =
        m.graph.as_mut().unwrap().input[0].r#type.as_mut().unwrap().value.as_mut()
    {
        t.shape = None;
    }
    assert!(matches!(import(&m), Err(FrontendError::UnboundDim { .. })));
}

#[test]
fn duplicate_definitions_are_rejected() {
    let nodes = vec![node("Relu", &["x"], &["y"], vec![]), node("Relu", &["x"], &["y"], vec![])];
    let m = model(13, nodes, vec![fixed("x", F32, &[2])], vec![out("y")], vec![]);
    assert!(matches!(import(&m), Err(FrontendError::Invalid(_))));
}

#[test]
fn missing_required_input_or_attribute() {
    let m = model(
        13,
        vec![node("Add", &["x"], &["y"], vec![])],
        vec![fixed("x", F32, &[2])],
        vec![out("y")],
        vec![],
    );
    assert!(matches!(import(&m), Err(FrontendError::BadNode { .. })));
    let m = model(
        13,
        vec![node("Concat", &["x", "x"], &["y"], vec![])],
        vec![fixed("x", F32, &[2])],
        vec![out("y")],
        vec![],
    );
    assert!(matches!(import(&m), Err(FrontendError::BadAttribute { .. })));
    let n = NodeProto {
        op_type: Some("MaxPool".into()),
        input: vec!["x".into()],
        output: vec!["y".into()],
        ..Default::default()
    };
    let m = model(13, vec![n], vec![fixed("x", F32, &[1, 1, 4, 4])], vec![out("y")], vec![]);
    let e = import(&m).unwrap_err();
    // Unnamed nodes are named after their op and position.
    assert!(e.to_string().contains("MaxPool#0"), "{e}");
}

#[test]
fn summary_reports_symbolic_dims() {
    let m = model(
        13,
        vec![node("Relu", &["x"], &["y"], vec![])],
        vec![vi("x", F32, &[D::S("batch"), D::N(3)])],
        vec![fixed("y", F32, &[1, 3])],
        vec![],
    );
    let s = summarize(&encode(&m)).unwrap();
    assert_eq!(s.opset, Some(13));
    assert_eq!(s.inputs[0].name, "x");
    assert_eq!(s.inputs[0].elem_type, "FLOAT");
    assert_eq!(s.inputs[0].dims, Some(vec![Dim::Symbolic("batch".into()), Dim::Fixed(3)]));
    assert_eq!(s.outputs[0].dims, Some(vec![Dim::Fixed(1), Dim::Fixed(3)]));
    assert!(s.unsupported.is_empty());
}

/// Inputs that once crashed the frontend (found by fuzzing) must give errors.
#[test]
fn regressions_give_errors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut n = 0;
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "onnx") {
            let data = Bytes::from(std::fs::read(&path).unwrap());
            let r = import_bytes(data.clone(), None, &ImportOptions::default());
            assert!(r.is_err(), "{} imported", path.display());
            let _ = summarize(&data);
            n += 1;
        }
    }
    println!("{n} regression inputs");
}

/// A poor man's fuzzer that runs on stable: random byte edits of valid
/// models must never panic (errors are fine).
#[test]
fn mutated_models_never_panic() {
    let seeds = [
        encode(&relu_model()),
        encode(&model(
            9,
            vec![
                node(
                    "Conv",
                    &["x", "w"],
                    &["c"],
                    vec![a_str("auto_pad", "SAME_UPPER"), a_ints("strides", &[2, 2])],
                ),
                node("Shape", &["c"], &["s"], vec![]),
                node("Constant", &["s"], &["k"], vec![a_tensor("value", i64s("", &[1, -1]))]),
                node("Reshape", &["c", "k"], &["r"], vec![]),
                node("Softmax", &["r"], &["y"], vec![]),
            ],
            vec![fixed("x", F32, &[1, 2, 5, 5])],
            vec![out("y")],
            vec![raw_f32("w", &[3, 2, 3, 3], &[0.5; 54])],
        )),
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for seed in &seeds {
        for _ in 0..5000 {
            let mut d = seed.to_vec();
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % d.len();
                match next() % 4 {
                    0 => d[i] = next() as u8,
                    1 => d[i] ^= 1 << (next() % 8),
                    2 => d.truncate(i.max(1)),
                    _ => d[i] = [0x00, 0x7f, 0x80, 0xff][(next() % 4) as usize],
                }
            }
            let _ = import_bytes(Bytes::from(d.clone()), None, &ImportOptions::default());
            let _ = summarize(&d);
        }
    }
}

/// Deeply nested subgraphs hit prost's recursion limit instead of the stack's.
#[test]
fn deep_nesting_is_a_decode_error() {
    use onnxc_frontend::proto::{attribute_proto::AttributeType, AttributeProto, GraphProto};
    let mut g = GraphProto::default();
    for _ in 0..500 {
        let attr = AttributeProto {
            name: Some("then_branch".into()),
            r#type: Some(AttributeType::Graph as i32),
            g: Some(g),
            ..Default::default()
        };
        g = GraphProto { node: vec![node("If", &["c"], &["o"], vec![attr])], ..Default::default() };
    }
    let mut m = relu_model();
    m.graph = Some(g);
    let data = encode(&m);
    // Drop the nested structure iteratively: its recursive Drop could itself
    // overflow the test thread's stack.
    let mut cur = m.graph.take();
    while let Some(mut g) = cur {
        cur = g.node.pop().and_then(|mut n| n.attribute.pop()).and_then(|mut a| a.g.take());
    }
    let e = import_bytes(data.clone(), None, &ImportOptions::default()).unwrap_err();
    assert!(matches!(e, FrontendError::Decode(_)), "{e}");
    assert!(summarize(&data).is_err());
}
