/* A small thread pool for `<p>_run`'s `pool` argument, in C11 (<threads.h>;
 * in glibc >= 2.34 both are in libc, so no -pthread and no
 * feature macros are needed, even when the model header is force-included).
 *
 *   onnxc_pool pool;
 *   onnxc_pool_init(&pool, 4);            // 4 threads: the caller + 3 workers
 *   m_run(inputs, outputs, workspace, &pool);
 *   onnxc_pool_destroy(&pool);
 *
 * The layout is the runtime's `PoolAbi`: the first field is
 * `void parallel_for(const pool *, size_t n, void (*task)(const void *arg, size_t i), const void *arg)`,
 * which runs task(arg, i) for every i < n and returns when all have finished.
 * Workers are started once and wait on a condition variable between calls;
 * tasks are handed out dynamically under the pool's lock, the caller included.
 */
#ifndef ONNXC_POOL_H
#define ONNXC_POOL_H

#include <stddef.h>
#include <stdlib.h>
#include <threads.h>

typedef void (*onnxc_task_fn)(const void *arg, size_t i);

typedef struct onnxc_pool {
    void (*parallel_for)(const struct onnxc_pool *pool, size_t n, onnxc_task_fn task, const void *arg);
    int threads;
    thrd_t *workers;
    mtx_t mu;
    cnd_t start, done;
    unsigned long generation; /* bumped per parallel_for; workers wait for a change */
    int stop;
    onnxc_task_fn task;
    const void *arg;
    size_t n, next, finished; /* the current job: tasks, next to hand out, completed */
} onnxc_pool;

/* Runs tasks of job `gen` until none is left. Indices are taken under the
 * lock (a job has few, coarse tasks), so a worker that wakes late can never
 * take an index of a later job, and the caller waits only for tasks that
 * were taken, never for a worker that has not been scheduled yet. */
static inline void onnxc_pool_drain(onnxc_pool *p, unsigned long gen) {
    mtx_lock(&p->mu);
    while (p->generation == gen && p->next < p->n) {
        size_t i = p->next++;
        onnxc_task_fn task = p->task;
        const void *arg = p->arg;
        mtx_unlock(&p->mu);
        task(arg, i);
        mtx_lock(&p->mu);
        if (++p->finished == p->n) cnd_signal(&p->done);
    }
    mtx_unlock(&p->mu);
}

static inline int onnxc_pool_worker(void *vp) {
    onnxc_pool *p = vp;
    /* Jobs are numbered from 1: a worker that starts late still sees job 1. */
    unsigned long seen = 0;
    mtx_lock(&p->mu);
    for (;;) {
        while (p->generation == seen && !p->stop) cnd_wait(&p->start, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        mtx_unlock(&p->mu);
        onnxc_pool_drain(p, seen);
        mtx_lock(&p->mu);
    }
    mtx_unlock(&p->mu);
    return 0;
}

static inline void onnxc_pool_parallel_for(const onnxc_pool *cp, size_t n, onnxc_task_fn task, const void *arg) {
    onnxc_pool *p = (onnxc_pool *)cp; /* the ABI passes it const; the pool's own state changes */
    if (p->threads <= 1 || n <= 1) {
        for (size_t i = 0; i < n; i++) task(arg, i);
        return;
    }
    mtx_lock(&p->mu);
    p->task = task;
    p->arg = arg;
    p->n = n;
    p->next = 0;
    p->finished = 0;
    unsigned long gen = ++p->generation;
    cnd_broadcast(&p->start);
    mtx_unlock(&p->mu);
    onnxc_pool_drain(p, gen);
    mtx_lock(&p->mu);
    while (p->finished < n) cnd_wait(&p->done, &p->mu);
    mtx_unlock(&p->mu);
}

/* 0 on success; `threads` < 1 counts as 1 (no workers: every task on the caller). */
static inline int onnxc_pool_init(onnxc_pool *p, int threads) {
    p->parallel_for = onnxc_pool_parallel_for;
    p->threads = threads < 1 ? 1 : threads;
    p->generation = 0;
    p->stop = 0;
    p->n = p->next = p->finished = 0;
    if (mtx_init(&p->mu, mtx_plain) != thrd_success || cnd_init(&p->start) != thrd_success ||
        cnd_init(&p->done) != thrd_success)
        return -1;
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
    p->stop = 1;
    cnd_broadcast(&p->start);
    mtx_unlock(&p->mu);
    for (int i = 0; i + 1 < p->threads; i++) thrd_join(p->workers[i], NULL);
    free(p->workers);
    cnd_destroy(&p->start);
    cnd_destroy(&p->done);
    mtx_destroy(&p->mu);
}

#endif
