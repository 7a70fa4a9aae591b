//! KIR kernel -> Cranelift function: signatures and statements. Expressions
//! are in `expr.rs`.

use crate::{invalid, CodegenError, Result};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{condcodes::IntCC, Function, Type, UserFuncName};
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlagsData, Signature, Value};
use cranelift_codegen::isa::{TargetFrontendConfig, TargetIsa};
use cranelift_codegen::print_errors::pretty_error;
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_module::{FuncId, Linkage, Module, ModuleReloc};
use cranelift_object::ObjectModule;
use onnxc_kernel::kir::{Expr, Kernel, LocalId, ParamId, Scalar, Stmt};
use onnxc_kernel::Program;

/// Cranelift type of a KIR scalar. Signedness lives in the operations, so
/// `I32` and `U32` share `i32`; `Bool` is an `i8` holding 0 or 1.
pub(crate) fn clif_ty(s: Scalar) -> Type {
    match s {
        Scalar::Bool | Scalar::I8 | Scalar::U8 => types::I8,
        Scalar::I16 | Scalar::U16 => types::I16,
        Scalar::I32 | Scalar::U32 => types::I32,
        Scalar::I64 | Scalar::U64 => types::I64,
        Scalar::F32 => types::F32,
        Scalar::F64 => types::F64,
    }
}

/// `void k(void *, void *, ...)` in the target's C calling convention.
pub(crate) fn kernel_signature(isa: &dyn TargetIsa, nparams: usize) -> Signature {
    let mut sig = Signature::new(isa.default_call_conv());
    let ptr = isa.pointer_type();
    sig.params.extend((0..nparams).map(|_| AbiParam::new(ptr)));
    sig
}

/// Declares every kernel as a local function and returns the ids with the
/// symbol names. Symbols are made unique by the kernel index, since kernel
/// names need not be unique (or C-safe).
pub(crate) fn declare_kernels(
    module: &mut ObjectModule,
    p: &Program,
) -> Result<Vec<(FuncId, String)>> {
    p.kernels
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let clean: String = k
                .name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let sym = format!("{}_k{i}_{clean}", p.name);
            let sig = kernel_signature(module.isa(), k.params.len());
            let id = module
                .declare_function(&sym, Linkage::Local, &sig)
                .map_err(|e| CodegenError::Cranelift(e.to_string()))?;
            Ok((id, sym))
        })
        .collect()
}

/// Machine code of one function, ready for `Module::define_function_bytes`.
pub(crate) struct CompiledFn {
    pub code: Vec<u8>,
    pub align: u64,
    pub relocs: Vec<ModuleReloc>,
    /// The VCode listing, when asked for.
    pub vcode: Option<String>,
}

/// Translates and compiles one kernel. Needs no module, so kernels can be
/// compiled on several threads (see `jobs.rs`).
pub(crate) fn compile_kernel(
    isa: &dyn TargetIsa,
    k: &Kernel,
    id: FuncId,
    want_asm: bool,
) -> Result<CompiledFn> {
    let mut ctx = Context::new();
    ctx.func.signature = kernel_signature(isa, k.params.len());
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    build_kernel(&mut ctx.func, k, isa.frontend_config())?;
    ctx.set_disasm(want_asm);
    if let Err(e) = ctx.compile(isa, &mut ControlPlane::default()) {
        return Err(CodegenError::Cranelift(pretty_error(e.func, e.inner)));
    }
    let compiled = ctx
        .compiled_code()
        .ok_or_else(|| CodegenError::Internal("no compiled code".into()))?;
    Ok(CompiledFn {
        code: compiled.code_buffer().to_vec(),
        align: u64::from(compiled.buffer.alignment),
        relocs: compiled
            .buffer
            .relocs()
            .iter()
            .map(|r| ModuleReloc::from_mach_reloc(r, &ctx.func, id))
            .collect(),
        vcode: compiled.vcode.clone(),
    })
}

