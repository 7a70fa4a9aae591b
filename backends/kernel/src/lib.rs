//! Loop-level kernels: the IR (`kir`), the lowering of graph ops into it
//! (`lower`, one module per op family), and the `Program` that backends consume.

pub mod cabi;
pub mod builder;
pub mod interp;
pub mod kir;
pub mod lower;
pub mod math;
pub mod minifloat;
pub mod program;
pub mod rust_api;
pub mod target;

pub use kir::{Kernel, Scalar};
pub use program::{BufRef, DynamicDim, IoTensor, Program, Step};
pub use target::{Arch, Target};
