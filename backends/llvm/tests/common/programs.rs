//! Programs shared by several test files: every operation on every type
//! (`ops_program`), and a small two-kernel model with constants, workspace,
//! a copy step and strided/conditional loops (`mixed_program`).

use super::*;
use onnxc_kernel::builder::*;
use onnxc_kernel::kir::{BinOp, CmpOp, Expr, Kernel, Scalar, UnOp};
use onnxc_kernel::{BufRef, Program, Step};

pub const N: usize = 96;
pub const ALL: [Scalar; 11] = Scalar::ALL;

/// `y[i] = f(a[i], b[i], d[i])` over `N` elements.
fn elementwise(
    name: String,
    t: Scalar,
    out: Scalar,
    f: impl Fn(Expr, Expr, Expr) -> Expr,
) -> (Kernel, onnxc_kernel::IoTensor) {
    let mut b = KernelBuilder::new(name.clone());
    let (a, c, d) = (b.input(t), b.input(t), b.input(t));
    let y = b.output(out);
    b.par_for(0i64, N as i64, |b, i| {
        let v = f(load(a, i.clone()), load(c, i.clone()), load(d, i.clone()));
        b.store(y, i, v);
    });
    (b.finish(), io(&name, out, N))
}

fn bin_ops(t: Scalar) -> Vec<BinOp> {
    use BinOp::*;
    match t {
        Scalar::F32 | Scalar::F64 => vec![Add, Sub, Mul, Div, Min, Max],
        Scalar::Bool => vec![And, Or, Xor, Min, Max],
        _ => vec![Add, Sub, Mul, Div, Rem, Min, Max, And, Or, Xor, Shl, Shr],
    }
}

pub fn ops_program(t: Scalar) -> Program {
    let mut ks = Vec::new();
    for op in bin_ops(t) {
        // Integer division uses the third input: never zero, often -1.
        let divides = matches!(op, BinOp::Div | BinOp::Rem) && !t.is_float();
        ks.push(elementwise(format!("bin_{op:?}"), t, t, move |a, b, d| {
            Expr::Bin(op, Box::new(a), Box::new(if divides { d } else { b }))
        }));
    }
    use UnOp::*;
    for op in [Neg, Abs, Sqrt, Floor, Ceil, Trunc, RoundEven, Not] {
        ks.push(elementwise(format!("un_{op:?}"), t, t, move |a, _, _| {
            Expr::Un(op, Box::new(a))
        }));
    }
    use CmpOp::*;
    for op in [Eq, Ne, Lt, Le, Gt, Ge] {
        ks.push(elementwise(
            format!("cmp_{op:?}"),
            t,
            Scalar::Bool,
            move |a, b, _| Expr::Cmp(op, Box::new(a), Box::new(b)),
        ));
    }
    ks.push(elementwise("select".into(), t, t, |a, b, _| {
        select(lt(a.clone(), b.clone()), a, b)
    }));
    for to in ALL {
        ks.push(elementwise(format!("cast_{to}"), t, to, move |a, _, _| {
            cast(to, a)
        }));
        // Bitcasts into Bool are excluded: a Bool holding 2..=255 has no meaning
        // (the backend normalises to 0/1, the interpreter keeps the byte).
        if to.size() == t.size() && to != Scalar::Bool {
            ks.push(elementwise(
                format!("bitcast_{to}"),
                t,
                to,
                move |a, _, _| bitcast(to, a),
            ));
        }
    }
    // Only well-typed kernels (e.g. no Sqrt on ints, no Min on Bool).
    ks.retain(|(k, _)| onnxc_kernel::interp::check_kernel(k).is_ok());
    let inputs = vec![io("a", t, N), io("b", t, N), io("d", t, N)];
    one_output_per_kernel(&format!("ops_{t}"), inputs, ks)
}

pub fn inputs_for(t: Scalar) -> [Vec<u8>; 3] {
    let a = sample(t, N);
    let mut b = sample(t, N + 7)[7..].to_vec();
    b.reverse();
    // Divisors: no zero (UB in KIR), and -1 next to MIN dividends.
    let d: Vec<u64> = a
        .iter()
        .zip(&b)
        .enumerate()
        .map(|(i, (_, &x))| {
            if i % 5 == 0 && t.is_signed() {
                u64::MAX >> (64 - 8 * t.size())
            } else if x == 0 {
                3
            } else {
                x
            }
        })
        .collect();
    [to_bytes(t, &a), to_bytes(t, &b), to_bytes(t, &d)]
}

