//! Initializers in every storage form, external data and Constant nodes.

mod common;
use bytes::Bytes;
use common::*;
use half::{bf16, f16};
use onnxc_frontend::proto::{
    tensor_proto::DataLocation, tensor_proto::DataType, StringStringEntryProto, TensorProto,
};
use onnxc_frontend::{import_bytes, load_model, FrontendError, ImportOptions};
use onnxc_ir::{DType, Op};
use prost::Message;
use std::path::PathBuf;

fn typed(name: &str, dt: DataType, dims: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        data_type: Some(dt as i32),
        dims: dims.to_vec(),
        ..Default::default()
    }
}

#[test]
fn raw_data_is_zero_copy() {
    let m = const_model(raw_f32("w", &[2, 2], &[1.0, 2.0, 3.0, 4.0]));
    let data = encode(&m);
    let range = data.as_ptr() as usize..data.as_ptr() as usize + data.len();
    let model = import_bytes(data.clone(), None, &ImportOptions::default()).unwrap();
    let t = output_const(&model, 0);
    assert_eq!(t.to_vec::<f32>(), vec![1.0, 2.0, 3.0, 4.0]);
    assert!(range.contains(&(t.bytes().as_ptr() as usize)), "raw_data was copied");
    assert_eq!(model.producer, "frontend-tests");
    assert_eq!(model.opset, 13);
}

#[test]
fn float_double_int64_fields() {
    let mut f = typed("f", DataType::Float, &[3]);
    f.float_data = vec![1.5, -2.0, 3.25];
    let mut d = typed("d", DataType::Double, &[2]);
    d.double_data = vec![0.5, 1e300];
    let i = i64s("i", &[-7, 1 << 40]);
    let m = model(13, vec![], vec![], vec![out("f"), out("d"), out("i")], vec![f, d, i]);
    let g = import(&m).unwrap();
    assert_eq!(output_const(&g, 0).to_vec::<f32>(), vec![1.5, -2.0, 3.25]);
    assert_eq!(output_const(&g, 1).to_vec::<f64>(), vec![0.5, 1e300]);
    assert_eq!(output_const(&g, 2).to_vec::<i64>(), vec![-7, 1 << 40]);
}

#[test]
fn int32_data_holds_narrow_types() {
    let cases: Vec<(DataType, Vec<i32>)> = vec![
        (DataType::Int8, vec![-128, 127]),
        (DataType::Uint8, vec![0, 255]),
        (DataType::Int16, vec![-32768, 32767]),
        (DataType::Uint16, vec![0, 65535]),
        (DataType::Int32, vec![i32::MIN, i32::MAX]),
        (DataType::Bool, vec![0, 1]),
        (
            DataType::Float16,
            vec![f16::from_f32(1.5).to_bits() as i32, f16::from_f32(-2.0).to_bits() as i32],
        ),
        (
            DataType::Bfloat16,
            vec![bf16::from_f32(1.5).to_bits() as i32, bf16::from_f32(-2.0).to_bits() as i32],
        ),
    ];
    for (dt, vals) in cases {
        let mut t = typed("t", dt, &[2]);
        t.int32_data = vals.clone();
        let g = import(&const_model(t)).unwrap_or_else(|e| panic!("{dt:?}: {e}"));
        let got = output_const(&g, 0).to_f64_vec();
        let want: Vec<f64> = match dt {
            DataType::Float16 | DataType::Bfloat16 => vec![1.5, -2.0],
            _ => vals.iter().map(|&v| v as f64).collect(),
        };
        assert_eq!(got, want, "{dt:?}");
    }
}

#[test]
fn uint64_data_holds_u32_and_u64() {
    let mut a = typed("a", DataType::Uint32, &[2]);
    a.uint64_data = vec![0, u32::MAX as u64];
    let mut b = typed("b", DataType::Uint64, &[1]);
    b.uint64_data = vec![u64::MAX];
    let g = import(&model(13, vec![], vec![], vec![out("a"), out("b")], vec![a, b])).unwrap();
    assert_eq!(output_const(&g, 0).to_vec::<u32>(), vec![0, u32::MAX]);
    assert_eq!(output_const(&g, 1).to_vec::<u64>(), vec![u64::MAX]);
}

