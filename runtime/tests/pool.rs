//! The persistent pool: every task of every job runs exactly once, with
//! many short jobs in a row, uneven task counts, two callers at once and a
//! `parallel_for` nested in a task (which runs serially).
#![cfg(feature = "std")]

use core::ffi::c_void;
use onnxc_runtime::Pool;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Job {
    hits: Vec<AtomicUsize>,
    pool: *const Pool,
}

unsafe extern "C" fn hit(arg: *const c_void, i: usize) {
    // SAFETY: `arg` is a live `Job` for the whole call.
    let job = unsafe { &*(arg as *const Job) };
    job.hits[i].fetch_add(1, Ordering::Relaxed);
}

unsafe extern "C" fn nested(arg: *const c_void, i: usize) {
    // SAFETY: as in `hit`; the inner job lives on this task's stack.
    let job = unsafe { &*(arg as *const Job) };
    let inner = Job { hits: (0..5).map(|_| AtomicUsize::new(0)).collect(), pool: job.pool };
    unsafe { (*job.pool).parallel_for(5, hit, &inner as *const Job as *const c_void) };
    assert!(inner.hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
    job.hits[i].fetch_add(1, Ordering::Relaxed);
}

fn run(pool: &Pool, n: usize, task: unsafe extern "C" fn(*const c_void, usize)) {
    let job = Job { hits: (0..n).map(|_| AtomicUsize::new(0)).collect(), pool };
    // SAFETY: the tasks only touch `job`, which outlives the call.
    unsafe { pool.parallel_for(n, task, &job as *const Job as *const c_void) };
    for (i, h) in job.hits.iter().enumerate() {
        assert_eq!(h.load(Ordering::Relaxed), 1, "task {i} of {n}");
    }
}

#[test]
fn every_task_runs_once_per_job() {
    for threads in [1, 2, 3, 8] {
        let pool = Pool::new(threads);
        for round in 0..2000 {
            run(&pool, [0, 1, 2, 3, 7, 64][round % 6], hit);
        }
    }
}

#[test]
fn concurrent_and_nested_callers() {
    let pool = Pool::new(3);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| (0..500).for_each(|r| run(&pool, 1 + r % 9, hit)));
        }
    });
    run(&pool, 6, nested);
}
