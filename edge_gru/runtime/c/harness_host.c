/* Host harness: eg_run over a batch read from a file. Input file: int32 N, T, F, then N*T*F int16.
 * Output file: N * output_dim int32. Used by `edge-gru run --engine c` and the conformance tests. */
#include <stdio.h>
#include <stdlib.h>
#include "edge_gru.h"
#include "model.h"

int main(int argc, char **argv)
{
    FILE *fi, *fo;
    int32_t hdr[3], n;
    static int16_t state[EG_MODEL_STATE_LEN];
    static int32_t scratch[EG_MODEL_SCRATCH_LEN];
    int32_t out[EG_MODEL_OUTPUT_DIM];
    int16_t *x;
    if (argc != 3) { fprintf(stderr, "usage: %s IN OUT\n", argv[0]); return 2; }
    fi = fopen(argv[1], "rb");
    fo = fopen(argv[2], "wb");
    if (!fi || !fo || fread(hdr, sizeof hdr, 1, fi) != 1) { fprintf(stderr, "cannot read %s\n", argv[1]); return 2; }
    if (hdr[2] != EG_MODEL_FEATURES) { fprintf(stderr, "input has %d features, model %d\n", (int)hdr[2], EG_MODEL_FEATURES); return 2; }
    x = (int16_t *)malloc(sizeof(int16_t) * (size_t)hdr[1] * (size_t)hdr[2] + 1);
    if (!x) return 2;
    for (n = 0; n < hdr[0]; ++n) {
        if (fread(x, sizeof(int16_t), (size_t)hdr[1] * (size_t)hdr[2], fi) != (size_t)hdr[1] * (size_t)hdr[2]) return 2;
        eg_run(&EG_MODEL, state, x, hdr[1], out, scratch);
        fwrite(out, sizeof(int32_t), EG_MODEL_OUTPUT_DIM, fo);
    }
    free(x);
    fclose(fi);
    fclose(fo);
    return 0;
}
