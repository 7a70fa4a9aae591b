use std::path::PathBuf;
use thiserror::Error;

/// Every way a compile can fail; `Display` is what the CLI shows a person.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Frontend(#[from] onnxc_frontend::FrontendError),
    #[error("optimization failed: {0}")]
    Pass(#[from] onnxc_passes::PassError),
    #[error("lowering failed: {0}")]
    Lower(#[from] onnxc_kernel::lower::LowerError),
    #[error("code generation failed: {0}")]
    Codegen(#[from] onnxc_cranelift::CodegenError),
    #[cfg(feature = "llvm")]
    #[error("LLVM code generation failed: {0}")]
    Llvm(#[from] onnxc_llvm::LlvmError),
    #[error("the {0} backend is not built into this onnxc (rebuild with `--features {0}`)")]
    BackendUnavailable(&'static str),
    #[error(transparent)]
    Ir(#[from] onnxc_ir::IrError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Usage(String),
    #[error("running the compiled model: {0}")]
    Run(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}
