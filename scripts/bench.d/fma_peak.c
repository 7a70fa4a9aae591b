/* One core's fp32 FMA throughput: 10 independent chains of 8-wide (ymm)
 * FMAs, enough to cover FMA latency x ports on current x86-64 cores. Prints
 * GFLOP/s (2 flops per lane per FMA) and, where the CPU has AVX-512, the
 * same with 16-wide zmm FMAs on a second line. Built with -O2 -march=native. */
#define _POSIX_C_SOURCE 199309L
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(void) {
    const long iters = 100000000;
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
        const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
        double t0 = now_s();
        for (long i = 0; i < iters / 10; i++) {
            a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c);
            a2 = _mm256_fmadd_ps(a2, m, c); a3 = _mm256_fmadd_ps(a3, m, c);
            a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
            a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c);
            a8 = _mm256_fmadd_ps(a8, m, c); a9 = _mm256_fmadd_ps(a9, m, c);
            __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9));
        }
        double dt = now_s() - t0;
        __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                 _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(_mm256_add_ps(a6, a7), _mm256_add_ps(a8, a9))));
        float out[8];
        _mm256_storeu_ps(out, s);
        double gf = (double)(iters / 10) * 10 * 16 / dt / 1e9;
        if (gf > best) best = gf;
        if (out[0] == 12345.f) printf("#");
    }
    printf("%.2f\n", best);
#ifdef __AVX512F__
    best = 0;
    for (int rep = 0; rep < 5; rep++) {
        __m512 a0 = _mm512_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
        const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
        double t0 = now_s();
        for (long i = 0; i < iters / 10; i++) {
            a0 = _mm512_fmadd_ps(a0, m, c); a1 = _mm512_fmadd_ps(a1, m, c);
            a2 = _mm512_fmadd_ps(a2, m, c); a3 = _mm512_fmadd_ps(a3, m, c);
            a4 = _mm512_fmadd_ps(a4, m, c); a5 = _mm512_fmadd_ps(a5, m, c);
            a6 = _mm512_fmadd_ps(a6, m, c); a7 = _mm512_fmadd_ps(a7, m, c);
            a8 = _mm512_fmadd_ps(a8, m, c); a9 = _mm512_fmadd_ps(a9, m, c);
            __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9));
        }
        double dt = now_s() - t0;
        float out[16];
        _mm512_storeu_ps(out, _mm512_add_ps(a0, _mm512_add_ps(a1, _mm512_add_ps(a2, _mm512_add_ps(a3, _mm512_add_ps(a4,
            _mm512_add_ps(a5, _mm512_add_ps(a6, _mm512_add_ps(a7, _mm512_add_ps(a8, a9))))))))));
        double gf = (double)(iters / 10) * 10 * 32 / dt / 1e9;
        if (gf > best) best = gf;
        if (out[0] == 12345.f) printf("#");
    }
    printf("%.2f\n", best);
#endif
    return 0;
}
