//! Test support for onnxc: the conformance harness (the official ONNX node
//! test suite) and end-to-end model tests.
//!
//! - [`compare`]: numpy `assert_allclose` semantics for tensors.
//! - [`suite`]: the generated test data (`.cache/`) and its manifests.
//! - [`native`]: running compiled objects through the C ABI, in-process or
//!   through the generic C driver `tests/c/run_model.c`.
//! - [`report`]: one JSON line per conformance case and the per-op summary.
//!
//! `.npy` reading and writing is `onnxc::npy` (shared with `onnxc run`).

pub mod compare;
pub mod native;
pub mod report;
pub mod suite;

pub use compare::{compare, Mismatch};
pub use native::run_compiled;
