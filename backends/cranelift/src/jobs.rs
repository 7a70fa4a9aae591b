//! Compiles kernels on all cores. Kernels are independent functions with
//! no references to the module, so only defining them (in index order,
//! which keeps the object byte-for-byte deterministic) is sequential.

use crate::kernel::{compile_kernel, CompiledFn};
use crate::{guarded, CodegenError, Result};
use cranelift_codegen::isa::TargetIsa;
use cranelift_module::FuncId;
use onnxc_kernel::Program;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Below this many kernels, threads cost more than they save.
const MIN_PARALLEL: usize = 8;

pub(crate) fn compile_kernels(
    isa: &dyn TargetIsa,
    p: &Program,
    ids: &[FuncId],
    want_asm: bool,
) -> Result<Vec<CompiledFn>> {
    let n = p.kernels.len();
    let next = AtomicUsize::new(0);
    // Each worker claims the next unclaimed kernel until none are left.
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                return done;
            }
            let k = &p.kernels[i];
            let r = guarded(|| compile_kernel(isa, k, ids[i], want_asm))
                .map_err(|e| e.in_context(&format!("kernel {i} `{}`", k.name)));
            done.push((i, r));
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let mut results = if n < MIN_PARALLEL || threads <= 1 {
        work()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads.min(n)).map(|_| s.spawn(work)).collect();
            // Workers catch panics themselves; a failed join only loses
            // results, which the count check below reports.
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    if results.len() != n {
        return Err(CodegenError::Internal(
            "a kernel compilation thread failed".into(),
        ));
    }
    // Report the first failing kernel by index, whatever thread found it.
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
