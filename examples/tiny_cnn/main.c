/* Runs the compiled tiny_cnn model from C through its generated header.
 * Build:  onnxc compile examples/tiny_cnn/tiny_cnn.onnx -o out/tiny_cnn.o
 *         cc -Iout examples/tiny_cnn/main.c out/tiny_cnn.o -o out/tiny_cnn
 * Run:    out/tiny_cnn examples/tiny_cnn/input.bin */
#include <stdio.h>
#include <stdlib.h>
#include "tiny_cnn.h"

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "examples/tiny_cnn/input.bin";
    static float image[1 * 1 * 28 * 28];
    static float probs[10];
    FILE *f = fopen(path, "rb");
    if (!f || fread(image, 1, sizeof image, f) != tiny_cnn_inputs[0].size_bytes) {
        fprintf(stderr, "cannot read %zu bytes of input from %s\n", tiny_cnn_inputs[0].size_bytes, path);
        return 1;
    }
    fclose(f);

    /* The workspace is the model's only scratch memory: 64-byte aligned, sized by the model. */
    size_t ws_size = tiny_cnn_workspace_size();
    void *workspace = aligned_alloc(64, (ws_size + 63) / 64 * 64 + 64);
    const void *inputs[TINY_CNN_NUM_INPUTS] = {image};
    void *outputs[TINY_CNN_NUM_OUTPUTS] = {probs};
    if (tiny_cnn_run(inputs, outputs, workspace, NULL) != 0) {
        fprintf(stderr, "tiny_cnn_run failed\n");
        return 1;
    }
    int best = 0;
    for (int i = 0; i < 10; i++) {
        printf("class %d: %.4f\n", i, probs[i]);
        if (probs[i] > probs[best]) best = i;
    }
    printf("top class: %d (workspace %zu bytes)\n", best, ws_size);
    free(workspace);
    return 0;
}
