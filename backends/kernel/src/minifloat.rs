//! The one-byte element types (float8, float4, E8M0, 4-/2-bit ints) as KIR:
//! loads widen them to their compute type (f32 / i32), stores narrow back.
//! Branch-free integer code over the f32 bits, the same algorithm and the
//! same results bit for bit as `onnxc_ir::minifloat` (checked over every
//! byte and many f32s by `tests/minifloat.rs`). Like the rest of `math`,
//! nothing here needs libm or a lookup table.

use crate::builder::*;
use crate::kir::{Expr, Scalar};
use onnxc_ir::minifloat::{Format, Special};
use onnxc_ir::DType;

type B = KernelBuilder;
const U: Scalar = Scalar::U32;

fn cu(v: u32) -> Expr {
    cint(U, v as i64)
}

/// A `U8` byte of small-float dtype `d` (`DType::is_small_float`) to f32.
pub fn to_f32(b: &mut B, d: DType, byte: Expr) -> Expr {
    let Some(f) = Format::of(d) else { return e8m0_to_f32(b, byte) };
    let (eb, mb) = (f.exp_bits, f.man_bits);
    let sb = f.sign_bit();
    let c = b.let_(and(cast(U, byte), cu(2 * sb - 1)));
    let sign = b.let_(shl(shr(c.clone(), cu(eb + mb)), cu(31)));
    let mag = b.let_(and(c.clone(), cu(sb - 1)));
    let e = b.let_(shr(mag.clone(), cu(mb)));
    let m = b.let_(and(mag.clone(), cu((1 << mb) - 1)));
    let normal = or(shl(add(e.clone(), cu((127 - f.bias) as u32)), cu(23)), shl(m.clone(), cu(23 - mb)));
    let scale = 2f64.powi(1 - f.bias - mb as i32);
    let subn = bitcast(U, mul(cast(Scalar::F32, m), cf(Scalar::F32, scale)));
    let mut abs = select(eq(e, cu(0)), subn, normal);
    let nan = match f.special {
        Special::Ieee => {
            let inf = f.inf_code().unwrap_or(0);
            abs = select(eq(mag.clone(), cu(inf)), cu(0x7f80_0000), abs);
            Some(gt(mag, cu(inf)))
        }
        Special::Fn => Some(eq(mag, cu(sb - 1))),
        Special::Fnuz => Some(eq(c, cu(sb))),
        Special::AllFinite => None,
    };
    if let Some(nan) = nan {
        abs = select(nan, cu(0x7fc0_0000), abs);
    }
    bitcast(Scalar::F32, or(abs, sign))
}

/// f32 to a `U8` byte of small-float dtype `d`, round to nearest even,
/// overflow per `saturate` (see `onnxc_ir::minifloat::Format::encode`).
pub fn from_f32(b: &mut B, d: DType, x: Expr, saturate: bool) -> Expr {
    let Some(f) = Format::of(d) else { return e8m0_from_f32(b, x, saturate) };
    let (eb, mb) = (f.exp_bits, f.man_bits);
    let sb = f.sign_bit();
    let bits = b.let_(bitcast(U, x));
    let sign = b.let_(shr(bits.clone(), cu(31)));
    let a = b.let_(and(bits, cu(0x7fff_ffff)));
    // Below the smallest normal: scale so one subnormal step is 1 and let
    // the FPU round (exact scaling, one rounding).
    let k = 2f64.powi(f.bias + mb as i32 - 1);
    let q = cast(U, round_even(mul(bitcast(Scalar::F32, a.clone()), cf(Scalar::F32, k))));
    let shift = 23 - mb;
    let odd = and(shr(a.clone(), cu(shift)), cu(1));
    let r = shr(add(add(a.clone(), cu((1 << (shift - 1)) - 1)), odd), cu(shift));
    let normal = sub(r, cu(((127 - f.bias) as u32) << mb));
    let min_normal = ((1 - f.bias + 127) as u32) << 23;
    let code = b.let_(select(lt(a.clone(), cu(min_normal)), q, normal));
    let signed = b.let_(shl(sign.clone(), cu(eb + mb)));
    let over = match f.special {
        _ if saturate => or(cu(f.max_code), signed.clone()),
        Special::Ieee => or(cu(f.inf_code().unwrap_or(0)), signed.clone()),
        Special::Fn => or(cu(sb - 1), signed.clone()),
        Special::Fnuz => cu(sb),
        Special::AllFinite => or(cu(f.max_code), signed.clone()),
    };
    let with_sign = if f.special == Special::Fnuz {
        select(eq(code.clone(), cu(0)), cu(0), or(code.clone(), signed.clone()))
    } else {
        or(code.clone(), signed.clone())
    };
    let res = select(gt(code, cu(f.max_code)), over, with_sign);
    let nan = match f.special {
        Special::AllFinite => shl(xor(sign, cu(1)), cu(eb + mb)),
        Special::Fnuz => cu(sb),
        _ => or(cu(f.nan_code(0)), signed),
    };
    cast(Scalar::U8, select(gt(a, cu(0x7f80_0000)), nan, res))
}

/// E8M0 byte to f32: 2^(code - 127), 0xFF is NaN.
fn e8m0_to_f32(b: &mut B, byte: Expr) -> Expr {
    let c = b.let_(cast(U, byte));
    let bits = select(
        eq(c.clone(), cu(0xff)),
        cu(0x7fc0_0000),
        select(eq(c.clone(), cu(0)), cu(0x0040_0000), shl(c, cu(23))),
    );
    bitcast(Scalar::F32, bits)
}

/// f32 to E8M0, `round_mode = "up"` (see `onnxc_ir::minifloat::e8m0_encode`).
fn e8m0_from_f32(b: &mut B, x: Expr, saturate: bool) -> Expr {
    let bits = b.let_(bitcast(U, x));
    let e = b.let_(and(shr(bits.clone(), cu(23)), cu(0xff)));
    let frac = ne(and(bits, cu(0x7f_ffff)), cu(0));
    let up = if saturate { select(eq(e.clone(), cu(0xfe)), cbool(false), frac) } else { frac };
    let r = add(e.clone(), select(up, cu(1), cu(0)));
    cast(Scalar::U8, select(eq(e, cu(0xff)), cu(0xff), r))
}

/// A 4-/2-bit integer element (`I8`/`U8` buffer value) as `I32`:
/// sign-extended from its low bits for I4/I2, masked for U4/U2.
pub fn int_to_i32(d: DType, byte: Expr) -> Expr {
    let i = Scalar::I32;
    let w = cint(i, 32 - d.bits() as i64);
    match d {
        DType::I4 | DType::I2 => shr(shl(cast(i, byte), w.clone()), w),
        _ => and(cast(i, byte), cint(i, (1 << d.bits()) - 1)),
    }
}

/// An `I32` value wrapped to the low bits of 4-/2-bit `d`, as its buffer type.
pub fn int_from_i32(d: DType, v: Expr, buf: Scalar) -> Expr {
    cast(buf, and(v, cint(Scalar::I32, (1 << d.bits()) - 1)))
}
