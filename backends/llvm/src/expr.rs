//! KIR expressions -> LLVM values, following the semantics block at the top
//! of `onnxc_kernel::kir` exactly (wrapping ints, saturating casts,
//! NaN-propagating min/max, masked shift amounts).

use crate::error::Result;
use crate::kernel::{mem_ty, reg_ty, KernelGen};
use inkwell::intrinsics::Intrinsic;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, FastMathFlags, FloatValue, IntValue};
use inkwell::{FloatPredicate, IntPredicate};
use onnxc_kernel::kir::{BinOp, CmpOp, Const, Expr, Scalar, UnOp};

pub(crate) type Val<'ctx> = (BasicValueEnum<'ctx>, Scalar);

impl<'a, 'ctx> KernelGen<'a, 'ctx> {
    pub fn expr(&mut self, e: &Expr) -> Result<Val<'ctx>> {
        Ok(match e {
            Expr::Const(c) => (self.constant(*c)?, c.ty),
            Expr::Pooled => {
                let v = match self.pool {
                    Some(p) => self.b.build_is_not_null(p, "pooled")?,
                    None => self.cx.ctx.bool_type().const_zero(),
                };
                (v.into(), Scalar::Bool)
            }
            Expr::Local(l) => {
                let (slot, t) = self.local(*l)?;
                (self.b.build_load(reg_ty(self.cx.ctx, t), slot, "")?, t)
            }
            Expr::Load { buf, index } => {
                let (ptr, t) = self.element(*buf, index)?;
                let v = self.b.build_load(mem_ty(self.cx.ctx, t), ptr, "")?;
                (
                    if t == Scalar::Bool {
                        self.nonzero(v.into_int_value())?.into()
                    } else {
                        v
                    },
                    t,
                )
            }
            Expr::Un(op, a) => {
                let a = self.expr(a)?;
                (self.unary(*op, a)?, a.1)
            }
            Expr::Bin(op, a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                if a.1 != b.1 {
                    return Err(self.bad(format!("{op:?} on {} and {}", a.1, b.1)));
                }
                (self.binary(*op, a.1, a.0, b.0)?, a.1)
            }
            Expr::Cmp(op, a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                if a.1 != b.1 {
                    return Err(self.bad(format!("{op:?} on {} and {}", a.1, b.1)));
                }
                (self.compare(*op, a.1, a.0, b.0)?.into(), Scalar::Bool)
            }
            Expr::Select(c, a, b) => {
                let (c, a, b) = (self.expr(c)?, self.expr(a)?, self.expr(b)?);
                if c.1 != Scalar::Bool || a.1 != b.1 {
                    return Err(
                        self.bad(format!("select on {} with arms {} and {}", c.1, a.1, b.1))
                    );
                }
                (
                    self.b.build_select(c.0.into_int_value(), a.0, b.0, "")?,
                    a.1,
                )
            }
            Expr::Cast(t, a) => {
                let a = self.expr(a)?;
                (self.cast(a, *t)?, *t)
            }
            Expr::Bitcast(t, a) => {
                let a = self.expr(a)?;
                (self.bitcast(a, *t)?, *t)
            }
        })
    }

    /// Constants are built from their bits, so NaN payloads survive.
    fn constant(&self, c: Const) -> Result<BasicValueEnum<'ctx>> {
        let ctx = self.cx.ctx;
        Ok(match c.ty {
            Scalar::F32 => self.b.build_bit_cast(
                ctx.i32_type().const_int(c.bits & 0xffff_ffff, false),
                ctx.f32_type(),
                "",
            )?,
            Scalar::F64 => self.b.build_bit_cast(
                ctx.i64_type().const_int(c.bits, false),
                ctx.f64_type(),
                "",
            )?,
            Scalar::Bool => ctx
                .bool_type()
                .const_int((c.bits != 0) as u64, false)
                .into(),
            t => reg_ty(ctx, t)
                .into_int_type()
                .const_int(c.bits, false)
                .into(),
        })
    }

    pub fn nonzero(&self, v: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
        Ok(self
            .b
            .build_int_compare(IntPredicate::NE, v, v.get_type().const_zero(), "")?)
    }

    /// Calls an overloaded LLVM intrinsic.
    pub fn intrinsic(
        &self,
        name: &str,
        overload: &[BasicTypeEnum<'ctx>],
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>> {
        let decl = Intrinsic::find(name)
            .and_then(|i| i.get_declaration(self.cx.module, overload))
            .ok_or_else(|| self.bad(format!("cannot declare {name}")))?;
        let call = self.b.build_call(decl, args, "")?;
        call.try_as_basic_value()
            .basic()
            .ok_or_else(|| self.bad(format!("{name} returned nothing")))
    }

    pub fn float_intrinsic(
        &self,
        name: &str,
        args: &[FloatValue<'ctx>],
    ) -> Result<FloatValue<'ctx>> {
        let ty = args[0].get_type().into();
        let args: Vec<BasicMetadataValueEnum> = args.iter().map(|a| (*a).into()).collect();
        Ok(self.intrinsic(name, &[ty], &args)?.into_float_value())
    }

    fn unary(&self, op: UnOp, (v, t): Val<'ctx>) -> Result<BasicValueEnum<'ctx>> {
        let b = &self.b;
        if t.is_float() {
            let x = v.into_float_value();
            return Ok(match op {
                UnOp::Neg => b.build_float_neg(x, "")?.into(),
                UnOp::Abs => self.float_intrinsic("llvm.fabs", &[x])?.into(),
                UnOp::Sqrt => self.float_intrinsic("llvm.sqrt", &[x])?.into(),
                UnOp::Floor | UnOp::Ceil | UnOp::Trunc | UnOp::RoundEven => {
                    self.round(op, x)?.into()
                }
                UnOp::Not => {
                    let ity = reg_ty(
                        self.cx.ctx,
                        if t == Scalar::F32 {
                            Scalar::U32
                        } else {
                            Scalar::U64
                        },
                    );
                    let bits = b.build_bit_cast(x, ity, "")?.into_int_value();
                    let flipped = b.build_not(bits, "")?;
                    b.build_bit_cast(flipped, x.get_type(), "")?
                }
            });
        }
        let x = v.into_int_value();
        Ok(match op {
            // On Bool only Not does anything (the interpreter's rule).
            UnOp::Not => b.build_not(x, "")?.into(),
            _ if t == Scalar::Bool => v,
            UnOp::Neg => b.build_int_sub(x.get_type().const_zero(), x, "")?.into(),
            UnOp::Abs if t.is_signed() => {
                // i1 false: abs(MIN) is MIN (wrapping), not poison.
                let no_poison = self.cx.ctx.bool_type().const_zero();
                self.intrinsic(
                    "llvm.abs",
                    &[x.get_type().into()],
                    &[x.into(), no_poison.into()],
                )?
            }
            // Rounding, sqrt and unsigned abs leave integers unchanged.
            _ => v,
        })
    }

    fn binary(
        &self,
        op: BinOp,
        t: Scalar,
        a: BasicValueEnum<'ctx>,
        c: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>> {
        let b = &self.b;
        if t.is_float() {
            let (x, y) = (a.into_float_value(), c.into_float_value());
            let contract = |v: FloatValue<'ctx>| {
                if self.k.contract {
                    if let Some(i) = v.as_instruction() {
                        let _ = i.set_fast_math_flags(FastMathFlags::AllowContract);
                    }
                }
                v
            };
            return Ok(match op {
                BinOp::Add => contract(b.build_float_add(x, y, "")?).into(),
                BinOp::Sub => contract(b.build_float_sub(x, y, "")?).into(),
                BinOp::Mul => contract(b.build_float_mul(x, y, "")?).into(),
                BinOp::Div => b.build_float_div(x, y, "")?.into(),
                BinOp::Min | BinOp::Max => self.min_max(op == BinOp::Min, x, y)?.into(),
                _ => return Err(self.bad(format!("{op:?} on {t}"))),
            });
        }
        let (x, y) = (a.into_int_value(), c.into_int_value());
        let signed = t.is_signed();
        if t == Scalar::Bool
            && !matches!(
                op,
                BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Min | BinOp::Max
            )
        {
            return Err(self.bad(format!("{op:?} on bool")));
        }
        let minmax = |name: &str| -> Result<BasicValueEnum<'ctx>> {
            self.intrinsic(name, &[x.get_type().into()], &[x.into(), y.into()])
        };
        Ok(match op {
            BinOp::Add => b.build_int_add(x, y, "")?.into(),
            BinOp::Sub => b.build_int_sub(x, y, "")?.into(),
            BinOp::Mul => b.build_int_mul(x, y, "")?.into(),
            BinOp::Div | BinOp::Rem => self.div_rem(op == BinOp::Div, signed, x, y)?.into(),
            BinOp::Min => minmax(if signed { "llvm.smin" } else { "llvm.umin" })?,
            BinOp::Max => minmax(if signed { "llvm.smax" } else { "llvm.umax" })?,
            BinOp::And => b.build_and(x, y, "")?.into(),
            BinOp::Or => b.build_or(x, y, "")?.into(),
            BinOp::Xor => b.build_xor(x, y, "")?.into(),
            BinOp::Shl | BinOp::Shr => {
                // KIR takes shift amounts modulo the width; LLVM makes larger ones poison.
                let width = x.get_type().get_bit_width() as u64;
                let amt = b.build_and(y, x.get_type().const_int(width - 1, false), "")?;
                match op {
                    BinOp::Shl => b.build_left_shift(x, amt, "")?.into(),
                    _ => b.build_right_shift(x, amt, signed, "")?.into(),
                }
            }
        })
    }

    /// Integer division truncating toward zero. LLVM's `sdiv MIN, -1` is UB
    /// (and traps on x86), while KIR wraps: a divisor of -1 is replaced by 1
    /// and the quotient negated (the remainder is 0).
    fn div_rem(
        &self,
        div: bool,
        signed: bool,
        x: IntValue<'ctx>,
        y: IntValue<'ctx>,
    ) -> Result<IntValue<'ctx>> {
        let b = &self.b;
        if !signed {
            return Ok(if div {
                b.build_int_unsigned_div(x, y, "")?
            } else {
                b.build_int_unsigned_rem(x, y, "")?
            });
        }
        let ty = x.get_type();
        let minus_one = b.build_int_compare(IntPredicate::EQ, y, ty.const_all_ones(), "")?;
        let safe = b
            .build_select(minus_one, ty.const_int(1, false), y, "")?
            .into_int_value();
        Ok(if div {
            let q = b.build_int_signed_div(x, safe, "")?;
            let neg = b.build_int_sub(ty.const_zero(), x, "")?;
            b.build_select(minus_one, neg, q, "")?.into_int_value()
        } else {
            let r = b.build_int_signed_rem(x, safe, "")?;
            b.build_select(minus_one, ty.const_zero(), r, "")?
                .into_int_value()
        })
    }

    /// NaN-propagating float min/max: llvm.minimum/maximum where the target
    /// lowers them inline, otherwise compare-and-select.
    fn min_max(
        &self,
        min: bool,
        x: FloatValue<'ctx>,
        y: FloatValue<'ctx>,
    ) -> Result<FloatValue<'ctx>> {
        if self.cx.caps.native_minmax {
            return self
                .float_intrinsic(if min { "llvm.minimum" } else { "llvm.maximum" }, &[x, y]);
        }
        let b = &self.b;
        let pred = if min {
            FloatPredicate::OLT
        } else {
            FloatPredicate::OGT
        };
        let pick_x = b.build_float_compare(pred, x, y, "")?;
        let r = b.build_select(pick_x, x, y, "")?.into_float_value();
        let unordered = b.build_float_compare(FloatPredicate::UNO, x, y, "")?;
        let nan = b.build_float_add(x, y, "")?;
        Ok(b.build_select(unordered, nan, r, "")?.into_float_value())
    }

    fn compare(
        &self,
        op: CmpOp,
        t: Scalar,
        a: BasicValueEnum<'ctx>,
        c: BasicValueEnum<'ctx>,
    ) -> Result<IntValue<'ctx>> {
        if t.is_float() {
            // Ordered (false on NaN) except Ne, which is true on NaN.
            let p = match op {
                CmpOp::Eq => FloatPredicate::OEQ,
                CmpOp::Ne => FloatPredicate::UNE,
                CmpOp::Lt => FloatPredicate::OLT,
                CmpOp::Le => FloatPredicate::OLE,
                CmpOp::Gt => FloatPredicate::OGT,
                CmpOp::Ge => FloatPredicate::OGE,
            };
            return Ok(self.b.build_float_compare(
                p,
                a.into_float_value(),
                c.into_float_value(),
                "",
            )?);
        }
        let s = t.is_signed();
        let p = match op {
            CmpOp::Eq => IntPredicate::EQ,
            CmpOp::Ne => IntPredicate::NE,
            CmpOp::Lt if s => IntPredicate::SLT,
            CmpOp::Le if s => IntPredicate::SLE,
            CmpOp::Gt if s => IntPredicate::SGT,
            CmpOp::Ge if s => IntPredicate::SGE,
            CmpOp::Lt => IntPredicate::ULT,
            CmpOp::Le => IntPredicate::ULE,
            CmpOp::Gt => IntPredicate::UGT,
            CmpOp::Ge => IntPredicate::UGE,
        };
        Ok(self
            .b
            .build_int_compare(p, a.into_int_value(), c.into_int_value(), "")?)
    }
}
