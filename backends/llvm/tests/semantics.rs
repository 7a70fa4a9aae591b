//! Every KIR operation on every type, compiled with LLVM for the host and
//! compared bit for bit with the KIR interpreter (the reference semantics).
//! Runs twice: the baseline CPU (x86-64 without SSE4.1 expands rounding
//! inline) and `native` (rounding and min/max through LLVM intrinsics).

mod common;

use common::programs::*;
use common::*;
use onnxc_kernel::{Program, Target};

fn check(p: &Program, target: &Target) {
    let lib = build(p, target);
    let ins = inputs_for(input_scalar(p));
    let ins: Vec<&[u8]> = ins.iter().map(|v| v.as_slice()).collect();
    let failures = mismatches(p, &interpret(p, &ins), &lib.run(p, &ins));
    assert!(
        failures.is_empty(),
        "{} on {target:?}: {} mismatches:\n{}",
        p.name,
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

#[test]
fn all_ops_match_the_interpreter_baseline_cpu() {
    for t in ALL {
        check(&ops_program(t), &host_target());
    }
}

#[test]
fn all_ops_match_the_interpreter_native_cpu() {
    for t in ALL {
        check(&ops_program(t), &native_target());
    }
}
