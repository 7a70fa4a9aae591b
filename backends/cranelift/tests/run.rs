//! Programs built by hand, compiled for the host, linked and executed.

mod common;

use bytes::Bytes;
use common::*;
use onnxc_kernel::kir::{BinOp, CmpOp, Expr, Scalar, Stmt, UnOp};
use onnxc_kernel::{BufRef, Step, Target};

#[test]
fn elementwise_add() {
    let n = 37;
    let k = map_kernel(
        "add",
        &[Scalar::F32, Scalar::F32],
        Scalar::F32,
        n,
        bin(BinOp::Add, load(0, local(0)), load(1, local(0))),
    );
    let p = program(
        "addf",
        vec![io("a", Scalar::F32, n), io("b", Scalar::F32, n)],
        vec![io("c", Scalar::F32, n)],
        vec![k],
        vec![Step::Call {
            kernel: 0,
            args: vec![BufRef::Input(0), BufRef::Input(1), BufRef::Output(0)],
        }],
    );
    let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
    let b: Vec<f32> = (0..n).map(|i| 100.0 - i as f32).collect();
    let lib = Lib::build(&p);
    let out = lib.run(&[&f32_bytes(&a), &f32_bytes(&b)], &[n * 4]);
    let want: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    assert_eq!(to_f32(&out[0]), want);
}

/// C[m][n] = sum_k A[m][k] * B[k][n], with an accumulator local and a
/// non-unit step on the outer loop (two rows per iteration).
#[test]
fn matmul_loop_nest() {
    let (m, kk, n) = (6i64, 5i64, 7i64);
    // locals: 0 = i (step 2), 1 = j, 2 = k, 3 = acc, 4 = row (i + r), 5 = r
    let idx = |r: Expr, c: Expr, w: i64| bin(BinOp::Add, bin(BinOp::Mul, r, ci(w)), c);
    let inner = vec![
        assign(3, cf32(0.0)),
        for_(
            2,
            ci(0),
            ci(kk),
            1,
            vec![assign(
                3,
                bin(
                    BinOp::Add,
                    local(3),
                    bin(
                        BinOp::Mul,
                        load(0, idx(local(4), local(2), kk)),
                        load(1, idx(local(2), local(1), n)),
                    ),
                ),
            )],
        ),
        store(2, idx(local(4), local(1), n), local(3)),
    ];
    let body = vec![for_(
        0,
        ci(0),
        ci(m),
        2,
        vec![for_(
            5,
            ci(0),
            ci(2),
            1,
            vec![
                assign(4, bin(BinOp::Add, local(0), local(5))),
                for_(1, ci(0), ci(n), 1, inner),
            ],
        )],
    )];
    let ty = [
        Scalar::I64,
        Scalar::I64,
        Scalar::I64,
        Scalar::F32,
        Scalar::I64,
        Scalar::I64,
    ];
    let k = kernel(
        "matmul",
        &[
            (Scalar::F32, false),
            (Scalar::F32, false),
            (Scalar::F32, true),
        ],
        &ty,
        body,
    );
    let (mu, ku, nu) = (m as usize, kk as usize, n as usize);
    let p = program(
        "mm",
        vec![io("a", Scalar::F32, mu * ku), io("b", Scalar::F32, ku * nu)],
        vec![io("c", Scalar::F32, mu * nu)],
        vec![k],
        vec![Step::Call {
            kernel: 0,
            args: vec![BufRef::Input(0), BufRef::Input(1), BufRef::Output(0)],
        }],
    );
    let a: Vec<f32> = (0..mu * ku).map(|i| (i % 7) as f32 - 3.0).collect();
    let b: Vec<f32> = (0..ku * nu).map(|i| (i % 5) as f32 * 0.25).collect();
    let out = Lib::build(&p).run(&[&f32_bytes(&a), &f32_bytes(&b)], &[mu * nu * 4]);
    let mut want = vec![0f32; mu * nu];
    for i in 0..mu {
        for j in 0..nu {
            let mut acc = 0f32;
            for q in 0..ku {
                acc += a[i * ku + q] * b[q * nu + j];
            }
            want[i * nu + j] = acc;
        }
    }
    assert_eq!(to_f32(&out[0]), want);
}

