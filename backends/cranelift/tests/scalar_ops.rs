//! Every cast pair, every binary/compare op on every scalar type, checked
//! against a Rust model of the KIR semantics (kir.rs), on the host.

mod common;

use common::*;
use onnxc_kernel::kir::{BinOp, CmpOp, Scalar};
use onnxc_kernel::{BufRef, Step};

const ALL: [Scalar; 11] = Scalar::ALL;
const INTS: [Scalar; 8] = [
    Scalar::I8,
    Scalar::I16,
    Scalar::I32,
    Scalar::I64,
    Scalar::U8,
    Scalar::U16,
    Scalar::U32,
    Scalar::U64,
];

const INT_SEEDS: [i64; 24] = [
    0,
    1,
    -1,
    2,
    7,
    127,
    128,
    255,
    256,
    -128,
    -129,
    32767,
    32768,
    65535,
    65536,
    -32769,
    i32::MAX as i64,
    i32::MIN as i64,
    u32::MAX as i64,
    i64::MAX,
    i64::MIN,
    (1 << 53) + 1,
    0x1234_5678_9abc_def1,
    16_777_217,
];
const FLOAT_SEEDS: [f64; 24] = [
    0.0,
    -0.0,
    1.5,
    -1.5,
    2.5,
    -2.7,
    127.9,
    128.0,
    255.5,
    300.0,
    -129.0,
    65535.9,
    2147483648.0,
    -2147483649.0,
    9.3e18,
    1.9e19,
    -1e20,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    0.49999997,
    4294967296.5,
    -0.9,
    1e-40,
];

/// Test values of `ty` as zero-extended bit patterns.
fn values(ty: Scalar) -> Vec<u64> {
    match ty {
        Scalar::Bool => (0..24).map(|i| (i % 3 == 0) as u64).collect(),
        Scalar::F32 => FLOAT_SEEDS
            .iter()
            .map(|&x| (x as f32).to_bits() as u64)
            .collect(),
        Scalar::F64 => FLOAT_SEEDS.iter().map(|&x| x.to_bits()).collect(),
        t => INT_SEEDS.iter().map(|&v| mask(t, v as u64)).collect(),
    }
}

fn mask(ty: Scalar, v: u64) -> u64 {
    if ty.size() == 8 {
        v
    } else {
        v & ((1u64 << (ty.size() * 8)) - 1)
    }
}

/// Signed or unsigned integer value of a bit pattern.
fn int(ty: Scalar, v: u64) -> i128 {
    match ty {
        Scalar::I8 => v as u8 as i8 as i128,
        Scalar::I16 => v as u16 as i16 as i128,
        Scalar::I32 => v as u32 as i32 as i128,
        Scalar::I64 => v as i64 as i128,
        _ => v as i128,
    }
}

fn float(ty: Scalar, v: u64) -> f64 {
    if ty == Scalar::F32 {
        f32::from_bits(v as u32) as f64
    } else {
        f64::from_bits(v)
    }
}

macro_rules! cast_to {
    ($x:expr, $to:expr) => {
        match $to {
            Scalar::I8 => $x as i8 as u8 as u64,
            Scalar::I16 => $x as i16 as u16 as u64,
            Scalar::I32 => $x as i32 as u32 as u64,
            Scalar::I64 => $x as i64 as u64,
            Scalar::U8 => $x as u8 as u64,
            Scalar::U16 => $x as u16 as u64,
            Scalar::U32 => $x as u32 as u64,
            Scalar::U64 => $x as u64,
            Scalar::F32 => ($x as f32).to_bits() as u64,
            Scalar::F64 => ($x as f64).to_bits(),
            Scalar::Bool => unreachable!(),
        }
    };
}

/// KIR `Cast`: Rust's `as` has exactly these semantics for numbers.
fn ref_cast(from: Scalar, to: Scalar, v: u64) -> u64 {
    if to == Scalar::Bool {
        return if from.is_float() {
            (float(from, v) != 0.0) as u64
        } else {
            (v != 0) as u64
        };
    }
    match from {
        Scalar::Bool | Scalar::U8 => cast_to!(v as u8, to),
        Scalar::I8 => cast_to!(v as u8 as i8, to),
        Scalar::I16 => cast_to!(v as u16 as i16, to),
        Scalar::U16 => cast_to!(v as u16, to),
        Scalar::I32 => cast_to!(v as u32 as i32, to),
        Scalar::U32 => cast_to!(v as u32, to),
        Scalar::I64 => cast_to!(v as i64, to),
        Scalar::U64 => cast_to!(v, to),
        Scalar::F32 => cast_to!(f32::from_bits(v as u32), to),
        Scalar::F64 => cast_to!(f64::from_bits(v), to),
    }
}

