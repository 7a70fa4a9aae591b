//! Cross-running helpers: link an object for AArch64 / RISC-V into a C
//! driver with the cross gcc and run it under qemu-user.

use onnxc_kernel::{Program, Target};
use onnxc_llvm::{compile, LlvmOptions};
use std::fmt::Write as _;
use std::process::Command;

pub struct Cross {
    pub target: Target,
    pub gcc: &'static str,
    pub qemu: &'static str,
    pub qemu_args: &'static [&'static str],
}

pub fn crosses() -> Vec<Cross> {
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
            target: t("aarch64-unknown-linux-gnu", &["+sve"]),
            gcc: "aarch64-linux-gnu-gcc",
            qemu: "qemu-aarch64",
            qemu_args: &["-cpu", "max,sve256=on"],
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

pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A C `main` that runs the model on embedded inputs and writes every output to stdout.
pub fn driver(p: &Program, inputs: &[&[u8]]) -> String {
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

pub fn run_cross(x: &Cross, p: &Program, inputs: &[&[u8]]) -> Vec<Vec<u8>> {
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
