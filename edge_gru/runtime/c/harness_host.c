/* Host harness: a batch read from a file through eg_run or eg_run_tokens.
 * Input file: int32 N, T, F, kind (0: int16 features, 1: int32 token ids), then N int32 lengths (steps
 * fed to the runtime; the rest of each row is not read), then N*T*F int16 (kind 0) or N*T int32 (kind 1).
 * Output file: N * output_dim int32. Used by `edge-gru run --engine c` and the conformance tests. */
#include <stdio.h>
#include <stdlib.h>
#include "edge_gru.h"
#include "model.h"

int main(int argc, char **argv)
{
    FILE *fi, *fo;
    int32_t hdr[4], n, *len, *ids;
    static int16_t state[EG_MODEL_STATE_LEN];
    static int32_t scratch[EG_MODEL_SCRATCH_LEN];
    int32_t out[EG_MODEL_OUTPUT_DIM];
    int16_t *x;
    size_t row;
    if (argc != 3) { fprintf(stderr, "usage: %s IN OUT\n", argv[0]); return 2; }
    fi = fopen(argv[1], "rb");
    fo = fopen(argv[2], "wb");
    if (!fi || !fo || fread(hdr, sizeof hdr, 1, fi) != 1) { fprintf(stderr, "cannot read %s\n", argv[1]); return 2; }
    if (hdr[3] == 1 ? EG_MODEL_VOCAB == 0 : hdr[2] != EG_MODEL_FEATURES) {
        fprintf(stderr, "input (%d features, kind %d) does not fit the model (%d features, vocabulary %d)\n",
                (int)hdr[2], (int)hdr[3], EG_MODEL_FEATURES, EG_MODEL_VOCAB);
        return 2;
    }
    len = (int32_t *)malloc(sizeof(int32_t) * (size_t)hdr[0] + 1);
    row = (size_t)hdr[1] * (hdr[3] == 1 ? 1 : (size_t)hdr[2]);
    x = (int16_t *)malloc(sizeof(int16_t) * row + 1);
    ids = (int32_t *)malloc(sizeof(int32_t) * row + 1);
    if (!len || !x || !ids || fread(len, sizeof(int32_t), (size_t)hdr[0], fi) != (size_t)hdr[0]) return 2;
    for (n = 0; n < hdr[0]; ++n) {
        if (len[n] < 0 || len[n] > hdr[1]) return 2;
        if (hdr[3] == 1) {
            if (fread(ids, sizeof(int32_t), row, fi) != row) return 2;
            if (eg_run_tokens(&EG_MODEL, state, ids, len[n], out, scratch) < 0) {
                fprintf(stderr, "sequence %d: a token id is outside the vocabulary\n", (int)n);
                return 3;
            }
        } else {
#if EG_MODEL_EMBEDDING_FOLDED
            fprintf(stderr, "this export folds the embedding: it takes token ids only\n");
            return 2;
#else
            if (fread(x, sizeof(int16_t), row, fi) != row) return 2;
            eg_run(&EG_MODEL, state, x, len[n], out, scratch);
#endif
        }
        fwrite(out, sizeof(int32_t), EG_MODEL_OUTPUT_DIM, fo);
    }
    free(x);
    free(ids);
    free(len);
    fclose(fi);
    fclose(fo);
    return 0;
}
