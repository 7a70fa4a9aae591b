//! Test support for onnxc: the conformance harness (the official ONNX node
//! test suite) and end-to-end model tests.
//!
//! - [`compare`]: numpy `assert_allclose` semantics for tensors.
//! - [`suite`]: the generated test data (`.cache/`) and its manifests.
//! - [`native`]: running compiled objects through the C ABI, in-process or
//!   through the generic C driver `tests/c/run_model.c`.
//! - [`cross`]: the cross targets (cross gcc + qemu-user) and the test
//!   matrix's knobs (`ONNXC_BACKENDS`, `ONNXC_TARGETS`).
//! - [`elf`]: undefined symbols of generated objects (only memcpy/memmove/memset).
//! - [`light`]: the light models' cache, compile and output check.
//! - [`report`]: one JSON line per conformance case and the per-op summary.
//! - [`runner`]: runs the `conformance` binary on chunks of cases, crash-isolated.
//! - [`matrix`]: the {backend} × {target} table and the cases that differ between cells.
//!
//! `.npy` reading and writing is `onnxc::npy` (shared with `onnxc run`).

pub mod compare;
pub mod cross;
pub mod elf;
pub mod light;
pub mod matrix;
pub mod native;
pub mod report;
pub mod runner;
pub mod suite;

pub use compare::{compare, Mismatch};
pub use native::run_compiled;
