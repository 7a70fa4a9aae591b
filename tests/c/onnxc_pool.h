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
 * itself are done. Thread t (the caller is 0) first runs the t-th contiguous
 * slice of the indices, so consecutive loops over the same tensor split it
 * the same way and each core keeps its part in its own cache (on ShuffleNet
 * and SqueezeNet, 2 threads ran 5% faster than with tasks taken in order),
 * then steals what is left of the other slices. Each slice is one atomic
 * word holding the job number too, so a worker that wakes late can never
 * take an index of a later job.
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
    /* Per thread (caller = 0): (job << 40) | (next << 20) | end, a slice of
     * the job's indices; a thread runs its own slice first, then steals. */
    _Atomic uint64_t *slice;
} onnxc_pool;

static inline void onnxc_pool_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Claims the next index of slice `u` for job `job`; -1 when none is left. */
static inline long onnxc_pool_claim(onnxc_pool *p, int u, uint64_t job) {
    uint64_t w = atomic_load(&p->slice[u]);
    for (;;) {
        uint64_t next = (w >> 20) & 0xfffff, end = w & 0xfffff;
        if (w >> 40 != (job & 0xffffff) || next >= end) return -1;
        if (atomic_compare_exchange_weak(&p->slice[u], &w, w + (1u << 20))) return (long)next;
    }
}

/* Runs tasks of job `job` as thread `me`: its own slice (so consecutive
 * loops over the same data split it the same way: each core keeps its
 * half in its cache), then what is left of the others. */
static inline void onnxc_pool_drain(onnxc_pool *p, uint64_t job, int me) {
    for (int k = 0; k < p->threads; k++) {
        int u = (me + k) % p->threads;
        long i;
        while ((i = onnxc_pool_claim(p, u, job)) >= 0) {
            /* Index i of `job` is ours: the job cannot change before it is done. */
            onnxc_task_fn task = atomic_load_explicit(&p->task, memory_order_relaxed);
            const void *arg = atomic_load_explicit(&p->arg, memory_order_relaxed);
            task(arg, (size_t)i);
            atomic_fetch_add_explicit(&p->finished, 1, memory_order_release);
        }
    }
}

typedef struct onnxc_pool_start { onnxc_pool *p; int id; } onnxc_pool_start;

static inline int onnxc_pool_worker(void *vp) {
    onnxc_pool_start st = *(onnxc_pool_start *)vp;
    free(vp);
    onnxc_pool *p = st.p;
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
        onnxc_pool_drain(p, job, st.id);
    }
    return 0;
}

static inline void onnxc_pool_parallel_for(const onnxc_pool *cp, size_t n, onnxc_task_fn task, const void *arg) {
    onnxc_pool *p = (onnxc_pool *)cp; /* the ABI passes it const; the pool's own state changes */
    if (p->threads <= 1 || n <= 1 || n > 0xfffff) {
        for (size_t i = 0; i < n; i++) task(arg, i);
        return;
    }
    atomic_store_explicit(&p->task, task, memory_order_relaxed);
    atomic_store_explicit(&p->arg, arg, memory_order_relaxed);
    atomic_store_explicit(&p->n, n, memory_order_relaxed);
    atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
    uint64_t job = (atomic_load(&p->ticket) >> 32) + 1;
    for (int t = 0; t < p->threads; t++) {
        uint64_t lo = (uint64_t)t * n / (uint64_t)p->threads, hi = (uint64_t)(t + 1) * n / (uint64_t)p->threads;
        atomic_store(&p->slice[t], ((job & 0xffffff) << 40) | (lo << 20) | hi);
    }
    atomic_store(&p->ticket, job << 32); /* seq_cst: publishes the job */
    if (atomic_load(&p->sleepers) > 0) {
        mtx_lock(&p->mu);
        cnd_broadcast(&p->start);
        mtx_unlock(&p->mu);
    }
    onnxc_pool_drain(p, job, 0);
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
    p->slice = calloc((size_t)p->threads, sizeof *p->slice);
    if (!p->workers || !p->slice) return -1;
    for (int t = 0; t < p->threads; t++) atomic_init(&p->slice[t], 0);
    for (int i = 0; i + 1 < p->threads; i++) {
        onnxc_pool_start *st = malloc(sizeof *st);
        if (st) *st = (onnxc_pool_start){p, i + 1};
        if (!st || thrd_create(&p->workers[i], onnxc_pool_worker, st) != thrd_success) {
            free(st);
            p->threads = i + 1; /* run with the workers that started */
            break;
        }
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
    free((void *)p->slice);
    cnd_destroy(&p->start);
    mtx_destroy(&p->mu);
}

#endif
