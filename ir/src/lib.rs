//! onnxc's graph IR. See ARCHITECTURE.md for the invariants.

pub mod dtype;
pub mod dynamic;
pub mod error;
pub mod eval;
pub mod fused;
pub mod graph;
pub mod infer;
pub mod layout;
pub mod minifloat;
pub mod op;
pub mod slice;
pub mod tensor;
pub mod text;
pub mod verify;

pub use dtype::{DType, TensorType};
pub use error::{IrError, OpError, OpErrorKind};
pub use graph::{Graph, Node, Value, ValueId};
pub use op::Op;
pub use tensor::Tensor;
