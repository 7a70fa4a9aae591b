//! Arbitrary bytes into the frontend: it must return an error or a model,
//! never panic, hang or allocate absurdly.
//!
//! Run (nightly): `cd frontend/fuzz && cargo +nightly fuzz run import_bytes -- -max_total_time=60`
//! Seed corpus: any .onnx files, e.g. the onnx package's light models.
//! Put crashing inputs in `frontend/tests/regressions/` (as `<name>.onnx`);
//! `tests/errors.rs` imports each one and expects an error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onnxc_frontend::{import_bytes, summarize, ImportOptions};

fuzz_target!(|data: &[u8]| {
    let _ = summarize(data);
    let _ = import_bytes(bytes::Bytes::copy_from_slice(data), None, &ImportOptions::default());
});
