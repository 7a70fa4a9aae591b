//! KIR expressions -> Cranelift instructions, following the semantics block
//! at the top of `kir.rs` exactly.
//!
//! Division, remainder, min/max and abs on 8/16-bit integers are done in
//! 32 bits: not every Cranelift backend lowers them at narrow widths.

use crate::kernel::{clif_ty, KernelCx};
use crate::{invalid, Result};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value};
use onnxc_kernel::kir::{BinOp, CmpOp, Const, Expr, Scalar, UnOp};

/// Deeper expression trees are rejected rather than risking the stack.
const MAX_DEPTH: usize = 1000;

impl KernelCx<'_, '_> {
    /// Evaluates `e`, returning its value and KIR type.
    pub fn expr(&mut self, e: &Expr) -> Result<(Value, Scalar)> {
        self.expr_at(e, 0)
    }

    fn expr_at(&mut self, e: &Expr, depth: usize) -> Result<(Value, Scalar)> {
        if depth > MAX_DEPTH {
            return invalid(format!("expression nested deeper than {MAX_DEPTH}"));
        }
        let d = depth + 1;
        Ok(match e {
            Expr::Const(c) => (self.constant(*c), c.ty),
            // Cranelift runs every loop on the calling thread.
            Expr::Pooled => (self.constant(Const { ty: Scalar::Bool, bits: 0 }), Scalar::Bool),
            Expr::Local(l) => {
                let (var, ty) = self.local(*l)?;
                (self.b.use_var(var), ty)
            }
            Expr::Load { buf, index } => {
                let (addr, elem) = self.address(*buf, index)?;
                (
                    self.b
                        .ins()
                        .load(clif_ty(elem), MemFlagsData::trusted(), addr, 0),
                    elem,
                )
            }
            Expr::Un(op, a) => {
                let (a, ty) = self.expr_at(a, d)?;
                (self.unary(*op, a, ty)?, ty)
            }
            Expr::Bin(op, a, b) => {
                let (a, ty) = self.expr_at(a, d)?;
                let (b, ty_b) = self.expr_at(b, d)?;
                if ty != ty_b {
                    return invalid(format!("{op:?} on {ty} and {ty_b}"));
                }
                (self.binary(*op, a, b, ty)?, ty)
            }
            Expr::Cmp(op, a, b) => {
                let (a, ty) = self.expr_at(a, d)?;
                let (b, ty_b) = self.expr_at(b, d)?;
                if ty != ty_b {
                    return invalid(format!("{op:?} on {ty} and {ty_b}"));
                }
                (self.compare(*op, a, b, ty), Scalar::Bool)
            }
            Expr::Select(c, a, b) => {
                let (c, ty_c) = self.expr_at(c, d)?;
                let (a, ty) = self.expr_at(a, d)?;
                let (b, ty_b) = self.expr_at(b, d)?;
                if ty_c != Scalar::Bool || ty != ty_b {
                    return invalid(format!("select on {ty_c} with arms {ty} and {ty_b}"));
                }
                (self.b.ins().select(c, a, b), ty)
            }
            Expr::Cast(to, a) => {
                let (a, from) = self.expr_at(a, d)?;
                (self.cast(a, from, *to), *to)
            }
            Expr::Bitcast(to, a) => {
                let (a, from) = self.expr_at(a, d)?;
                if from.size() != to.size() {
                    return invalid(format!("bitcast from {from} to {to}"));
                }
                let (src, dst) = (clif_ty(from), clif_ty(*to));
                let v = if src == dst {
                    a
                } else {
                    self.b.ins().bitcast(dst, MemFlagsData::new(), a)
                };
                (v, *to)
            }
        })
    }

    fn constant(&mut self, c: Const) -> Value {
        match c.ty {
            Scalar::F32 => self.b.ins().f32const(Ieee32::with_bits(c.bits as u32)),
            Scalar::F64 => self.b.ins().f64const(Ieee64::with_bits(c.bits)),
            Scalar::Bool => self.b.ins().iconst(types::I8, (c.bits != 0) as i64),
            ty => {
                // Cranelift wants narrow immediates zero-extended.
                let bits = if ty.size() == 8 {
                    c.bits
                } else {
                    c.bits & ((1u64 << (ty.size() * 8)) - 1)
                };
                self.b.ins().iconst(clif_ty(ty), bits as i64)
            }
        }
    }

