//! The exported entry points: `<name>_workspace_size` and `<name>_run`,
//! which executes `Program::steps` in order, and the checks on steps that
//! keep an ill-formed Program from producing code that scribbles memory.

use crate::{invalid, CodegenError, Emitter, Result};
use cranelift_codegen::ir::{
    types, AbiParam, ExternalName, FuncRef, GlobalValue, GlobalValueData, InstBuilder,
    MemFlagsData, UserExternalName, UserFuncName, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{DataId, FuncId, Linkage, Module};
use onnxc_kernel::{BufRef, Program, Step};

/// Checks every step against the program: indices exist, argument counts
/// match, writable parameters get writable buffers, copies stay in bounds.
pub(crate) fn validate(p: &Program) -> Result<()> {
    for (i, step) in p.steps.iter().enumerate() {
        check_step(p, step).map_err(|e| e.in_context(&format!("step {i}")))?;
    }
    Ok(())
}

fn check_step(p: &Program, step: &Step) -> Result<()> {
    match step {
        Step::Call { kernel, args } => {
            let Some(k) = p.kernels.get(*kernel) else {
                return invalid(format!("kernel {kernel} does not exist"));
            };
            if args.len() != k.params.len() {
                return invalid(format!(
                    "kernel `{}` takes {} buffers, got {}",
                    k.name,
                    k.params.len(),
                    args.len()
                ));
            }
            for (arg, param) in args.iter().zip(&k.params) {
                buf_size(p, *arg)?;
                if param.writable && matches!(arg, BufRef::Input(_) | BufRef::Const(_)) {
                    return invalid(format!(
                        "kernel `{}` writes read-only buffer {arg:?}",
                        k.name
                    ));
                }
            }
        }
        Step::Copy { dst, src, bytes } => {
            if matches!(dst, BufRef::Input(_) | BufRef::Const(_)) {
                return invalid(format!("copy into read-only buffer {dst:?}"));
            }
            for b in [dst, src] {
                if buf_size(p, *b)? < *bytes {
                    return invalid(format!("copy of {bytes} bytes overruns {b:?}"));
                }
            }
        }
    }
    Ok(())
}

/// Bytes available at `b` (for the workspace: up to its end).
fn buf_size(p: &Program, b: BufRef) -> Result<usize> {
    let size = match b {
        BufRef::Input(i) => p.inputs.get(i).map(|t| t.byte_size()),
        BufRef::Output(i) => p.outputs.get(i).map(|t| t.byte_size()),
        BufRef::Const(i) => p.consts.get(i).map(|c| c.len()),
        BufRef::Workspace(off) => p.workspace_size.checked_sub(off),
    };
    size.ok_or_else(|| CodegenError::InvalidProgram(format!("buffer {b:?} does not exist")))
}

pub(crate) fn define_entry_points(
    em: &mut Emitter,
    p: &Program,
    kernels: &[FuncId],
    consts: &[DataId],
) -> Result<()> {
    define_workspace_size(em, p)?;
    define_run(em, p, kernels, consts)
}

fn declare(em: &mut Emitter, name: &str, params: usize, ret: types::Type) -> Result<FuncId> {
    let mut sig = em.module.make_signature();
    let ptr = em.module.target_config().pointer_type();
    sig.params.extend((0..params).map(|_| AbiParam::new(ptr)));
    sig.returns.push(AbiParam::new(ret));
    let id = em
        .module
        .declare_function(name, Linkage::Export, &sig)
        .map_err(|e| CodegenError::Cranelift(e.to_string()))?;
    let func = em.func();
    func.signature = sig;
    func.name = UserFuncName::user(0, id.as_u32());
    Ok(id)
}

/// `size_t <name>_workspace_size(void)`.
fn define_workspace_size(em: &mut Emitter, p: &Program) -> Result<()> {
    let name = format!("{}_workspace_size", p.name);
    let config = em.module.target_config();
    let ptr = config.pointer_type();
    let id = declare(em, &name, 0, ptr)?;
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(em.func(), &mut fctx);
    let entry = b.create_block();
    b.switch_to_block(entry);
    let size = b.ins().iconst(ptr, p.workspace_size as i64);
    b.ins().return_(&[size]);
    b.seal_all_blocks();
    b.finalize(config);
    em.define(id, &name)
}

/// `int <name>_run(const void *const inputs[], void *const outputs[],
/// void *workspace, const void *pool)`; `pool` is unused for now.
fn define_run(em: &mut Emitter, p: &Program, kernels: &[FuncId], consts: &[DataId]) -> Result<()> {
    let name = format!("{}_run", p.name);
    let id = declare(em, &name, 4, types::I32)?;
    let ptr = em.module.target_config().pointer_type();
    let frontend_config = em.module.target_config();
    // Only kernels that are called get a FuncRef in `_run`.
    let mut used = vec![false; kernels.len()];
    for step in &p.steps {
        if let Step::Call { kernel, .. } = step {
            used[*kernel] = true;
        }
    }
    let mut func_refs: Vec<Option<FuncRef>> = vec![None; kernels.len()];
    for (k, r) in func_refs.iter_mut().enumerate().filter(|(k, _)| used[*k]) {
        *r = Some(em.module.declare_func_in_func(kernels[k], &mut em.ctx.func));
    }
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(em.func(), &mut fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let args = b.block_params(entry).to_vec();
    let mut cx = RunCx {
        b,
        ptr,
        inputs: args[0],
        outputs: args[1],
        workspace: args[2],
        consts,
        const_gvs: Vec::new(),
    };
    for step in &p.steps {
        match step {
            Step::Call { kernel, args } => {
                let vals: Vec<Value> = args.iter().map(|a| cx.resolve(*a)).collect();
                let Some(f) = func_refs[*kernel] else {
                    return invalid("kernel reference missing");
                };
                cx.b.ins().call(f, &vals);
            }
            Step::Copy { bytes: 0, .. } => {}
            Step::Copy { dst, src, bytes } => {
                let (d, s) = (cx.resolve(*dst), cx.resolve(*src));
                let n = cx.b.ins().iconst(ptr, *bytes as i64);
                cx.b.call_memcpy(frontend_config, d, s, n);
            }
        }
    }
    let zero = cx.b.ins().iconst(types::I32, 0);
    cx.b.ins().return_(&[zero]);
    cx.b.seal_all_blocks();
    cx.b.finalize(frontend_config);
    em.define(id, &name)
}

struct RunCx<'a, 'f> {
    b: FunctionBuilder<'f>,
    ptr: types::Type,
    inputs: Value,
    outputs: Value,
    workspace: Value,
    consts: &'a [DataId],
    /// Global values of the constants referenced so far.
    const_gvs: Vec<Option<GlobalValue>>,
}

impl RunCx<'_, '_> {
    /// The pointer a buffer reference denotes (indices were validated).
    fn resolve(&mut self, r: BufRef) -> Value {
        // The pointer arrays are the caller's and constant during the call.
        let table = MemFlagsData::trusted().with_readonly();
        let slot = |i: usize| (i * 8) as i32;
        match r {
            BufRef::Input(i) => self.b.ins().load(self.ptr, table, self.inputs, slot(i)),
            BufRef::Output(i) => self.b.ins().load(self.ptr, table, self.outputs, slot(i)),
            BufRef::Workspace(off) => self.b.ins().iadd_imm_s(self.workspace, off as i64),
            BufRef::Const(i) => self.const_addr(i),
        }
    }

    fn const_addr(&mut self, i: usize) -> Value {
        if self.const_gvs.len() <= i {
            self.const_gvs.resize(i + 1, None);
        }
        let gv = match self.const_gvs[i] {
            Some(gv) => gv,
            None => {
                // Like `Module::declare_data_in_func`, but colocated: the symbol
                // is defined in this object, so a PC-relative address needs no GOT.
                let func = &mut *self.b.func;
                let user = UserExternalName {
                    namespace: 1,
                    index: self.consts[i].as_u32(),
                };
                let name = func.declare_imported_user_function(user);
                let gv = func.create_global_value(GlobalValueData::Symbol {
                    name: ExternalName::user(name),
                    offset: 0.into(),
                    colocated: true,
                    tls: false,
                });
                self.const_gvs[i] = Some(gv);
                gv
            }
        };
        self.b.ins().symbol_value(self.ptr, gv)
    }
}
