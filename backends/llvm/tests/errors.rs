//! Malformed programs are errors, never panics or invalid IR.

mod common;

use common::*;
use onnxc_kernel::builder::*;
use onnxc_kernel::kir::{BinOp, Expr, Kernel, LocalId, Param, ParamId, Scalar, Stmt};
use onnxc_kernel::{Arch, BufRef, Program, Step, Target};
use onnxc_llvm::{compile, LlvmError, LlvmOptions};

fn kernel(params: Vec<Param>, locals: Vec<Scalar>, body: Vec<Stmt>) -> Kernel {
    Kernel {
        name: "k".into(),
        params,
        locals,
        body,
        contract: false,
    }
}

fn f32_in() -> Param {
    Param {
        elem: Scalar::F32,
        writable: false,
    }
}
fn f32_out() -> Param {
    Param {
        elem: Scalar::F32,
        writable: true,
    }
}

fn program(kernels: Vec<Kernel>, steps: Vec<Step>) -> Program {
    Program {
        name: "bad".into(),
        inputs: vec![io("x", Scalar::F32, 4)],
        outputs: vec![io("y", Scalar::F32, 4)],
        consts: vec![],
        workspace_size: 0,
        kernels,
        steps,
    }
}

fn store(buf: u32, value: Expr) -> Stmt {
    Stmt::Store {
        buf: ParamId(buf),
        index: ci(0),
        value,
    }
}

fn expect_err(p: &Program, what: &str) {
    match compile(p, &host_target(), &LlvmOptions::default()) {
        Err(LlvmError::InvalidProgram(_) | LlvmError::InvalidKernel { .. }) => {}
        other => panic!("{what}: expected an invalid-program error, got {other:?}"),
    }
}

#[test]
fn malformed_steps_are_rejected() {
    let ok = kernel(
        vec![f32_in(), f32_out()],
        vec![],
        vec![store(1, load(ParamId(0), ci(0)))],
    );
    let call = |args: Vec<BufRef>| Step::Call { kernel: 0, args };
    expect_err(
        &program(
            vec![ok.clone()],
            vec![Step::Call {
                kernel: 3,
                args: vec![],
            }],
        ),
        "missing kernel",
    );
    expect_err(
        &program(vec![ok.clone()], vec![call(vec![BufRef::Input(0)])]),
        "too few args",
    );
    expect_err(
        &program(
            vec![ok.clone()],
            vec![call(vec![BufRef::Input(1), BufRef::Output(0)])],
        ),
        "missing input",
    );
    expect_err(
        &program(
            vec![ok.clone()],
            vec![call(vec![BufRef::Input(0), BufRef::Output(5)])],
        ),
        "missing output",
    );
    expect_err(
        &program(
            vec![ok.clone()],
            vec![call(vec![BufRef::Const(0), BufRef::Output(0)])],
        ),
        "missing const",
    );
    let copy = Step::Copy {
        dst: BufRef::Output(0),
        src: BufRef::Const(2),
        bytes: 16,
    };
    expect_err(&program(vec![ok], vec![copy]), "copy from a missing const");
}

