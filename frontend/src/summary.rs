//! `onnxc inspect`: what a model declares, computed from the protobuf alone
//! so that it works on models the compiler cannot import.

use crate::error::{FrontendError, UnsupportedNode};
use crate::import::{decode, default_opset, unsupported_nodes};
use crate::proto::{tensor_proto, tensor_shape_proto::dimension, type_proto, ValueInfoProto};
use bytes::Bytes;
use std::collections::{BTreeMap, HashSet};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dim {
    Fixed(i64),
    Symbolic(String),
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoSummary {
    pub name: String,
    /// ONNX element type name (`FLOAT`, `INT64`, ...), `seq(FLOAT)` /
    /// `optional(..)` for sequences and optionals, or `?` for other non-tensors.
    pub elem_type: String,
    /// `None` if the model declares no shape at all.
    pub dims: Option<Vec<Dim>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSummary {
    pub ir_version: i64,
    /// Default-domain opset version, if the model imports one.
    pub opset: Option<i64>,
    pub producer: String,
    /// Graph inputs that are not initializers.
    pub inputs: Vec<IoSummary>,
    pub outputs: Vec<IoSummary>,
    pub initializer_count: usize,
    /// op_type → node count (op types of foreign domains are `domain::op`).
    pub op_histogram: BTreeMap<String, usize>,
    /// Every node the frontend cannot import.
    pub unsupported: Vec<UnsupportedNode>,
}

pub fn summarize(data: &[u8]) -> Result<ModelSummary, FrontendError> {
    let mut m = decode(Bytes::copy_from_slice(data))?;
    let g = m.graph.take().unwrap_or_default();
    let inits: HashSet<&str> = g.initializer.iter().filter_map(|t| t.name.as_deref()).collect();
    let mut op_histogram = BTreeMap::new();
    for n in &g.node {
        let op = n.op_type.as_deref().unwrap_or("");
        let key = match n.domain.as_deref().unwrap_or("") {
            "" | "ai.onnx" => op.to_string(),
            d => format!("{d}::{op}"),
        };
        *op_histogram.entry(key).or_insert(0) += 1;
    }
    Ok(ModelSummary {
        ir_version: m.ir_version.unwrap_or(0),
        opset: default_opset(&m),
        producer: m.producer_name.clone().unwrap_or_default(),
        inputs: g
            .input
            .iter()
            .filter(|v| !inits.contains(v.name.as_deref().unwrap_or("")))
            .map(io_summary)
            .collect(),
        outputs: g.output.iter().map(io_summary).collect(),
        initializer_count: g.initializer.len(),
        op_histogram,
        unsupported: unsupported_nodes(&g.node),
    })
}

fn io_summary(v: &ValueInfoProto) -> IoSummary {
    let name = v.name.clone().unwrap_or_default();
    let (elem_type, dims) = type_summary(v.r#type.as_ref().and_then(|t| t.value.as_ref()));
    IoSummary { name, elem_type, dims }
}

/// Element type name and dims of a tensor type; sequences and optionals are
/// described by what they hold (`seq(FLOAT)`, `optional(seq(FLOAT))`) with
/// the dims of their elements.
fn type_summary(ty: Option<&type_proto::Value>) -> (String, Option<Vec<Dim>>) {
    let inner = |t: &Option<Box<crate::proto::TypeProto>>| type_summary(t.as_deref().and_then(|t| t.value.as_ref()));
    let t = match ty {
        Some(type_proto::Value::TensorType(t)) => t,
        Some(type_proto::Value::SequenceType(s)) => {
            let (e, d) = inner(&s.elem_type);
            return (format!("seq({e})"), d);
        }
        Some(type_proto::Value::OptionalType(o)) => {
            let (e, d) = inner(&o.elem_type);
            return (format!("optional({e})"), d);
        }
        _ => return ("?".into(), None),
    };
    let code = t.elem_type.unwrap_or(0);
    let elem_type = tensor_proto::DataType::try_from(code)
        .map(|d| d.as_str_name().to_string())
        .unwrap_or_else(|_| format!("code {code}"));
    let dims = t.shape.as_ref().map(|s| {
        s.dim
            .iter()
            .map(|d| match &d.value {
                Some(dimension::Value::DimValue(v)) => Dim::Fixed(*v),
                Some(dimension::Value::DimParam(p)) if !p.is_empty() => Dim::Symbolic(p.clone()),
                _ => Dim::Unknown,
            })
            .collect()
    });
    (elem_type, dims)
}
