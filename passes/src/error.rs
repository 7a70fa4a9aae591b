//! Errors of the pass pipeline. Every error names the pass it came from, so a
//! broken invariant points at the pass that broke it rather than at whichever
//! later stage tripped over it.

use onnxc_ir::IrError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PassError {
    /// The verifier rejected the graph after `pass` ran (`"<input>"` when the
    /// graph was already invalid before the first pass).
    #[error("IR is invalid after pass `{pass}`: {source}")]
    Verify {
        pass: String,
        #[source]
        source: IrError,
    },
    /// A pass could not do its job on this graph.
    #[error("pass `{pass}`: {source}")]
    Failed {
        pass: String,
        #[source]
        source: IrError,
    },
}

impl PassError {
    /// Name of the pass the error is attributed to.
    pub fn pass(&self) -> &str {
        match self {
            PassError::Verify { pass, .. } | PassError::Failed { pass, .. } => pass,
        }
    }
}
