//! Regenerates `frontend/src/proto/onnx.rs` from `frontend/proto/onnx.proto`
//! without needing `protoc` (protox is a pure-Rust protobuf compiler).
//!
//! Run from the repository root:
//!     cargo run --manifest-path frontend/tools/protogen/Cargo.toml
//! then commit the regenerated file.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let frontend = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let proto_dir = frontend.join("proto");
    let out_dir = frontend.join("src/proto");
    let fds = protox::compile([proto_dir.join("onnx.proto")], [&proto_dir])?;
    let tmp = std::env::temp_dir().join("onnxc-protogen");
    std::fs::create_dir_all(&tmp)?;
    let mut cfg = prost_build::Config::new();
    // `bytes::Bytes` for every bytes field: initializer raw_data then points
    // into the model file's buffer instead of being copied out of it.
    cfg.bytes(["."]);
    cfg.out_dir(&tmp);
    cfg.compile_fds(fds)?;
    let generated = std::fs::read_to_string(tmp.join("onnx.rs"))?;
    let header = "// @generated from frontend/proto/onnx.proto (onnx 1.23.2) by\n\
                  // frontend/tools/protogen: `cargo run --manifest-path frontend/tools/protogen/Cargo.toml`.\n\
                  // Do not edit by hand.\n\n";
    std::fs::create_dir_all(&out_dir)?;
    std::fs::write(out_dir.join("onnx.rs"), format!("{header}{generated}"))?;
    println!("wrote {}", out_dir.join("onnx.rs").display());
    Ok(())
}