#[test]
fn ill_typed_kernels_are_rejected() {
    let f = Scalar::F32;
    let x = || load(ParamId(0), ci(0));
    let cases: Vec<(&str, Kernel)> = vec![
        (
            "unknown local",
            kernel(
                vec![f32_in(), f32_out()],
                vec![],
                vec![store(1, Expr::Local(LocalId(9)))],
            ),
        ),
        (
            "unknown param",
            kernel(
                vec![f32_in(), f32_out()],
                vec![],
                vec![store(1, load(ParamId(7), ci(0)))],
            ),
        ),
        (
            "mixed operand types",
            kernel(
                vec![f32_in(), f32_out()],
                vec![],
                vec![store(1, x() + cint(Scalar::I32, 1))],
            ),
        ),
        (
            "float rem",
            kernel(
                vec![f32_in(), f32_out()],
                vec![],
                vec![store(
                    1,
                    Expr::Bin(BinOp::Rem, Box::new(x()), Box::new(x())),
                )],
            ),
        ),
        (
            "store to read-only",
            kernel(vec![f32_in(), f32_out()], vec![], vec![store(0, x())]),
        ),
        (
            "store of the wrong type",
            kernel(
                vec![f32_in(), f32_out()],
                vec![],
                vec![store(1, cint(Scalar::I32, 1))],
            ),
        ),
        (
            "float index",
            kernel(
                vec![f32_in(), f32_out()],
                vec![],
                vec![Stmt::Store {
                    buf: ParamId(1),
                    index: cf(f, 0.0),
                    value: x(),
                }],
            ),
        ),
        (
            "bitcast of another width",
            kernel(
                vec![f32_in(), f32_out()],
                vec![],
                vec![store(1, bitcast(Scalar::F64, x()))],
            ),
        ),
        (
            "non-bool condition",
            kernel(
                vec![f32_in(), f32_out()],
                vec![],
                vec![Stmt::If {
                    cond: x(),
                    then_body: vec![],
                    else_body: vec![],
                }],
            ),
        ),
        (
            "assign of the wrong type",
            kernel(
                vec![f32_in(), f32_out()],
                vec![Scalar::I64],
                vec![Stmt::Assign {
                    local: LocalId(0),
                    value: x(),
                }],
            ),
        ),
        (
            "zero step",
            kernel(
                vec![f32_in(), f32_out()],
                vec![Scalar::I64],
                vec![Stmt::For {
                    var: LocalId(0),
                    start: ci(0),
                    end: ci(4),
                    step: 0,
                    parallel: false,
                    body: vec![],
                }],
            ),
        ),
        (
            "float loop variable",
            kernel(
                vec![f32_in(), f32_out()],
                vec![f],
                vec![Stmt::For {
                    var: LocalId(0),
                    start: ci(0),
                    end: ci(4),
                    step: 1,
                    parallel: false,
                    body: vec![],
                }],
            ),
        ),
        (
            "bool arithmetic",
            kernel(
                vec![f32_in(), f32_out()],
                vec![],
                vec![Stmt::If {
                    cond: Expr::Bin(BinOp::Add, Box::new(cbool(true)), Box::new(cbool(true))),
                    then_body: vec![],
                    else_body: vec![],
                }],
            ),
        ),
    ];
    for (what, k) in cases {
        let p = program(
            vec![k],
            vec![Step::Call {
                kernel: 0,
                args: vec![BufRef::Input(0), BufRef::Output(0)],
            }],
        );
        expect_err(&p, what);
    }
}

#[test]
fn a_nul_in_the_program_name_is_an_error() {
    let mut p = program(vec![], vec![]);
    p.name = "a\0b".into();
    assert!(matches!(
        compile(&p, &host_target(), &LlvmOptions::default()),
        Err(LlvmError::InvalidProgram(_))
    ));
}

#[test]
fn bad_targets_are_errors() {
    let p = program(vec![], vec![]);
    let bogus = Target {
        arch: Arch::X86_64,
        triple: "bogus-unknown-linux-gnu".into(),
        cpu: None,
        features: vec![],
    };
    assert!(matches!(
        compile(&p, &bogus, &LlvmOptions::default()),
        Err(LlvmError::Target(_))
    ));
    let mut foreign = Target::parse(if cfg!(target_arch = "aarch64") {
        "x86_64"
    } else {
        "aarch64"
    })
    .unwrap();
    foreign.cpu = Some("native".into());
    assert!(matches!(
        compile(&p, &foreign, &LlvmOptions::default()),
        Err(LlvmError::Target(_))
    ));
}

#[test]
fn an_empty_program_compiles() {
    let p = program(vec![], vec![]);
    let lib = build(&p, &host_target());
    assert_eq!(lib.workspace_size(), 0);
    let x = [0u8; 16];
    assert_eq!(lib.run(&p, &[&x]), vec![vec![0xAB; 16]]);
}
