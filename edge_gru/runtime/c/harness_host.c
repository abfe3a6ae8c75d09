/* Host harness: a batch read from a file through eg_run or eg_run_tokens.
 * Input file: int32 N, T, F, kind (0: int16 features, 1: int32 token ids), then N int32 lengths (steps
 * fed to the runtime; the rest of each row is not read), then N*T*F int16 (kind 0) or N*T int32 (kind 1).
 * Output file: N * output_dim int32. Per-step models (EG_MODEL_PER_STEP): first the outputs of the zero state
 * (output_dim int32), then per sequence T * output_dim int32 from eg_run_seq / eg_run_tokens_seq (the rows
 * after its length are zero). Used by `edge-gru run --engine c` and the conformance tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edge_gru.h"
#include "model.h"

#if EG_MODEL_PER_STEP     /* eg_run_seq / eg_run_tokens_seq, the rows after the length zeroed */
#define EG_PER_STEP_RUN(run, in) (memset(out, 0, sizeof(int32_t) * EG_MODEL_OUTPUT_DIM * (size_t)hdr[1]), \
                                  run##_seq(&EG_MODEL, state, in, len[n], out, scratch))
#else
#define EG_PER_STEP_RUN(run, in) run(&EG_MODEL, state, in, len[n], out, scratch)
#endif

int main(int argc, char **argv)
{
    FILE *fi, *fo;
    int32_t hdr[4], n, *len, *ids;
    static int16_t state[EG_MODEL_STATE_LEN] EG_ALIGNED;
    static int32_t scratch[EG_MODEL_SCRATCH_LEN];
    int32_t *out;
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
    out = (int32_t *)calloc((size_t)EG_MODEL_OUTPUT_DIM * (EG_MODEL_PER_STEP ? (size_t)hdr[1] + 1 : 1), sizeof(int32_t));
    if (!len || !x || !ids || !out || fread(len, sizeof(int32_t), (size_t)hdr[0], fi) != (size_t)hdr[0]) return 2;
#if EG_MODEL_PER_STEP
    eg_reset(&EG_MODEL, state);                 /* the outputs before any step (a sequence's leading masked steps) */
    eg_output(&EG_MODEL, state, out, scratch);
    fwrite(out, sizeof(int32_t), EG_MODEL_OUTPUT_DIM, fo);
#endif
    for (n = 0; n < hdr[0]; ++n) {
        if (len[n] < 0 || len[n] > hdr[1] || (EG_MODEL_WINDOW && len[n] > EG_MODEL_WINDOW)) return 2;
        if (hdr[3] == 1) {
            if (fread(ids, sizeof(int32_t), row, fi) != row) return 2;
            if (EG_PER_STEP_RUN(eg_run_tokens, ids) < 0) {
                fprintf(stderr, "sequence %d: a token id is outside the vocabulary\n", (int)n);
                return 3;
            }
        } else {
#if EG_MODEL_EMBEDDING_FOLDED
            fprintf(stderr, "this export folds the embedding: it takes token ids only\n");
            return 2;
#else
            if (fread(x, sizeof(int16_t), row, fi) != row) return 2;
            EG_PER_STEP_RUN(eg_run, x);
#endif
        }
        fwrite(out, sizeof(int32_t), EG_MODEL_OUTPUT_DIM * (EG_MODEL_PER_STEP ? (size_t)hdr[1] : 1), fo);
    }
    free(x);
    free(ids);
    free(len);
    free(out);
    fclose(fi);
    fclose(fo);
    return 0;
}
