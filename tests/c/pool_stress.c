/* Every task of every job runs exactly once: many short jobs of uneven
 * sizes on 1, 2, 4 and 8 threads (run by backends/llvm/tests/threads.rs). */
#include <stdio.h>
#include <stdatomic.h>
#include "onnxc_pool.h"
typedef struct { atomic_int hits[200]; } job_t;
static void hit(const void *arg, size_t i) { atomic_fetch_add(&((job_t *)arg)->hits[i], 1); }
int main(void) {
    int sizes[] = {0, 1, 2, 3, 7, 64, 200};
    for (int T = 1; T <= 8; T *= 2) {
        onnxc_pool p; if (onnxc_pool_init(&p, T)) return 1;
        for (int r = 0; r < 20000; r++) {
            job_t j; int n = sizes[r % 7];
            for (int i = 0; i < 200; i++) atomic_init(&j.hits[i], 0);
            p.parallel_for(&p, (size_t)n, hit, &j);
            for (int i = 0; i < 200; i++) if (atomic_load(&j.hits[i]) != (i < n)) { printf("FAIL T=%d r=%d i=%d\n", T, r, i); return 1; }
        }
        onnxc_pool_destroy(&p);
    }
    puts("ok");
    return 0;
}
