//! Objects for AArch64 and RISC-V (RVV) linked into a C driver with the
//! cross gcc and run under qemu-user, compared with the KIR interpreter.
//! Skipped (with a note) where the cross tools are not installed:
//! `apt-get install gcc-riscv64-linux-gnu gcc-aarch64-linux-gnu qemu-user`.

mod common;

use common::cross::*;
use common::programs::*;
use common::*;
use onnxc_kernel::Program;

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
