//! Build errors are readable and never panics.

use std::io::Write;

fn build(model: &std::path::Path, target: &str) -> Result<onnxc_build::Generated, onnxc_build::Error> {
    // Kept (not a TempDir) so callers can look at the files; under the target dir's tmp.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(target);
    onnxc_build::Build::new(model).target(target).out_dir(dir).cargo_metadata(false).compile()
}

#[test]
fn missing_model_names_the_file() {
    let e = build("no/such/model.onnx".as_ref(), "x86_64-unknown-linux-gnu").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("no/such/model.onnx"), "{msg}");
}

#[test]
fn garbage_model_is_an_error() {
    let mut f = tempfile::NamedTempFile::new().expect("tempfile");
    f.write_all(b"this is not protobuf").expect("write");
    let e = build(f.path(), "x86_64-unknown-linux-gnu").unwrap_err();
    assert!(matches!(e, onnxc_build::Error::Compile { .. }), "{e}");
}

#[test]
fn unsupported_target_is_an_error() {
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/tiny_cnn/tiny_cnn.onnx");
    let e = build(&model, "x86_64-apple-darwin").unwrap_err();
    assert!(e.to_string().contains("only ELF targets"), "{e}");
    let e = build(&model, "mips-unknown-linux-gnu").unwrap_err();
    assert!(e.to_string().contains("mips"), "{e}");
}

#[test]
fn writes_all_outputs() {
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/tiny_cnn/tiny_cnn.onnx");
    let g = build(&model, "riscv64gc-unknown-linux-gnu").expect("tiny_cnn compiles for riscv64");
    for p in [&g.object, &g.archive, &g.header, &g.rust] {
        assert!(p.exists(), "{} missing", p.display());
    }
}
