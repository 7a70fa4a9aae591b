//! A thread pool behind the C-ABI [`PoolAbi`] (feature `std`).

use crate::{PoolAbi, TaskFn};
use core::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::vec::Vec;

/// Runs the tasks of a `parallel_for` on `threads` threads: the caller and
/// `threads - 1` workers started once by [`Pool::new`]. A model run calls
/// `parallel_for` for many short loops, so idle workers spin a little
/// (`SPIN` checks) before they block, and tasks are handed out through one
/// atomic ticket (job number and next index), so a late worker never takes
/// an index of a later job. Pass [`Pool::abi`] as `<p>_run`'s `pool`.
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
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// Held by the thread whose job is running; a concurrent or nested
    /// `parallel_for` finds it taken and runs its tasks serially.
    busy: Mutex<()>,
}

/// Worker spins (about 0.1 ms) before blocking on the condition variable.
const SPIN: usize = 20_000;

struct Shared {
    /// `(job << 32) | next index`; jobs are numbered from 1.
    ticket: AtomicU64,
    finished: AtomicUsize,
    n: AtomicUsize,
    /// The job's `TaskFn` and `arg` as integers (written before the ticket).
    task: AtomicUsize,
    arg: AtomicUsize,
    sleepers: AtomicUsize,
    stop: AtomicBool,
    mu: Mutex<()>,
    start: Condvar,
}

impl Shared {
    /// Runs tasks of job `job` until none is left.
    fn drain(&self, job: u64) {
        let mut t = self.ticket.load(SeqCst);
        loop {
            let i = (t & 0xffff_ffff) as usize;
            if t >> 32 != job || i >= self.n.load(SeqCst) {
                return;
            }
            if let Err(now) = self.ticket.compare_exchange_weak(t, t + 1, SeqCst, SeqCst) {
                t = now;
                continue;
            }
            // Index i of `job` is ours: the job cannot change before it is done.
            // SAFETY: `task` was stored from a `TaskFn` by `parallel_for`, whose
            // caller promised it may run on any thread with `arg`.
            unsafe {
                let task: TaskFn = core::mem::transmute::<usize, TaskFn>(self.task.load(SeqCst));
                task(self.arg.load(SeqCst) as *const c_void, i);
            }
            self.finished.fetch_add(1, SeqCst);
            t = self.ticket.load(SeqCst);
        }
    }

    fn worker(&self) {
        let mut seen = 0u64;
        loop {
            let mut job = self.ticket.load(SeqCst) >> 32;
            let mut s = 0;
            while job == seen && s < SPIN && !self.stop.load(SeqCst) {
                std::hint::spin_loop();
                job = self.ticket.load(SeqCst) >> 32;
                s += 1;
            }
            if job == seen && !self.stop.load(SeqCst) {
                // Dekker with `parallel_for`: it publishes the ticket, then
                // reads `sleepers`; we count ourselves, then re-read the ticket.
                let mut g = self.mu.lock().unwrap_or_else(|e| e.into_inner());
                self.sleepers.fetch_add(1, SeqCst);
                while self.ticket.load(SeqCst) >> 32 == seen && !self.stop.load(SeqCst) {
                    g = self.start.wait(g).unwrap_or_else(|e| e.into_inner());
                }
                self.sleepers.fetch_sub(1, SeqCst);
                drop(g);
                job = self.ticket.load(SeqCst) >> 32;
            }
            if self.stop.load(SeqCst) {
                return;
            }
            seen = job;
            self.drain(job);
        }
    }
}

impl Pool {
    /// A pool of `threads` threads (0 means the machine's parallelism).
    pub fn new(threads: usize) -> Pool {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        let shared = Arc::new(Shared {
            ticket: AtomicU64::new(0),
            finished: AtomicUsize::new(0),
            n: AtomicUsize::new(0),
            task: AtomicUsize::new(0),
            arg: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            mu: Mutex::new(()),
            start: Condvar::new(),
        });
        let mut workers = Vec::new();
        for _ in 1..threads {
            let s = Arc::clone(&shared);
            match std::thread::Builder::new().name("onnxc-pool".into()).spawn(move || s.worker()) {
                Ok(h) => workers.push(h),
                Err(_) => break, // run with the workers that started
            }
        }
        let threads = workers.len() + 1;
        Pool { abi: PoolAbi { parallel_for: parallel_for_abi }, threads, shared, workers, busy: Mutex::new(()) }
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
        let guard = if self.threads > 1 && n > 1 && n <= u32::MAX as usize { self.busy.try_lock().ok() } else { None };
        let Some(_guard) = guard else {
            for i in 0..n {
                // SAFETY: the caller's contract.
                unsafe { task(arg, i) };
            }
            return;
        };
        let s = &*self.shared;
        s.task.store(task as usize, SeqCst);
        s.arg.store(arg as usize, SeqCst);
        s.n.store(n, SeqCst);
        s.finished.store(0, SeqCst);
        let job = (s.ticket.load(SeqCst) >> 32) + 1;
        s.ticket.store(job << 32, SeqCst);
        if s.sleepers.load(SeqCst) > 0 {
            let _g = s.mu.lock().unwrap_or_else(|e| e.into_inner());
            s.start.notify_all();
        }
        s.drain(job);
        let mut spins = 0u32;
        while s.finished.load(SeqCst) < n {
            if spins < 64 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now(); // a worker holding a task may share our core
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        {
            let _g = self.shared.mu.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.stop.store(true, SeqCst);
            self.shared.start.notify_all();
        }
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

unsafe extern "C" fn parallel_for_abi(pool: *const PoolAbi, n: usize, task: TaskFn, arg: *const c_void) {
    // SAFETY: `parallel_for` is only installed in a `Pool`, whose first field is the PoolAbi.
    let pool = unsafe { &*(pool as *const Pool) };
    // SAFETY: forwarded contract of `PoolAbi::parallel_for`.
    unsafe { pool.parallel_for(n, task, arg) }
}
