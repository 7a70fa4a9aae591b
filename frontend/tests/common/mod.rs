//! Builders for small ONNX models made directly from the prost structs.
#![allow(dead_code)]

use bytes::Bytes;
use onnxc_frontend::proto::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension,
    tensor_shape_proto::Dimension, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use onnxc_frontend::{import_bytes, FrontendError, ImportOptions, Model};
use prost::Message;

pub const F32: i32 = DataType::Float as i32;
pub const I64: i32 = DataType::Int64 as i32;

/// A dim: positive = fixed, otherwise symbolic with this name.
pub enum D {
    N(i64),
    S(&'static str),
}

pub fn vi(name: &str, elem: i32, dims: &[D]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                D::N(v) => dimension::Value::DimValue(*v),
                D::S(s) => dimension::Value::DimParam(s.to_string()),
            }),
            ..Default::default()
        })
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

pub fn fixed(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
    vi(name, elem, &dims.iter().map(|&d| D::N(d)).collect::<Vec<_>>())
}

/// An output declaration (the frontend only uses its name).
pub fn out(name: &str) -> ValueInfoProto {
    ValueInfoProto { name: Some(name.into()), ..Default::default() }
}

pub fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: Some(format!("{op}_{}", outputs.first().copied().unwrap_or(""))),
        op_type: Some(op.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

fn attr(name: &str, ty: AttributeType) -> AttributeProto {
    AttributeProto { name: Some(name.into()), r#type: Some(ty as i32), ..Default::default() }
}
pub fn a_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { i: Some(v), ..attr(name, AttributeType::Int) }
}
pub fn a_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { ints: v.to_vec(), ..attr(name, AttributeType::Ints) }
}
pub fn a_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto { f: Some(v), ..attr(name, AttributeType::Float) }
}
pub fn a_floats(name: &str, v: &[f32]) -> AttributeProto {
    AttributeProto { floats: v.to_vec(), ..attr(name, AttributeType::Floats) }
}
pub fn a_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        s: Some(Bytes::copy_from_slice(v.as_bytes())),
        ..attr(name, AttributeType::String)
    }
}
pub fn a_tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto { t: Some(t), ..attr(name, AttributeType::Tensor) }
}

pub fn raw(name: &str, elem: i32, dims: &[i64], bytes: Vec<u8>) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        data_type: Some(elem),
        dims: dims.to_vec(),
        raw_data: Some(Bytes::from(bytes)),
        ..Default::default()
    }
}

pub fn raw_f32(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
    raw(name, F32, dims, v.iter().flat_map(|x| x.to_le_bytes()).collect())
}

pub fn i64s(name: &str, v: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        data_type: Some(I64),
        dims: vec![v.len() as i64],
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

pub fn model(
    opset: i64,
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    inits: Vec<TensorProto>,
) -> ModelProto {
    ModelProto {
        ir_version: Some(8),
        producer_name: Some("frontend-tests".into()),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(opset),
        }],
        graph: Some(GraphProto {
            name: Some("g".into()),
            node: nodes,
            input: inputs,
            output: outputs,
            initializer: inits,
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn encode(m: &ModelProto) -> Bytes {
    Bytes::from(m.encode_to_vec())
}

pub fn import(m: &ModelProto) -> Result<Model, FrontendError> {
    import_bytes(encode(m), None, &ImportOptions::default())
}

pub fn import_with(m: &ModelProto, opts: &ImportOptions) -> Result<Model, FrontendError> {
    import_bytes(encode(m), None, opts)
}

/// A graph that just returns `t` through Identity, to test tensor decoding
/// with as few shape rules as possible.
pub fn const_model(t: TensorProto) -> ModelProto {
    let name = t.name.clone().unwrap_or_default();
    model(13, vec![], vec![], vec![out(&name)], vec![t])
}

/// The constant value of the first graph output.
pub fn output_const(m: &Model, i: usize) -> onnxc_ir::Tensor {
    let id = m.graph.outputs[i];
    m.graph.const_value(id).cloned().expect("output is a constant")
}
