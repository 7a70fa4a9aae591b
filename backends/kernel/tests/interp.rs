//! The interpreter implements the KIR semantics documented in kir.rs; these
//! vectors double as a reference for backend tests.

use onnxc_kernel::builder::*;
use onnxc_kernel::interp::{run_kernel, run_program, InterpError};
use onnxc_kernel::kir::{Expr, Scalar};
use onnxc_kernel::program::{BufRef, IoTensor, Program, Step};

/// Evaluates constant expression `e` by storing it into a one-element buffer.
fn eval1(e: Expr) -> u64 {
    let mut b = KernelBuilder::new("t");
    let t = b.ty(&e);
    let o = b.output(t);
    b.store(o, 0, e);
    let mut bufs = vec![vec![0u8; t.size()]];
    run_kernel(&b.finish(), &mut bufs).unwrap();
    let mut w = [0u8; 8];
    w[..t.size()].copy_from_slice(&bufs[0]);
    u64::from_le_bytes(w)
}

fn int(t: Scalar, v: i64) -> Expr {
    cint(t, v)
}

#[test]
fn integer_arithmetic_wraps_and_truncates() {
    use Scalar::*;
    assert_eq!(eval1(add(int(I8, 127), int(I8, 1))) as u8 as i8, -128);
    assert_eq!(eval1(sub(int(U8, 0), int(U8, 1))), 255);
    assert_eq!(eval1(mul(int(I64, i64::MAX), int(I64, 2))) as i64, -2);
    assert_eq!(eval1(div(int(I32, -7), int(I32, 2))) as u32 as i32, -3);
    assert_eq!(eval1(rem(int(I32, -7), int(I32, 2))) as u32 as i32, -1);
    assert_eq!(eval1(div(int(I32, i32::MIN as i64), int(I32, -1))) as u32 as i32, i32::MIN);
    assert_eq!(eval1(shr(int(I32, -8), int(I32, 1))) as u32 as i32, -4);
    assert_eq!(eval1(shr(int(U32, 0xffff_fff8), int(U32, 1))), 0x7fff_fffc);
    assert_eq!(eval1(shl(int(I32, 1), int(I32, 33))), 2, "shift amount modulo width");
    assert_eq!(eval1(neg(int(I16, i16::MIN as i64))) as u16 as i16, i16::MIN);
    assert_eq!(eval1(abs(int(I8, -128))) as u8 as i8, -128);
    assert_eq!(eval1(not(int(U8, 0x0f))), 0xf0);
    assert_eq!(eval1(not(cbool(true))), 0);
    assert_eq!(eval1(min(int(I32, -3), int(I32, 2))) as u32 as i32, -3);
    assert_eq!(eval1(max(int(U32, 0xffff_ffff), int(U32, 2))), 0xffff_ffff, "unsigned compare");
}

#[test]
fn float_semantics() {
    let f = |v: f32| cf(Scalar::F32, v as f64);
    let nan = f32::NAN;
    assert!(f32::from_bits(eval1(min(f(nan), f(1.0))) as u32).is_nan());
    assert!(f32::from_bits(eval1(max(f(1.0), f(nan))) as u32).is_nan());
    assert_eq!(eval1(ne(f(nan), f(nan))), 1);
    assert_eq!(eval1(lt(f(nan), f(1.0))), 0);
    assert_eq!(eval1(eq(f(nan), f(nan))), 0);
    assert_eq!(f32::from_bits(eval1(round_even(f(2.5))) as u32), 2.0);
    assert_eq!(f32::from_bits(eval1(round_even(f(-3.5))) as u32), -4.0);
    assert_eq!(f32::from_bits(eval1(trunc(f(-3.7))) as u32), -3.0);
    // f32 arithmetic rounds in f32, not in f64.
    let a = 16777216.0f32;
    assert_eq!(f32::from_bits(eval1(add(f(a), f(1.0))) as u32), a + 1.0);
}

