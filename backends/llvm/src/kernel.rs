//! One KIR kernel -> one internal LLVM function `void k(T0 *p0, T1 *p1, ...)`.
//!
//! Locals live in allocas (zero-initialised, as the interpreter's are) that
//! the optimisation pipeline promotes to SSA; that keeps this translation a
//! plain tree walk. Every type and index is re-checked here so a malformed
//! kernel becomes an error, not a panic or invalid IR.

use crate::error::{LlvmError, Result};
use crate::machine::Caps;
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::types::{BasicMetadataTypeEnum, BasicTypeEnum};
use inkwell::values::{BasicValueEnum, FunctionValue, IntValue, PointerValue};
use inkwell::AddressSpace;
use onnxc_kernel::kir::{Expr, Kernel, LocalId, ParamId, Scalar, Stmt};

/// What every kernel translation shares.
pub(crate) struct Cx<'a, 'ctx> {
    pub ctx: &'ctx Context,
    pub module: &'a Module<'ctx>,
    pub caps: Caps,
}

/// Register type: Bool is `i1`.
pub(crate) fn reg_ty<'ctx>(ctx: &'ctx Context, s: Scalar) -> BasicTypeEnum<'ctx> {
    match s {
        Scalar::Bool => ctx.bool_type().into(),
        Scalar::I8 | Scalar::U8 => ctx.i8_type().into(),
        Scalar::I16 | Scalar::U16 => ctx.i16_type().into(),
        Scalar::I32 | Scalar::U32 => ctx.i32_type().into(),
        Scalar::I64 | Scalar::U64 => ctx.i64_type().into(),
        Scalar::F32 => ctx.f32_type().into(),
        Scalar::F64 => ctx.f64_type().into(),
    }
}

/// Memory type: Bool is one byte.
pub(crate) fn mem_ty<'ctx>(ctx: &'ctx Context, s: Scalar) -> BasicTypeEnum<'ctx> {
    if s == Scalar::Bool {
        ctx.i8_type().into()
    } else {
        reg_ty(ctx, s)
    }
}

fn enum_attr(ctx: &Context, name: &str) -> Attribute {
    ctx.create_enum_attribute(Attribute::get_named_enum_kind_id(name), 0)
}

/// Declares the kernel function with the attributes the optimiser needs.
pub(crate) fn declare<'ctx>(cx: &Cx<'_, 'ctx>, k: &Kernel, symbol: &str) -> FunctionValue<'ctx> {
    let ptr = cx.ctx.ptr_type(AddressSpace::default());
    // The buffers, then the caller's `pool` (NULL: run serially), which
    // `_run` passes to every kernel so parallel loops can use it.
    let params: Vec<BasicMetadataTypeEnum> = vec![ptr.into(); k.params.len() + 1];
    let f = cx.module.add_function(
        symbol,
        cx.ctx.void_type().fn_type(&params, false),
        Some(Linkage::Internal),
    );
    // noinline: kernels are big loop nests called once; inlining them all into
    // `_run` makes one huge function that is slow to optimise and gains nothing.
    f.add_attribute(AttributeLoc::Function, enum_attr(cx.ctx, "noinline"));
    // A kernel that hands loops to the pool calls unknown code that
    // synchronises threads: only loop-only kernels get the purity attributes.
    let pure = crate::parallel::outlined_loops(k).is_empty();
    add_loop_attrs(cx, f, pure);
    add_param_attrs(cx, f, k);
    f
}

/// Attributes of functions made only of KIR loops (`pure`), or calling the pool.
pub(crate) fn add_loop_attrs(cx: &Cx<'_, '_>, f: FunctionValue<'_>, pure: bool) {
    f.add_attribute(AttributeLoc::Function, enum_attr(cx.ctx, "nounwind"));
    if pure {
        for a in ["mustprogress", "nofree", "nosync", "willreturn"] {
            f.add_attribute(AttributeLoc::Function, enum_attr(cx.ctx, a));
        }
    }
}

/// noalias/nocapture/readonly on the first `k.params.len()` params of `f`.
pub(crate) fn add_param_attrs(cx: &Cx<'_, '_>, f: FunctionValue<'_>, k: &Kernel) {
    for (i, p) in k.params.iter().enumerate() {
        let loc = AttributeLoc::Param(i as u32);
        // `Program` guarantees params never alias unless all are read-only, and
        // LLVM's noalias only constrains memory that is written during the
        // call, so noalias is valid on every param; it is what lets the loop
        // vectorizer skip runtime alias checks.
        f.add_attribute(loc, enum_attr(cx.ctx, "noalias"));
        f.add_attribute(loc, enum_attr(cx.ctx, "nocapture"));
        if !p.writable {
            f.add_attribute(loc, enum_attr(cx.ctx, "readonly"));
        }
    }
}

