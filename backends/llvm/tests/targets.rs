//! Cross targets: objects for x86-64, AArch64 and RISC-V (with RVV) build,
//! need nothing but memcpy/memset, carry the right float ABI, and show
//! vector code in `--emit asm`. The same mixed program also runs on the host
//! against the interpreter (constants, workspace, copy steps).

mod common;

use common::*;
use onnxc_kernel::builder::*;
use onnxc_kernel::kir::{Kernel, Scalar};
use onnxc_kernel::{BufRef, Program, Step, Target};
use onnxc_llvm::{compile, LlvmOptions};
use std::process::Command;

const N: i64 = 100;

/// Kernel 0: ws = floor/ceil/round/trunc/sqrt/min/max soup of (x, c);
/// kernel 1: saturating casts and integer division of ws into y (i32), a
/// strided loop and a Bool output. Output 2 is a copy of input 0.
fn mixed_program() -> Program {
    let f = Scalar::F32;
    let mut b = KernelBuilder::new("soup");
    let (x, c, w) = (b.input(f), b.input(f), b.output(f));
    b.par_for(0i64, N, |b, i| {
        let (xv, cv) = (b.let_(load(x, i.clone())), b.let_(load(c, i.clone())));
        let r = floor(xv.clone()) + ceil(cv.clone()) + round_even(xv.clone() * cf(f, 0.5)) + trunc(cv.clone());
        let r = max(min(r, cf(f, 1e6)), sqrt(abs(xv.clone()))) / (abs(cv) + cf(f, 1.0));
        b.store(w, i, r);
    });
    let k0 = b.finish();

    let mut b = KernelBuilder::new("ints");
    let (w, y, z, m) = (b.input(f), b.output(Scalar::I32), b.output(Scalar::Bool), b.output(Scalar::U8));
    b.par_for(0i64, N, |b, i| {
        let v = b.let_(cast(Scalar::I32, load(w, i.clone()) * cf(f, 1000.0)));
        let q = v.clone() / cint(Scalar::I32, 7) + rem(v.clone(), cint(Scalar::I32, -3));
        b.store(y, i.clone(), q);
        b.store(z, i.clone(), gt(load(w, i.clone()), cf(f, 2.0)));
        b.store(m, i.clone(), cast(Scalar::U8, load(w, i)));
    });
    b.for_step(0i64, N, 3, |b, i| {
        b.if_(lt(load(w, i.clone()), cf(f, 0.0)), |b| b.store(y, i.clone(), cint(Scalar::I32, -1)));
    });
    let k1 = b.finish();

    let consts = vec![bytes::Bytes::from(bytes_of(&(0..N).map(|i| (i as f32 - 50.0) * 0.37).collect::<Vec<f32>>()))];
    Program {
        name: "mixed".into(),
        inputs: vec![io("x", f, N as usize)],
        outputs: vec![io("y", Scalar::I32, N as usize), io("z", Scalar::Bool, N as usize), io("x_copy", f, N as usize), io("m", Scalar::U8, N as usize)],
        consts,
        workspace_size: 4 * N as usize,
        kernels: vec![k0, k1],
        steps: vec![
            Step::Call { kernel: 0, args: vec![BufRef::Input(0), BufRef::Const(0), BufRef::Workspace(0)] },
            Step::Call { kernel: 1, args: vec![BufRef::Workspace(0), BufRef::Output(0), BufRef::Output(1), BufRef::Output(3)] },
            Step::Copy { dst: BufRef::Output(2), src: BufRef::Input(0), bytes: 4 * N as usize },
        ],
    }
}

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
    let out = Command::new("nm").arg("-u").arg(&path).output().expect("nm runs");
    assert!(out.status.success(), "nm: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split_whitespace().last().map(String::from)).collect()
}

#[test]
fn mixed_program_matches_the_interpreter_on_the_host() {
    let p = mixed_program();
    let x: Vec<f32> = (0..N).map(|i| (i as f32 - 40.0) * 1.37 + if i == 7 { f32::NAN } else { 0.0 }).collect();
    let x = bytes_of(&x);
    let want = interpret(&p, &[&x]);
    for t in [host_target(), native_target()] {
        let lib = build(&p, &t);
        assert_eq!(lib.workspace_size(), 4 * N as usize);
        assert_eq!(lib.run(&p, &[&x]), want, "on {t:?}");
    }
}

#[test]
fn objects_need_only_memcpy_and_memset() {
    let p = mixed_program();
    for t in cross_targets() {
        let out = compile(&p, &t, &LlvmOptions::default()).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        let undef = undefined_symbols(&out.object);
        assert!(undef.iter().all(|s| s == "memcpy" || s == "memset"), "{t:?} needs {undef:?}");
    }
}

#[test]
fn riscv_objects_use_the_double_float_abi() {
    for t in [target("riscv64", &[]), target("riscv64gc-unknown-linux-gnu", &["+v"])] {
        let obj = compile(&mixed_program(), &t, &LlvmOptions::default()).unwrap().object;
        assert_eq!(&obj[..4], b"\x7fELF");
        assert_eq!(u16::from_le_bytes([obj[18], obj[19]]), 243, "EM_RISCV");
        let flags = u32::from_le_bytes(obj[48..52].try_into().unwrap());
        assert_eq!(flags & 0x6, 0x4, "EF_RISCV_FLOAT_ABI_DOUBLE, flags {flags:#x}");
    }
}

fn add_program() -> Program {
    let mut b = KernelBuilder::new("add");
    let (x, y, z) = (b.input(Scalar::F32), b.input(Scalar::F32), b.output(Scalar::F32));
    b.par_for(0i64, 1024i64, |b, i| b.store(z, i.clone(), load(x, i.clone()) + load(y, i)));
    let k: Kernel = b.finish();
    one_output_per_kernel("vadd", vec![io("x", Scalar::F32, 1024), io("y", Scalar::F32, 1024)], vec![(k, io("z", Scalar::F32, 1024))])
}

fn asm(t: &Target) -> String {
    let opts = LlvmOptions { emit_asm: true, emit_llvm_ir: true };
    let out = compile(&add_program(), t, &opts).unwrap();
    assert!(out.llvm_ir.unwrap().contains("define"), "LLVM IR is emitted");
    out.asm.unwrap()
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
    assert!(a.contains("vsetvli") && a.contains("vfadd.vv") && (a.contains("vle32") || a.contains("re32.v")), "{a}");
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
    let p = one_output_per_kernel("fl", vec![io("x", Scalar::F64, 64)], vec![(b.finish(), io("y", Scalar::F64, 64))]);
    let opts = LlvmOptions { emit_asm: false, emit_llvm_ir: true };
    let base = compile(&p, &target("x86_64", &[]), &opts).unwrap();
    assert!(!base.llvm_ir.unwrap().contains("llvm.floor"));
    let sse41 = compile(&p, &target("x86_64", &["+sse4.1"]), &opts).unwrap();
    assert!(sse41.llvm_ir.unwrap().contains("llvm.floor"));
}
