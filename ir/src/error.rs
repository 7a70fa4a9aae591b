use thiserror::Error;

/// Errors raised by the IR itself: type inference, verification, the textual
/// form and the reference evaluator. Node-level errors carry the node's name
/// and op so a user can find it in their model.
#[derive(Debug, Error)]
pub enum IrError {
    #[error("node `{node}` ({op}): {msg}")]
    Node { node: String, op: String, msg: String },
    /// A node input that must be known at compile time (a shape, axes, a
    /// size...) is computed at run time. `inputs` are the node's inputs that
    /// need a value (ONNX input names, the first is the one in `msg`);
    /// `graph_inputs` the graph inputs those values are computed from
    /// ([`crate::slice::graph_input_deps`]): binding them at compile time
    /// makes the values constants.
    #[error("node `{node}` ({op}): {msg}")]
    NeedsConstant { node: String, op: String, msg: String, inputs: Vec<String>, graph_inputs: Vec<String> },
    #[error("tensor of type {0} is too large to address")]
    TooLarge(String),
    #[error("tensor data for {ty} has {got} bytes, expected {expected}")]
    DataSize { ty: String, expected: usize, got: usize },
    #[error("verifier: {0}")]
    Verify(String),
    #[error("textual IR, line {line}: {msg}")]
    Parse { line: usize, msg: String },
    #[error("{0}")]
    Other(String),
}

/// Error from an op's shape rule or evaluator, before the node's name is known;
/// `Graph::add_node` attaches the node context. The second field tells errors
/// a caller can act on apart from the rest (see [`OpErrorKind`]).
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{0}")]
pub struct OpError(pub String, pub OpErrorKind);

/// What kind of problem an [`OpError`] is.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum OpErrorKind {
    #[default]
    Other,
    /// The input named `input` (its ONNX name) must be a constant: its value
    /// decides an output shape. Binding the graph inputs it depends on at
    /// compile time fixes it (`--bind`).
    NeedsConstant { input: String },
}

impl OpError {
    pub fn new(msg: impl Into<String>) -> Self {
        OpError(msg.into(), OpErrorKind::Other)
    }

    /// `input `{input}` must be a constant to compile ahead of time`, as a
    /// [`OpErrorKind::NeedsConstant`] error.
    pub fn needs_constant(input: &str) -> Self {
        OpError(
            format!("input `{input}` must be a constant to compile ahead of time"),
            OpErrorKind::NeedsConstant { input: input.to_string() },
        )
    }

    /// The input that must be a constant, for a `NeedsConstant` error.
    pub fn needed_constant(&self) -> Option<&str> {
        match &self.1 {
            OpErrorKind::NeedsConstant { input } => Some(input),
            OpErrorKind::Other => None,
        }
    }
}

/// `bail!`-style shorthand for op rules.
#[macro_export]
macro_rules! op_err {
    ($($t:tt)*) => { $crate::error::OpError::new(format!($($t)*)) };
}