#[test]
fn casts_saturate_and_round() {
    use Scalar::*;
    let f = |v: f64| cf(F64, v);
    assert_eq!(eval1(cast(I32, f(f64::NAN))), 0);
    assert_eq!(eval1(cast(I32, f(1e10))) as u32 as i32, i32::MAX);
    assert_eq!(eval1(cast(I32, f(-1e10))) as u32 as i32, i32::MIN);
    assert_eq!(eval1(cast(U8, f(-5.0))), 0);
    assert_eq!(eval1(cast(U8, f(300.7))), 255);
    assert_eq!(eval1(cast(I64, f(-2.9))) as i64, -2);
    assert_eq!(f32::from_bits(eval1(cast(F32, int(I64, (1 << 24) + 1))) as u32), 16777216.0);
    assert_eq!(f64::from_bits(eval1(cast(F64, int(U64, -1)))), 18446744073709551615.0);
    assert_eq!(eval1(cast(U32, int(I8, -1))), 0xffff_ffff, "int->int extends by source signedness");
    assert_eq!(eval1(cast(I32, int(U8, 255))), 255);
    assert_eq!(eval1(cast(I8, int(I32, 0x1ff))) as u8 as i8, -1, "truncation");
    assert_eq!(f32::from_bits(eval1(cast(F32, cbool(true))) as u32), 1.0);
    assert_eq!(eval1(cast(Bool, f(0.5))), 1);
    assert_eq!(eval1(cast(Bool, f(f64::NAN))), 1, "NaN != 0");
    assert_eq!(eval1(cast(Bool, int(I32, 0))), 0);
    assert_eq!(eval1(bitcast(U32, cf(F32, 1.0))), 0x3f80_0000);
}

#[test]
fn bad_kernels_are_errors() {
    // Out-of-bounds store.
    let mut b = KernelBuilder::new("oob");
    let o = b.output(Scalar::F32);
    b.store(o, 4, cf(Scalar::F32, 1.0));
    assert!(run_kernel(&b.finish(), &mut [vec![0u8; 16]]).is_err());
    // Ill-typed: f64 value into an f32 buffer.
    let mut b = KernelBuilder::new("bad_ty");
    let o = b.output(Scalar::F32);
    b.store(o, 0, cf(Scalar::F64, 1.0));
    let e = run_kernel(&b.finish(), &mut [vec![0u8; 4]]).unwrap_err();
    assert!(matches!(e, InterpError::Kernel { .. }), "{e}");
    // Integer division by zero is reported, not a crash.
    let mut b = KernelBuilder::new("div0");
    let o = b.output(Scalar::I32);
    b.store(o, 0, div(cint(Scalar::I32, 1), cint(Scalar::I32, 0)));
    assert!(run_kernel(&b.finish(), &mut [vec![0u8; 4]]).is_err());
}

#[test]
fn program_steps_and_loops() {
    // out[i] = in[i] * 2 + c[i], via a workspace temporary and a final copy.
    let mut b = KernelBuilder::new("k0");
    let x = b.input(Scalar::I32);
    let c = b.input(Scalar::I32);
    let t = b.output(Scalar::I32);
    b.par_for(0, 4, |b, i| {
        let v = add(mul(load(x, i.clone()), cint(Scalar::I32, 2)), load(c, i.clone()));
        b.store(t, i, v);
    });
    let io = |n: &str| IoTensor::fixed(n, onnxc_ir::DType::I32, vec![4]);
    let p = Program {
        name: "p".into(),
        inputs: vec![io("x")],
        outputs: vec![io("y")],
        consts: vec![bytes::Bytes::from([1i32, 2, 3, 4].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())],
        workspace_size: 64 + 16,
        kernels: vec![b.finish()],
        steps: vec![
            Step::Call { kernel: 0, args: vec![BufRef::Input(0), BufRef::Const(0), BufRef::Workspace(64)] },
            Step::Copy { dst: BufRef::Output(0), src: BufRef::Workspace(64), bytes: 16 },
        ],
    };
    let input: Vec<u8> = [10i32, 20, 30, 40].iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut outs = vec![Vec::new()];
    run_program(&p, &[&input], &mut outs).unwrap();
    let got: Vec<i32> = outs[0].chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(got, vec![21, 42, 63, 84]);
    assert!(run_program(&p, &[&input[..8]], &mut outs).is_err(), "short input");
}