pub(crate) struct KernelGen<'a, 'ctx> {
    pub cx: &'a Cx<'a, 'ctx>,
    pub k: &'a Kernel,
    pub b: Builder<'ctx>,
    pub f: FunctionValue<'ctx>,
    /// Builder kept before the entry block's terminator: all allocas go there.
    pub alloca_b: Builder<'ctx>,
    locals: Vec<PointerValue<'ctx>>,
    /// The kernel's buffers (the first params of `f`).
    params: Vec<PointerValue<'ctx>>,
    /// The caller's pool (`Expr::Pooled`); `None` in outlined loops.
    pub pool: Option<PointerValue<'ctx>>,
}

/// Fills in the body of `f` (from `declare`).
pub(crate) fn define<'ctx>(cx: &Cx<'_, 'ctx>, k: &Kernel, f: FunctionValue<'ctx>) -> Result<()> {
    // The shared KIR type rules first, so every backend rejects the same kernels.
    onnxc_kernel::interp::check_kernel(k).map_err(|msg| LlvmError::InvalidKernel {
        kernel: k.name.clone(),
        msg,
    })?;
    let mut g = KernelGen::new(cx, k, f)?;
    let pool = f
        .get_nth_param(k.params.len() as u32)
        .ok_or_else(|| g.bad("pool param missing"))?
        .into_pointer_value();
    g.pool = Some(pool);
    let outlined = crate::parallel::outlined_loops(k);
    for (i, s) in k.body.iter().enumerate() {
        if outlined.contains(&i) {
            crate::parallel::emit(&mut g, i, pool)?;
        } else {
            g.stmt(s)?;
        }
    }
    g.b.build_return(None)?;
    Ok(())
}

impl<'a, 'ctx> KernelGen<'a, 'ctx> {
    /// A generator for `f`, whose first params are `k`'s buffers, with every
    /// local in a zeroed slot and the builder at the start of the body.
    pub fn new(cx: &'a Cx<'a, 'ctx>, k: &'a Kernel, f: FunctionValue<'ctx>) -> Result<Self> {
        let entry = cx.ctx.append_basic_block(f, "entry");
        let start = cx.ctx.append_basic_block(f, "start");
        let alloca_b = cx.ctx.create_builder();
        alloca_b.position_at_end(entry);
        let br = alloca_b.build_unconditional_branch(start)?;
        alloca_b.position_before(&br);
        let mut g = KernelGen {
            cx,
            k,
            b: cx.ctx.create_builder(),
            f,
            alloca_b,
            locals: Vec::new(),
            params: Vec::new(),
            pool: None,
        };
        for i in 0..k.params.len() {
            let p = f
                .get_nth_param(i as u32)
                .ok_or_else(|| g.bad("param missing"))?
                .into_pointer_value();
            g.params.push(p);
        }
        for &ty in &k.locals {
            let slot = g.alloca(ty)?;
            g.locals.push(slot);
        }
        g.b.position_at_end(start);
        Ok(g)
    }

    /// The kernel's buffer params, in order.
    pub fn params(&self) -> &[PointerValue<'ctx>] {
        &self.params
    }

    pub fn bad(&self, msg: impl Into<String>) -> LlvmError {
        LlvmError::InvalidKernel {
            kernel: self.k.name.clone(),
            msg: msg.into(),
        }
    }

