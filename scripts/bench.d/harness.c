/* Times one onnxc-compiled model (compiled with `--name model`): reads every
 * input from raw little-endian files, runs `warmup` untimed calls, then timed
 * calls until at least `min_iters` ran and `budget_s` seconds passed (at most
 * `max_iters`), prints the median in ms and the workspace size, and writes the
 * first output's raw bytes. Compile time is never included: the model is
 * already an object file linked into this program.
 *
 *   harness OUT.bin WARMUP MIN_ITERS MAX_ITERS BUDGET_S IN0.bin [IN1.bin ...]
 *
 * With ONNXC_THREADS=N (N > 1) in the environment, model_run gets a pool of N
 * threads (tests/c/onnxc_pool.h); otherwise its pool is NULL.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model.h"
#include "../../tests/c/onnxc_pool.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *alloc64(size_t n) { return aligned_alloc(64, (n + 63) / 64 * 64 + 64); }

static int read_raw(const char *path, void *dst, size_t want) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return -1; }
    size_t got = fread(dst, 1, want, f);
    fclose(f);
    if (got != want) { fprintf(stderr, "%s: %zu bytes, expected %zu\n", path, got, want); return -1; }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 6 + MODEL_NUM_INPUTS) {
        fprintf(stderr, "usage: %s OUT.bin WARMUP MIN_ITERS MAX_ITERS BUDGET_S IN.bin x%d\n", argv[0], MODEL_NUM_INPUTS);
        return 2;
    }
    int warmup = atoi(argv[2]), min_iters = atoi(argv[3]), max_iters = atoi(argv[4]);
    double budget = atof(argv[5]);
    const void *inputs[MODEL_NUM_INPUTS];
    void *outputs[MODEL_NUM_OUTPUTS];
    for (int i = 0; i < MODEL_NUM_INPUTS; i++) {
        void *p = alloc64(model_inputs[i].size_bytes);
        if (!p || read_raw(argv[6 + i], p, model_inputs[i].size_bytes)) return 1;
        inputs[i] = p;
    }
    for (int i = 0; i < MODEL_NUM_OUTPUTS; i++) outputs[i] = alloc64(model_outputs[i].size_bytes);
    void *ws = alloc64(model_workspace_size());
    if (!ws) { fprintf(stderr, "out of memory\n"); return 1; }
    memset(ws, 0, model_workspace_size());
    const char *te = getenv("ONNXC_THREADS");
    int threads = te ? atoi(te) : 1;
    onnxc_pool pool;
    if (threads > 1 && onnxc_pool_init(&pool, threads) != 0) { fprintf(stderr, "cannot start threads\n"); return 1; }
    const void *pool_arg = threads > 1 ? (const void *)&pool : NULL;
    for (int i = 0; i < warmup; i++)
        if (model_run(inputs, outputs, ws, pool_arg) != 0) { fprintf(stderr, "model_run failed\n"); return 1; }
    double *ts = malloc(sizeof(double) * (size_t)(max_iters > 0 ? max_iters : 1));
    int n = 0;
    double start = now_s();
    while (n < max_iters && (n < min_iters || now_s() - start < budget)) {
        double t0 = now_s();
        model_run(inputs, outputs, ws, pool_arg);
        ts[n++] = (now_s() - t0) * 1e3;
    }
    qsort(ts, (size_t)n, sizeof(double), cmp_double);
    double med = n % 2 ? ts[n / 2] : 0.5 * (ts[n / 2 - 1] + ts[n / 2]);
    FILE *f = fopen(argv[1], "wb");
    if (!f || fwrite(outputs[0], 1, model_outputs[0].size_bytes, f) != model_outputs[0].size_bytes) { perror(argv[1]); return 1; }
    fclose(f);
    printf("{\"median_ms\": %.4f, \"iters\": %d, \"workspace_bytes\": %zu}\n", med, n, model_workspace_size());
    return 0;
}
