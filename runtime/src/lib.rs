//! The small runtime that onnxc-generated objects and their callers share.
//! `no_std` by default: it holds only C-ABI type definitions, so it can be
//! linked on bare metal. Generated objects themselves need nothing from it.
#![no_std]

#[cfg(feature = "std")]
extern crate std;

use core::ffi::c_char;

/// Mirrors `onnxc_tensor_desc` in every generated header.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TensorDesc {
    pub name: *const c_char,
    /// ONNX `TensorProto.DataType` code.
    pub dtype: i32,
    pub rank: i32,
    pub dims: *const i64,
    pub size_bytes: usize,
}

/// `size_t <p>_workspace_size(void)`.
pub type WorkspaceSizeFn = unsafe extern "C" fn() -> usize;

/// `int <p>_run(const void *const inputs[], void *const outputs[], void *workspace, const void *pool)`.
pub type RunFn = unsafe extern "C" fn(
    inputs: *const *const core::ffi::c_void,
    outputs: *const *mut core::ffi::c_void,
    workspace: *mut core::ffi::c_void,
    pool: *const core::ffi::c_void,
) -> i32;

/// Alignment every buffer passed to `<p>_run` must have.
pub const ALIGN: usize = 64;

/// ONNX dtype codes used in `TensorDesc::dtype`.
pub mod dtype {
    pub const FLOAT: i32 = 1;
    pub const UINT8: i32 = 2;
    pub const INT8: i32 = 3;
    pub const UINT16: i32 = 4;
    pub const INT16: i32 = 5;
    pub const INT32: i32 = 6;
    pub const INT64: i32 = 7;
    pub const BOOL: i32 = 9;
    pub const FLOAT16: i32 = 10;
    pub const DOUBLE: i32 = 11;
    pub const UINT32: i32 = 12;
    pub const UINT64: i32 = 13;
    pub const BFLOAT16: i32 = 16;
}
