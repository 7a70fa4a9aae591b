//! Builds the runtime as a no_std staticlib (as a C or bare-metal user would)
//! and reports its code size: the target is under 64 KiB on x86-64.
//!
//! The archive also carries Rust's `compiler_builtins` (about 100 KB of
//! members, of which a linker pulls in only what something references), so
//! the limit is checked on the runtime's own object.

use std::path::Path;
use std::process::Command;

#[test]
#[cfg(target_arch = "x86_64")]
fn staticlib_code_is_small() {
    if Command::new("size").arg("--version").output().is_err() {
        println!("SKIP: binutils `size` is not installed");
        return;
    }
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runtime-staticlib");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["rustc", "-p", "onnxc-runtime", "--release", "--features", "panic-handler", "--crate-type", "staticlib"])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CARGO_PROFILE_RELEASE_LTO", "fat")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo");
    assert!(out.status.success(), "building the staticlib failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let lib = target_dir.join("release/libonnxc_runtime.a");
    let size = Command::new("size").arg(&lib).output().expect("run size");
    let text = String::from_utf8_lossy(&size.stdout);
    let (mut own, mut total) = (0usize, 0usize);
    for line in text.lines().skip(1) {
        let bytes: usize = line.split_whitespace().next().and_then(|t| t.parse().ok()).unwrap_or(0);
        total += bytes;
        if line.contains("onnxc_runtime-") {
            own += bytes;
        }
    }
    let file = std::fs::metadata(&lib).map(|m| m.len()).unwrap_or(0);
    println!("libonnxc_runtime.a: {file} bytes on disk; .text: {own} bytes runtime code, {total} bytes with compiler_builtins");
    assert!(own > 0, "no runtime member found in:\n{text}");
    assert!(own < 64 * 1024, "runtime code is {own} bytes");
}
