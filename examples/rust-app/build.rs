//! Compiles the model for Cargo's $TARGET into $OUT_DIR/libmodel.a and the
//! safe module $OUT_DIR/model.rs.
//!
//! The model is $ONNXC_MODEL, else the light squeezenet with random weights
//! that `python3 scripts/gen_light_models.py --out .cache/light` writes. When
//! neither exists the bundled tiny_cnn is used instead, so that a plain
//! `cargo build` of the workspace never fails for want of generated fixtures.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=ONNXC_MODEL");
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let model = match std::env::var_os("ONNXC_MODEL") {
        Some(m) => PathBuf::from(m),
        None => here.join("../../.cache/light/squeezenet_rand.onnx"),
    };
    let model = if model.exists() {
        model
    } else {
        // Rerun once the fixture appears.
        println!("cargo:rerun-if-changed={}", model.display());
        println!(
            "cargo:warning={} not found; using examples/tiny_cnn (run python3 scripts/gen_light_models.py --out .cache/light)",
            model.display()
        );
        here.join("../tiny_cnn/tiny_cnn.onnx")
    };
    // Absolute, so the binary finds its default input from any directory.
    let model = model.canonicalize().unwrap_or(model);
    println!("cargo:rustc-env=ONNXC_EXAMPLE_MODEL={}", model.display());
    onnxc_build::Build::new(&model).name("model").compile_or_exit();
}