/// Loop bounds are evaluated once; assigning the loop variable in the body
/// does not change the trip count; empty ranges run zero times; a step
/// that overshoots `end` near i64::MAX terminates.
#[test]
fn loop_semantics() {
    // out[0] = trip count of for i in 3..end(=load) step 4 { i = 100 }
    // out[1] = trip count of for i in 5..2
    // out[2] = trip count of for i in MAX-10..MAX step 7
    let count = |l: u32, start: Expr, end: Expr, step: i64, extra: Vec<Stmt>| {
        let mut body = extra;
        body.push(assign(1, bin(BinOp::Add, local(1), ci(1))));
        vec![assign(1, ci(0)), for_(l, start, end, step, body)]
    };
    let mut body = count(0, ci(3), load(0, ci(0)), 4, vec![assign(0, ci(100))]);
    body.push(store(1, ci(0), local(1)));
    body.extend(count(0, ci(5), ci(2), 1, vec![]));
    body.push(store(1, ci(1), local(1)));
    body.extend(count(0, ci(i64::MAX - 10), ci(i64::MAX), 7, vec![]));
    body.push(store(1, ci(2), local(1)));
    let k = kernel(
        "loops",
        &[(Scalar::I64, false), (Scalar::I64, true)],
        &[Scalar::I64, Scalar::I64],
        body,
    );
    let p = program(
        "loops",
        vec![io("end", Scalar::I64, 1)],
        vec![io("n", Scalar::I64, 3)],
        vec![k],
        vec![Step::Call {
            kernel: 0,
            args: vec![BufRef::Input(0), BufRef::Output(0)],
        }],
    );
    let out = Lib::build(&p).run(&[&20i64.to_le_bytes()], &[24]);
    assert_eq!(elems(Scalar::I64, &out[0]), vec![5, 0, 2]); // 3,7,11,15,19
}

/// Constants, workspace round trips and Copy steps.
#[test]
fn consts_workspace_and_copies() {
    let n = 16;
    let w: Vec<f32> = (0..n).map(|i| i as f32 * 1.5).collect();
    // k0: ws[i] = x[i] * w[i]; k1: y[i] = ws[i] + w[i]
    let k0 = map_kernel(
        "scale",
        &[Scalar::F32, Scalar::F32],
        Scalar::F32,
        n,
        bin(BinOp::Mul, load(0, local(0)), load(1, local(0))),
    );
    let k1 = map_kernel(
        "shift",
        &[Scalar::F32, Scalar::F32],
        Scalar::F32,
        n,
        bin(BinOp::Add, load(0, local(0)), load(1, local(0))),
    );
    let mut p = program(
        "cwc",
        vec![io("x", Scalar::F32, n), io("z", Scalar::U8, 5)],
        vec![
            io("y", Scalar::F32, n),
            io("x_copy", Scalar::F32, n),
            io("w_copy", Scalar::F32, n),
            io("z_copy", Scalar::U8, 5),
        ],
        vec![k0, k1],
        vec![
            Step::Call {
                kernel: 0,
                args: vec![BufRef::Input(0), BufRef::Const(1), BufRef::Workspace(128)],
            },
            Step::Call {
                kernel: 1,
                args: vec![BufRef::Workspace(128), BufRef::Const(1), BufRef::Output(0)],
            },
            Step::Copy {
                dst: BufRef::Output(1),
                src: BufRef::Input(0),
                bytes: n * 4,
            },
            Step::Copy {
                dst: BufRef::Output(2),
                src: BufRef::Const(1),
                bytes: n * 4,
            },
            Step::Copy {
                dst: BufRef::Output(3),
                src: BufRef::Input(1),
                bytes: 5,
            },
            Step::Copy {
                dst: BufRef::Output(3),
                src: BufRef::Input(1),
                bytes: 0,
            },
        ],
    );
    p.consts = vec![Bytes::from_static(&[9; 3]), Bytes::from(f32_bytes(&w))];
    p.workspace_size = 128 + n * 4;
    let lib = Lib::build(&p);
    assert_eq!(lib.workspace_size(), 128 + n * 4);
    let x: Vec<f32> = (0..n).map(|i| 2.0 - i as f32).collect();
    let out = lib.run(
        &[&f32_bytes(&x), &[1, 2, 3, 4, 5]],
        &[n * 4, n * 4, n * 4, 5],
    );
    let want: Vec<f32> = x.iter().zip(&w).map(|(a, b)| a * b + b).collect();
    assert_eq!(to_f32(&out[0]), want);
    assert_eq!(to_f32(&out[1]), x);
    assert_eq!(to_f32(&out[2]), w);
    assert_eq!(out[3], vec![1, 2, 3, 4, 5]);
}

