//! Why a call into a compiled model was refused or failed.

use core::fmt;

/// Why [`call`](crate::call) did not run the model, or what the model returned.
///
/// ```
/// let e = onnxc_runtime::Error::Failed { model: "m", code: 3 };
/// assert_eq!(e.to_string(), "m_run returned error code 3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The workspace is smaller than `<p>_workspace_size()`.
    WorkspaceTooSmall {
        /// Bytes the model needs.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// A workspace buffer is not [`ALIGN`](crate::ALIGN)-byte aligned.
    Misaligned {
        /// The address given.
        addr: usize,
    },
    /// The wrong number of input or output buffers.
    Arity {
        /// `"inputs"` or `"outputs"`.
        what: &'static str,
        /// What the model has.
        expected: usize,
        /// What was passed.
        got: usize,
    },
    /// A buffer has the wrong number of bytes.
    BufferSize {
        /// `"input"` or `"output"`.
        what: &'static str,
        /// Position in graph order.
        index: usize,
        /// Bytes the model reads or writes.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// `<p>_run` returned a nonzero status.
    Failed {
        /// The model's symbol prefix.
        model: &'static str,
        /// The status it returned.
        code: i32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::WorkspaceTooSmall { needed, got } => {
                write!(f, "workspace too small: the model needs {needed} bytes, got {got}")
            }
            Error::Misaligned { addr } => {
                write!(f, "workspace at {addr:#x} is not {}-byte aligned", crate::ALIGN)
            }
            Error::Arity { what, expected, got } => {
                write!(f, "the model has {expected} {what}, {got} were passed")
            }
            Error::BufferSize { what, index, expected, got } => {
                write!(f, "{what} {index} must be {expected} bytes, got {got}")
            }
            Error::Failed { model, code } => write!(f, "{model}_run returned error code {code}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
