//! Objects for AArch64 and RISC-V (RVV) linked into a C driver with the
//! cross gcc and run under qemu-user, compared with the KIR interpreter.
//! Skipped (with a note) where the cross tools are not installed:
//! `apt-get install gcc-riscv64-linux-gnu gcc-aarch64-linux-gnu qemu-user`.

mod common;

use common::programs::*;
use common::*;
use onnxc_kernel::{Program, Target};
use onnxc_llvm::{compile, LlvmOptions};
use std::fmt::Write as _;
use std::process::Command;

struct Cross {
    target: Target,
    gcc: &'static str,
    qemu: &'static str,
    qemu_args: &'static [&'static str],
}

fn crosses() -> Vec<Cross> {
    let t = |triple: &str, feats: &[&str]| {
        let mut t = Target::parse(triple).unwrap();
        t.features = feats.iter().map(|s| s.to_string()).collect();
        t
    };
    vec![
        Cross {
            target: t("aarch64", &[]),
            gcc: "aarch64-linux-gnu-gcc",
            qemu: "qemu-aarch64",
            qemu_args: &[],
        },
        Cross {
            target: t("riscv64", &[]),
            gcc: "riscv64-linux-gnu-gcc",
            qemu: "qemu-riscv64",
            qemu_args: &[],
        },
        Cross {
            target: t("riscv64gc-unknown-linux-gnu", &["+v"]),
            gcc: "riscv64-linux-gnu-gcc",
            qemu: "qemu-riscv64",
            qemu_args: &["-cpu", "rv64,v=true,vlen=256"],
        },
        Cross {
            target: t("riscv64gc-unknown-linux-gnu", &["+v"]),
            gcc: "riscv64-linux-gnu-gcc",
            qemu: "qemu-riscv64",
            qemu_args: &["-cpu", "rv64,v=true,vlen=128"],
        },
    ]
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A C `main` that runs the model on embedded inputs and writes every output to stdout.
fn driver(p: &Program, inputs: &[&[u8]]) -> String {
    let mut c = String::from("#include <stdio.h>\n#include <stdlib.h>\n#include <stddef.h>\n");
    let _ = writeln!(c, "size_t {0}_workspace_size(void);\nint {0}_run(const void *const *, void *const *, void *, const void *);", p.name);
    for (i, b) in inputs.iter().enumerate() {
        let body: Vec<String> = b.iter().map(|x| x.to_string()).collect();
        let _ = writeln!(
            c,
            "static const unsigned char in{i}[] __attribute__((aligned(64))) = {{{}}};",
            body.join(",")
        );
    }
    for (i, o) in p.outputs.iter().enumerate() {
        let _ = writeln!(
            c,
            "static unsigned char out{i}[{}] __attribute__((aligned(64)));",
            o.byte_size().max(1)
        );
    }
    let ins: Vec<String> = (0..inputs.len()).map(|i| format!("in{i}")).collect();
    let outs: Vec<String> = (0..p.outputs.len()).map(|i| format!("out{i}")).collect();
    let _ = writeln!(
        c,
        "int main(void) {{\n  const void *ins[] = {{{}}};\n  void *outs[] = {{{}}};",
        ins.join(","),
        outs.join(",")
    );
    let _ = writeln!(
        c,
        "  void *ws = aligned_alloc(64, ({}_workspace_size() + 127) / 64 * 64);",
        p.name
    );
    let _ = writeln!(c, "  if ({}_run(ins, outs, ws, 0) != 0) return 2;", p.name);
    for (i, o) in p.outputs.iter().enumerate() {
        let _ = writeln!(c, "  fwrite(out{i}, 1, {}, stdout);", o.byte_size());
    }
    c.push_str("  return 0;\n}\n");
    c
}

fn run_cross(x: &Cross, p: &Program, inputs: &[&[u8]]) -> Vec<Vec<u8>> {
    let obj = compile(p, &x.target, &LlvmOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", x.target));
    let dir = tempfile::tempdir().unwrap();
    let (o, c, exe) = (
        dir.path().join("m.o"),
        dir.path().join("main.c"),
        dir.path().join("main"),
    );
    std::fs::write(&o, obj.object).unwrap();
    std::fs::write(&c, driver(p, inputs)).unwrap();
    let st = Command::new(x.gcc)
        .args(["-static", "-O1", "-o"])
        .arg(&exe)
        .arg(&c)
        .arg(&o)
        .status()
        .unwrap();
    assert!(st.success(), "{} failed to link {}", x.gcc, p.name);
    let out = Command::new(x.qemu)
        .args(x.qemu_args)
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {:?} {}: {:?}",
        x.qemu,
        x.qemu_args,
        p.name,
        out.status
    );
    let mut at = 0;
    p.outputs
        .iter()
        .map(|o| {
            let v = out.stdout[at..at + o.byte_size()].to_vec();
            at += o.byte_size();
            v
        })
        .collect()
}

#[test]
fn cross_objects_match_the_interpreter_under_qemu() {
    let mut programs: Vec<(Program, Vec<Vec<u8>>)> = vec![(mixed_program(), vec![mixed_input()])];
    for t in ALL {
        programs.push((ops_program(t), inputs_for(t).to_vec()));
    }
    for x in crosses() {
        if !have(x.gcc) || !have(x.qemu) {
            eprintln!(
                "skipping {}: {} or {} not installed",
                x.target, x.gcc, x.qemu
            );
            continue;
        }
        for (p, ins) in &programs {
            let ins: Vec<&[u8]> = ins.iter().map(|v| v.as_slice()).collect();
            let failures = mismatches(p, &interpret(p, &ins), &run_cross(&x, p, &ins));
            assert!(
                failures.is_empty(),
                "{} on {} {:?}: {} mismatches:\n{}",
                p.name,
                x.target,
                x.target.features,
                failures.len(),
                failures[..failures.len().min(20)].join("\n")
            );
        }
    }
}
