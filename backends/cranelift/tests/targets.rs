//! Cross-compilation, undefined symbols, big constants, target options and
//! ill-formed programs (which must be errors, never panics).

mod common;

use bytes::Bytes;
use common::*;
use onnxc_cranelift::{compile, CodegenError};
use onnxc_kernel::kir::{BinOp, CmpOp, Const, Expr, Kernel, Scalar, UnOp};
use onnxc_kernel::{BufRef, Program, Step, Target};
use std::time::Instant;

const TYPES: [Scalar; 11] = Scalar::ALL;

/// Every operation on every type it applies to, every cast, a copy and a
/// constant: the program each target must compile without libcalls.
fn everything() -> Program {
    let mut kernels: Vec<Kernel> = Vec::new();
    let x = || load(0, local(0));
    for &t in &TYPES {
        let num = t != Scalar::Bool;
        let sel = |op| Expr::Select(Box::new(cmp(op, x(), x())), Box::new(x()), Box::new(x()));
        let mut exprs = vec![sel(CmpOp::Ne), sel(CmpOp::Lt), sel(CmpOp::Ge)];
        exprs.extend(TYPES.iter().map(|&to| cast(t, cast(to, x()))));
        let mut ops = vec![BinOp::And, BinOp::Min, BinOp::Max];
        if num {
            ops = vec![
                BinOp::Add,
                BinOp::Sub,
                BinOp::Mul,
                BinOp::Div,
                BinOp::Min,
                BinOp::Max,
            ];
        }
        if t.is_int() {
            ops.extend([
                BinOp::Rem,
                BinOp::And,
                BinOp::Or,
                BinOp::Xor,
                BinOp::Shl,
                BinOp::Shr,
            ]);
        }
        let mut body = Vec::new();
        for op in ops {
            body.push(store(
                1,
                local(0),
                bin(op, x(), load(0, bin(BinOp::Add, local(0), ci(1)))),
            ));
        }
        let uns: &[UnOp] = match t {
            Scalar::Bool => &[UnOp::Not],
            t if t.is_float() => &[
                UnOp::Neg,
                UnOp::Abs,
                UnOp::Sqrt,
                UnOp::Floor,
                UnOp::Ceil,
                UnOp::Trunc,
                UnOp::RoundEven,
            ],
            _ => &[UnOp::Neg, UnOp::Abs, UnOp::Not, UnOp::Floor],
        };
        body.extend(uns.iter().map(|&op| store(1, local(0), un(op, x()))));
        body.extend(exprs.into_iter().map(|e| store(1, local(0), e)));
        let loop_ = for_(0, ci(0), ci(8), 1, body);
        kernels.push(kernel(
            &format!("all_{t}"),
            &[(t, false), (t, true)],
            &[Scalar::I64],
            vec![loop_],
        ));
    }
    let n = kernels.len();
    let mut p = program(
        "everything",
        TYPES.iter().map(|&t| io(&format!("{t}"), t, 9)).collect(),
        TYPES.iter().map(|&t| io(&format!("o{t}"), t, 9)).collect(),
        kernels,
        (0..n)
            .map(|i| Step::Call {
                kernel: i,
                args: vec![BufRef::Input(i), BufRef::Output(i)],
            })
            .collect(),
    );
    p.steps.push(Step::Copy {
        dst: BufRef::Workspace(0),
        src: BufRef::Const(0),
        bytes: 64,
    });
    p.consts = vec![Bytes::from(vec![7u8; 64])];
    p.workspace_size = 64;
    p
}

fn check_undefined(obj: &[u8], what: &str) {
    let allowed = ["memcpy", "memset"];
    let undef = undefined_symbols(obj);
    assert!(
        undef.iter().all(|s| allowed.contains(&s.as_str())),
        "{what}: undefined symbols {undef:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    if let Some(nm) = nm_undefined(obj, dir.path()) {
        assert!(
            nm.iter().all(|s| allowed.contains(&s.as_str())),
            "{what}: nm -u lists {nm:?}"
        );
    }
}

#[test]
fn every_target_compiles_without_libcalls() {
    let p = everything();
    for t in ["x86_64", "aarch64", "riscv64", "riscv64-unknown-linux-gnu"] {
        let target = Target::parse(t).unwrap();
        let obj = compile(&p, &target).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert!(obj.starts_with(b"\x7fELF"), "{t}: not ELF");
        check_undefined(&obj, t);
    }
}

