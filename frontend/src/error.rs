//! The frontend's error type. Every node-level error names the node and its
//! op type so a user can find it in their model.

use onnxc_ir::IrError;
use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// A node the compiler cannot import (unknown op or foreign domain).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsupportedNode {
    pub name: String,
    pub op_type: String,
    /// `""` for the default ONNX domain.
    pub domain: String,
}

impl fmt::Display for UnsupportedNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.domain.is_empty() || self.domain == "ai.onnx" {
            write!(f, "`{}` ({})", self.name, self.op_type)
        } else {
            write!(f, "`{}` ({}::{})", self.name, self.domain, self.op_type)
        }
    }
}

fn list_nodes(nodes: &[UnsupportedNode]) -> String {
    nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
}

#[derive(Debug, Error)]
pub enum FrontendError {
    #[error("cannot decode the ONNX protobuf: {0}")]
    Decode(String),
    #[error("{} unsupported node(s): {}", nodes.len(), list_nodes(nodes))]
    Unsupported { nodes: Vec<UnsupportedNode> },
    #[error("unsupported opset {version} for domain `{domain}` (supported: ai.onnx 7..=28)")]
    UnsupportedOpset { domain: String, version: i64 },
    #[error(
        "node `{node}` reads `{name}`, which is not defined (missing initializer or graph input?)"
    )]
    MissingInput { node: String, name: String },
    #[error("node `{node}` ({op}): attribute `{attr}`: {msg}")]
    BadAttribute { node: String, op: String, attr: String, msg: String },
    /// A node whose form the compiler does not support (training outputs, ...).
    #[error("node `{node}` ({op}): {msg}")]
    BadNode { node: String, op: String, msg: String },
    #[error("{0}")]
    Shape(#[from] IrError),
    /// A malformed model: bad tensor data, bad types, duplicate definitions.
    #[error("invalid model: {0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("external data of tensor `{tensor}`: {msg}")]
    ExternalData { tensor: String, msg: String },
    #[error(
        "graph input `{input}` has unbound dim {dim} ({symbol}); bind it with --input-shape {suggestion}"
    )]
    UnboundDim { input: String, dim: usize, symbol: String, suggestion: String },
    /// `--bind` value that does not fit the model.
    #[error("--bind `{input}`: {msg}")]
    BadBinding { input: String, msg: String },
    /// `--input-shape` binding that does not fit the model.
    #[error("--input-shape for `{input}`: {msg}")]
    BadInputShape { input: String, msg: String },
}
