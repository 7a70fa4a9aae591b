//! ONNX protobuf → onnxc graph IR.
//!
//! [`load_model`] / [`import_bytes`] decode a model, normalize every supported
//! opset (7..=23) onto `onnxc_ir::Op`, turn initializers (raw, typed, external)
//! and `Constant` nodes into constants, bind symbolic input dims from
//! [`ImportOptions::input_shapes`], and fold constant subgraphs eagerly so that
//! shape-carrying inputs (Reshape's shape, ...) are constants.
//! [`summarize`] describes a model for `onnxc inspect`, even one that cannot
//! be imported.

mod bind;
mod boundary;
mod error;
mod import;
mod ops;
pub mod proto;
mod summary;
mod tensor;

pub use error::{FrontendError, UnsupportedNode};
pub use summary::{summarize, Dim, IoSummary, ModelSummary};
pub use tensor::MAX_TENSOR_BYTES;

use bytes::Bytes;
use onnxc_ir::Graph;
use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Input name → concrete dims, for inputs with symbolic or missing dims
    /// (`--input-shape name=1x3x224x224`).
    pub input_shapes: HashMap<String, Vec<usize>>,
    /// Evaluate nodes whose inputs are all constant at import (default true).
    pub fold_constants: bool,
    /// Graph inputs bound to values at compile time (`--bind name=FILE.npy`):
    /// each becomes a constant before shape inference and folding, and is no
    /// longer a graph input (nor part of the compiled ABI). Needed where an
    /// input decides an output shape (a Reshape's shape, a Reduce's axes...).
    /// The tensor must have the input's declared type; an int64 vector (the
    /// `--bind name=1,2` form) is also accepted for an input of another
    /// numeric dtype or shape with as many elements, if its values convert
    /// exactly. A uint16 tensor binds a bfloat16 input bit for bit (numpy
    /// has no bfloat16).
    pub bind_inputs: HashMap<String, onnxc_ir::Tensor>,
    /// Sequence-typed graph inputs (and optional inputs holding a sequence):
    /// name → the dims of each element, so the length is the number of
    /// entries (`--input-seq x=3x4,3x4`, `x=` for an empty sequence). A
    /// sequence of length N is N ordinary ABI inputs named `x.0` .. `x.N-1`;
    /// the element dtype comes from the model.
    pub sequence_inputs: HashMap<String, Vec<Vec<usize>>>,
    /// Optional-typed graph inputs compiled as absent (`--absent-input x`):
    /// they get no ABI slot and `OptionalHasElement` of them is false. An
    /// optional input not listed here is present (a plain tensor or, with
    /// `sequence_inputs`, a sequence).
    pub absent_inputs: std::collections::HashSet<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            input_shapes: HashMap::new(),
            fold_constants: true,
            bind_inputs: HashMap::new(),
            sequence_inputs: HashMap::new(),
            absent_inputs: Default::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Model {
    pub graph: Graph,
    /// Version of the default (`ai.onnx`) opset the model was written for.
    pub opset: i64,
    pub producer: String,
    pub ir_version: i64,
    /// One line per sequence or optional graph input/output saying how it
    /// crosses the C ABI (flattened into `x.0`.., absent: no slot), for the
    /// generated header.
    pub boundary: Vec<String>,
}

/// Reads the model file once and imports it; external data is resolved
/// relative to the file's directory.
pub fn load_model(path: &Path, opts: &ImportOptions) -> Result<Model, FrontendError> {
    let data = std::fs::read(path)
        .map_err(|e| FrontendError::Io { path: path.to_path_buf(), source: e })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    import_bytes(Bytes::from(data), Some(dir), opts)
}

/// Imports a serialized `ModelProto`. `base_dir` locates external data
/// (`None`: models with external data are rejected).
pub fn import_bytes(
    data: Bytes,
    base_dir: Option<&Path>,
    opts: &ImportOptions,
) -> Result<Model, FrontendError> {
    import::import(data, base_dir, opts)
}

/// Every op type of the default ONNX domain the frontend imports, sorted.
pub fn supported_ops() -> Vec<&'static str> {
    ops::supported_ops()
}

/// True if the frontend can import `op_type` of `domain` (`""`/`"ai.onnx"`).
pub fn is_supported_op(domain: &str, op_type: &str) -> bool {
    ops::is_supported(domain, op_type)
}