    fn unary(&mut self, op: UnOp, a: Value, ty: Scalar) -> Result<Value> {
        let ins = self.b.ins();
        Ok(match (op, ty) {
            (UnOp::Not, Scalar::Bool) => ins.bxor_imm_u(a, 1),
            (UnOp::Not, t) if t.is_int() => ins.bnot(a),
            (UnOp::Neg, t) if t.is_float() => ins.fneg(a),
            (UnOp::Neg, t) if t.is_int() => ins.ineg(a),
            (UnOp::Abs, t) if t.is_float() => ins.fabs(a),
            (UnOp::Abs, t) if t.is_signed() => {
                let w = self.widen(a, ty);
                let r = self.b.ins().iabs(w);
                self.narrow(r, ty)
            }
            // |x| of an unsigned value is x; rounding an integer is exact.
            (UnOp::Abs | UnOp::Floor | UnOp::Ceil | UnOp::Trunc | UnOp::RoundEven, t)
                if t.is_int() =>
            {
                a
            }
            (UnOp::Sqrt, t) if t.is_float() => ins.sqrt(a),
            (UnOp::Floor, t) if t.is_float() => ins.floor(a),
            (UnOp::Ceil, t) if t.is_float() => ins.ceil(a),
            (UnOp::Trunc, t) if t.is_float() => ins.trunc(a),
            (UnOp::RoundEven, t) if t.is_float() => ins.nearest(a),
            (op, t) => return invalid(format!("{op:?} on {t}")),
        })
    }

    fn binary(&mut self, op: BinOp, a: Value, b: Value, ty: Scalar) -> Result<Value> {
        use BinOp::*;
        if ty.is_float() {
            let ins = self.b.ins();
            return Ok(match op {
                Add => ins.fadd(a, b),
                Sub => ins.fsub(a, b),
                Mul => ins.fmul(a, b),
                Div => ins.fdiv(a, b),
                // Cranelift's fmin/fmax return NaN if either input is NaN.
                Min => ins.fmin(a, b),
                Max => ins.fmax(a, b),
                op => return invalid(format!("{op:?} on {ty}")),
            });
        }
        let signed = ty.is_signed();
        Ok(match op {
            And => self.b.ins().band(a, b),
            Or => self.b.ins().bor(a, b),
            Xor => self.b.ins().bxor(a, b),
            // Bool takes only the logical operators (and min/max = and/or).
            Min if ty == Scalar::Bool => self.b.ins().band(a, b),
            Max if ty == Scalar::Bool => self.b.ins().bor(a, b),
            _ if ty == Scalar::Bool => return invalid(format!("{op:?} on bool")),
            Add => self.b.ins().iadd(a, b),
            Sub => self.b.ins().isub(a, b),
            Mul => self.b.ins().imul(a, b),
            // Cranelift masks shift amounts to the bit width, as KIR wants.
            Shl => self.b.ins().ishl(a, b),
            Shr if signed => self.b.ins().sshr(a, b),
            Shr => self.b.ins().ushr(a, b),
            Div | Rem | Min | Max => {
                let (wa, wb) = (self.widen(a, ty), self.widen(b, ty));
                let r = match (op, signed) {
                    (Div, true) => self.sdiv_wrapping(wa, wb),
                    (Div, false) => self.b.ins().udiv(wa, wb),
                    // srem is defined (0) for MIN % -1 in Cranelift.
                    (Rem, true) => self.b.ins().srem(wa, wb),
                    (Rem, false) => self.b.ins().urem(wa, wb),
                    (Min, true) => self.b.ins().smin(wa, wb),
                    (Min, false) => self.b.ins().umin(wa, wb),
                    (_, true) => self.b.ins().smax(wa, wb),
                    (_, false) => self.b.ins().umax(wa, wb),
                };
                self.narrow(r, ty)
            }
        })
    }

    /// `a / b` wrapping on `MIN / -1` (which traps in Cranelift's sdiv):
    /// dividing by -1 is negation, so divide by 1 instead and negate.
    fn sdiv_wrapping(&mut self, a: Value, b: Value) -> Value {
        let ty = self.b.func.dfg.value_type(b);
        let minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
        let one = self.b.ins().iconst(ty, 1);
        let safe_b = self.b.ins().select(minus_one, one, b);
        let q = self.b.ins().sdiv(a, safe_b);
        let neg = self.b.ins().ineg(q);
        self.b.ins().select(minus_one, neg, q)
    }

