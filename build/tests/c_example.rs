//! Builds examples/c against squeezenet (random weights) compiled by
//! onnxc-build for x86-64 (host), riscv64 and aarch64 (under qemu), and checks
//! that it prints onnxruntime's top-5 classes.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

struct Cross {
    triple: &'static str,
    cc: &'static str,
    /// qemu command and its arguments before the program; empty: run natively.
    runner: Vec<&'static str>,
}

fn check(cross: &Cross) {
    let model = light_fixture("squeezenet_rand.onnx");
    let input = light_fixture("squeezenet_rand_input_0.npy");
    let expected = top5(&read_npy_f32(&light_fixture("squeezenet_rand_output_0.npy")));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = onnxc_build::Build::new(&model)
        .name("model")
        .target(cross.triple)
        .out_dir(dir.path())
        .cargo_metadata(false)
        .compile()
        .unwrap_or_else(|e| panic!("{e}"));
    let app = dir.path().join("app");
    // Link through the static library, as the README shows for the archive.
    run(Command::new(cross.cc)
        .args(["-O2", "-I"])
        .arg(dir.path())
        .arg(root().join("examples/c/main.c"))
        .arg("-L")
        .arg(dir.path())
        .arg(format!("-l{}", out.name))
        .arg("-o")
        .arg(&app));
    let stdout = match cross.runner.split_first() {
        None => run(Command::new(&app).arg(&input)),
        Some((qemu, args)) => run(Command::new(qemu).args(args).arg(&app).arg(&input)),
    };
    println!("{}:\n{stdout}", cross.triple);
    assert_eq!(printed_classes(&stdout), expected, "{} top-5 differs from onnxruntime", cross.triple);
}

fn skip_without(tools: &[&str], triple: &str) -> bool {
    if let Some(t) = tools.iter().find(|t| !have(t)) {
        println!("SKIP {triple}: `{t}` is not installed (run scripts/setup-cross.sh)");
        return true;
    }
    false
}

#[test]
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn c_example_x86_64() {
    check(&Cross { triple: "x86_64-unknown-linux-gnu", cc: "cc", runner: vec![] });
}

#[test]
fn c_example_riscv64_qemu() {
    let (cc, qemu) = ("riscv64-linux-gnu-gcc", "qemu-riscv64");
    if skip_without(&[cc, qemu], "riscv64") || !Path::new("/usr/riscv64-linux-gnu").exists() {
        return;
    }
    check(&Cross {
        triple: "riscv64gc-unknown-linux-gnu",
        cc,
        runner: vec![qemu, "-L", "/usr/riscv64-linux-gnu", "-cpu", "rv64,v=true,vlen=256"],
    });
}

#[test]
fn c_example_aarch64_qemu() {
    let (cc, qemu) = ("aarch64-linux-gnu-gcc", "qemu-aarch64");
    if skip_without(&[cc, qemu], "aarch64") || !Path::new("/usr/aarch64-linux-gnu").exists() {
        return;
    }
    check(&Cross { triple: "aarch64-unknown-linux-gnu", cc, runner: vec![qemu, "-L", "/usr/aarch64-linux-gnu"] });
}
