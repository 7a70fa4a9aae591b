//! Runs the example binary and checks its top-5 against onnxruntime's.
//!
//! build.rs compiled squeezenet (random weights) if the light-model fixtures
//! existed at build time, else the bundled tiny_cnn; `scripts/test` generates
//! the fixtures before building, so the test command checks squeezenet.

use std::path::Path;
use std::process::Command;

fn read_npy_f32(path: &Path) -> Vec<f32> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (len, start) =
        if b[6] == 1 { (u16::from_le_bytes([b[8], b[9]]) as usize, 10) } else { (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12) };
    b[start + len..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn top5(v: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
    idx.truncate(5);
    idx
}

#[test]
fn prints_onnxruntime_top5() {
    let model = env!("ONNXC_EXAMPLE_MODEL");
    let expected_file = match model.strip_suffix(".onnx") {
        Some(stem) if !model.contains("tiny_cnn") => format!("{stem}_output_0.npy"),
        _ => {
            println!("NOTE: built with tiny_cnn (squeezenet fixtures were missing at build time)");
            Path::new(model).with_file_name("expected_probs.npy").display().to_string()
        }
    };
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(env!("CARGO_BIN_EXE_onnxc-example-rust-app")).current_dir(dir).output().expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    println!("{stdout}");
    let printed: Vec<usize> =
        stdout.lines().filter_map(|l| l.strip_prefix("class ")?.split(':').next()?.parse().ok()).collect();
    assert_eq!(printed, top5(&read_npy_f32(&Path::new(dir).join(expected_file))));
}
