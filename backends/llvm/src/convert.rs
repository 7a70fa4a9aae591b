//! Conversions and rounding: KIR casts (saturating float -> int, NaN -> 0),
//! bitcasts, and floor/ceil/trunc/roundeven, with the target workarounds
//! the capability probe in `machine.rs` asks for.

use crate::error::Result;
use crate::expr::Val;
use crate::kernel::{reg_ty, KernelGen};
use inkwell::values::{AsValueRef, BasicValueEnum, FloatValue, IntValue};
use inkwell::FloatPredicate;
use onnxc_kernel::kir::{Scalar, UnOp};

impl<'a, 'ctx> KernelGen<'a, 'ctx> {
    /// floor/ceil/trunc/roundeven: intrinsics where the target has
    /// instructions; otherwise (x86-64 without SSE4.1) an inline expansion,
    /// since LLVM would call libm's floorf & co.
    pub fn round(&self, op: UnOp, x: FloatValue<'ctx>) -> Result<FloatValue<'ctx>> {
        let name = match op {
            UnOp::Floor => "llvm.floor",
            UnOp::Ceil => "llvm.ceil",
            UnOp::Trunc => "llvm.trunc",
            _ => "llvm.roundeven",
        };
        if self.cx.caps.native_round {
            if op == UnOp::Trunc && self.cx.caps.avoid_vector_rtz {
                // Vector llvm.trunc becomes vfcvt.rtz on RVV; floor/ceil use
                // dynamic-rounding conversions instead.
                let neg = self.b.build_float_compare(
                    FloatPredicate::OLT,
                    x,
                    x.get_type().const_zero(),
                    "",
                )?;
                let up = self.float_intrinsic("llvm.ceil", &[x])?;
                let down = self.float_intrinsic("llvm.floor", &[x])?;
                return Ok(self.b.build_select(neg, up, down, "")?.into_float_value());
            }
            return self.float_intrinsic(name, &[x]);
        }
        let b = &self.b;
        let fty = x.get_type();
        let f32_ = fty == self.cx.ctx.f32_type();
        // From 2^mantissa_bits up every float is an integer (NaN and inf too: kept as they are).
        let limit = fty.const_float(if f32_ { 8388608.0 } else { 4503599627370496.0 });
        let ax = self.float_intrinsic("llvm.fabs", &[x])?;
        let small = b.build_float_compare(FloatPredicate::OLT, ax, limit, "")?;
        let r = if op == UnOp::RoundEven {
            // Adding 2^mantissa_bits rounds to an integer, ties to even.
            let big = b.build_float_add(ax, limit, "")?;
            let r = b.build_float_sub(big, limit, "")?;
            self.float_intrinsic("llvm.copysign", &[r, x])?
        } else {
            // fptosi is poison for large |x|, but then `small` selects x.
            let ity = if f32_ {
                self.cx.ctx.i32_type()
            } else {
                self.cx.ctx.i64_type()
            };
            let i = b.build_float_to_signed_int(x, ity, "")?;
            let t = b.build_signed_int_to_float(i, fty, "")?;
            let t = self.float_intrinsic("llvm.copysign", &[t, x])?;
            let one = fty.const_float(1.0);
            match op {
                UnOp::Floor => {
                    let adjust = b.build_float_compare(FloatPredicate::OGT, t, x, "")?;
                    let down = b.build_float_sub(t, one, "")?;
                    b.build_select(adjust, down, t, "")?.into_float_value()
                }
                UnOp::Ceil => {
                    let adjust = b.build_float_compare(FloatPredicate::OLT, t, x, "")?;
                    let up = b.build_float_add(t, one, "")?;
                    b.build_select(adjust, up, t, "")?.into_float_value()
                }
                _ => t,
            }
        };
        Ok(b.build_select(small, r, x, "")?.into_float_value())
    }

    pub fn cast(&self, (v, from): Val<'ctx>, to: Scalar) -> Result<BasicValueEnum<'ctx>> {
        let b = &self.b;
        let ty = reg_ty(self.cx.ctx, to);
        if from == to {
            return Ok(v);
        }
        if to == Scalar::Bool {
            return Ok(if from.is_float() {
                let x = v.into_float_value();
                // `!= 0` is unordered: NaN is true.
                b.build_float_compare(FloatPredicate::UNE, x, x.get_type().const_zero(), "")?
                    .into()
            } else {
                self.nonzero(v.into_int_value())?.into()
            });
        }
        Ok(match (from.is_float(), to.is_float()) {
            (true, true) => b
                .build_float_cast(v.into_float_value(), ty.into_float_type(), "")?
                .into(),
            (true, false) if self.cx.caps.avoid_vector_rtz => {
                self.float_to_int_dynamic(v.into_float_value(), to)?.into()
            }
            (true, false) => self.float_to_int_select(v.into_float_value(), to)?.into(),
            (false, true) if from.is_signed() => b
                .build_signed_int_to_float(v.into_int_value(), ty.into_float_type(), "")?
                .into(),
            (false, true) => b
                .build_unsigned_int_to_float(v.into_int_value(), ty.into_float_type(), "")?
                .into(),
            (false, false) => {
                // Bool counts as unsigned: it extends to 0/1.
                b.build_int_cast_sign_flag(
                    v.into_int_value(),
                    ty.into_int_type(),
                    from.is_signed(),
                    "",
                )?
                .into()
            }
        })
    }

    pub fn bitcast(&self, (v, from): Val<'ctx>, to: Scalar) -> Result<BasicValueEnum<'ctx>> {
        if from.size() != to.size() {
            return Err(self.bad(format!("bitcast from {from} to {to}")));
        }
        let ty = reg_ty(self.cx.ctx, to);
        if from == Scalar::Bool || to == Scalar::Bool {
            // Bool is 1 bit in registers: through its byte value.
            return self.cast((v, from), to);
        }
        if v.get_type() == ty {
            return Ok(v);
        }
        Ok(self.b.build_bit_cast(v, ty, "")?)
    }

    /// Saturating float -> int, NaN -> 0 (KIR's rule) as a plain
    /// fptosi/fptoui plus selects on the range checks. Same results as
    /// `llvm.fptosi.sat`, which LLVM scalarizes in vector loops (one
    /// conversion and two branches-free fixups per lane); this form
    /// vectorizes. Out of range the conversion is poison, but then a select
    /// picks a bound instead.
    fn float_to_int_select(&self, x: FloatValue<'ctx>, to: Scalar) -> Result<IntValue<'ctx>> {
        let b = &self.b;
        let fty = x.get_type();
        let ity = reg_ty(self.cx.ctx, to).into_int_type();
        let w = ity.get_bit_width();
        let signed = to.is_signed();
        let (lo, top) = if signed {
            (-(2f64.powi(w as i32 - 1)), 2f64.powi(w as i32 - 1))
        } else {
            (0.0, 2f64.powi(w as i32))
        };
        let i = if signed {
            b.build_float_to_signed_int(x, ity, "")?
        } else {
            b.build_float_to_unsigned_int(x, ity, "")?
        };
        // Without the freeze InstCombine folds the selects below back into
        // llvm.fptosi.sat. (Freezing an out-of-range conversion gives an
        // arbitrary value, which the selects then discard.)
        // SAFETY: `i` is a live value of this builder's context, and
        // LLVMBuildFreeze returns a value of the same (integer) type.
        let i = unsafe {
            IntValue::new(inkwell::llvm_sys::core::LLVMBuildFreeze(
                b.as_mut_ptr(),
                i.as_value_ref(),
                c"".as_ptr(),
            ))
        };
        let (min, max) = if signed {
            (ity.const_int(1 << (w - 1), false), ity.const_int(u64::MAX >> (65 - w), false))
        } else {
            (ity.const_zero(), ity.const_all_ones())
        };
        // Both false for NaN.
        let above_lo = b.build_float_compare(FloatPredicate::OGE, x, fty.const_float(lo), "")?;
        let below_top = b.build_float_compare(FloatPredicate::OLT, x, fty.const_float(top), "")?;
        let nan = b.build_float_compare(FloatPredicate::UNO, x, x, "")?;
        let inside = b.build_select(above_lo, i, min, "")?.into_int_value();
        let high = b.build_select(nan, ity.const_zero(), max, "")?.into_int_value();
        Ok(b.build_select(below_top, inside, high, "")?.into_int_value())
    }

    /// Saturating float -> int without static round-toward-zero conversions:
    /// truncate with floor/ceil, clamp, then convert the (integral) value
    /// with llvm.lrint, which RVV lowers to vfcvt.x.f.v (dynamic rounding).
    /// qemu-riscv64 7.2 (Debian bookworm's) aborts on every vfcvt.rtz.*,
    /// which is what LLVM emits for vector fptosi/fptoui.
    fn float_to_int_dynamic(&self, x: FloatValue<'ctx>, to: Scalar) -> Result<IntValue<'ctx>> {
        let (b, ctx) = (&self.b, self.cx.ctx);
        let fty = x.get_type();
        let ity = reg_ty(ctx, to).into_int_type();
        let w = ity.get_bit_width();
        let signed = to.is_signed();
        let t = self.round(UnOp::Trunc, x)?;
        // Bounds as exact powers of two: [lo, top) converts, the rest saturates.
        let lo = if signed {
            -(2f64.powi(w as i32 - 1))
        } else {
            0.0
        };
        let top = 2f64.powi(if signed { w as i32 - 1 } else { w as i32 });
        let under = b.build_float_compare(FloatPredicate::OLT, t, fty.const_float(lo), "")?;
        let over = b.build_float_compare(FloatPredicate::OGE, t, fty.const_float(top), "")?;
        let nan = b.build_float_compare(FloatPredicate::UNO, t, t, "")?;
        // i32 holds every i8..i32 and u8/u16 value; the rest go through i64.
        let cty = if w == 64 || (!signed && w == 32) {
            ctx.i64_type()
        } else {
            ctx.i32_type()
        };
        let name = if cty == ctx.i64_type() {
            "llvm.llrint"
        } else {
            "llvm.lrint"
        };
        let r = if to == Scalar::U64 {
            // [2^63, 2^64) does not fit llrint's i64: convert t - 2^63, add 2^63 back.
            let half = fty.const_float(2f64.powi(63));
            let high = b.build_float_compare(FloatPredicate::OGE, t, half, "")?;
            let low_part = b.build_float_sub(t, half, "")?;
            let tt = b.build_select(high, low_part, t, "")?.into_float_value();
            let r = self
                .intrinsic(name, &[cty.into(), fty.into()], &[tt.into()])?
                .into_int_value();
            let back = b.build_int_add(r, cty.const_int(1 << 63, false), "")?;
            b.build_select(high, back, r, "")?.into_int_value()
        } else {
            self.intrinsic(name, &[cty.into(), fty.into()], &[t.into()])?
                .into_int_value()
        };
        let r = b.build_int_cast_sign_flag(r, ity, true, "")?;
        let (min, max) = if signed {
            (
                ity.const_int(1 << (w - 1), false),
                ity.const_int(u64::MAX >> (65 - w), false),
            )
        } else {
            (ity.const_zero(), ity.const_all_ones())
        };
        let r = b.build_select(under, min, r, "")?.into_int_value();
        let r = b.build_select(over, max, r, "")?.into_int_value();
        Ok(b.build_select(nan, ity.const_zero(), r, "")?
            .into_int_value())
    }
}
