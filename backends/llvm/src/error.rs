//! Errors of the LLVM backend. Malformed programs are reported, never
//! panicked on: the backend re-checks every type and index it relies on.

use inkwell::builder::BuilderError;

#[derive(Debug, thiserror::Error)]
pub enum LlvmError {
    /// The triple, CPU or feature set cannot be turned into a TargetMachine.
    #[error("target: {0}")]
    Target(String),
    /// The Program or one of its kernels is malformed (bad index, ill-typed KIR).
    #[error("invalid program: {0}")]
    InvalidProgram(String),
    #[error("kernel `{kernel}`: {msg}")]
    InvalidKernel { kernel: String, msg: String },
    #[error("LLVM IR builder: {0}")]
    Builder(#[from] BuilderError),
    /// The generated module failed LLVM's verifier (a backend bug).
    #[error("LLVM verifier: {0}")]
    Verify(String),
    #[error("LLVM optimisation pipeline: {0}")]
    Passes(String),
    #[error("LLVM code emission: {0}")]
    Emit(String),
}

pub type Result<T, E = LlvmError> = std::result::Result<T, E>;