    /// A zero-initialised stack slot in the entry block.
    pub fn alloca(&self, ty: Scalar) -> Result<PointerValue<'ctx>> {
        let t = reg_ty(self.cx.ctx, ty);
        let slot = self.alloca_b.build_alloca(t, "")?;
        self.alloca_b.build_store(slot, t.const_zero())?;
        Ok(slot)
    }

    pub fn local(&self, l: LocalId) -> Result<(PointerValue<'ctx>, Scalar)> {
        let i = l.0 as usize;
        match (self.locals.get(i), self.k.locals.get(i)) {
            (Some(&p), Some(&t)) => Ok((p, t)),
            _ => Err(self.bad(format!("unknown local {}", l.0))),
        }
    }

    /// Address of `buf[index]` and the element type.
    pub fn element(&mut self, buf: ParamId, index: &Expr) -> Result<(PointerValue<'ctx>, Scalar)> {
        let p = *self
            .k
            .params
            .get(buf.0 as usize)
            .ok_or_else(|| self.bad(format!("unknown param {}", buf.0)))?;
        let idx = self.index(index)?;
        let base = *self
            .params
            .get(buf.0 as usize)
            .ok_or_else(|| self.bad("param missing"))?;
        // inbounds: KIR accesses stay inside their buffer, and it lets SCEV
        // prove unit-stride accesses do not wrap (needed to vectorize).
        let ptr = unsafe {
            self.b
                .build_in_bounds_gep(mem_ty(self.cx.ctx, p.elem), base, &[idx], "")?
        };
        Ok((ptr, p.elem))
    }

    /// An `I64` expression.
    pub fn index(&mut self, e: &Expr) -> Result<IntValue<'ctx>> {
        let (v, t) = self.expr(e)?;
        if t != Scalar::I64 {
            return Err(self.bad(format!("index or loop bound of type {t}, expected i64")));
        }
        Ok(v.into_int_value())
    }

    fn block(&mut self, body: &[Stmt]) -> Result<()> {
        body.iter().try_for_each(|s| self.stmt(s))
    }

    pub fn stmt(&mut self, s: &Stmt) -> Result<()> {
        match s {
            Stmt::Assign { local, value } => {
                let (slot, lt) = self.local(*local)?;
                let (v, t) = self.expr(value)?;
                if t != lt {
                    return Err(
                        self.bad(format!("assigning {t} to local {} of type {lt}", local.0))
                    );
                }
                self.b.build_store(slot, v)?;
            }
            Stmt::Store { buf, index, value } => self.store(*buf, index, value)?,
            Stmt::If {
                cond,
                then_body,
                else_body,
            } => self.if_(cond, then_body, else_body)?,
            Stmt::For {
                var,
                start,
                end,
                step,
                body,
                ..
            } => self.for_(*var, start, end, *step, body)?,
        }
        Ok(())
    }

    fn store(&mut self, buf: ParamId, index: &Expr, value: &Expr) -> Result<()> {
        let (ptr, elem) = self.element(buf, index)?;
        if !self.k.params[buf.0 as usize].writable {
            // The param is declared readonly: a store through it would be UB.
            return Err(self.bad(format!("store to read-only param {}", buf.0)));
        }
        let (v, t) = self.expr(value)?;
        if t != elem {
            return Err(self.bad(format!("storing {t} into a {elem} buffer")));
        }
        let v: BasicValueEnum = if t == Scalar::Bool {
            self.b
                .build_int_z_extend(v.into_int_value(), self.cx.ctx.i8_type(), "")?
                .into()
        } else {
            v
        };
        self.b.build_store(ptr, v)?;
        Ok(())
    }

    fn if_(&mut self, cond: &Expr, then_body: &[Stmt], else_body: &[Stmt]) -> Result<()> {
        let (c, t) = self.expr(cond)?;
        if t != Scalar::Bool {
            return Err(self.bad(format!("if condition of type {t}")));
        }
        let then_bb = self.cx.ctx.append_basic_block(self.f, "then");
        let else_bb = self.cx.ctx.append_basic_block(self.f, "else");
        let join = self.cx.ctx.append_basic_block(self.f, "endif");
        self.b
            .build_conditional_branch(c.into_int_value(), then_bb, else_bb)?;
        for (bb, body) in [(then_bb, then_body), (else_bb, else_body)] {
            self.b.position_at_end(bb);
            self.block(body)?;
            self.b.build_unconditional_branch(join)?;
        }
        self.b.position_at_end(join);
        Ok(())
    }

    /// `for var in (start..end).step_by(step)` with its own hidden counter,
    /// like the interpreter: the body may assign `var` without changing the
    /// iteration. The increment is `nsw`: it can only overflow when `end` is
    /// within `step` of i64::MAX, and knowing it does not lets SCEV compute
    /// trip counts for strided loops.
    fn for_(
        &mut self,
        var: LocalId,
        start: &Expr,
        end: &Expr,
        step: i64,
        body: &[Stmt],
    ) -> Result<()> {
        let s = self.index(start)?;
        let e = self.index(end)?;
        self.for_range(var, s, e, step, body)
    }

    /// The loop of `for_` with its bounds already evaluated.
    pub fn for_range(
        &mut self,
        var: LocalId,
        s: IntValue<'ctx>,
        e: IntValue<'ctx>,
        step: i64,
        body: &[Stmt],
    ) -> Result<()> {
        if step <= 0 {
            return Err(self.bad(format!("loop step {step} is not positive")));
        }
        let (var_slot, vt) = self.local(var)?;
        if vt != Scalar::I64 {
            return Err(self.bad(format!("loop variable of type {vt}")));
        }
        let counter = self.alloca(Scalar::I64)?;
        self.b.build_store(counter, s)?;
        let i64t = self.cx.ctx.i64_type();
        let header = self.cx.ctx.append_basic_block(self.f, "loop");
        let body_bb = self.cx.ctx.append_basic_block(self.f, "body");
        let exit = self.cx.ctx.append_basic_block(self.f, "endloop");
        self.b.build_unconditional_branch(header)?;
        self.b.position_at_end(header);
        let i = self.b.build_load(i64t, counter, "i")?.into_int_value();
        let more = self
            .b
            .build_int_compare(inkwell::IntPredicate::SLT, i, e, "")?;
        self.b.build_conditional_branch(more, body_bb, exit)?;
        self.b.position_at_end(body_bb);
        self.b.build_store(var_slot, i)?;
        self.block(body)?;
        let i = self.b.build_load(i64t, counter, "")?.into_int_value();
        let next = self
            .b
            .build_int_nsw_add(i, i64t.const_int(step as u64, false), "")?;
        self.b.build_store(counter, next)?;
        self.b.build_unconditional_branch(header)?;
        self.b.position_at_end(exit);
        Ok(())
    }
}
