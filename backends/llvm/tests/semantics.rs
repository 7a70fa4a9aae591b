//! Every KIR operation on every type, compiled with LLVM for the host and
//! compared bit for bit with the KIR interpreter (the reference semantics).
//! Runs twice: the baseline CPU (x86-64 without SSE4.1 expands rounding
//! inline) and `native` (rounding and min/max through LLVM intrinsics).

mod common;

use common::*;
use onnxc_kernel::builder::*;
use onnxc_kernel::kir::{BinOp, CmpOp, Expr, Kernel, Scalar, UnOp};
use onnxc_kernel::{Program, Target};

const N: usize = 96;
const ALL: [Scalar; 11] = [
    Scalar::Bool,
    Scalar::I8,
    Scalar::I16,
    Scalar::I32,
    Scalar::I64,
    Scalar::U8,
    Scalar::U16,
    Scalar::U32,
    Scalar::U64,
    Scalar::F32,
    Scalar::F64,
];

/// `y[i] = f(a[i], b[i], d[i])` over `N` elements.
fn elementwise(name: String, t: Scalar, out: Scalar, f: impl Fn(Expr, Expr, Expr) -> Expr) -> (Kernel, onnxc_kernel::IoTensor) {
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

fn ops_program(t: Scalar) -> Program {
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
        ks.push(elementwise(format!("un_{op:?}"), t, t, move |a, _, _| Expr::Un(op, Box::new(a))));
    }
    use CmpOp::*;
    for op in [Eq, Ne, Lt, Le, Gt, Ge] {
        ks.push(elementwise(format!("cmp_{op:?}"), t, Scalar::Bool, move |a, b, _| {
            Expr::Cmp(op, Box::new(a), Box::new(b))
        }));
    }
    ks.push(elementwise("select".into(), t, t, |a, b, _| select(lt(a.clone(), b.clone()), a, b)));
    for to in ALL {
        ks.push(elementwise(format!("cast_{to}"), t, to, move |a, _, _| cast(to, a)));
        // Bitcasts into Bool are excluded: a Bool holding 2..=255 has no meaning
        // (the backend normalises to 0/1, the interpreter keeps the byte).
        if to.size() == t.size() && to != Scalar::Bool {
            ks.push(elementwise(format!("bitcast_{to}"), t, to, move |a, _, _| bitcast(to, a)));
        }
    }
    // Only well-typed kernels (e.g. no Sqrt on ints, no Min on Bool).
    ks.retain(|(k, _)| onnxc_kernel::interp::check_kernel(k).is_ok());
    let inputs = vec![io("a", t, N), io("b", t, N), io("d", t, N)];
    one_output_per_kernel(&format!("ops_{t}"), inputs, ks)
}

fn inputs_for(t: Scalar) -> [Vec<u8>; 3] {
    let a = sample(t, N);
    let mut b = sample(t, N + 7)[7..].to_vec();
    b.reverse();
    // Divisors: no zero (UB in KIR), and -1 next to MIN dividends.
    let d: Vec<u64> = a
        .iter()
        .zip(&b)
        .enumerate()
        .map(|(i, (_, &x))| if i % 5 == 0 && t.is_signed() { u64::MAX >> (64 - 8 * t.size()) } else if x == 0 { 3 } else { x })
        .collect();
    [to_bytes(t, &a), to_bytes(t, &b), to_bytes(t, &d)]
}

fn check(p: &Program, target: &Target) {
    let lib = build(p, target);
    let t = p.inputs[0].dtype;
    let scalar = ALL.into_iter().find(|s| dtype(*s) == t).unwrap();
    let ins = inputs_for(scalar);
    let ins: Vec<&[u8]> = ins.iter().map(|v| v.as_slice()).collect();
    let want = interpret(p, &ins);
    let got = lib.run(p, &ins);
    let mut failures = Vec::new();
    for ((o, w), g) in p.outputs.iter().zip(&want).zip(&got) {
        let s = ALL.into_iter().find(|s| dtype(*s) == o.dtype).unwrap();
        let minmax = o.name.contains("Min") || o.name.contains("Max");
        for (i, (x, y)) in elems(w, s.size()).into_iter().zip(elems(g, s.size())).enumerate() {
            // NaN payloads and the sign of a zero min/max are not specified by KIR.
            let same = x == y || (is_nan(s, x) && is_nan(s, y)) || (minmax && is_zero(s, x) && is_zero(s, y));
            if !same {
                failures.push(format!("{}[{i}]: interp {x:#x}, llvm {y:#x}", o.name));
            }
        }
    }
    assert!(failures.is_empty(), "{} on {target:?}: {} mismatches:\n{}", p.name, failures.len(), failures[..failures.len().min(20)].join("\n"));
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
