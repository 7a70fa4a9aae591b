//! End to end through LLVM: the light models in `.cache/light` (made by
//! `scripts/gen_light_models.py`) imported, optimised, lowered, compiled for
//! the host, run, and compared with onnxruntime's outputs. Prints compile
//! times. Skipped when the cache is absent.

mod common;

use common::cross::*;
use common::*;
use onnxc_kernel::{Program, Target};
use onnxc_llvm::{compile, LlvmOptions};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/light")
}

/// The data of a little-endian f32 `.npy` file.
fn npy_f32(path: &Path) -> Vec<f32> {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..6], b"\x93NUMPY");
    let header_len = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = String::from_utf8_lossy(&b[10..10 + header_len]);
    assert!(header.contains("'<f4'"), "{header}");
    b[10 + header_len..]
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn lower(model: &Path) -> Program {
    let mut g = onnxc_frontend::load_model(model, &Default::default())
        .unwrap()
        .graph;
    onnxc_passes::pipeline::run(&mut g, &Default::default()).unwrap();
    let plan = onnxc_passes::plan(&g);
    onnxc_kernel::lower::lower_graph(&g, &plan, "model").unwrap()
}

fn check_model(name: &str) {
    let dir = cache();
    let model = dir.join(format!("{name}.onnx"));
    if !model.exists() {
        eprintln!("skipping {name}: {} not found", model.display());
        return;
    }
    let p = lower(&model);
    let target = Target::host();
    let start = Instant::now();
    let out = compile(&p, &target, &LlvmOptions::default()).unwrap();
    println!(
        "{name}: {} kernels, LLVM compile {:.2} s",
        p.kernels.len(),
        start.elapsed().as_secs_f64()
    );
    drop(out);
    let lib = build(&p, &target);
    let input = bytes_of(&npy_f32(&dir.join(format!("{name}_input_0.npy"))));
    let want = npy_f32(&dir.join(format!("{name}_output_0.npy")));
    compare(name, "host", &lib.run(&p, &[&input])[0], &want);
    if std::env::var_os("ONNXC_LLVM_QEMU_MODELS").is_some() {
        // Opt-in: a model under qemu takes a while.
        for x in crosses() {
            if have(x.gcc) && have(x.qemu) {
                let t = Instant::now();
                let got = run_cross(&x, &p, &[&input]);
                println!(
                    "{name} on {} {:?} {:?}: {:.1} s",
                    x.target,
                    x.target.features,
                    x.qemu_args,
                    t.elapsed().as_secs_f64()
                );
                compare(name, &x.target.triple, &got[0], &want);
            }
        }
    }
}

fn compare(name: &str, on: &str, got: &[u8], want: &[f32]) {
    let got: Vec<f32> = got
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-3 + 1e-3 * w.abs(),
            "{name} on {on}, output[{i}]: llvm {g}, onnxruntime {w}"
        );
    }
}

#[test]
fn light_squeezenet() {
    check_model("squeezenet");
}

#[test]
fn light_shufflenet() {
    check_model("shufflenet");
}

#[test]
fn light_resnet50() {
    check_model("resnet50");
}

/// Full-size random weights (about 100 MB of constants).
#[test]
fn resnet50_with_full_weights() {
    check_model("resnet50_rand");
}
