/* A small thread pool for `<p>_run`'s `pool` argument, in C11 (<threads.h>
 * and <stdatomic.h>; in glibc >= 2.34 both are in libc, so no -pthread and
 * no feature macros are needed, even when the model header is force-included).
 *
 *   onnxc_pool pool;
 *   onnxc_pool_init(&pool, 4);            // 4 threads: the caller + 3 workers
 *   m_run(inputs, outputs, workspace, &pool);
 *   onnxc_pool_destroy(&pool);
 *
 * The layout is the runtime's `PoolAbi`: the first field is
 * `void parallel_for(const pool *, size_t n, void (*task)(const void *arg, size_t i), const void *arg)`,
 * which runs task(arg, i) for every i < n and returns when all have finished.
 *
 * A model run calls parallel_for once per parallel loop, often for a few
 * tens of microseconds of work, with serial kernels in between. Waking a
 * worker blocked on a condition variable costs about as much, so workers
 * spin (ONNXC_POOL_SPIN checks of the job counter, ~0.1 ms) before they
 * block, and the caller spins (yielding) until the tasks it did not run
 * itself are done. Tasks are handed out by one atomic ticket holding the
 * job number and the next index, so a worker that wakes late can never take
 * an index of a later job.
 */
#ifndef ONNXC_POOL_H
#define ONNXC_POOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

#ifndef ONNXC_POOL_SPIN
#define ONNXC_POOL_SPIN 20000
#endif

typedef void (*onnxc_task_fn)(const void *arg, size_t i);

typedef struct onnxc_pool {
    void (*parallel_for)(const struct onnxc_pool *pool, size_t n, onnxc_task_fn task, const void *arg);
    int threads;
    thrd_t *workers;
    mtx_t mu;
    cnd_t start;
    /* (job << 32) | next index to hand out; jobs are numbered from 1. */
    _Atomic uint64_t ticket;
    atomic_size_t finished; /* tasks of the current job that completed */
    atomic_int sleepers;    /* workers blocked (or about to block) on `start` */
    atomic_int stop;
    /* The current job; written before its ticket is published. */
    _Atomic(onnxc_task_fn) task;
    _Atomic(const void *) arg;
    atomic_size_t n;
} onnxc_pool;

static inline void onnxc_pool_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Runs tasks of job `job` until none is left. */
static inline void onnxc_pool_drain(onnxc_pool *p, uint64_t job) {
    uint64_t t = atomic_load(&p->ticket);
    for (;;) {
        if (t >> 32 != job) return;
        size_t i = (size_t)(t & 0xffffffffu);
        if (i >= atomic_load_explicit(&p->n, memory_order_relaxed)) return;
        if (!atomic_compare_exchange_weak(&p->ticket, &t, t + 1)) continue;
        /* Index i of job `job` is ours: the job cannot change before it is done. */
        onnxc_task_fn task = atomic_load_explicit(&p->task, memory_order_relaxed);
        const void *arg = atomic_load_explicit(&p->arg, memory_order_relaxed);
        task(arg, i);
        atomic_fetch_add_explicit(&p->finished, 1, memory_order_release);
        t = atomic_load(&p->ticket);
    }
}

static inline int onnxc_pool_worker(void *vp) {
    onnxc_pool *p = vp;
    uint64_t seen = 0;
    for (;;) {
        uint64_t job = atomic_load(&p->ticket) >> 32;
        for (int s = 0; job == seen && s < ONNXC_POOL_SPIN && !atomic_load_explicit(&p->stop, memory_order_relaxed); s++) {
            onnxc_pool_relax();
            job = atomic_load_explicit(&p->ticket, memory_order_relaxed) >> 32;
        }
        if (job == seen && !atomic_load(&p->stop)) {
            /* Dekker with parallel_for: it publishes the ticket, then reads
             * `sleepers`; we count ourselves, then re-read the ticket under
             * the lock it takes to broadcast. */
            mtx_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while ((atomic_load(&p->ticket) >> 32) == seen && !atomic_load(&p->stop)) cnd_wait(&p->start, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            mtx_unlock(&p->mu);
            job = atomic_load(&p->ticket) >> 32;
        }
        if (atomic_load(&p->stop)) break;
        seen = job;
        onnxc_pool_drain(p, job);
    }
    return 0;
}

static inline void onnxc_pool_parallel_for(const onnxc_pool *cp, size_t n, onnxc_task_fn task, const void *arg) {
    onnxc_pool *p = (onnxc_pool *)cp; /* the ABI passes it const; the pool's own state changes */
    if (p->threads <= 1 || n <= 1 || n > 0xffffffffu) {
        for (size_t i = 0; i < n; i++) task(arg, i);
        return;
    }
    atomic_store_explicit(&p->task, task, memory_order_relaxed);
    atomic_store_explicit(&p->arg, arg, memory_order_relaxed);
    atomic_store_explicit(&p->n, n, memory_order_relaxed);
    atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
    uint64_t job = (atomic_load(&p->ticket) >> 32) + 1;
    atomic_store(&p->ticket, job << 32); /* seq_cst: publishes the job */
    if (atomic_load(&p->sleepers) > 0) {
        mtx_lock(&p->mu);
        cnd_broadcast(&p->start);
        mtx_unlock(&p->mu);
    }
    onnxc_pool_drain(p, job);
    for (int s = 0; atomic_load_explicit(&p->finished, memory_order_acquire) < n; s++) {
        if (s < 64) onnxc_pool_relax();
        else thrd_yield(); /* a worker holding a task may share our core */
    }
}

/* 0 on success; `threads` < 1 counts as 1 (no workers: every task on the caller). */
static inline int onnxc_pool_init(onnxc_pool *p, int threads) {
    p->parallel_for = onnxc_pool_parallel_for;
    p->threads = threads < 1 ? 1 : threads;
    atomic_init(&p->ticket, 0);
    atomic_init(&p->finished, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->task, NULL);
    atomic_init(&p->arg, NULL);
    atomic_init(&p->n, 0);
    if (mtx_init(&p->mu, mtx_plain) != thrd_success || cnd_init(&p->start) != thrd_success) return -1;
    p->workers = calloc((size_t)p->threads, sizeof *p->workers);
    if (!p->workers) return -1;
    for (int i = 0; i + 1 < p->threads; i++)
        if (thrd_create(&p->workers[i], onnxc_pool_worker, p) != thrd_success) {
            p->threads = i + 1; /* run with the workers that started */
            break;
        }
    return 0;
}

static inline void onnxc_pool_destroy(onnxc_pool *p) {
    mtx_lock(&p->mu);
    atomic_store(&p->stop, 1);
    cnd_broadcast(&p->start);
    mtx_unlock(&p->mu);
    for (int i = 0; i + 1 < p->threads; i++) thrd_join(p->workers[i], NULL);
    free(p->workers);
    cnd_destroy(&p->start);
    mtx_destroy(&p->mu);
}

#endif