/// `If`, `Select`, float unary ops, Bitcast.
#[test]
fn control_flow_and_unary() {
    let n = 12;
    let xs: Vec<f32> = vec![
        -2.5,
        -1.5,
        -0.5,
        0.5,
        1.5,
        2.5,
        3.7,
        -3.7,
        0.0,
        -0.0,
        f32::INFINITY,
        1e10,
    ];
    let ops = [
        UnOp::Floor,
        UnOp::Ceil,
        UnOp::Trunc,
        UnOp::RoundEven,
        UnOp::Abs,
        UnOp::Neg,
        UnOp::Sqrt,
    ];
    let refs: [fn(f32) -> f32; 7] = [
        f32::floor,
        f32::ceil,
        f32::trunc,
        f32::round_ties_even,
        f32::abs,
        |x| -x,
        f32::sqrt,
    ];
    let mut kernels: Vec<_> = ops
        .iter()
        .map(|&op| {
            map_kernel(
                "un",
                &[Scalar::F32],
                Scalar::F32,
                n,
                un(op, load(0, local(0))),
            )
        })
        .collect();
    // if x > 0 { out = x } else { out = select(x < -1, -1, 0) }
    let x = || load(0, local(0));
    let sel = Expr::Select(
        Box::new(cmp(CmpOp::Lt, x(), cf32(-1.0))),
        Box::new(cf32(-1.0)),
        Box::new(cf32(0.0)),
    );
    let if_ = Stmt::If {
        cond: cmp(CmpOp::Gt, x(), cf32(0.0)),
        then_body: vec![store(1, local(0), x())],
        else_body: vec![store(1, local(0), sel)],
    };
    kernels.push(kernel(
        "if",
        &[(Scalar::F32, false), (Scalar::F32, true)],
        &[Scalar::I64],
        vec![for_(0, ci(0), ci(n as i64), 1, vec![if_])],
    ));
    // out = bitcast<u32>(x) ^ 0x8000_0000 -> bitcast back: negation by bits
    let flip = bin(
        BinOp::Xor,
        Expr::Bitcast(Scalar::U32, Box::new(x())),
        Expr::Const(onnxc_kernel::kir::Const::int(Scalar::U32, 0x8000_0000)),
    );
    kernels.push(map_kernel(
        "bits",
        &[Scalar::F32],
        Scalar::F32,
        n,
        Expr::Bitcast(Scalar::F32, Box::new(flip)),
    ));
    let nk = kernels.len();
    let p = program(
        "unary",
        vec![io("x", Scalar::F32, n)],
        (0..nk)
            .map(|i| io(&format!("o{i}"), Scalar::F32, n))
            .collect(),
        kernels,
        (0..nk)
            .map(|i| Step::Call {
                kernel: i,
                args: vec![BufRef::Input(0), BufRef::Output(i)],
            })
            .collect(),
    );
    let out = Lib::build(&p).run(&[&f32_bytes(&xs)], &vec![n * 4; nk]);
    for (i, f) in refs.iter().enumerate() {
        // NaN payloads differ between ISAs (sqrt of negatives): compare NaN as NaN.
        let bits = |x: f32| if x.is_nan() { u32::MAX } else { x.to_bits() };
        let want: Vec<u32> = xs.iter().map(|&x| bits(f(x))).collect();
        let got: Vec<u32> = to_f32(&out[i]).iter().map(|&x| bits(x)).collect();
        assert_eq!(got, want, "{:?}", ops[i]);
    }
    let want_if: Vec<f32> = xs
        .iter()
        .map(|&x| {
            if x > 0.0 {
                x
            } else if x < -1.0 {
                -1.0
            } else {
                0.0
            }
        })
        .collect();
    assert_eq!(to_f32(&out[nk - 2]), want_if);
    let want_bits: Vec<u32> = xs.iter().map(|&x| (-x).to_bits()).collect();
    assert_eq!(
        to_f32(&out[nk - 1])
            .iter()
            .map(|x| x.to_bits())
            .collect::<Vec<_>>(),
        want_bits
    );
}

#[test]
fn asm_listing_names_every_function() {
    let k = map_kernel(
        "neg",
        &[Scalar::I32],
        Scalar::I32,
        4,
        un(UnOp::Neg, load(0, local(0))),
    );
    let p = program(
        "lst",
        vec![io("a", Scalar::I32, 4)],
        vec![io("b", Scalar::I32, 4)],
        vec![k],
        vec![Step::Call {
            kernel: 0,
            args: vec![BufRef::Input(0), BufRef::Output(0)],
        }],
    );
    let (obj, asm) = onnxc_cranelift::compile_with_asm(&p, &Target::host()).unwrap();
    assert!(!obj.is_empty());
    for name in ["lst_k0_neg:", "lst_workspace_size:", "lst_run:"] {
        assert!(asm.contains(name), "{name} missing from\n{asm}");
    }
    assert!(asm.lines().count() > 10, "{asm}");
}
