//! Rust types for `onnx.proto`, generated once by `frontend/tools/protogen`
//! (prost-build + protox, so building onnxc never needs `protoc`).
//! Bytes fields are `bytes::Bytes`: decoding from a `Bytes` buffer makes
//! `raw_data` a zero-copy slice of the model file.

#![allow(clippy::all, missing_docs, rustdoc::all)]

include!("onnx.rs");
