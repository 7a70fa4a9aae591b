//! Helpers shared by the example tests: fixtures, .npy reading, top-5.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("build/ has a parent").to_path_buf()
}

/// `.cache/light/<file>`, generating the light-model fixtures if missing.
pub fn light_fixture(file: &str) -> PathBuf {
    let dir = root().join(".cache/light");
    let path = dir.join(file);
    if !path.exists() {
        let status = Command::new("python3")
            .arg(root().join("scripts/gen_light_models.py"))
            .arg("--out")
            .arg(&dir)
            .status()
            .expect("running python3 scripts/gen_light_models.py");
        assert!(status.success(), "scripts/gen_light_models.py failed (run scripts/setup-test-deps.sh first)");
    }
    assert!(path.exists(), "{} missing after generating the fixtures", path.display());
    path
}

/// The values of a little-endian float32 .npy file.
pub fn read_npy_f32(path: &Path) -> Vec<f32> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[..6], b"\x93NUMPY", "{}", path.display());
    let (len, start) = if b[6] == 1 {
        (u16::from_le_bytes([b[8], b[9]]) as usize, 10)
    } else {
        (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12)
    };
    let header = String::from_utf8_lossy(&b[start..start + len]);
    assert!(header.contains("'<f4'"), "{}: not float32: {header}", path.display());
    b[start + len..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Indices of the five largest values, best first.
pub fn top5(v: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
    idx.truncate(5);
    idx
}

/// The classes of the `class N: score` lines the examples print.
pub fn printed_classes(stdout: &str) -> Vec<usize> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("class ")?.split(':').next()?.trim().parse().ok())
        .collect()
}

/// Runs `cmd`, panicking with its output if it fails; returns stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// True if `tool` can be executed (`tool --version` works).
pub fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}
