use thiserror::Error;

/// Errors raised by the IR itself: type inference, verification, the textual
/// form and the reference evaluator. Node-level errors carry the node's name
/// and op so a user can find it in their model.
#[derive(Debug, Error)]
pub enum IrError {
    #[error("node `{node}` ({op}): {msg}")]
    Node { node: String, op: String, msg: String },
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
/// `Graph::add_node` attaches the node context.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{0}")]
pub struct OpError(pub String);

impl OpError {
    pub fn new(msg: impl Into<String>) -> Self {
        OpError(msg.into())
    }
}

/// `bail!`-style shorthand for op rules.
#[macro_export]
macro_rules! op_err {
    ($($t:tt)*) => { $crate::error::OpError(format!($($t)*)) };
}