    fn compare(&mut self, op: CmpOp, a: Value, b: Value, ty: Scalar) -> Value {
        if ty.is_float() {
            // Ordered comparisons, except `ne`, which is true on NaN.
            let cc = match op {
                CmpOp::Eq => FloatCC::Equal,
                CmpOp::Ne => FloatCC::NotEqual,
                CmpOp::Lt => FloatCC::LessThan,
                CmpOp::Le => FloatCC::LessThanOrEqual,
                CmpOp::Gt => FloatCC::GreaterThan,
                CmpOp::Ge => FloatCC::GreaterThanOrEqual,
            };
            return self.b.ins().fcmp(cc, a, b);
        }
        let s = ty.is_signed();
        let cc = match op {
            CmpOp::Eq => IntCC::Equal,
            CmpOp::Ne => IntCC::NotEqual,
            CmpOp::Lt if s => IntCC::SignedLessThan,
            CmpOp::Le if s => IntCC::SignedLessThanOrEqual,
            CmpOp::Gt if s => IntCC::SignedGreaterThan,
            CmpOp::Ge if s => IntCC::SignedGreaterThanOrEqual,
            CmpOp::Lt => IntCC::UnsignedLessThan,
            CmpOp::Le => IntCC::UnsignedLessThanOrEqual,
            CmpOp::Gt => IntCC::UnsignedGreaterThan,
            CmpOp::Ge => IntCC::UnsignedGreaterThanOrEqual,
        };
        self.b.ins().icmp(cc, a, b)
    }

    /// Extends an integer (or Bool) narrower than 32 bits to i32 by its
    /// signedness; wider values are returned unchanged.
    fn widen(&mut self, v: Value, ty: Scalar) -> Value {
        match (ty.size() < 4, ty.is_signed()) {
            (false, _) => v,
            (true, true) => self.b.ins().sextend(types::I32, v),
            (true, false) => self.b.ins().uextend(types::I32, v),
        }
    }

    /// Undoes `widen`.
    fn narrow(&mut self, v: Value, ty: Scalar) -> Value {
        if ty.size() < 4 {
            self.b.ins().ireduce(clif_ty(ty), v)
        } else {
            v
        }
    }

    fn cast(&mut self, v: Value, from: Scalar, to: Scalar) -> Value {
        let to_ty = clif_ty(to);
        if from == to {
            return v;
        }
        if to == Scalar::Bool {
            // number -> Bool is `!= 0`; for floats NaN counts as non-zero.
            return if from.is_float() {
                let zero = self.float_const(clif_ty(from), 0.0);
                self.b.ins().fcmp(FloatCC::NotEqual, v, zero)
            } else {
                self.b.ins().icmp_imm_s(IntCC::NotEqual, v, 0)
            };
        }
        match (from.is_float(), to.is_float()) {
            (true, true) if to == Scalar::F64 => self.b.ins().fpromote(to_ty, v),
            (true, true) => self.b.ins().fdemote(to_ty, v),
            (false, true) => {
                // Bool (0/1) converts like an unsigned value.
                let w = self.widen(v, from);
                if from.is_signed() {
                    self.b.ins().fcvt_from_sint(to_ty, w)
                } else {
                    self.b.ins().fcvt_from_uint(to_ty, w)
                }
            }
            (true, false) => self.float_to_int(v, to),
            (false, false) => self.int_resize(v, from, to),
        }
    }

    /// Truncating, saturating float -> int (NaN -> 0). Cranelift saturates
    /// only to 32/64 bits, so narrower targets clamp the 32-bit result.
    fn float_to_int(&mut self, v: Value, to: Scalar) -> Value {
        let to_ty = clif_ty(to);
        if to.size() >= 4 {
            return if to.is_signed() {
                self.b.ins().fcvt_to_sint_sat(to_ty, v)
            } else {
                self.b.ins().fcvt_to_uint_sat(to_ty, v)
            };
        }
        let bits = to.size() as u32 * 8;
        let r = if to.is_signed() {
            let w = self.b.ins().fcvt_to_sint_sat(types::I32, v);
            let lo = self.b.ins().iconst(types::I32, -(1i64 << (bits - 1)));
            let hi = self.b.ins().iconst(types::I32, (1i64 << (bits - 1)) - 1);
            let w = self.b.ins().smax(w, lo);
            self.b.ins().smin(w, hi)
        } else {
            let w = self.b.ins().fcvt_to_uint_sat(types::I32, v);
            let hi = self.b.ins().iconst(types::I32, (1i64 << bits) - 1);
            self.b.ins().umin(w, hi)
        };
        self.b.ins().ireduce(to_ty, r)
    }

    /// int/Bool -> int: truncate, or extend by the source's signedness.
    fn int_resize(&mut self, v: Value, from: Scalar, to: Scalar) -> Value {
        let (src, dst): (Type, Type) = (clif_ty(from), clif_ty(to));
        match src.bits().cmp(&dst.bits()) {
            std::cmp::Ordering::Equal => v,
            std::cmp::Ordering::Greater => self.b.ins().ireduce(dst, v),
            std::cmp::Ordering::Less if from.is_signed() => self.b.ins().sextend(dst, v),
            std::cmp::Ordering::Less => self.b.ins().uextend(dst, v),
        }
    }

    fn float_const(&mut self, ty: Type, x: f64) -> Value {
        if ty == types::F32 {
            self.b.ins().f32const(x as f32)
        } else {
            self.b.ins().f64const(x)
        }
    }
}
