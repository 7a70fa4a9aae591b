//! Graph inputs bound at compile time (`ImportOptions::bind_inputs`).
mod common;
use common::*;
use onnxc_frontend::{FrontendError, ImportOptions};
use onnxc_ir::{DType, IrError, Tensor};
use std::collections::HashMap;

/// ReduceSum(data, axes) with `axes` a graph input (opset 13 form).
fn reduce_model() -> onnxc_frontend::proto::ModelProto {
    model(
        13,
        vec![node("ReduceSum", &["data", "axes"], &["y"], vec![a_int("keepdims", 0)])],
        vec![fixed("data", F32, &[2, 3]), fixed("axes", I64, &[1])],
        vec![out("y")],
        vec![],
    )
}

fn bind(name: &str, t: Tensor) -> ImportOptions {
    ImportOptions { bind_inputs: HashMap::from([(name.to_string(), t)]), ..Default::default() }
}

#[test]
fn unbound_shape_input_names_the_graph_input() {
    match import(&reduce_model()).unwrap_err() {
        FrontendError::Shape(IrError::NeedsConstant { op, inputs, graph_inputs, msg, .. }) => {
            assert_eq!(op, "ReduceSum");
            assert_eq!(inputs, ["axes"]);
            assert_eq!(graph_inputs, ["axes"]);
            assert!(msg.contains("must be a constant to compile ahead of time"), "{msg}");
        }
        e => panic!("expected NeedsConstant, got {e:?}"),
    }
}

#[test]
fn bound_input_becomes_a_constant_and_leaves_the_inputs() {
    let m = import_with(&reduce_model(), &bind("axes", Tensor::from_vec(vec![1], vec![1i64]))).unwrap();
    let g = &m.graph;
    let ins: Vec<String> = g.inputs.iter().map(|i| g.display_name(*i)).collect();
    assert_eq!(ins, ["data"]);
    assert_eq!(g.ty(g.outputs[0]).shape, vec![2]);
}

#[test]
fn int_list_converts_to_the_declared_type() {
    // `--bind axes=1` gives an i64 vector; an i32 scalar input accepts it.
    let m = model(
        13,
        vec![node("Add", &["a", "b"], &["y"], vec![])],
        vec![vi("a", 6, &[]), vi("b", 6, &[])],
        vec![out("y")],
        vec![],
    );
    let g = import_with(&m, &bind("a", Tensor::from_vec(vec![1], vec![5i64]))).unwrap().graph;
    assert_eq!(g.inputs.len(), 1);
    let a = g.values.iter().find(|v| v.name == "a").unwrap();
    assert_eq!(a.konst.as_ref().unwrap(), &Tensor::scalar(5i32));
    // A value that does not fit is refused.
    let e = import_with(&m, &bind("a", Tensor::from_vec(vec![1], vec![1i64 << 40]))).unwrap_err();
    assert!(e.to_string().contains("do not fit"), "{e}");
}

#[test]
fn bad_bindings_are_errors() {
    let e = import_with(&reduce_model(), &bind("axis", Tensor::from_vec(vec![1], vec![1i64]))).unwrap_err();
    assert!(matches!(&e, FrontendError::BadBinding { input, .. } if input == "axis"), "{e:?}");
    assert!(e.to_string().contains("no such graph input (inputs: data, axes)"), "{e}");
    let e = import_with(&reduce_model(), &bind("axes", Tensor::from_vec(vec![1], vec![1.0f32]))).unwrap_err();
    assert!(e.to_string().contains("--bind `axes`: the input is i64[1]"), "{e}");
    let e = import_with(&reduce_model(), &bind("axes", Tensor::from_vec(vec![2], vec![0i64, 1]))).unwrap_err();
    assert!(e.to_string().contains("the value has shape [2]"), "{e}");
    let e = import_with(&reduce_model(), &bind("data", Tensor::zeros(onnxc_ir::TensorType::new(DType::F32, vec![3, 2]))))
        .unwrap_err();
    assert!(e.to_string().contains("shape [3, 2]"), "{e}");
}

#[test]
fn training_dropout_asks_for_its_mode_then_its_ratio() {
    let m = model(
        13,
        vec![node("Dropout", &["x", "r", "t"], &["y", "mask"], vec![])],
        vec![fixed("x", F32, &[2, 2]), vi("r", F32, &[]), vi("t", 9, &[])],
        vec![out("y"), out("mask")],
        vec![],
    );
    let graph_inputs = |e: FrontendError| match e {
        FrontendError::Shape(IrError::NeedsConstant { graph_inputs, .. }) => graph_inputs,
        e => panic!("expected NeedsConstant, got {e:?}"),
    };
    assert_eq!(graph_inputs(import(&m).unwrap_err()), ["t"]);
    let mut opts = bind("t", Tensor::scalar(true));
    assert_eq!(graph_inputs(import_with(&m, &opts).unwrap_err()), ["r"]);
    opts.bind_inputs.insert("r".into(), Tensor::scalar(0.0f32));
    let g = import_with(&m, &opts).unwrap().graph;
    assert_eq!(g.inputs.len(), 1);
    let mask = g.const_value(g.outputs[1]).expect("the mask is a constant");
    assert_eq!(mask.to_vec::<bool>(), vec![true; 4]);
    opts.bind_inputs.insert("r".into(), Tensor::scalar(0.5f32));
    assert!(import_with(&m, &opts).unwrap_err().to_string().contains("nonzero ratio is random"));
}
