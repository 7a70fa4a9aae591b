/* Runs any onnxc-compiled model with one float32 input and one float32
 * output on a .npy input and prints the top-5 classes. Only the generated
 * header is needed; the model is compiled with `--name model`:
 *
 *   onnxc compile squeezenet_rand.onnx --name model -o build/model.o [--target riscv64]
 *   cc -O2 -Ibuild examples/c/main.c build/model.o -o build/app
 *   build/app squeezenet_rand_input_0.npy
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

/* Reads the data of a little-endian float32 .npy file of exactly `want` bytes. */
static int read_npy(const char *path, void *dst, size_t want) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    unsigned char head[12];
    if (fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY", 6) != 0) {
        fprintf(stderr, "%s: not an .npy file\n", path);
        fclose(f);
        return -1;
    }
    /* Version 1: 2-byte header length; versions 2 and 3: 4 bytes. */
    size_t hlen = head[8] | (size_t)head[9] << 8;
    if (head[6] != 1) {
        if (fread(head + 10, 1, 2, f) != 2) {
            fclose(f);
            return -1;
        }
        hlen |= (size_t)head[10] << 16 | (size_t)head[11] << 24;
    }
    char header[4096];
    if (hlen >= sizeof header || fread(header, 1, hlen, f) != hlen) {
        fprintf(stderr, "%s: bad .npy header\n", path);
        fclose(f);
        return -1;
    }
    header[hlen] = 0;
    if (!strstr(header, "'<f4'")) {
        fprintf(stderr, "%s: expected float32 data, header is %s\n", path, header);
        fclose(f);
        return -1;
    }
    size_t got = fread(dst, 1, want, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != want || extra) {
        fprintf(stderr, "%s: expected %zu bytes of data for input `%s`\n", path, want, model_inputs[0].name);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2 || MODEL_NUM_INPUTS != 1 || MODEL_NUM_OUTPUTS != 1 || model_inputs[0].dtype != 1 ||
        model_outputs[0].dtype != 1) {
        fprintf(stderr, "usage: %s INPUT.npy (model: one float32 input, one float32 output)\n", argv[0]);
        return 2;
    }
    size_t in_bytes = model_inputs[0].size_bytes, out_bytes = model_outputs[0].size_bytes;
    /* Every buffer 64-byte aligned; aligned_alloc wants a multiple of the alignment. */
    float *input = aligned_alloc(64, (in_bytes + 63) / 64 * 64);
    float *scores = aligned_alloc(64, (out_bytes + 63) / 64 * 64);
    void *workspace = aligned_alloc(64, (model_workspace_size() + 63) / 64 * 64 + 64);
    if (!input || !scores || !workspace) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    if (read_npy(argv[1], input, in_bytes) != 0) return 1;

    const void *inputs[1] = {input};
    void *outputs[1] = {scores};
    int rc = model_run(inputs, outputs, workspace, NULL);
    if (rc != 0) {
        fprintf(stderr, "model_run returned %d\n", rc);
        return 1;
    }
    size_t n = out_bytes / sizeof(float);
    printf("workspace %zu bytes, %zu scores\n", model_workspace_size(), n);
    /* Top-5 by selection: mark each winner so the next pass skips it. */
    char *taken = calloc(n, 1);
    for (int k = 0; k < 5 && k < (int)n; k++) {
        size_t best = n;
        for (size_t i = 0; i < n; i++)
            if (!taken[i] && (best == n || scores[i] > scores[best])) best = i;
        taken[best] = 1;
        printf("class %zu: %.6f\n", best, scores[best]);
    }
    free(taken);
    free(input);
    free(scores);
    free(workspace);
    return 0;
}
