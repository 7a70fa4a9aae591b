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
    /// The shape; for an output with `dynamic` set, its upper bound.
    pub shape: Vec<usize>,
    /// Set for outputs whose extent along one axis is data-dependent.
    pub dynamic: Option<DynamicDim>,
}

/// A data-dependent output extent (see `onnxc_ir::dynamic`): after a run,
/// `shape[axis]` is replaced by the little-endian i64 that `<p>_run` wrote
/// at byte `offset` of the workspace, and the buffer holds the data dense
/// row-major for those actual dims (the rest of the bound-sized buffer is
/// unspecified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DynamicDim {
    pub axis: usize,
    pub offset: usize,
}

impl IoTensor {
    /// A tensor with a static shape.
    pub fn fixed(name: impl Into<String>, dtype: DType, shape: Vec<usize>) -> IoTensor {
        IoTensor { name: name.into(), dtype, shape, dynamic: None }
    }

    /// The actual dims after a run, given the workspace it ran with.
    pub fn actual_shape(&self, workspace: &[u8]) -> Vec<usize> {
        let mut s = self.shape.clone();
        if let Some(d) = self.dynamic {
            let raw = workspace.get(d.offset..d.offset + 8).map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")));
            // Clamped to the bound: a caller may trust it to size its reads.
            s[d.axis] = raw.unwrap_or(0).clamp(0, s[d.axis] as i64) as usize;
        }
        s
    }
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
