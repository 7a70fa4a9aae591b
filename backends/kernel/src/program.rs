//! A compiled model before code generation: kernels plus the straight-line
//! sequence of calls that `<name>_run` performs, with every buffer resolved
//! to an input, an output, a constant or a fixed workspace offset.

use crate::kir::Kernel;
use bytes::Bytes;
use onnxc_ir::DType;

/// Workspace and constant buffers are aligned to this many bytes.
pub const ALIGN: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub struct IoTensor {
    /// The ONNX name.
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl IoTensor {
    pub fn byte_size(&self) -> usize {
        self.shape.iter().product::<usize>() * self.dtype.size()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BufRef {
    Input(usize),
    Output(usize),
    /// Index into `Program::consts`.
    Const(usize),
    /// Byte offset into the caller's workspace (a multiple of `ALIGN`).
    Workspace(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Call `kernels[kernel]` with one pointer per kernel parameter.
    Call { kernel: usize, args: Vec<BufRef> },
    /// `memcpy(dst, src, bytes)`, for graph outputs that alias inputs or constants.
    Copy { dst: BufRef, src: BufRef, bytes: usize },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// Symbol prefix: the object defines `<name>_run` and `<name>_workspace_size`.
    pub name: String,
    pub inputs: Vec<IoTensor>,
    pub outputs: Vec<IoTensor>,
    /// Read-only data (weights); each placed at an `ALIGN`-aligned address.
    pub consts: Vec<Bytes>,
    pub workspace_size: usize,
    pub kernels: Vec<Kernel>,
    pub steps: Vec<Step>,
}
