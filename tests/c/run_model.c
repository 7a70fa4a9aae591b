/* Generic driver for an onnxc-compiled model, through its C header only.
 *
 * Build (prefix m, object out/m.o, header out/m.h):
 *   cc -O2 -DPREFIX=m -include out/m.h tests/c/run_model.c out/m.o -o run_m
 * Run:
 *   run_m [-r N] [-t T] IN_0.bin ... IN_{n-1}.bin OUT_0.bin ... OUT_{m-1}.bin
 *
 * Each IN file holds one input's raw bytes (dense, row-major, exactly the
 * size the header's table gives); each OUT file receives one output's raw
 * bytes: for an output with a data-dependent shape, only the actual data
 * (<p>_output_dims gives its dims), and every output's actual dims are
 * printed to stderr as `out_dims=<i>:<d0>,<d1>,...`. With -r N the model runs N times and the mean time per run is
 * printed to stderr as `run_ms=<ms>` (the outputs are from the last run).
 * With -t T (T > 1) `<p>_run` gets a pool of T threads (onnxc_pool.h);
 * otherwise its pool is NULL.
 * Exit codes: 0 ok, 1 bad usage or I/O, 2 `<p>_run` returned non-zero.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onnxc_pool.h"

#ifndef PREFIX
#error "compile with -DPREFIX=<symbol prefix> -include <prefix>.h"
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define P_INPUTS CAT(PREFIX, _inputs)
#define P_OUTPUTS CAT(PREFIX, _outputs)
#define P_RUN CAT(PREFIX, _run)
#define P_WORKSPACE_SIZE CAT(PREFIX, _workspace_size)
#define P_OUTPUT_DIMS CAT(PREFIX, _output_dims)
#define STR_(a) #a
#define STR(a) STR_(a)
#define TABLE_LEN(t) (sizeof(t) / sizeof((t)[0]))

/* The tables hold one {NULL} placeholder entry when a model has no inputs
 * (or outputs), since C has no empty arrays: count the named entries. */
static size_t count_named(const onnxc_tensor_desc *t, size_t len) {
    size_t n = 0;
    while (n < len && t[n].name != NULL) n++;
    return n;
}

/* 64-byte aligned, at least one cache line so zero-size tensors get a valid pointer. */
static void *alloc_aligned(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) {
        fprintf(stderr, "run_model: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    memset(p, 0, rounded ? rounded : 64);
    return p;
}

static void *read_input(const char *path, const onnxc_tensor_desc *d) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "run_model: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    void *buf = alloc_aligned(d->size_bytes);
    size_t got = fread(buf, 1, d->size_bytes, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != d->size_bytes || extra) {
        fprintf(stderr, "run_model: %s: input `%s` needs exactly %zu bytes\n", path, d->name,
                d->size_bytes);
        exit(1);
    }
    return buf;
}

/* Writes the first `bytes` bytes of the output (all of it unless its shape is data-dependent). */
static void write_output(const char *path, const void *buf, const onnxc_tensor_desc *d, size_t bytes) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, bytes, f) != bytes || fclose(f) != 0) {
        fprintf(stderr, "run_model: %s: cannot write output `%s`\n", path, d->name);
        exit(1);
    }
}

/* C11 timespec_get, not clock_gettime: the header is force-included before
 * this file, so a _POSIX_C_SOURCE define here would come too late. */
static double now_ms(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void usage(size_t n_in, size_t n_out) {
    fprintf(stderr, "usage: run_model [-r N] [-t THREADS] IN_0..IN_%zu OUT_0..OUT_%zu (%zu inputs, %zu outputs)\n",
            n_in ? n_in - 1 : 0, n_out ? n_out - 1 : 0, n_in, n_out);
    for (size_t i = 0; i < n_in; i++)
        fprintf(stderr, "  input  %zu: %s (dtype %d, %zu bytes)\n", i, P_INPUTS[i].name,
                (int)P_INPUTS[i].dtype, P_INPUTS[i].size_bytes);
    for (size_t i = 0; i < n_out; i++)
        fprintf(stderr, "  output %zu: %s (dtype %d, %zu bytes)\n", i, P_OUTPUTS[i].name,
                (int)P_OUTPUTS[i].dtype, P_OUTPUTS[i].size_bytes);
    exit(1);
}

int main(int argc, char **argv) {
    const size_t n_in = count_named(P_INPUTS, TABLE_LEN(P_INPUTS));
    const size_t n_out = count_named(P_OUTPUTS, TABLE_LEN(P_OUTPUTS));
    long repeat = 1, threads = 1;
    int arg = 1;
    while (arg + 1 < argc && (strcmp(argv[arg], "-r") == 0 || strcmp(argv[arg], "-t") == 0)) {
        long v = strtol(argv[arg + 1], NULL, 10);
        if (argv[arg][1] == 'r') repeat = v; else threads = v;
        arg += 2;
    }
    if (threads < 1 || threads > 1024) usage(n_in, n_out);
    onnxc_pool pool;
    if (threads > 1 && onnxc_pool_init(&pool, (int)threads) != 0) {
        fprintf(stderr, "run_model: cannot start %ld threads\n", threads);
        return 1;
    }
    const void *pool_arg = threads > 1 ? (const void *)&pool : NULL;
    if (repeat < 1 || (size_t)(argc - arg) != n_in + n_out) usage(n_in, n_out);

    const void **inputs = calloc(n_in + 1, sizeof *inputs);
    void **outputs = calloc(n_out + 1, sizeof *outputs);
    for (size_t i = 0; i < n_in; i++) inputs[i] = read_input(argv[arg + i], &P_INPUTS[i]);
    for (size_t i = 0; i < n_out; i++) outputs[i] = alloc_aligned(P_OUTPUTS[i].size_bytes);
    void *workspace = alloc_aligned(P_WORKSPACE_SIZE());

    double start = now_ms();
    for (long r = 0; r < repeat; r++) {
        int rc = P_RUN(inputs, outputs, workspace, pool_arg);
        if (rc != 0) {
            fprintf(stderr, "run_model: " STR(PREFIX) "_run returned %d\n", rc);
            return 2;
        }
    }
    fprintf(stderr, "run_ms=%.3f\n", (now_ms() - start) / (double)repeat);

    for (size_t i = 0; i < n_out; i++) {
        const onnxc_tensor_desc *d = &P_OUTPUTS[i];
        int64_t dims[16] = {0};
        size_t bound = 1, actual = 1;
        if (d->rank > 16 || P_OUTPUT_DIMS(workspace, i, dims) != 0) {
            fprintf(stderr, "run_model: cannot read the dims of output %zu\n", i);
            return 1;
        }
        fprintf(stderr, "out_dims=%zu:", i);
        for (int32_t k = 0; k < d->rank; k++) {
            bound *= (size_t)d->dims[k];
            actual *= (size_t)dims[k];
            fprintf(stderr, "%s%lld", k ? "," : "", (long long)dims[k]);
        }
        fprintf(stderr, "\n");
        write_output(argv[arg + n_in + i], outputs[i], d, bound ? d->size_bytes / bound * actual : 0);
    }
    return 0;
}