/// Fills `func` (signature already set) with the translation of `k`.
fn build_kernel(func: &mut Function, k: &Kernel, config: TargetFrontendConfig) -> Result<()> {
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(func, &mut fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let params = b.block_params(entry).to_vec();
    let vars = k
        .locals
        .iter()
        .map(|&s| b.declare_var(clif_ty(s)))
        .collect();
    let mut cx = KernelCx { k, b, params, vars };
    // On error the half-built function is abandoned without `finalize`,
    // which would insist that every block is filled.
    cx.stmts(&k.body)?;
    cx.b.ins().return_(&[]);
    cx.b.seal_all_blocks();
    cx.b.finalize(config);
    Ok(())
}

/// Translation state of one kernel.
pub(crate) struct KernelCx<'a, 'f> {
    pub k: &'a Kernel,
    pub b: FunctionBuilder<'f>,
    /// The buffer pointers, in parameter order.
    pub params: Vec<Value>,
    /// One Cranelift variable per KIR local.
    pub vars: Vec<Variable>,
}

impl KernelCx<'_, '_> {
    pub fn local(&self, l: LocalId) -> Result<(Variable, Scalar)> {
        match (self.vars.get(l.0 as usize), self.k.locals.get(l.0 as usize)) {
            (Some(&v), Some(&ty)) => Ok((v, ty)),
            _ => invalid(format!("local {} does not exist", l.0)),
        }
    }

    /// Address of `buf[index]` and the element type.
    pub fn address(&mut self, buf: ParamId, index: &Expr) -> Result<(Value, Scalar)> {
        let (Some(&base), Some(param)) = (
            self.params.get(buf.0 as usize),
            self.k.params.get(buf.0 as usize),
        ) else {
            return invalid(format!("parameter {} does not exist", buf.0));
        };
        let idx = self.expr_of(index, Scalar::I64, "buffer index")?;
        let shift = param.elem.size().trailing_zeros() as i64;
        let off = if shift == 0 {
            idx
        } else {
            self.b.ins().ishl_imm_u(idx, shift)
        };
        Ok((self.b.ins().iadd(base, off), param.elem))
    }

    /// Evaluates `e` and checks it has type `want`.
    pub fn expr_of(&mut self, e: &Expr, want: Scalar, what: &str) -> Result<Value> {
        let (v, ty) = self.expr(e)?;
        if ty != want {
            return invalid(format!("{what} has type {ty}, expected {want}"));
        }
        Ok(v)
    }

    fn stmts(&mut self, body: &[Stmt]) -> Result<()> {
        body.iter().try_for_each(|s| self.stmt(s))
    }

    fn stmt(&mut self, s: &Stmt) -> Result<()> {
        match s {
            Stmt::Assign { local, value } => {
                let (var, ty) = self.local(*local)?;
                let v = self.expr_of(value, ty, "assigned value")?;
                self.b.def_var(var, v);
            }
            Stmt::Store { buf, index, value } => {
                let (addr, elem) = self.address(*buf, index)?;
                if !self.k.params[buf.0 as usize].writable {
                    return invalid(format!("store to read-only parameter {}", buf.0));
                }
                let v = self.expr_of(value, elem, "stored value")?;
                self.b.ins().store(MemFlagsData::trusted(), v, addr, 0);
            }
            Stmt::If {
                cond,
                then_body,
                else_body,
            } => {
                let c = self.expr_of(cond, Scalar::Bool, "if condition")?;
                let (then_b, else_b, merge) = (
                    self.b.create_block(),
                    self.b.create_block(),
                    self.b.create_block(),
                );
                self.b.ins().brif(c, then_b, &[], else_b, &[]);
                for (block, body) in [(then_b, then_body), (else_b, else_body)] {
                    self.b.switch_to_block(block);
                    self.stmts(body)?;
                    self.b.ins().jump(merge, &[]);
                }
                self.b.switch_to_block(merge);
            }
            Stmt::For {
                var,
                start,
                end,
                step,
                parallel: _,
                body,
            } => self.for_loop(*var, start, end, *step, body)?,
        }
        Ok(())
    }

    /// A bottom-tested loop (one branch per iteration) guarded by an entry
    /// test. The counter is a hidden variable copied into `var` at the top
    /// of each iteration, so assignments to `var` in the body cannot change
    /// the trip count, as in `(start..end).step_by(step)`.
    fn for_loop(
        &mut self,
        var: LocalId,
        start: &Expr,
        end: &Expr,
        step: i64,
        body: &[Stmt],
    ) -> Result<()> {
        let (user_var, ty) = self.local(var)?;
        if ty != Scalar::I64 {
            return invalid(format!(
                "loop variable {} has type {ty}, expected i64",
                var.0
            ));
        }
        if step <= 0 {
            return invalid(format!("loop step {step} is not positive"));
        }
        let s = self.expr_of(start, Scalar::I64, "loop start")?;
        let e = self.expr_of(end, Scalar::I64, "loop end")?;
        // Another iteration exists iff `i + step < end`, i.e. `i < end - step`;
        // comparing against this precomputed limit never overflows, and
        // a limit below i64::MIN saturates to it (no `i` is less).
        let min = self.b.ins().iconst(types::I64, i64::MIN);
        let floor = self.b.ins().iconst(types::I64, i64::MIN.wrapping_add(step));
        let low = self.b.ins().icmp(IntCC::SignedLessThan, e, floor);
        let e_minus = self.b.ins().iadd_imm_s(e, step.wrapping_neg());
        let limit = self.b.ins().select(low, min, e_minus);
        let counter = self.b.declare_var(types::I64);
        self.b.def_var(counter, s);
        let (body_b, exit) = (self.b.create_block(), self.b.create_block());
        let enter = self.b.ins().icmp(IntCC::SignedLessThan, s, e);
        self.b.ins().brif(enter, body_b, &[], exit, &[]);

        self.b.switch_to_block(body_b);
        let i = self.b.use_var(counter);
        self.b.def_var(user_var, i);
        self.stmts(body)?;
        let i = self.b.use_var(counter);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, i, limit);
        let next = self.b.ins().iadd_imm_s(i, step);
        self.b.def_var(counter, next);
        self.b.ins().brif(more, body_b, &[], exit, &[]);
        self.b.switch_to_block(exit);
        Ok(())
    }
}
