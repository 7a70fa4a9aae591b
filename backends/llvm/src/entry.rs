//! The exported C entry points and the constant data:
//!
//! ```c
//! size_t <name>_workspace_size(void);
//! int    <name>_run(const void *const inputs[], void *const outputs[], void *workspace, const void *pool);
//! ```
//! `_run` executes `Program::steps` in order, exactly like the Cranelift backend.

use crate::error::{LlvmError, Result};
use crate::kernel::Cx;
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::llvm_sys::core::LLVMSetInitializer;
use inkwell::module::{Linkage, Module};
use inkwell::values::AsValueRef;
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, GlobalValue, PointerValue};
use inkwell::AddressSpace;
use onnxc_kernel::program::ALIGN;
use onnxc_kernel::{BufRef, Program, Step};

/// Declares both exported functions. Done before anything else is added so
/// they get exactly their names (LLVM renames later clashing definitions).
pub(crate) fn declare<'ctx>(
    cx: &Cx<'_, 'ctx>,
    p: &Program,
) -> (FunctionValue<'ctx>, FunctionValue<'ctx>) {
    let ctx = cx.ctx;
    let ptr = ctx.ptr_type(AddressSpace::default());
    // size_t is 64 bits on every supported target.
    let ws = cx.module.add_function(
        &format!("{}_workspace_size", p.name),
        ctx.i64_type().fn_type(&[], false),
        None,
    );
    let run_ty = ctx
        .i32_type()
        .fn_type(&[ptr.into(), ptr.into(), ptr.into(), ptr.into()], false);
    let run = cx
        .module
        .add_function(&format!("{}_run", p.name), run_ty, None);
    for f in [ws, run] {
        f.add_attribute(
            AttributeLoc::Function,
            ctx.create_enum_attribute(Attribute::get_named_enum_kind_id("nounwind"), 0),
        );
    }
    (ws, run)
}

/// Each constant as a private read-only global, aligned to `ALIGN`. The bytes
/// go into LLVM as one data array (no per-element constants: weights can be
/// hundreds of MB).
pub(crate) fn consts<'ctx>(cx: &Cx<'_, 'ctx>, p: &Program) -> Vec<GlobalValue<'ctx>> {
    p.consts
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let init = cx.ctx.const_string(bytes, false);
            let g = cx
                .module
                .add_global(init.get_type(), None, &format!("{}.const{i}", p.name));
            g.set_initializer(&init);
            g.set_constant(true);
            g.set_linkage(Linkage::Private);
            g.set_alignment(ALIGN as u32);
            g
        })
        .collect()
}

/// Turns the constant globals still in `module` (the optimiser may have
/// folded some away, so they are looked up by name) into external
/// declarations, dropping their data. Only for the asm / LLVM IR texts,
/// after the object has been emitted.
pub(crate) fn elide_const_data(module: &Module<'_>, p: &Program) {
    let prefix = format!("{}.const", p.name);
    for g in module.get_globals() {
        if g.get_name().to_bytes().starts_with(prefix.as_bytes()) {
            // SAFETY: `g` is a live global variable of `module`; a null
            // initializer is how the C API makes a definition a declaration.
            unsafe { LLVMSetInitializer(g.as_value_ref(), std::ptr::null_mut()) };
            g.set_linkage(Linkage::External);
        }
    }
}

fn define_workspace_size<'ctx>(
    cx: &Cx<'_, 'ctx>,
    p: &Program,
    f: FunctionValue<'ctx>,
) -> Result<()> {
    let b = cx.ctx.create_builder();
    b.position_at_end(cx.ctx.append_basic_block(f, "entry"));
    let size = cx.ctx.i64_type().const_int(p.workspace_size as u64, false);
    b.build_return(Some(&size))?;
    Ok(())
}

/// Defines both exported functions (from `declare`).
pub(crate) fn define<'ctx>(
    cx: &Cx<'_, 'ctx>,
    p: &Program,
    (ws_fn, run_fn): (FunctionValue<'ctx>, FunctionValue<'ctx>),
    kernels: &[FunctionValue<'ctx>],
    consts: &[GlobalValue<'ctx>],
) -> Result<()> {
    define_workspace_size(cx, p, ws_fn)?;
    let ctx = cx.ctx;
    let b = ctx.create_builder();
    b.position_at_end(ctx.append_basic_block(run_fn, "entry"));
    let param = |i: u32| run_fn.get_nth_param(i).map(|v| v.into_pointer_value());
    let (Some(ins), Some(outs), Some(ws), Some(pool)) = (param(0), param(1), param(2), param(3))
    else {
        return Err(LlvmError::InvalidProgram(
            "run function lost its params".into(),
        ));
    };
    let ptr_ty = ctx.ptr_type(AddressSpace::default());
    // `inputs[i]` / `outputs[i]`: loaded at each use; GVN merges repeats.
    let table = |tab: PointerValue<'ctx>, i: usize| -> Result<PointerValue<'ctx>> {
        let slot = unsafe {
            b.build_in_bounds_gep(
                ptr_ty,
                tab,
                &[ctx.i64_type().const_int(i as u64, false)],
                "",
            )?
        };
        Ok(b.build_load(ptr_ty, slot, "")?.into_pointer_value())
    };
    let resolve = |r: BufRef| -> Result<PointerValue<'ctx>> {
        let bad = |what: &str, i: usize| {
            LlvmError::InvalidProgram(format!("step refers to {what} {i}, which does not exist"))
        };
        match r {
            BufRef::Input(i) if i < p.inputs.len() => table(ins, i),
            BufRef::Output(i) if i < p.outputs.len() => table(outs, i),
            BufRef::Const(i) => consts
                .get(i)
                .map(|g| g.as_pointer_value())
                .ok_or_else(|| bad("constant", i)),
            BufRef::Workspace(off) => {
                let off = ctx.i64_type().const_int(off as u64, false);
                Ok(unsafe { b.build_in_bounds_gep(ctx.i8_type(), ws, &[off], "")? })
            }
            BufRef::Input(i) => Err(bad("input", i)),
            BufRef::Output(i) => Err(bad("output", i)),
        }
    };
    for (n, step) in p.steps.iter().enumerate() {
        match step {
            Step::Call { kernel, args } => {
                let f = *kernels.get(*kernel).ok_or_else(|| {
                    LlvmError::InvalidProgram(format!(
                        "step {n} calls kernel {kernel}, which does not exist"
                    ))
                })?;
                // Kernels take their buffers, then the pool.
                if args.len() + 1 != f.count_params() as usize {
                    return Err(LlvmError::InvalidProgram(format!(
                        "step {n} passes {} buffers to kernel {kernel}, which takes {}",
                        args.len(),
                        f.count_params() - 1
                    )));
                }
                let mut args: Vec<BasicMetadataValueEnum> = args
                    .iter()
                    .map(|&r| resolve(r).map(Into::into))
                    .collect::<Result<_>>()?;
                args.push(pool.into());
                b.build_call(f, &args, "")?;
            }
            Step::Copy { dst, src, bytes } => {
                let (d, s) = (resolve(*dst)?, resolve(*src)?);
                let len = ctx.i64_type().const_int(*bytes as u64, false);
                b.build_memcpy(d, 1, s, 1, len)
                    .map_err(|e| LlvmError::InvalidProgram(format!("copy step {n}: {e}")))?;
            }
        }
    }
    b.build_return(Some(&ctx.i32_type().const_zero()))?;
    Ok(())
}