#[test]
fn everything_runs_on_host() {
    // Smoke test: the all-ops program links and runs (values are checked
    // in scalar_ops.rs).
    let p = everything();
    let ins: Vec<Vec<u8>> = TYPES.iter().map(|t| vec![1u8; t.size() * 9]).collect();
    let refs: Vec<&[u8]> = ins.iter().map(|v| v.as_slice()).collect();
    let sizes: Vec<usize> = TYPES.iter().map(|t| t.size() * 9).collect();
    Lib::build(&p).run(&refs, &sizes);
}

#[test]
fn features_and_cpus() {
    let p = everything();
    let mut t = Target::parse("x86_64").unwrap();
    t.features = vec![
        "+avx2".into(),
        "+fma,+bmi2".into(),
        "+no-such-feature".into(),
        "-avx512f".into(),
    ];
    check_undefined(&compile(&p, &t).unwrap(), "x86_64 +avx2");
    t.cpu = Some("haswell".into());
    compile(&p, &t).unwrap();
    t.cpu = Some("not-a-cpu".into());
    assert!(matches!(compile(&p, &t), Err(CodegenError::Target(_))));
    t.cpu = None;
    t.features = vec!["-sse4.1".into()];
    assert!(matches!(compile(&p, &t), Err(CodegenError::Target(_))));

    let mut r = Target::parse("riscv64").unwrap();
    r.features = vec!["+zba".into(), "+zbb".into(), "+v".into(), "-c".into()];
    check_undefined(&compile(&p, &r).unwrap(), "riscv64 +zbb");
    let mut a = Target::parse("aarch64").unwrap();
    a.features = vec!["+lse".into()];
    compile(&p, &a).unwrap();

    let mut native = Target::host();
    native.cpu = Some("native".into());
    let obj = compile(&p, &native).unwrap();
    Lib::link(&obj, &p.name);
}

#[test]
fn big_constant_builds_quickly() {
    let size = 32 << 20;
    let n = 16;
    let k = map_kernel(
        "pick",
        &[Scalar::F32],
        Scalar::F32,
        n,
        load(0, bin(BinOp::Mul, local(0), ci(1 << 19))),
    );
    let mut p = program(
        "big",
        vec![],
        vec![io("y", Scalar::F32, n)],
        vec![k],
        vec![Step::Call {
            kernel: 0,
            args: vec![BufRef::Const(1), BufRef::Output(0)],
        }],
    );
    let w: Vec<f32> = (0..size / 4).map(|i| i as f32).collect();
    p.consts = vec![Bytes::from_static(b"x"), Bytes::from(f32_bytes(&w))];
    let start = Instant::now();
    let obj = compile(&p, &Target::host()).unwrap();
    let took = start.elapsed();
    assert!(took.as_secs_f64() < 5.0, "took {took:?}");
    assert!(
        obj.len() > size && obj.len() < size + (1 << 20),
        "object is {} bytes",
        obj.len()
    );
    let out = Lib::link(&obj, "big").run(&[], &[n * 4]);
    let want: Vec<f32> = (0..n).map(|i| (i << 19) as f32).collect();
    assert_eq!(to_f32(&out[0]), want);
}

fn simple() -> Program {
    let k = map_kernel("id", &[Scalar::F32], Scalar::F32, 4, load(0, local(0)));
    program(
        "simple",
        vec![io("x", Scalar::F32, 4)],
        vec![io("y", Scalar::F32, 4)],
        vec![k],
        vec![Step::Call {
            kernel: 0,
            args: vec![BufRef::Input(0), BufRef::Output(0)],
        }],
    )
}