/// Equal bit patterns, or both NaN, or (for min/max) equal zeros.
fn same(ty: Scalar, a: u64, b: u64, zeros_equal: bool) -> bool {
    if ty.is_float() {
        let (x, y) = (float(ty, a), float(ty, b));
        a == b || (x.is_nan() && y.is_nan()) || (zeros_equal && x == y)
    } else {
        a == b
    }
}

#[test]
fn casts_between_every_pair() {
    let mut kernels = Vec::new();
    for (i, &from) in ALL.iter().enumerate() {
        for &to in &ALL {
            kernels.push((
                vec![i],
                to,
                map_kernel("cast", &[from], to, 24, cast(to, load(0, local(0)))),
            ));
        }
    }
    let out = run_kernels("casts", &ALL, ALL.len(), kernels);
    let mut failures = Vec::new();
    for (i, &from) in ALL.iter().enumerate() {
        for (j, &to) in ALL.iter().enumerate() {
            for (e, &v) in values(from).iter().enumerate() {
                let (want, got) = (ref_cast(from, to, v), out[i * ALL.len() + j][e]);
                if !same(to, want, got, false) {
                    failures.push(format!(
                        "{from}->{to} of {v:#x}: want {want:#x}, got {got:#x}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn ref_int_bin(ty: Scalar, op: BinOp, a: u64, b: u64) -> u64 {
    let bits = ty.size() as u32 * 8;
    let (x, y) = (int(ty, a), int(ty, b));
    let sh = (b as u32) % bits;
    let r: i128 = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x.wrapping_mul(y),
        BinOp::Div => x / y,
        BinOp::Rem => x % y,
        BinOp::Min => x.min(y),
        BinOp::Max => x.max(y),
        BinOp::And => x & y,
        BinOp::Or => x | y,
        BinOp::Xor => x ^ y,
        BinOp::Shl => ((a as u128) << sh) as i128,
        BinOp::Shr => x >> sh, // arithmetic on signed, logical on unsigned (x >= 0)
    };
    mask(ty, r as u64)
}

fn ref_float_bin(ty: Scalar, op: BinOp, a: u64, b: u64) -> u64 {
    let (x, y) = (float(ty, a), float(ty, b));
    let nan = x.is_nan() || y.is_nan();
    let r = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        BinOp::Min if nan => f64::NAN,
        BinOp::Max if nan => f64::NAN,
        BinOp::Min => x.min(y),
        BinOp::Max => x.max(y),
        _ => unreachable!(),
    };
    // f32 ops computed in f64 then rounded once are exact for + - * /.
    if ty == Scalar::F32 {
        (r as f32).to_bits() as u64
    } else {
        r.to_bits()
    }
}

/// `b` for binary tests: the values rotated, zero divisors replaced by 3.
fn rhs(ty: Scalar) -> Vec<u64> {
    let mut v = values(ty);
    v.rotate_left(5);
    if ty.is_int() {
        v.iter_mut().filter(|x| **x == 0).for_each(|x| *x = 3);
    }
    v
}

#[test]
fn binary_ops_on_every_type() {
    use BinOp::*;
    let int_ops = [Add, Sub, Mul, Div, Rem, Min, Max, And, Or, Xor, Shl, Shr];
    let float_ops = [Add, Sub, Mul, Div, Min, Max];
    let types: Vec<Scalar> = INTS
        .iter()
        .copied()
        .chain([Scalar::F32, Scalar::F64])
        .collect();
    // Inputs: lhs of every type, then rhs of every type.
    let all_inputs: Vec<Scalar> = types.iter().chain(types.iter()).copied().collect();
    let nt = types.len();
    let mut cases = Vec::new();
    let mut kernels = Vec::new();
    for (i, &ty) in types.iter().enumerate() {
        let ops: &[BinOp] = if ty.is_float() { &float_ops } else { &int_ops };
        for &op in ops {
            cases.push((ty, op));
            let f = bin(op, load(0, local(0)), load(1, local(0)));
            kernels.push((vec![i, nt + i], ty, map_kernel("bin", &[ty, ty], ty, 24, f)));
        }
    }
    let out = run_kernels("bins", &all_inputs, nt, kernels);
    let mut failures = Vec::new();
    for (k, &(ty, op)) in cases.iter().enumerate() {
        for (e, (&a, &b)) in values(ty).iter().zip(&rhs(ty)).enumerate() {
            let want = if ty.is_float() {
                ref_float_bin(ty, op, a, b)
            } else {
                ref_int_bin(ty, op, a, b)
            };
            let got = out[k][e];
            if !same(ty, want, got, matches!(op, Min | Max)) {
                failures.push(format!(
                    "{ty} {op:?} {a:#x} {b:#x}: want {want:#x}, got {got:#x}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs kernels `(input indices, output type, kernel)`, one output each.
/// Input `i` of type `t` holds `values(t)` for `i < nt`, else `rhs(t)`.
fn run_kernels(
    name: &str,
    types: &[Scalar],
    nt: usize,
    kernels: Vec<(Vec<usize>, Scalar, onnxc_kernel::kir::Kernel)>,
) -> Vec<Vec<u64>> {
    let n = 24;
    let data: Vec<Vec<u8>> = types
        .iter()
        .enumerate()
        .map(|(i, &t)| elem_bytes(t, &if i < nt { values(t) } else { rhs(t) }))
        .collect();
    let inputs = types
        .iter()
        .enumerate()
        .map(|(i, &t)| io(&format!("in{i}"), t, n))
        .collect();
    let outputs = kernels
        .iter()
        .enumerate()
        .map(|(i, (_, t, _))| io(&format!("o{i}"), *t, n))
        .collect();
    let steps = kernels
        .iter()
        .enumerate()
        .map(|(i, (ins, _, _))| {
            let mut args: Vec<_> = ins.iter().map(|&j| BufRef::Input(j)).collect();
            args.push(BufRef::Output(i));
            Step::Call { kernel: i, args }
        })
        .collect();
    let out_types: Vec<Scalar> = kernels.iter().map(|(_, t, _)| *t).collect();
    let p = program(
        name,
        inputs,
        outputs,
        kernels.into_iter().map(|(_, _, k)| k).collect(),
        steps,
    );
    let refs: Vec<&[u8]> = data.iter().map(|d| d.as_slice()).collect();
    let sizes: Vec<usize> = out_types.iter().map(|t| t.size() * n).collect();
    let out = Lib::build(&p).run(&refs, &sizes);
    out.iter()
        .zip(&out_types)
        .map(|(o, &t)| elems(t, o))
        .collect()
}

#[test]
fn comparisons_on_every_type() {
    use CmpOp::*;
    let ops = [Eq, Ne, Lt, Le, Gt, Ge];
    let nt = ALL.len();
    let inputs: Vec<Scalar> = ALL.iter().chain(ALL.iter()).copied().collect();
    let mut cases = Vec::new();
    let mut kernels = Vec::new();
    for (i, &ty) in ALL.iter().enumerate() {
        for &op in &ops {
            cases.push((ty, op));
            let f = cmp(op, load(0, local(0)), load(1, local(0)));
            kernels.push((
                vec![i, nt + i],
                Scalar::Bool,
                map_kernel("cmp", &[ty, ty], Scalar::Bool, 24, f),
            ));
        }
    }
    let out = run_kernels("cmps", &inputs, nt, kernels);
    for (k, &(ty, op)) in cases.iter().enumerate() {
        for (e, (&a, &b)) in values(ty).iter().zip(&rhs(ty)).enumerate() {
            let ord = if ty.is_float() {
                float(ty, a).partial_cmp(&float(ty, b))
            } else {
                Some(int(ty, a).cmp(&int(ty, b)))
            };
            use std::cmp::Ordering::*;
            let want = match op {
                Eq => ord == Some(Equal),
                Ne => ord != Some(Equal),
                Lt => ord == Some(Less),
                Le => matches!(ord, Some(Less | Equal)),
                Gt => ord == Some(Greater),
                Ge => matches!(ord, Some(Greater | Equal)),
            };
            assert_eq!(out[k][e], want as u64, "{ty} {op:?} {a:#x} {b:#x}");
        }
    }
}

#[test]
fn bool_logic() {
    use BinOp::*;
    let ops = [And, Or, Xor, Min, Max];
    let b = Scalar::Bool;
    let mut kernels: Vec<_> = ops
        .iter()
        .map(|&op| {
            (
                vec![0, 1],
                b,
                map_kernel(
                    "bool",
                    &[b, b],
                    b,
                    24,
                    bin(op, load(0, local(0)), load(1, local(0))),
                ),
            )
        })
        .collect();
    let not = onnxc_kernel::kir::UnOp::Not;
    kernels.push((
        vec![0],
        b,
        map_kernel("not", &[b], b, 24, un(not, load(0, local(0)))),
    ));
    let out = run_kernels("bools", &[b, b], 1, kernels);
    let (xs, ys) = (values(b), rhs(b));
    for (k, op) in ops.iter().enumerate() {
        for e in 0..24 {
            let (x, y) = (xs[e], ys[e]);
            let want = match op {
                And | Min => x & y,
                Or | Max => x | y,
                _ => x ^ y,
            };
            assert_eq!(out[k][e], want, "{op:?} {x} {y}");
        }
    }
    assert_eq!(out[ops.len()], xs.iter().map(|x| 1 - x).collect::<Vec<_>>());
}
