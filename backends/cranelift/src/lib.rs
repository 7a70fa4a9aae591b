//! The Cranelift backend: `Program` -> relocatable object file.
//!
//! Every KIR kernel becomes a local function `void k(T0 *, T1 *, ...)`
//! (`kernel.rs`, `expr.rs`); `<name>_run` calls them in step order and
//! `<name>_workspace_size` reports the workspace (`run.rs`); constants land
//! in one read-only section (`consts.rs`). The only undefined symbol an
//! object may have is `memcpy` (for `Step::Copy`).

mod consts;
mod expr;
mod isa;
mod jobs;
mod kernel;
mod run;

use cranelift_codegen::Context;
use cranelift_module::{default_libcall_names, DataId, FuncId, Linkage, Module, ModuleError};
use cranelift_object::{ObjectBuilder, ObjectModule};
use onnxc_kernel::{Program, Target};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// The target triple, `--cpu` or `--target-features` cannot be served.
    #[error("target: {0}")]
    Target(String),
    /// The Program is ill-formed (bad index, ill-typed KIR, ...).
    #[error("invalid program: {0}")]
    InvalidProgram(String),
    /// Cranelift rejected a function or the object could not be written.
    #[error("cranelift: {0}")]
    Cranelift(String),
    /// Cranelift panicked: a bug in this backend or in Cranelift, reported
    /// as an error so one bad kernel cannot take the whole compiler down.
    #[error("internal error in the cranelift backend: {0}")]
    Internal(String),
}

pub(crate) type Result<T, E = CodegenError> = std::result::Result<T, E>;

/// Compiles `p` to a relocatable object for `target`.
pub fn compile(p: &Program, target: &Target) -> Result<Vec<u8>> {
    guarded(|| compile_inner(p, target, false)).map(|(obj, _)| obj)
}

/// Like [`compile`], also returning the machine-code listing (Cranelift's
/// VCode after register allocation) of every function, for `--emit asm`.
pub fn compile_with_asm(p: &Program, target: &Target) -> Result<(Vec<u8>, String)> {
    guarded(|| compile_inner(p, target, true))
}

fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(CodegenError::Internal(msg))
    })
}

/// State shared while emitting one object.
pub(crate) struct Emitter {
    pub module: ObjectModule,
    ctx: Context,
    /// `Some` when a listing was asked for.
    asm: Option<String>,
}

impl Emitter {
    /// Compiles the function built in `self.ctx.func` as `id` and appends
    /// its listing. `name` only labels the listing and errors.
    pub fn define(&mut self, id: FuncId, name: &str) -> Result<()> {
        self.ctx.set_disasm(self.asm.is_some());
        let defined = self.module.define_function(id, &mut self.ctx);
        if let Err(e) = defined {
            let msg = match e {
                ModuleError::Compilation(err) => {
                    cranelift_codegen::print_errors::pretty_error(&self.ctx.func, err)
                }
                e => e.to_string(),
            };
            self.ctx.clear();
            return Err(CodegenError::Cranelift(format!("function `{name}`: {msg}")));
        }
        if let Some(asm) = self.asm.as_mut() {
            let vcode = self
                .ctx
                .compiled_code()
                .and_then(|c| c.vcode.as_deref())
                .unwrap_or("");
            asm.push_str(&format!("{name}:\n{vcode}\n"));
        }
        self.ctx.clear();
        Ok(())
    }

    /// Defines a function compiled elsewhere (`jobs.rs`) as `id`.
    pub fn define_bytes(&mut self, id: FuncId, name: &str, f: kernel::CompiledFn) -> Result<()> {
        self.module
            .define_function_bytes(id, f.align, &f.code, &f.relocs)
            .map_err(|e| CodegenError::Cranelift(format!("function `{name}`: {e}")))?;
        if let Some(asm) = self.asm.as_mut() {
            asm.push_str(&format!("{name}:\n{}\n", f.vcode.as_deref().unwrap_or("")));
        }
        Ok(())
    }

    pub fn func(&mut self) -> &mut cranelift_codegen::ir::Function {
        &mut self.ctx.func
    }
}

fn compile_inner(p: &Program, target: &Target, want_asm: bool) -> Result<(Vec<u8>, String)> {
    check_symbol(&p.name)?;
    let isa = isa::build_isa(target)?;
    if isa.pointer_type() != cranelift_codegen::ir::types::I64 {
        return Err(CodegenError::Target(format!(
            "`{target}` is not a 64-bit target"
        )));
    }
    // No `.eh_frame` (`unwind_info`): Cranelift 0.135 writes it with
    // absolute relocations, which force text relocations (DT_TEXTREL) into
    // shared libraries. Functions keep frame pointers, so debuggers and
    // profilers can still walk the stack.
    let builder = ObjectBuilder::new(isa, format!("{}.o", p.name), default_libcall_names())
        .map_err(|e| CodegenError::Target(e.to_string()))?;
    let mut em = Emitter {
        module: ObjectModule::new(builder),
        ctx: Context::new(),
        asm: want_asm.then(String::new),
    };

    run::validate(p)?;
    let kernels = kernel::declare_kernels(&mut em.module, p)?;
    let kernel_ids: Vec<FuncId> = kernels.iter().map(|(id, _)| *id).collect();
    let const_ids = declare_consts(&mut em.module, p)?;
    let compiled = jobs::compile_kernels(em.module.isa(), p, &kernel_ids, want_asm)?;
    for ((id, sym), code) in kernels.iter().zip(compiled) {
        em.define_bytes(*id, sym, code)?;
    }
    run::define_entry_points(&mut em, p, &kernel_ids, &const_ids)?;

    let mut asm = em.asm.take().unwrap_or_default();
    let mut product = em.module.finish();
    consts::place_consts(&mut product, p, &const_ids, want_asm.then_some(&mut asm))?;
    let obj = product
        .emit()
        .map_err(|e| CodegenError::Cranelift(format!("writing object: {e}")))?;
    Ok((obj, asm))
}

/// Declares one data symbol per constant. They are declared as imports and
/// defined directly in the object afterwards (`consts.rs`), which lets the
/// weights go into the object without the copies `DataDescription` makes.
fn declare_consts(module: &mut ObjectModule, p: &Program) -> Result<Vec<DataId>> {
    (0..p.consts.len())
        .map(|i| {
            module
                .declare_data(&consts::const_symbol(p, i), Linkage::Import, false, false)
                .map_err(|e| CodegenError::Cranelift(e.to_string()))
        })
        .collect()
}

/// The program name prefixes C symbols, so it must be a C identifier.
fn check_symbol(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CodegenError::InvalidProgram(format!(
            "program name `{name}` is not a C identifier"
        )))
    }
}

impl CodegenError {
    /// Prefixes the message with where it happened.
    pub(crate) fn in_context(self, what: &str) -> CodegenError {
        match self {
            CodegenError::InvalidProgram(m) => CodegenError::InvalidProgram(format!("{what}: {m}")),
            CodegenError::Cranelift(m) => CodegenError::Cranelift(format!("{what}: {m}")),
            e => e,
        }
    }
}

pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(CodegenError::InvalidProgram(msg.into()))
}