#[test]
fn ill_formed_programs_are_errors() {
    let host = Target::host();
    let mut cases: Vec<(String, Program)> = Vec::new();
    let mut p = simple();
    p.name = "bad name".into();
    cases.push(("name".into(), p));
    let mut p = simple();
    p.steps = vec![Step::Call {
        kernel: 3,
        args: vec![],
    }];
    cases.push(("kernel index".into(), p));
    let mut p = simple();
    p.steps = vec![Step::Call {
        kernel: 0,
        args: vec![BufRef::Input(0)],
    }];
    cases.push(("arg count".into(), p));
    let mut p = simple();
    p.steps = vec![Step::Call {
        kernel: 0,
        args: vec![BufRef::Input(0), BufRef::Input(0)],
    }];
    cases.push(("write input".into(), p));
    let mut p = simple();
    p.steps = vec![Step::Call {
        kernel: 0,
        args: vec![BufRef::Input(0), BufRef::Const(0)],
    }];
    cases.push(("const index".into(), p));
    let mut p = simple();
    p.steps = vec![Step::Copy {
        dst: BufRef::Output(0),
        src: BufRef::Input(0),
        bytes: 17,
    }];
    cases.push(("copy overrun".into(), p));
    let mut p = simple();
    p.steps = vec![Step::Copy {
        dst: BufRef::Workspace(64),
        src: BufRef::Input(0),
        bytes: 4,
    }];
    cases.push(("workspace overrun".into(), p));
    let bad_bodies = [
        vec![store(1, ci(0), cf32(1.0)), assign(7, ci(0))],
        vec![store(1, ci(0), Expr::Const(Const::f64(1.0)))],
        vec![store(1, cf32(0.0), cf32(1.0))],
        vec![store(0, ci(0), cf32(1.0))],
        vec![store(5, ci(0), cf32(1.0))],
        vec![store(1, ci(0), bin(BinOp::Add, cf32(1.0), ci(1)))],
        vec![store(1, ci(0), bin(BinOp::Rem, cf32(1.0), cf32(1.0)))],
        vec![store(1, ci(0), bin(BinOp::Shl, cf32(1.0), cf32(1.0)))],
        vec![assign(0, un(UnOp::Sqrt, ci(4)))],
        vec![assign(0, Expr::Bitcast(Scalar::I32, Box::new(ci(4))))],
        vec![for_(0, ci(0), ci(4), 0, vec![])],
        vec![for_(0, ci(0), cf32(4.0), 1, vec![])],
        vec![store(
            1,
            ci(0),
            (0..5000).fold(cf32(0.0), |e, _| un(UnOp::Neg, e)),
        )],
    ];
    for (i, body) in bad_bodies.into_iter().enumerate() {
        let mut p = simple();
        p.kernels[0].body = body;
        cases.push((format!("body {i}"), p));
    }
    for (what, p) in cases {
        match compile(&p, &host) {
            Err(CodegenError::InvalidProgram(msg)) => assert!(!msg.is_empty()),
            other => panic!(
                "{what}: expected InvalidProgram, got {:?}",
                other.map(|o| o.len())
            ),
        }
    }
    // A target that does not match its architecture.
    let mut t = Target::parse("x86_64").unwrap();
    t.triple = "aarch64-unknown-linux-gnu".into();
    assert!(matches!(
        compile(&simple(), &t),
        Err(CodegenError::Target(_))
    ));
}

/// Kernels compile on several threads; the object must not depend on
/// which thread finished first.
#[test]
fn many_kernels_compile_deterministically() {
    use onnxc_kernel::builder::{ci, load, KernelBuilder};
    let n = 200;
    let mut kernels = Vec::new();
    let mut steps = Vec::new();
    for k in 0..n {
        let mut b = KernelBuilder::new(format!("k{k}"));
        let x = b.input(Scalar::F32);
        let y = b.output(Scalar::F32);
        b.for_loop(ci(0), ci(64 + k as i64), |b, i| {
            let r = onnxc_kernel::math::tanh(b, load(x, i.clone()));
            b.store(y, i, r);
        });
        kernels.push(b.finish());
        steps.push(Step::Call {
            kernel: k,
            args: vec![BufRef::Input(0), BufRef::Workspace(0)],
        });
    }
    let mut p = program(
        "many",
        vec![io("x", Scalar::F32, 4096)],
        vec![],
        kernels,
        steps,
    );
    p.workspace_size = 4096 * 4;
    let start = Instant::now();
    let first = compile(&p, &Target::host()).unwrap();
    assert!(
        start.elapsed().as_secs_f64() < 10.0,
        "took {:?}",
        start.elapsed()
    );
    for _ in 0..2 {
        assert!(
            compile(&p, &Target::host()).unwrap() == first,
            "object differs between runs"
        );
    }
    let (with_asm, asm) = onnxc_cranelift::compile_with_asm(&p, &Target::host()).unwrap();
    assert!(with_asm == first, "listing changed the object");
    assert!(asm.contains("many_k199_k199:"));
}
