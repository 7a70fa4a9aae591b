//! Import of the loss, quantization and recurrent ops: output dtypes,
//! expansions and omitted outputs.

mod common;
use common::*;
use onnxc_ir::op::{LossReduction, RnnCell};
use onnxc_ir::{DType, Op};

#[test]
fn quantize_output_dtype_resolution() {
    let q = |attrs| {
        let n = node("QuantizeLinear", &["x", "s"], &["y"], attrs);
        let m = model(21, vec![n], vec![fixed("x", F32, &[2, 3])], vec![out("y")], vec![raw_f32("s", &[], &[0.5])]);
        import(&m)
    };
    let g = q(vec![]).unwrap().graph;
    assert_eq!(g.ty(g.outputs[0]).dtype, DType::U8);
    let g = q(vec![a_int("output_dtype", 5)]).unwrap().graph;
    assert_eq!(g.ty(g.outputs[0]).dtype, DType::I16);
    let g = q(vec![a_int("output_dtype", 17)]).unwrap().graph;
    assert_eq!(g.ty(g.outputs[0]).dtype, DType::F8E4M3FN);
    // FLOAT6E2M3 (27) has no IR dtype.
    let e = q(vec![a_int("output_dtype", 27)]).unwrap_err().to_string();
    assert!(e.contains("unsupported dtype code 27"), "{e}");
}

#[test]
fn softmax_cross_entropy_is_log_softmax_then_nll() {
    let n = node(
        "SoftmaxCrossEntropyLoss",
        &["x", "t"],
        &["loss", "log_prob"],
        vec![a_str("reduction", "sum"), a_int("ignore_index", -1)],
    );
    let m = model(13, vec![n], vec![fixed("x", F32, &[3, 5, 2]), fixed("t", I64, &[3, 2])], vec![out("loss"), out("log_prob")], vec![]);
    let g = import(&m).unwrap().graph;
    let ops: Vec<&Op> = g.nodes.iter().map(|n| &n.op).collect();
    assert_eq!(ops[0], &Op::LogSoftmax { axis: 1 });
    assert_eq!(ops[1], &Op::NegativeLogLikelihoodLoss { reduction: LossReduction::Sum, ignore_index: Some(-1) });
    assert_eq!(g.ty(g.outputs[0]).shape, Vec::<usize>::new());
    assert_eq!(g.ty(g.outputs[1]).shape, vec![3, 5, 2]);
}

fn gru_model(outputs: &[&str], attrs: Vec<onnxc_frontend::proto::AttributeProto>) -> onnxc_frontend::proto::ModelProto {
    let n = node("GRU", &["x", "w", "r"], outputs, attrs);
    let ins = vec![fixed("x", F32, &[4, 2, 3]), fixed("w", F32, &[1, 15, 3]), fixed("r", F32, &[1, 15, 5])];
    let outs = outputs.iter().filter(|o| !o.is_empty()).map(|o| out(o)).collect();
    model(14, vec![n], ins, outs, vec![])
}

#[test]
fn recurrent_with_omitted_outputs() {
    let g = import(&gru_model(&["", "y_h"], vec![a_int("hidden_size", 5)])).unwrap().graph;
    assert_eq!(g.nodes.len(), 1);
    let Op::Recurrent(a) = &g.nodes[0].op else { panic!("{:?}", g.nodes[0].op) };
    assert_eq!((a.cell, a.hidden_size, a.batch_major), (RnnCell::Gru, 5, false));
    // Y and the scratch state exist in the IR even though the model omits them.
    assert_eq!(g.nodes[0].outputs.len(), 3);
    assert_eq!(g.ty(g.outputs[0]).shape, vec![1, 2, 5]);
}

#[test]
fn recurrent_rejects_non_default_activations() {
    let acts = onnxc_frontend::proto::AttributeProto {
        name: Some("activations".into()),
        r#type: Some(onnxc_frontend::proto::attribute_proto::AttributeType::Strings as i32),
        strings: vec![bytes::Bytes::from_static(b"Relu"), bytes::Bytes::from_static(b"Tanh")],
        ..Default::default()
    };
    let e = import(&gru_model(&["y"], vec![a_int("hidden_size", 5), acts])).unwrap_err().to_string();
    assert!(e.contains("only the defaults"), "{e}");
}