#[test]
fn element_count_mismatch_is_an_error() {
    let mut t = typed("t", DataType::Float, &[1000, 1000, 1000]);
    t.float_data = vec![1.0];
    let e = import(&const_model(t)).unwrap_err();
    assert!(matches!(e, FrontendError::Invalid(_)), "{e}");
    let e = import(&const_model(raw_f32("r", &[3], &[1.0, 2.0]))).unwrap_err();
    assert!(e.to_string().contains("`r`"), "{e}");
}

#[test]
fn absurd_dims_are_rejected_without_allocating() {
    let t = raw_f32("huge", &[1 << 40, 1 << 40], &[1.0]);
    let e = import(&const_model(t)).unwrap_err();
    assert!(e.to_string().contains("absurdly large"), "{e}");
    let t = raw_f32("neg", &[-1], &[]);
    assert!(import(&const_model(t)).is_err());
}

#[test]
fn initializer_that_is_also_an_input_is_a_constant() {
    let m = model(
        13,
        vec![node("Identity", &["w"], &["y"], vec![])],
        vec![fixed("w", F32, &[2])],
        vec![out("y")],
        vec![raw_f32("w", &[2], &[1.0, 2.0])],
    );
    let g = import(&m).unwrap();
    assert!(g.graph.inputs.is_empty());
    // Identity on a constant folds away.
    assert!(g.graph.nodes.is_empty());
    assert_eq!(output_const(&g, 0).to_vec::<f32>(), vec![1.0, 2.0]);
}

#[test]
fn constant_nodes() {
    let nodes = vec![
        node("Constant", &[], &["t"], vec![a_tensor("value", raw_f32("", &[2], &[1.0, 2.0]))]),
        node("Constant", &[], &["f"], vec![a_float("value_float", 2.5)]),
        node("Constant", &[], &["fs"], vec![a_floats("value_floats", &[1.0, 2.0, 3.0])]),
        node("Constant", &[], &["i"], vec![a_int("value_int", 7)]),
        node("Constant", &[], &["is"], vec![a_ints("value_ints", &[4, 5])]),
    ];
    let outs = ["t", "f", "fs", "i", "is"].map(out).to_vec();
    let g = import(&model(13, nodes, vec![], outs, vec![])).unwrap();
    assert!(g.graph.nodes.is_empty());
    assert_eq!(output_const(&g, 0).to_vec::<f32>(), vec![1.0, 2.0]);
    assert_eq!(output_const(&g, 1).shape(), &[] as &[usize]);
    assert_eq!(output_const(&g, 1).to_vec::<f32>(), vec![2.5]);
    assert_eq!(output_const(&g, 2).to_vec::<f32>(), vec![1.0, 2.0, 3.0]);
    assert_eq!(output_const(&g, 3).to_vec::<i64>(), vec![7]);
    assert_eq!(output_const(&g, 4).to_vec::<i64>(), vec![4, 5]);
    assert_eq!(g.graph.value(g.graph.outputs[4]).name, "is");
}

#[test]
fn constant_without_value_is_an_error() {
    let m = model(
        13,
        vec![node("Constant", &[], &["c"], vec![a_str("value_string", "x")])],
        vec![],
        vec![out("c")],
        vec![],
    );
    let e = import(&m).unwrap_err();
    assert!(
        matches!(e, FrontendError::BadAttribute { ref attr, .. } if attr == "value_string"),
        "{e}"
    );
}

// ---- external data ------------------------------------------------------

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("onnxc-frontend-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn external(name: &str, dims: &[i64], kv: &[(&str, &str)]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        data_type: Some(F32),
        dims: dims.to_vec(),
        data_location: Some(DataLocation::External as i32),
        external_data: kv
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: Some(k.to_string()),
                value: Some(v.to_string()),
            })
            .collect(),
        ..Default::default()
    }
}

