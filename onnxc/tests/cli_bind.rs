//! `onnxc compile/run --bind`: a graph input that decides a shape is fixed
//! at compile time, the error without it says so, and the bound input leaves
//! the ABI.

use onnxc_frontend::proto::{
    tensor_shape_proto::dimension, tensor_shape_proto::Dimension, type_proto, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use prost::Message;
use std::path::Path;
use std::process::Command;

fn vi(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| Dimension { value: Some(dimension::Value::DimValue(d)), ..Default::default() })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// y = ReduceSum(data: f32[2,3], axes: i64[1]), keepdims=0.
fn write_model(dir: &Path) -> std::path::PathBuf {
    let node = NodeProto {
        name: Some("sum".into()),
        op_type: Some("ReduceSum".into()),
        input: vec!["data".into(), "axes".into()],
        output: vec!["y".into()],
        attribute: vec![onnxc_frontend::proto::AttributeProto {
            name: Some("keepdims".into()),
            r#type: Some(onnxc_frontend::proto::attribute_proto::AttributeType::Int as i32),
            i: Some(0),
            ..Default::default()
        }],
        ..Default::default()
    };
    let m = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(13) }],
        graph: Some(GraphProto {
            name: Some("g".into()),
            node: vec![node],
            input: vec![vi("data", 1, &[2, 3]), vi("axes", 7, &[1])],
            output: vec![ValueInfoProto { name: Some("y".into()), ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let path = dir.join("sum.onnx");
    std::fs::write(&path, m.encode_to_vec()).unwrap();
    path
}

fn onnxc(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_onnxc")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn compile_without_bind_suggests_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let obj = dir.path().join("m.o");
    let (ok, _, err) = onnxc(&["compile", model.to_str().unwrap(), "-o", obj.to_str().unwrap(), "-q"]);
    assert!(!ok);
    assert!(err.contains("node `sum` (ReduceSum): input `axes` must be a constant to compile ahead of time"), "{err}");
    assert!(err.contains("--bind axes=FILE.npy"), "{err}");
}

#[test]
fn bound_input_leaves_the_abi() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let obj = dir.path().join("m.o");
    let (ok, _, err) =
        onnxc(&["compile", model.to_str().unwrap(), "-o", obj.to_str().unwrap(), "--name", "m", "--bind", "axes=1", "-q"]);
    assert!(ok, "{err}");
    let header = std::fs::read_to_string(dir.path().join("m.h")).unwrap();
    assert!(header.contains("#define M_NUM_INPUTS 1"), "{header}");
    assert!(header.contains("Bound at compile time (--bind), so not part of the ABI: axes."), "{header}");

    // `run` with the binding from an .npy file: the sum over axis 1.
    let data = onnxc_ir::Tensor::from_vec(vec![2, 3], vec![1.0f32, 2., 3., 4., 5., 6.]);
    let axes = onnxc_ir::Tensor::from_vec(vec![1], vec![1i64]);
    std::fs::write(dir.path().join("data.npy"), onnxc::npy::write(&data).unwrap()).unwrap();
    std::fs::write(dir.path().join("axes.npy"), onnxc::npy::write(&axes).unwrap()).unwrap();
    let d = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    let (ok, _, err) = onnxc(&[
        "run",
        model.to_str().unwrap(),
        "--bind",
        &format!("axes={}", d("axes.npy")),
        "--input",
        &format!("data={}", d("data.npy")),
        "--output-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let y = onnxc::npy::read(&std::fs::read(dir.path().join("y.npy")).unwrap()).unwrap();
    assert_eq!(y.to_vec::<f32>(), vec![6.0, 15.0]);
}

#[test]
fn bad_bind_flags() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let m = model.to_str().unwrap();
    let (ok, _, err) = onnxc(&["compile", m, "--bind", "nope=1", "-q"]);
    assert!(!ok && err.contains("--bind `nope`: the model has no such graph input"), "{err}");
    let (ok, _, err) = onnxc(&["compile", m, "--bind", "axes=1.5", "-q"]);
    assert!(!ok && err.contains("neither an .npy file nor a comma-separated list of integers"), "{err}");
    let (ok, _, err) = onnxc(&["compile", m, "--bind", "axes=0,1", "-q"]);
    assert!(!ok && err.contains("the value has shape [2]"), "{err}");
    let (ok, out, _) = onnxc(&["compile", "--help"]);
    assert!(ok && out.contains("--bind") && out.contains("must be a constant to compile ahead of time"), "{out}");
}
