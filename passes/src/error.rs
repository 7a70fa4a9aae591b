//! Errors of the pass pipeline. Every error names the pass it came from, so a
//! broken invariant points at the pass that broke it rather than at whichever
//! later stage tripped over it. Messages include the underlying IR error
//! (rather than exposing it as `source()`), so one line says everything and
//! a caller that prints the source chain does not repeat it.

use onnxc_ir::IrError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PassError {
    /// The verifier rejected the graph before the first pass: the importer
    /// (or whoever built the graph) broke an invariant, not a pass.
    #[error("the input graph is invalid: {0}")]
    InvalidInput(IrError),
    /// The verifier rejected the graph after `pass` ran.
    #[error("IR is invalid after pass `{pass}`: {error}")]
    Verify { pass: String, error: IrError },
    /// A pass could not do its job on this graph.
    #[error("pass `{pass}`: {error}")]
    Failed { pass: String, error: IrError },
}

impl PassError {
    /// Name of the pass the error is attributed to (`"<input>"` for an
    /// invalid input graph).
    pub fn pass(&self) -> &str {
        match self {
            PassError::InvalidInput(_) => "<input>",
            PassError::Verify { pass, .. } | PassError::Failed { pass, .. } => pass,
        }
    }
}