fn write_model(dir: &std::path::Path, m: &onnxc_frontend::proto::ModelProto) -> PathBuf {
    let p = dir.join("model.onnx");
    std::fs::write(&p, m.encode_to_vec()).unwrap();
    p
}

#[test]
fn external_data_with_offset_and_length() {
    let dir = temp_dir("ext");
    let mut blob = vec![0xAAu8; 8];
    for v in [1.0f32, 2.0, 3.0] {
        blob.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::create_dir_all(dir.join("weights")).unwrap();
    std::fs::write(dir.join("weights/w.bin"), &blob).unwrap();
    let a =
        external("a", &[3], &[("location", "weights/w.bin"), ("offset", "8"), ("length", "12")]);
    let b = external("b", &[2], &[("location", "./weights/w.bin"), ("offset", "12")]);
    let m = model(13, vec![], vec![], vec![out("a"), out("b")], vec![a, b]);
    let g = load_model(&write_model(&dir, &m), &ImportOptions::default()).unwrap();
    assert_eq!(output_const(&g, 0).to_vec::<f32>(), vec![1.0, 2.0, 3.0]);
    assert_eq!(output_const(&g, 1).to_vec::<f32>(), vec![2.0, 3.0]);
    // Without a base directory, external data cannot be found.
    let e = import_bytes(encode(&m), None, &ImportOptions::default()).unwrap_err();
    assert!(matches!(e, FrontendError::ExternalData { .. }), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn external_data_errors() {
    let dir = temp_dir("ext-err");
    std::fs::write(dir.join("w.bin"), [0u8; 16]).unwrap();
    let cases = [
        ("past end", external("t", &[4], &[("location", "w.bin"), ("offset", "4")])),
        (
            "overflow",
            external(
                "t",
                &[2],
                &[("location", "w.bin"), ("offset", "18446744073709551615"), ("length", "8")],
            ),
        ),
        ("wrong length", external("t", &[4], &[("location", "w.bin"), ("length", "12")])),
        ("escape", external("t", &[4], &[("location", "../w.bin")])),
        ("absolute", external("t", &[4], &[("location", "/etc/passwd")])),
        ("no location", external("t", &[4], &[("offset", "0")])),
        ("bad number", external("t", &[4], &[("location", "w.bin"), ("offset", "-3")])),
    ];
    for (what, t) in cases {
        let e =
            load_model(&write_model(&dir, &const_model(t)), &ImportOptions::default()).unwrap_err();
        assert!(matches!(e, FrontendError::ExternalData { .. }), "{what}: {e}");
    }
    let missing = external("t", &[4], &[("location", "nope.bin")]);
    let e = load_model(&write_model(&dir, &const_model(missing)), &ImportOptions::default())
        .unwrap_err();
    assert!(matches!(e, FrontendError::Io { .. }), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn constant_of_shape_folds_to_a_weight() {
    let value = TensorProto {
        data_type: Some(F32),
        dims: vec![1],
        float_data: vec![0.5],
        ..Default::default()
    };
    let m = model(
        9,
        vec![
            node("Constant", &[], &["s"], vec![a_tensor("value", i64s("", &[2, 3]))]),
            node("ConstantOfShape", &["s"], &["w"], vec![a_tensor("value", value)]),
        ],
        vec![],
        vec![out("w")],
        vec![],
    );
    let g = import(&m).unwrap();
    assert!(g.graph.nodes.iter().all(|n| !matches!(n.op, Op::ConstantOfShape { .. })));
    let w = output_const(&g, 0);
    assert_eq!(w.ty().dtype, DType::F32);
    assert_eq!(w.shape(), &[2, 3]);
    assert_eq!(w.to_vec::<f32>(), vec![0.5; 6]);
    let _ = Bytes::new();
}
