//! A thread pool behind the C-ABI [`PoolAbi`] (feature `std`).

use crate::{PoolAbi, TaskFn};
use core::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs the tasks of a `parallel_for` on `threads` OS threads (scoped, so no
/// task outlives the call). Pass [`Pool::abi`] as `<p>_run`'s `pool`.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use core::ffi::c_void;
/// unsafe extern "C" fn add(arg: *const c_void, i: usize) {
///     unsafe { (*(arg as *const AtomicUsize)).fetch_add(i, Ordering::Relaxed) };
/// }
/// let pool = onnxc_runtime::Pool::new(4);
/// let sum = AtomicUsize::new(0);
/// // SAFETY: `add` only touches `sum`, which outlives the call.
/// unsafe { pool.parallel_for(100, add, &sum as *const AtomicUsize as *const c_void) };
/// assert_eq!(sum.load(Ordering::Relaxed), 4950);
/// ```
#[repr(C)]
pub struct Pool {
    // First field, so a `*const Pool` is a valid `*const PoolAbi`.
    abi: PoolAbi,
    threads: usize,
}

/// Raw pointers that the scoped threads share; the task contract makes it sound.
#[derive(Clone, Copy)]
struct Shared {
    task: TaskFn,
    arg: *const c_void,
}
// SAFETY: `parallel_for`'s contract: the task may be called from any thread.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Pool {
    /// A pool of `threads` threads (0 means the machine's parallelism).
    pub fn new(threads: usize) -> Pool {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        Pool { abi: PoolAbi { parallel_for: parallel_for_abi }, threads }
    }

    /// Number of threads a `parallel_for` uses at most.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The C view of this pool, for `<p>_run`'s `pool` argument.
    pub fn abi(&self) -> &PoolAbi {
        &self.abi
    }

    /// Runs `task(arg, i)` for every `i < n` and returns when all are done.
    ///
    /// # Safety
    /// `task` must be safe to call concurrently from several threads with `arg`.
    pub unsafe fn parallel_for(&self, n: usize, task: TaskFn, arg: *const c_void) {
        let shared = Shared { task, arg };
        let workers = self.threads.min(n);
        if workers <= 1 {
            for i in 0..n {
                // SAFETY: the caller's contract.
                unsafe { task(arg, i) };
            }
            return;
        }
        // Dynamic scheduling: tasks may differ in cost (e.g. the last row block).
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..workers {
                let next = &next;
                s.spawn(move || {
                    let shared = shared;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        // SAFETY: the caller's contract.
                        unsafe { (shared.task)(shared.arg, i) };
                    }
                });
            }
        });
    }
}

unsafe extern "C" fn parallel_for_abi(pool: *const PoolAbi, n: usize, task: TaskFn, arg: *const c_void) {
    // SAFETY: `parallel_for` is only installed in a `Pool`, whose first field is the PoolAbi.
    let pool = unsafe { &*(pool as *const Pool) };
    // SAFETY: forwarded contract of `PoolAbi::parallel_for`.
    unsafe { pool.parallel_for(n, task, arg) }
}
