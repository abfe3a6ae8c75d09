/* edge-gru Helium (MVE) kernels for Armv8.1-M (Cortex-M55): the matrix products of the rows layout
 * (edge_gru.h, EG_LAYOUT_ROWS). Included by edge_gru.c when it is built with MVE; it uses that file's
 * integer primitives (eg_requant4, eg_requant), so the integers are those of the other paths.
 *
 * out[j] = requant(bias[j] + sum_k v[k] W[k, j]) (x_all = x W + b_i, h_all = h_tm1 U + b_h), 4 columns
 * per pass: each 8 inputs are loaded once (VLDRH, int16 lanes) and meet 8 weights of each of the 4
 * columns (VLDRB.S16 widens int8 weights to int16 lanes, VLDRH loads int16 ones) in one VMLADAVA
 * (int32 accumulator) or VMLALDAVA (64-bit, when int32 was not proved safe). The last turn is tail
 * predicated (VCTP): lanes past K are not loaded and add nothing. */
#ifndef EDGE_GRU_MVE_H
#define EDGE_GRU_MVE_H

/* One pass of 4 columns: ACC accumulators a0..a3 from the rows w0..w3 (type WT, loaded by LOADW). */
#define EG_MVE_PASS(WT, LOADW, MAC)                                                                  \
    do {                                                                                             \
        const WT *w0 = (const WT *)W + 4 * b * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;         \
        const int16_t *xp = x;                                                                       \
        int32_t k;                                                                                   \
        for (k = K; k > 0; k -= 8) {                                                                 \
            mve_pred16_t p = vctp16q((uint32_t)k);                                                   \
            int16x8_t xv = vldrhq_z_s16(xp, p);                     /* 8 values of v */              \
            a0 = MAC(a0, LOADW(w0, p), xv);                         /* a_c += sum v[k] W[k, c] */   \
            a1 = MAC(a1, LOADW(w1, p), xv);                                                          \
            a2 = MAC(a2, LOADW(w2, p), xv);                                                          \
            a3 = MAC(a3, LOADW(w3, p), xv);                                                          \
            xp += 8;                                                                                 \
            w0 += 8;                                                                                 \
            w1 += 8;                                                                                 \
            w2 += 8;                                                                                 \
            w3 += 8;                                                                                 \
        }                                                                                            \
    } while (0)

#define EG_MVE_LOAD8(w, p) vldrbq_z_s16((w), (p))
#define EG_MVE_LOAD16(w, p) vldrhq_z_s16((w), (p))

/* int32 accumulators (overflow ruled out at quantization), int8 or int16 weights */
static EG_NOINLINE void eg_matrix_mve32(int32_t *out, const int16_t *x, int32_t K, const void *W, int w16, int32_t nb,
                                        const int32_t *bias, const int32_t *mul, const int32_t *sh, const int32_t *rq)
{
    int32_t b;
    for (b = 0; b < nb; ++b) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        if (bias) {
            a0 = bias[4 * b];
            a1 = bias[4 * b + 1];
            a2 = bias[4 * b + 2];
            a3 = bias[4 * b + 3];
        }
        if (w16)
            EG_MVE_PASS(int16_t, EG_MVE_LOAD16, vmladavaq_s16);
        else
            EG_MVE_PASS(int8_t, EG_MVE_LOAD8, vmladavaq_s16);
        eg_requant4(out + 4 * b, a0, a1, a2, a3, mul + 4 * b, sh + 4 * b, rq ? rq + 4 * b : 0);
    }
}

/* 64-bit accumulators (VMLALDAVA), then requant(acc, m, n) per column */
static EG_NOINLINE void eg_matrix_mve64(int32_t *out, const int16_t *x, int32_t K, const void *W, int w16, int32_t nb,
                                        const int64_t *bias, const int32_t *mul, const int32_t *sh)
{
    int32_t b, c;
    for (b = 0; b < nb; ++b) {
        int64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        if (bias) {
            a0 = bias[4 * b];
            a1 = bias[4 * b + 1];
            a2 = bias[4 * b + 2];
            a3 = bias[4 * b + 3];
        }
        if (w16)
            EG_MVE_PASS(int16_t, EG_MVE_LOAD16, vmlaldavaq_s16);
        else
            EG_MVE_PASS(int8_t, EG_MVE_LOAD8, vmlaldavaq_s16);
        {
            const int64_t a[4] = {a0, a1, a2, a3};
            for (c = 0; c < 4; ++c)
                out[4 * b + c] = (int32_t)eg_requant(a[c], mul[4 * b + c], sh[4 * b + c]);   /* fits: proved */
        }
    }
}

/* The rows-layout product: nb blocks of 4 columns starting at W (bias, mul, sh, rq already offset). */
static void eg_matrix_mve(int32_t *out, const int16_t *x, int32_t K, const void *W, int w16, int32_t nb,
                          const void *bias, int acc64, const int32_t *mul, const int32_t *sh, const int32_t *rq)
{
    if (acc64)
        eg_matrix_mve64(out, x, K, W, w16, nb, (const int64_t *)bias, mul, sh);
    else
        eg_matrix_mve32(out, x, K, W, w16, nb, (const int32_t *)bias, mul, sh, rq);
}

#endif
