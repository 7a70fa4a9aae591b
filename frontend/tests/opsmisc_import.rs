//! Import of GridSample/TfIdfVectorizer attributes and the training-mode
//! BatchNormalization expansion.

mod common;
use common::*;
use onnxc_frontend::FrontendError;
use onnxc_ir::op::{GridPadding, ResizeMode};
use onnxc_ir::{Op, Tensor};

#[test]
fn grid_sample_16_and_20_mode_names() {
    for (opset, mode, want) in [(16, "bilinear", ResizeMode::Linear), (20, "cubic", ResizeMode::Cubic), (16, "bicubic", ResizeMode::Cubic)] {
        let n = node("GridSample", &["x", "g"], &["y"], vec![a_str("mode", mode), a_str("padding_mode", "reflection"), a_int("align_corners", 1)]);
        let m = model(opset, vec![n], vec![fixed("x", F32, &[1, 1, 4, 4]), fixed("g", F32, &[1, 2, 3, 2])], vec![out("y")], vec![]);
        let g = import(&m).unwrap().graph;
        assert_eq!(g.nodes[0].op, Op::GridSample { mode: want, padding: GridPadding::Reflection, align_corners: true });
        assert_eq!(g.ty(g.outputs[0]).shape, vec![1, 1, 2, 3]);
    }
}

#[test]
fn tfidf_string_pools_are_rejected() {
    let mut a = a_str("pool_strings", "x");
    a.r#type = Some(onnxc_frontend::proto::attribute_proto::AttributeType::Strings as i32);
    a.s = None;
    a.strings = vec![bytes::Bytes::from_static(b"a")];
    let n = node("TfIdfVectorizer", &["x"], &["y"], vec![a_str("mode", "TF"), a, a_int("min_gram_length", 1), a_int("max_gram_length", 1), a_int("max_skip_count", 0)]);
    let m = model(20, vec![n], vec![fixed("x", 6 /* INT32 */, &[4])], vec![out("y")], vec![]);
    assert!(matches!(import(&m), Err(FrontendError::BadAttribute { .. })));
}

#[test]
fn batch_norm_training_mode_uses_batch_statistics() {
    let n = node("BatchNormalization", &["x", "s", "b", "m", "v"], &["y", "rm", "rv"], vec![a_int("training_mode", 1), a_float("momentum", 0.5), a_float("epsilon", 0.0)]);
    let inits = vec![raw_f32("s", &[1], &[1.0]), raw_f32("b", &[1], &[0.0]), raw_f32("m", &[1], &[10.0]), raw_f32("v", &[1], &[2.0])];
    let m = model(15, vec![n], vec![fixed("x", F32, &[2, 1, 2])], vec![out("y"), out("rm"), out("rv")], inits);
    let g = import(&m).unwrap().graph;
    let x = Tensor::from_vec(&[2, 1, 2][..], vec![1f32, 3., 5., 7.]);
    let r = onnxc_ir::eval::eval_graph(&g, &[x]).unwrap();
    // Batch mean 4, biased variance 5.
    let y = r[0].to_vec::<f32>();
    let want = [-3.0 / 5f32.sqrt(), -1.0 / 5f32.sqrt(), 1.0 / 5f32.sqrt(), 3.0 / 5f32.sqrt()];
    assert!(y.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{y:?}");
    assert_eq!(r[1].to_vec::<f32>(), vec![7.0]);
    assert_eq!(r[2].to_vec::<f32>(), vec![3.5]);
}

#[test]
fn ml_domain_ops_import_without_default_opset() {
    use onnxc_frontend::proto::OperatorSetIdProto;
    let mut n = node("Binarizer", &["x"], &["y"], vec![a_float("threshold", 0.5)]);
    n.domain = Some("ai.onnx.ml".into());
    let mut m = model(13, vec![n], vec![fixed("x", F32, &[3])], vec![out("y")], vec![]);
    m.opset_import = vec![OperatorSetIdProto { domain: Some("ai.onnx.ml".into()), version: Some(1) }];
    let g = import(&m).unwrap().graph;
    let x = Tensor::from_vec(&[3][..], vec![0.2f32, 0.5, 0.7]);
    let r = onnxc_ir::eval::eval_graph(&g, &[x]).unwrap();
    assert_eq!(r[0].to_vec::<f32>(), vec![0.0, 0.0, 1.0]);
    // The same op type without the ml domain is not an ONNX op.
    let plain = model(13, vec![node("Binarizer", &["x"], &["y"], vec![])], vec![fixed("x", F32, &[3])], vec![out("y")], vec![]);
    assert!(matches!(import(&plain), Err(FrontendError::Unsupported { .. })));
}

#[test]
fn max_pool_column_major_indices() {
    let n = node("MaxPool", &["x"], &["y", "i"], vec![a_ints("kernel_shape", &[2, 2]), a_ints("strides", &[1, 1]), a_int("storage_order", 1)]);
    let m = model(12, vec![n], vec![fixed("x", F32, &[1, 1, 2, 3])], vec![out("y"), out("i")], vec![]);
    let g = import(&m).unwrap().graph;
    // Maxima at (1, 1) and (0, 2): column-major 1*2+1 = 3 and 2*2+0 = 4.
    let x = Tensor::from_vec(&[1, 1, 2, 3][..], vec![1f32, 2., 9., 3., 8., 4.]);
    let r = onnxc_ir::eval::eval_graph(&g, &[x]).unwrap();
    assert_eq!(r[0].to_vec::<f32>(), vec![8.0, 9.0]);
    assert_eq!(r[1].to_vec::<i64>(), vec![3, 4]);
}
