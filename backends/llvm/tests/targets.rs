//! Cross targets: objects for x86-64, AArch64 and RISC-V (with RVV) build,
//! need nothing but memcpy/memset, carry the right float ABI, and show
//! vector code in `--emit asm`. The same mixed program also runs on the host
//! against the interpreter (constants, workspace, copy steps).

mod common;

use common::programs::*;
use common::*;
use onnxc_kernel::builder::*;
use onnxc_kernel::kir::{Kernel, Scalar};
use onnxc_kernel::{Program, Target};
use onnxc_llvm::{compile, LlvmOptions};
use std::process::Command;

fn target(triple: &str, features: &[&str]) -> Target {
    let mut t = Target::parse(triple).unwrap();
    t.features = features.iter().map(|s| s.to_string()).collect();
    t
}

fn cross_targets() -> Vec<Target> {
    vec![
        target("x86_64", &[]),
        target("x86_64", &["+avx2,+fma"]),
        target("x86_64-unknown-linux-gnu", &["+avx512f"]),
        target("aarch64", &[]),
        target("aarch64-unknown-linux-gnu", &["+sve"]),
        target("riscv64", &[]),
        target("riscv64", &["+v"]),
        target("riscv64gc-unknown-linux-gnu", &["+v"]),
        target("riscv64gc-unknown-none-elf", &["+v"]),
    ]
}

