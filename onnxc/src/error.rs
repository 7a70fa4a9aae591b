use std::path::PathBuf;
use thiserror::Error;

/// Every way a compile can fail; `Display` is what the CLI shows a person.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Frontend(#[from] onnxc_frontend::FrontendError),
    /// A node input that decides a shape (Reshape's shape, a Reduce's axes,
    /// ...) is computed at run time from `graph_inputs`; binding those at
    /// compile time (`CompileOptions::bind_inputs`, `--bind`) makes it a
    /// constant. `inputs` are the node's inputs that need a value.
    #[error("{}", needs_constant_message(node, op, msg, graph_inputs))]
    NeedsConstant { node: String, op: String, msg: String, inputs: Vec<String>, graph_inputs: Vec<String> },
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

fn needs_constant_message(node: &str, op: &str, msg: &str, graph_inputs: &[String]) -> String {
    let head = format!("node `{node}` ({op}): {msg}");
    let quoted: Vec<String> = graph_inputs.iter().map(|g| format!("`{g}`")).collect();
    let binds: Vec<String> = graph_inputs.iter().map(|g| format!("--bind {g}=FILE.npy")).collect();
    match graph_inputs {
        [] => format!("{head} (it is computed at run time, from no graph input: nothing to bind)"),
        [g] => format!(
            "{head}; it is computed from graph input `{g}`: bind it at compile time: --bind {g}=FILE.npy \
             (or --bind {g}=1,2 for a small int list); a bound input is not part of the compiled ABI"
        ),
        _ => format!(
            "{head}; it is computed from graph inputs {}: bind them at compile time: {}; \
             bound inputs are not part of the compiled ABI",
            quoted.join(", "),
            binds.join(" ")
        ),
    }
}

impl Error {
    /// Lifts a value-needed-at-compile-time error out of the frontend's
    /// error so callers (the CLI, test harnesses) can act on it.
    pub fn from_frontend(e: onnxc_frontend::FrontendError) -> Error {
        match e {
            onnxc_frontend::FrontendError::Shape(onnxc_ir::IrError::NeedsConstant {
                node,
                op,
                msg,
                inputs,
                graph_inputs,
            }) => Error::NeedsConstant { node, op, msg, inputs, graph_inputs },
            e => Error::Frontend(e),
        }
    }

    /// The graph inputs to bind at compile time, for a `NeedsConstant` error
    /// that depends on some.
    pub fn inputs_to_bind(&self) -> Option<&[String]> {
        match self {
            Error::NeedsConstant { graph_inputs, .. } if !graph_inputs.is_empty() => Some(graph_inputs),
            _ => None,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}
