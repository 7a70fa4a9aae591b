//! `Program` -> relocatable object file through LLVM 19 (inkwell).
//!
//! Mirrors the Cranelift backend: every kernel becomes an internal function,
//! `<name>_run` calls them in step order, constants become private read-only
//! globals, and the object has no undefined symbols but memcpy/memmove/memset (LLVM
//! may turn loops into those). Nothing here is op-specific: it translates KIR.
//!
//! Optimisation is the new pass manager's `default<O3>` (which vectorizes
//! loops for the target's vector unit: AVX2, NEON, RVV), then code generation
//! at the aggressive level, PIC.

mod convert;
mod entry;
mod error;
mod expr;
mod kernel;
mod machine;
mod parallel;

pub use error::LlvmError;

use inkwell::context::Context;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{FileType, TargetMachine};
use kernel::Cx;
use onnxc_kernel::{Program, Target};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LlvmOptions {
    /// Also return the target assembly (`--emit asm`).
    pub emit_asm: bool,
    /// Also return the optimised LLVM IR (`--emit llvm-ir`).
    pub emit_llvm_ir: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LlvmOutput {
    /// ELF relocatable object.
    pub object: Vec<u8>,
    pub asm: Option<String>,
    /// After optimisation, so it shows what was vectorized.
    pub llvm_ir: Option<String>,
}

/// Compiles `p` for `target` into an object file.
pub fn compile(p: &Program, target: &Target, opts: &LlvmOptions) -> Result<LlvmOutput, LlvmError> {
    if p.name.contains('\0') {
        // LLVM's C API would silently cut the symbol names at the NUL.
        return Err(LlvmError::InvalidProgram(
            "program name contains a NUL byte".into(),
        ));
    }
    let spec = machine::spec(target)?;
    let tm = machine::target_machine(&spec)?;
    let caps = machine::caps(&spec, &tm)?;
    let ctx = Context::create();
    let module = ctx.create_module(&p.name);
    module.set_triple(&tm.get_triple());
    module.set_data_layout(&tm.get_target_data().get_data_layout());
    let cx = Cx {
        ctx: &ctx,
        module: &module,
        caps,
    };

    let entries = entry::declare(&cx, p);
    let consts = entry::consts(&cx, p);
    // A '.' cannot occur in C identifiers, so kernel symbols never clash
    // with the exported functions or with memcpy/memmove/memset.
    let kernels: Vec<_> = p
        .kernels
        .iter()
        .enumerate()
        .map(|(i, k)| kernel::declare(&cx, k, &format!("{}.k{i}.{}", p.name, k.name)))
        .collect();
    for (k, &f) in p.kernels.iter().zip(&kernels) {
        kernel::define(&cx, k, f)?;
    }
    entry::define(&cx, p, entries, &kernels, &consts)?;
    module
        .verify()
        .map_err(|e| LlvmError::Verify(e.to_string()))?;

    optimize(&module, &tm)?;
    let emit = |ft: FileType| -> Result<Vec<u8>, LlvmError> {
        let buf = tm
            .write_to_memory_buffer(&module, ft)
            .map_err(|e| LlvmError::Emit(e.to_string()))?;
        Ok(buf.as_slice().to_vec())
    };
    let object = emit(FileType::Object)?;
    if opts.emit_asm || opts.emit_llvm_ir {
        // The texts are for reading code: weights (possibly hundreds of MB)
        // would drown it, so they become declarations there.
        entry::elide_const_data(&module, p);
    }
    let asm = if opts.emit_asm {
        Some(String::from_utf8_lossy(&emit(FileType::Assembly)?).into_owned())
    } else {
        None
    };
    let llvm_ir = opts
        .emit_llvm_ir
        .then(|| module.print_to_string().to_string());
    Ok(LlvmOutput {
        object,
        asm,
        llvm_ir,
    })
}

fn optimize(module: &inkwell::module::Module, tm: &TargetMachine) -> Result<(), LlvmError> {
    let po = PassBuilderOptions::create();
    po.set_loop_vectorization(true);
    po.set_loop_slp_vectorization(true);
    po.set_loop_interleaving(true);
    po.set_loop_unrolling(true);
    module
        .run_passes("default<O3>", tm, po)
        .map_err(|e| LlvmError::Passes(e.to_string()))
}