fn undefined_symbols(obj: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.o");
    std::fs::write(&path, obj).unwrap();
    let out = Command::new("nm")
        .arg("-u")
        .arg(&path)
        .output()
        .expect("nm runs");
    assert!(
        out.status.success(),
        "nm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last().map(String::from))
        .collect()
}

#[test]
fn mixed_program_matches_the_interpreter_on_the_host() {
    let p = mixed_program();
    let x = mixed_input();
    let want = interpret(&p, &[&x]);
    for t in [host_target(), native_target()] {
        let lib = build(&p, &t);
        assert_eq!(lib.workspace_size(), 4 * MIXED_N as usize);
        assert_eq!(lib.run(&p, &[&x]), want, "on {t:?}");
    }
}

#[test]
fn objects_need_only_memcpy_and_memset() {
    let p = mixed_program();
    for t in cross_targets() {
        let out = compile(&p, &t, &LlvmOptions::default()).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        let undef = undefined_symbols(&out.object);
        assert!(
            undef.iter().all(|s| s == "memcpy" || s == "memset"),
            "{t:?} needs {undef:?}"
        );
    }
}

#[test]
fn every_op_on_every_type_needs_no_libm_on_any_target() {
    for t in cross_targets() {
        for s in ALL {
            let out = compile(&ops_program(s), &t, &LlvmOptions::default())
                .unwrap_or_else(|e| panic!("{t:?} {s}: {e}"));
            let undef = undefined_symbols(&out.object);
            assert!(
                undef.iter().all(|u| u == "memcpy" || u == "memset"),
                "{t:?}, ops on {s}, needs {undef:?}"
            );
        }
    }
}

#[test]
fn riscv_objects_use_the_double_float_abi() {
    for t in [
        target("riscv64", &[]),
        target("riscv64gc-unknown-linux-gnu", &["+v"]),
    ] {
        let obj = compile(&mixed_program(), &t, &LlvmOptions::default())
            .unwrap()
            .object;
        assert_eq!(&obj[..4], b"\x7fELF");
        assert_eq!(u16::from_le_bytes([obj[18], obj[19]]), 243, "EM_RISCV");
        let flags = u32::from_le_bytes(obj[48..52].try_into().unwrap());
        assert_eq!(
            flags & 0x6,
            0x4,
            "EF_RISCV_FLOAT_ABI_DOUBLE, flags {flags:#x}"
        );
    }
}

fn add_program() -> Program {
    let mut b = KernelBuilder::new("add");
    let (x, y, z) = (
        b.input(Scalar::F32),
        b.input(Scalar::F32),
        b.output(Scalar::F32),
    );
    b.par_for(0i64, 1024i64, |b, i| {
        b.store(z, i.clone(), load(x, i.clone()) + load(y, i))
    });
    let k: Kernel = b.finish();
    one_output_per_kernel(
        "vadd",
        vec![io("x", Scalar::F32, 1024), io("y", Scalar::F32, 1024)],
        vec![(k, io("z", Scalar::F32, 1024))],
    )
}

fn asm(t: &Target) -> String {
    let opts = LlvmOptions {
        emit_asm: true,
        emit_llvm_ir: true,
    };
    let out = compile(&add_program(), t, &opts).unwrap();
    assert!(
        out.llvm_ir.unwrap().contains("define"),
        "LLVM IR is emitted"
    );
    out.asm.unwrap()
}

#[test]
fn asm_and_llvm_ir_leave_out_constant_data() {
    let opts = LlvmOptions {
        emit_asm: true,
        emit_llvm_ir: true,
    };
    let p = mixed_program();
    let out = compile(&p, &target("aarch64", &[]), &opts).unwrap();
    let (asm, ir) = (out.asm.unwrap(), out.llvm_ir.unwrap());
    assert!(ir.contains("@mixed.const0 = external"), "{ir}");
    assert!(!asm.contains(".ascii") && !asm.contains(".byte"), "{asm}");
    // The object still has the data (and runs: see the host test above).
    let plain = compile(&p, &target("aarch64", &[]), &LlvmOptions::default()).unwrap();
    assert_eq!(out.object, plain.object);
}

#[test]
fn x86_avx2_add_loop_uses_ymm_registers() {
    let a = asm(&target("x86_64", &["+avx2,+fma"]));
    assert!(a.contains("%ymm"), "{a}");
}

#[test]
fn riscv_v_add_loop_uses_rvv() {
    let a = asm(&target("riscv64gc-unknown-linux-gnu", &["+v"]));
    // Whole-register loads (vl2re32.v) when the trip count is known, vle32.v otherwise.
    assert!(
        a.contains("vsetvli")
            && a.contains("vfadd.vv")
            && (a.contains("vle32") || a.contains("re32.v")),
        "{a}"
    );
}

#[test]
fn aarch64_add_loop_uses_neon() {
    let a = asm(&target("aarch64", &[]));
    assert!(a.contains("fadd\tv") && a.contains(".4s"), "{a}");
}

#[test]
fn baseline_x86_rounds_without_libm_and_native_uses_intrinsics() {
    let mut b = KernelBuilder::new("fl");
    let (x, y) = (b.input(Scalar::F64), b.output(Scalar::F64));
    b.par_for(0i64, 64i64, |b, i| b.store(y, i.clone(), floor(load(x, i))));
    let p = one_output_per_kernel(
        "fl",
        vec![io("x", Scalar::F64, 64)],
        vec![(b.finish(), io("y", Scalar::F64, 64))],
    );
    let opts = LlvmOptions {
        emit_asm: false,
        emit_llvm_ir: true,
    };
    let base = compile(&p, &target("x86_64", &[]), &opts).unwrap();
    assert!(!base.llvm_ir.unwrap().contains("llvm.floor"));
    let sse41 = compile(&p, &target("x86_64", &["+sse4.1"]), &opts).unwrap();
    assert!(sse41.llvm_ir.unwrap().contains("llvm.floor"));
}

#[test]
fn rvv_float_to_int_avoids_static_rtz_conversions_and_still_vectorizes() {
    let opts = LlvmOptions {
        emit_asm: true,
        emit_llvm_ir: false,
    };
    let a = compile(
        &mixed_program(),
        &target("riscv64gc-unknown-linux-gnu", &["+v"]),
        &opts,
    )
    .unwrap()
    .asm
    .unwrap();
    // Debian bookworm's qemu-riscv64 (7.2) aborts on vfcvt.rtz.*.
    assert!(!a.contains(".rtz."), "{a}");
    assert!(
        a.contains("vfcvt.x.f.v") || a.contains("vfwcvt.x.f.v") || a.contains("vfncvt.x.f.w"),
        "{a}"
    );
}