/// Compares outputs of `p` bit for bit, except what KIR leaves open: NaN
/// payloads and the sign of a zero returned by float min/max.
pub fn mismatches(p: &Program, want: &[Vec<u8>], got: &[Vec<u8>]) -> Vec<String> {
    let mut failures = Vec::new();
    for ((o, w), g) in p.outputs.iter().zip(want).zip(got) {
        let s = ALL.into_iter().find(|s| dtype(*s) == o.dtype).unwrap();
        let minmax = o.name.contains("Min") || o.name.contains("Max");
        for (i, (x, y)) in elems(w, s.size())
            .into_iter()
            .zip(elems(g, s.size()))
            .enumerate()
        {
            let same = x == y
                || (is_nan(s, x) && is_nan(s, y))
                || (minmax && is_zero(s, x) && is_zero(s, y));
            if !same {
                failures.push(format!("{}[{i}]: interp {x:#x}, llvm {y:#x}", o.name));
            }
        }
    }
    failures
}

/// The scalar type of input 0 of an `ops_program`.
pub fn input_scalar(p: &Program) -> Scalar {
    ALL.into_iter()
        .find(|s| dtype(*s) == p.inputs[0].dtype)
        .unwrap()
}

pub const MIXED_N: i64 = 100;

pub fn mixed_input() -> Vec<u8> {
    let x: Vec<f32> = (0..MIXED_N)
        .map(|i| (i as f32 - 40.0) * 1.37 + if i == 7 { f32::NAN } else { 0.0 })
        .collect();
    bytes_of(&x)
}

/// Kernel 0: ws = floor/ceil/round/trunc/sqrt/min/max soup of (x, c);
/// kernel 1: saturating casts and integer division of ws into y (i32), a
/// strided loop and a Bool output. Output 2 is a copy of input 0.
pub fn mixed_program() -> Program {
    let f = Scalar::F32;
    let mut b = KernelBuilder::new("soup");
    let (x, c, w) = (b.input(f), b.input(f), b.output(f));
    b.par_for(0i64, MIXED_N, |b, i| {
        let (xv, cv) = (b.let_(load(x, i.clone())), b.let_(load(c, i.clone())));
        let r = floor(xv.clone())
            + ceil(cv.clone())
            + round_even(xv.clone() * cf(f, 0.5))
            + trunc(cv.clone());
        let r = max(min(r, cf(f, 1e6)), sqrt(abs(xv.clone()))) / (abs(cv) + cf(f, 1.0));
        b.store(w, i, r);
    });
    let k0 = b.finish();

    let mut b = KernelBuilder::new("ints");
    let (w, y, z, m) = (
        b.input(f),
        b.output(Scalar::I32),
        b.output(Scalar::Bool),
        b.output(Scalar::U8),
    );
    b.par_for(0i64, MIXED_N, |b, i| {
        let v = b.let_(cast(Scalar::I32, load(w, i.clone()) * cf(f, 1000.0)));
        let q = v.clone() / cint(Scalar::I32, 7) + rem(v.clone(), cint(Scalar::I32, -3));
        b.store(y, i.clone(), q);
        b.store(z, i.clone(), gt(load(w, i.clone()), cf(f, 2.0)));
        b.store(m, i.clone(), cast(Scalar::U8, load(w, i)));
    });
    b.for_step(0i64, MIXED_N, 3, |b, i| {
        b.if_(lt(load(w, i.clone()), cf(f, 0.0)), |b| {
            b.store(y, i.clone(), cint(Scalar::I32, -1))
        });
    });
    let k1 = b.finish();

    let consts = vec![bytes::Bytes::from(bytes_of(
        &(0..MIXED_N)
            .map(|i| (i as f32 - 50.0) * 0.37)
            .collect::<Vec<f32>>(),
    ))];
    Program {
        name: "mixed".into(),
        inputs: vec![io("x", f, MIXED_N as usize)],
        outputs: vec![
            io("y", Scalar::I32, MIXED_N as usize),
            io("z", Scalar::Bool, MIXED_N as usize),
            io("x_copy", f, MIXED_N as usize),
            io("m", Scalar::U8, MIXED_N as usize),
        ],
        consts,
        workspace_size: 4 * MIXED_N as usize,
        kernels: vec![k0, k1],
        steps: vec![
            Step::Call {
                kernel: 0,
                args: vec![BufRef::Input(0), BufRef::Const(0), BufRef::Workspace(0)],
            },
            Step::Call {
                kernel: 1,
                args: vec![
                    BufRef::Workspace(0),
                    BufRef::Output(0),
                    BufRef::Output(1),
                    BufRef::Output(3),
                ],
            },
            Step::Copy {
                dst: BufRef::Output(2),
                src: BufRef::Input(0),
                bytes: 4 * MIXED_N as usize,
            },
        ],
    }
}
