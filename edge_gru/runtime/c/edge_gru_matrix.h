/* edge-gru: the matrix products of a GRU step, out[j] = requant(bias[j] + sum_k v[k] W[k, j]), on every path
 * (included by edge_gru.c after its integer primitives; the kernels of each core are in edge_gru_dsp.h,
 * edge_gru_v6m.h and edge_gru_mve.h). */
#ifndef EDGE_GRU_MATRIX_H
#define EDGE_GRU_MATRIX_H

/* ---- matrix operands ------------------------------------------------------------------------------
 * A vector operand holds K values (K a multiple of 4, zero padded). Portable: one int32 per value.
 * DSP: two int16 per 32-bit word, element 2i in the low half (the SMLAD operand layout). */
#if EG_DSP
/* A word of an operand read in C: may alias the int16 state it can be (a word-aligned state of an even number of
 * units is the recurrent product's operand in place, eg_gru_step); GNU C only, as is the DSP path. */
typedef uint32_t __attribute__((may_alias)) eg_word_t;
static void eg_vset(int32_t *v, int32_t k, int32_t val)
{
    uint32_t *w = (uint32_t *)v + (k >> 1);
    uint32_t u = (uint32_t)val & 0xFFFFu;
    *w = (k & 1) ? ((*w & 0xFFFFu) | (u << 16)) : u;
}
static int32_t eg_vget(const int32_t *v, int32_t k)
{
    uint32_t w = ((const eg_word_t *)v)[k >> 1];
    uint32_t u = (k & 1) ? (w >> 16) : (w & 0xFFFFu);
    return (int32_t)(u ^ 0x8000u) - 0x8000;
}
#else
static void eg_vset(int32_t *v, int32_t k, int32_t val) { v[k] = val; }
static int32_t eg_vget(const int32_t *v, int32_t k) { return v[k]; }
#endif

#if EG_MVE
static void eg_vec_from16_mve(int32_t *v, const int16_t *src, int32_t n, int32_t K);
#endif

static void eg_vec_from16(int32_t *v, const int16_t *src, int32_t n, int32_t K)
{
    int32_t k = 0;
#if EG_MVE
    (void)k;
    eg_vec_from16_mve(v, src, n, K);
#elif EG_DSP
    uint32_t *w = (uint32_t *)v;
    for (; k + 1 < n; k += 2) *w++ = ((uint32_t)src[k] & 0xFFFFu) | ((uint32_t)src[k + 1] << 16);
    if (k < n) {
        *w++ = (uint32_t)src[k] & 0xFFFFu;   /* last value of an odd count, zero above it */
        k += 2;
    }
    for (; k < K; k += 2) *w++ = 0;
#else
    for (; k < n; ++k) eg_vset(v, k, src[k]);
    for (; k < K; ++k) eg_vset(v, k, 0);
#endif
}

/* ---- matrix products: out[j] = requant(bias[j] + sum_k v[k] * W[k, j]) ---------------------------- */

/* int8 weights inside a group are stored w0, w2, w1, w3: element e of the group multiplies input IN8[e] */
static const int32_t EG_IN8[4] = {0, 2, 1, 3};

static int32_t eg_bias32(const void *b, int use_bias, int32_t j) { return use_bias ? ((const int32_t *)b)[j] : 0; }
static int64_t eg_bias64(const void *b, int use_bias, int32_t j) { return use_bias ? ((const int64_t *)b)[j] : 0; }

/* 64-bit accumulators (used when int32 was not proved safe, typically w16a16): nb blocks of 4 columns. */
static EG_NOINLINE void eg_matrix_64(int32_t *out, const int32_t *v, int32_t K, const void *W, int w16, int32_t nb,
                                     const int64_t *bias, const int32_t *mul, const int32_t *sh)
{
    int32_t b, g, c;
    for (b = 0; b < nb; ++b, out += 4 * EG_OS, mul += 4, sh += 4) {
        int64_t a[4] = {0, 0, 0, 0};
        if (w16) {
            const int16_t *w = (const int16_t *)W + b * 4 * K;
#if EG_DSP
            const eg_word_t *x = (const eg_word_t *)v;
            for (g = 0; g + 4 <= K; g += 4, w += 16, x += 2) {
                uint32_t x01 = x[0], x23 = x[1], q[2];
                for (c = 0; c < 4; ++c) {
                    __builtin_memcpy(q, w + 4 * c, 8);
                    a[c] = __smlald(q[0], x01, a[c]);   /* 64-bit dual MAC */
                    a[c] = __smlald(q[1], x23, a[c]);
                }
            }
#else
            /* products of two 16-bit values, and sums of two, fit int32: 32-bit multiplies, 64-bit adds */
            for (g = 0; g + 4 <= K; g += 4, w += 16)
                for (c = 0; c < 4; ++c)
                    a[c] += (int64_t)(w[4 * c] * v[g] + w[4 * c + 1] * v[g + 1])
                            + (int64_t)(w[4 * c + 2] * v[g + 2] + w[4 * c + 3] * v[g + 3]);
#endif
            if (K & 2)   /* c0w0, c0w1, c1w0, c1w1, ... */
                for (c = 0; c < 4; ++c)
                    a[c] += (int64_t)(w[2 * c] * eg_vget(v, g) + w[2 * c + 1] * eg_vget(v, g + 1));
        } else {
            const int8_t *w = (const int8_t *)W + b * 4 * K;
            for (g = 0; g + 4 <= K; g += 4, w += 16)
                for (c = 0; c < 4; ++c) {
                    int32_t e;
                    for (e = 0; e < 4; ++e) a[c] += w[4 * c + e] * eg_vget(v, g + EG_IN8[e]);
                }
            if (K & 2)   /* c0w0, c1w0, c0w1, c1w1, c2w0, c3w0, c2w1, c3w1 */
                for (c = 0; c < 4; ++c)
                    a[c] += w[4 * (c >> 1) + (c & 1)] * eg_vget(v, g) + w[4 * (c >> 1) + 2 + (c & 1)] * eg_vget(v, g + 1);
        }
        for (c = 0; c < 4; ++c) {
            if (bias) a[c] += bias[4 * b + c];
            out[c * EG_OS] = (int32_t)eg_requant(a[c], mul[c], sh[c]);   /* fits: proved at quantization */
        }
    }
}

/* requant(acc, m, n) for 16 <= n <= 32 given M = m * 2^(32-n) (< 2^31): floor((acc * M + 2^31) / 2^32)
 * equals floor((acc * m + 2^(n-1)) / 2^n) exactly; one SMMULR on cores with the DSP extension. */
#if EG_DSP
static EG_INLINE int32_t eg_mulhr(int32_t acc, int32_t M)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(acc), "r"(M));
    return r;
}
#endif

/* Requantize 4 accumulators; rq holds the M of eg_mulhr when every shift of the layer is in [16, 32]. */
static EG_INLINE void eg_requant4(int32_t *out, int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t *mul,
                        const int32_t *sh, const int32_t *rq)
{
#if EG_DSP
    if (rq) {
        out[0 * EG_OS] = eg_mulhr(a0, rq[0]);
        out[1 * EG_OS] = eg_mulhr(a1, rq[1]);
        out[2 * EG_OS] = eg_mulhr(a2, rq[2]);
        out[3 * EG_OS] = eg_mulhr(a3, rq[3]);
        return;
    }
#else
    (void)rq;
#endif
#if EG_MVE
    /* SMULL and the long shifts make the 64-bit form branch-free here */
    out[0 * EG_OS] = (int32_t)eg_requant(a0, mul[0], sh[0]);   /* fits: proved at quantization */
    out[1 * EG_OS] = (int32_t)eg_requant(a1, mul[1], sh[1]);
    out[2 * EG_OS] = (int32_t)eg_requant(a2, mul[2], sh[2]);
    out[3 * EG_OS] = (int32_t)eg_requant(a3, mul[3], sh[3]);
    return;
#endif
    out[0 * EG_OS] = eg_requant32(a0, mul[0], sh[0]);
    out[1 * EG_OS] = eg_requant32(a1, mul[1], sh[1]);
    out[2 * EG_OS] = eg_requant32(a2, mul[2], sh[2]);
    out[3 * EG_OS] = eg_requant32(a3, mul[3], sh[3]);
}

#include "edge_gru_dsp.h"    /* EG_DSP: the inline-assembly matrix kernels */
#include "edge_gru_dsp_pairs.h"   /* EG_DSP: those of the pairs layout */
#include "edge_gru_v6m.h"    /* EG_V6M: the Thumb-1 matrix, gate and update functions */

/* int8 weights, int32 accumulators (overflow ruled out at quantization): nb blocks of 4 columns. */
#if EG_DSP
#define EG_I8_LINK static   /* the compiler may inline it: on the DSP path it mostly hands over to the assembly */
#else
#define EG_I8_LINK static EG_NOINLINE
#endif
EG_I8_LINK void eg_matrix_i8(int32_t *out, const int32_t *v, int32_t K, const int8_t *w, int32_t nb,
                             const int32_t *bias, const int32_t *mul, const int32_t *sh, const int32_t *rq, int r32)
{
    int32_t b;
#if EG_V6M
    if (nb > 0) {
        eg_v6m_args_t a;
        eg_v6m_args(&a, out, v, w, K, nb, bias, r32 ? mul : 0, sh);
        eg_matrix_v6m(&a);
        if (!r32)
            for (b = 0; b < 4 * nb; ++b) out[b] = eg_requant32(out[b], mul[b], sh[b]);   /* (EG_OS is 1 here) */
        return;
    }
#else
    (void)r32;
#endif
#if EG_DSP
    if (bias && rq && nb > 0) {
        eg_matrix_i8_fast(out, (const uint32_t *)v, K, w, nb, bias, rq);
        return;
    }
    if (!EG_USE_I8_GENERIC) return;    /* the model's products all take the assembly (eg_supports checks) */
#endif
    for (b = 0; b < nb; ++b, out += 4 * EG_OS, mul += 4, sh += 4, rq = rq ? rq + 4 : 0) {
        int32_t a[4] = {0, 0, 0, 0};
        if (bias) {
            a[0] = bias[4 * b];
            a[1] = bias[4 * b + 1];
            a[2] = bias[4 * b + 2];
            a[3] = bias[4 * b + 3];
        }
#if EG_DSP
        eg_block_i8(a, (const uint32_t *)v, K, &w);
#else
        {
            int32_t g;
            for (g = 0; g + 4 <= K; g += 4, w += 16) {
                int32_t x0 = v[g], x1 = v[g + 1], x2 = v[g + 2], x3 = v[g + 3];
                a[0] += w[0] * x0 + w[2] * x1 + w[1] * x2 + w[3] * x3;
                a[1] += w[4] * x0 + w[6] * x1 + w[5] * x2 + w[7] * x3;
                a[2] += w[8] * x0 + w[10] * x1 + w[9] * x2 + w[11] * x3;
                a[3] += w[12] * x0 + w[14] * x1 + w[13] * x2 + w[15] * x3;
            }
            if (K & 2) {   /* c0w0, c1w0, c0w1, c1w1, c2w0, c3w0, c2w1, c3w1 */
                int32_t x0 = v[g], x1 = v[g + 1];
                a[0] += w[0] * x0 + w[2] * x1;
                a[1] += w[1] * x0 + w[3] * x1;
                a[2] += w[4] * x0 + w[6] * x1;
                a[3] += w[5] * x0 + w[7] * x1;
                w += 8;
            }
        }
#endif
        eg_requant4(out, a[0], a[1], a[2], a[3], mul, sh, rq);
    }
}


/* int16 weights, int32 accumulators. */
static EG_NOINLINE void eg_matrix_i16(int32_t *out, const int32_t *v, int32_t K, const int16_t *w, int32_t nb,
                                      const int32_t *bias, const int32_t *mul, const int32_t *sh, const int32_t *rq)
{
    int32_t b, g;
    for (b = 0; b < nb; ++b, out += 4 * EG_OS, mul += 4, sh += 4, rq = rq ? rq + 4 : 0) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        if (bias) {
            a0 = bias[4 * b];
            a1 = bias[4 * b + 1];
            a2 = bias[4 * b + 2];
            a3 = bias[4 * b + 3];
        }
#if EG_DSP
        {
            const uint32_t *x = (const uint32_t *)v, *xend = x + (K & ~3) / 2;
            uint32_t x01, x23, q0, q1, q2;
            (void)g;
            EG_RUN_GROUPS(EG_I16_GROUP, EG_I16_HALF, EG_I16_OUTPUTS, K & 4, K & 2);
        }
#else
        for (g = 0; g + 4 <= K; g += 4, w += 16) {
            int32_t x0 = v[g], x1 = v[g + 1], x2 = v[g + 2], x3 = v[g + 3];
            a0 += w[0] * x0 + w[1] * x1 + w[2] * x2 + w[3] * x3;
            a1 += w[4] * x0 + w[5] * x1 + w[6] * x2 + w[7] * x3;
            a2 += w[8] * x0 + w[9] * x1 + w[10] * x2 + w[11] * x3;
            a3 += w[12] * x0 + w[13] * x1 + w[14] * x2 + w[15] * x3;
        }
        if (K & 2) {   /* c0w0, c0w1, c1w0, c1w1, ... */
            int32_t x0 = v[g], x1 = v[g + 1];
            a0 += w[0] * x0 + w[1] * x1;
            a1 += w[2] * x0 + w[3] * x1;
            a2 += w[4] * x0 + w[5] * x1;
            a3 += w[6] * x0 + w[7] * x1;
            w += 8;
        }
#endif
        eg_requant4(out, a0, a1, a2, a3, mul, sh, rq);
    }
}

#if EG_USE_PAIRS && (!EG_DSP || EG_USE_I8_GENERIC || EG_USE_ACC64)
/* Pairs layout (int8 weights), any core: plain loops (the DSP cores' products with a bias and SMMULR requantization
 * run edge_gru_dsp_pairs.h); an int32 bias of an even column c holds b_c + 256 b_(c+1). Weight k of column c of a block (edge_gru.h): byte at (k < K4: group k/4 * 16 + pair
 * c/2 * 8 + (k/2 & 1) * 4; the half group: K4 * 4 + pair * 4) + (k & 1) * 2 + (c & 1), less 128 for even c. */
static EG_NOINLINE void eg_matrix_pairs_c(int32_t *out, const int32_t *v, int32_t K, const int8_t *W, int32_t nb,
                                          const void *bias, int acc64, const int32_t *mul, const int32_t *sh,
                                          const int32_t *rq)
{
    const int32_t K4 = K & ~3;
    int32_t b, c, k;
    for (b = 0; b < nb; ++b, W += 4 * K, out += 4 * EG_OS, mul += 4, sh += 4, rq = rq ? rq + 4 : 0) {
        int32_t a[4];
        for (c = 0; c < 4; ++c) {
            int64_t acc64_ = 0;
            int32_t acc = 0;
            if (bias) {
                const int32_t *b32 = (const int32_t *)bias + 4 * b + c;
                if (acc64)
                    acc64_ = ((const int64_t *)bias)[4 * b + c];
                else   /* an even column's bias is stored as b_c + 256 b_(c+1) (modulo 2^32) */
                    acc = (c & 1) ? b32[0] : (int32_t)((uint32_t)b32[0] - ((uint32_t)b32[1] << 8));
            }
            EG_NO_UNROLL for (k = 0; k < K; ++k) {
                const int32_t at = (k < K4 ? (k >> 2) * 16 + (c >> 1) * 8 + ((k >> 1) & 1) * 4 : K4 * 4 + (c >> 1) * 4)
                                   + (k & 1) * 2 + (c & 1);
                const int32_t w = (c & 1) ? W[at] : (int32_t)(uint8_t)W[at] - 128;
                if (acc64)
                    acc64_ += (int64_t)w * eg_vget(v, k);
                else
                    acc += w * eg_vget(v, k);
            }
            a[c] = acc64 ? (int32_t)eg_requant(acc64_, mul[c], sh[c]) : acc;   /* fits: proved at quantization */
        }
        if (acc64)
            for (c = 0; c < 4; ++c) out[c * EG_OS] = a[c];
        else
            eg_requant4(out, a[0], a[1], a[2], a[3], mul, sh, rq);
    }
}
#endif

#if EG_USE_PAIRS
/* Pairs layout, int8 weights: nb blocks of 4 columns from W (bias, mul, sh, rq already offset). */
static void eg_matrix_pairs(int32_t *out, const int32_t *v, int32_t K, const int8_t *W, int32_t nb, const void *bias,
                            int acc64, const int32_t *mul, const int32_t *sh, const int32_t *rq)
{
#if EG_DSP
    if (!acc64 && bias && rq && nb > 0) {
        eg_matrix_p8_fast(out, (const uint32_t *)v, K, W, nb, (const int32_t *)bias, rq);
        return;
    }
#endif
#if !EG_DSP || EG_USE_I8_GENERIC || EG_USE_ACC64
    eg_matrix_pairs_c(out, v, K, W, nb, bias, acc64, mul, sh, rq);
#else
    (void)out, (void)v, (void)K, (void)W, (void)nb, (void)bias, (void)acc64, (void)mul, (void)sh, (void)rq;
#endif
}
#endif

#if !EG_MVE
/* Rows layout, any core: for each block of 4 columns, the inputs in chunks of `chunk` (8 or 16; KC = K rounded up
 * to it): a chunk holds `chunk` weights of each of the 4 columns in turn, in the order of edge_gru.h; ncols a
 * multiple of 4. */
static EG_NOINLINE void eg_matrix_rows(int32_t *out, const int32_t *v, int32_t K, const void *W, int w16,
                                       int32_t ncols, const void *bias, int acc64, const int32_t *mul,
                                       const int32_t *sh, const int32_t *rq, int32_t chunk)
{
    const int32_t KC = (K + chunk - 1) / chunk * chunk;
    int32_t j, k, c;
    for (j = 0; j < ncols; j += 4) {
        int32_t a[4];
        for (c = 0; c < 4; ++c) {
            const int32_t base = j * KC + c * chunk;    /* weight k of column j + c: base + (k / chunk) 4 chunk + pos */
            int64_t acc64_ = 0;
            int32_t acc = 0;
            if (bias) {
                if (acc64)
                    acc64_ = ((const int64_t *)bias)[j + c];
                else
                    acc = ((const int32_t *)bias)[j + c];
            }
            for (k = 0; k < K; ++k) {
                const int32_t r = k % chunk, pos = chunk == 16 ? (r < 8 ? 2 * r : 2 * (r - 8) + 1) : r;
                const int32_t at = base + (k / chunk) * 4 * chunk + pos;
                const int32_t w = w16 ? ((const int16_t *)W)[at] : ((const int8_t *)W)[at];
                if (acc64)
                    acc64_ += (int64_t)w * eg_vget(v, k);
                else
                    acc += w * eg_vget(v, k);
            }
            a[c] = acc64 ? (int32_t)eg_requant(acc64_, mul[j + c], sh[j + c]) : acc;   /* fits: proved */
        }
        if (acc64)
            for (c = 0; c < 4; ++c) out[(j + c) * EG_OS] = a[c];
        else
            eg_requant4(out + j * EG_OS, a[0], a[1], a[2], a[3], mul + j, sh + j, rq ? rq + j : 0);
    }
}
#else
#include "edge_gru_mve.h"
#endif

/* Columns col0 .. col0+ncols-1 (both multiples of 4) of v W, requantized to Q3.12, column j into out[j * EG_OS]. (Inlined on
 * the Helium path, where its many arguments cost more than the small products they dispatch.) */
#if EG_MVE
static EG_INLINE void eg_matrix(
#else
static void eg_matrix(
#endif
    int32_t *out, const int32_t *v, int32_t K, const void *W, int w16, int32_t col0,
                      int32_t ncols, const void *bias, int use_bias, int acc64, const int32_t *mul, const int32_t *sh,
                      const int32_t *rq, int r32, int32_t layout)
{
    acc64 = EG_ACC64(acc64);
    w16 = EG_PICK(EG_USE_W8, EG_USE_W16, w16, EG_USE_W16);
#if EG_USE_PAIRS
    if (layout == 1 && !w16) {
        const void *bc = !use_bias ? 0 : acc64 ? (const void *)((const int64_t *)bias + col0)
                                               : (const void *)((const int32_t *)bias + col0);
        eg_matrix_pairs(out, v, K, (const int8_t *)W + col0 * K, ncols / 4, bc, acc64, mul + col0, sh + col0,
                        rq ? rq + col0 : 0);
        (void)r32;
        return;
    }
#endif
    if (EG_USE_ROWS && layout > 1) {                     /* rows: layout = the chunk (8 or 16) */
        const int32_t KC = (K + layout - 1) / layout * layout;   /* a block of 4 columns holds 4 KC weights */
        const void *Wc = w16 ? (const void *)((const int16_t *)W + col0 * KC)
                             : (const void *)((const int8_t *)W + col0 * KC);
        const void *bc = !use_bias ? 0 : acc64 ? (const void *)((const int64_t *)bias + col0)
                                               : (const void *)((const int32_t *)bias + col0);
#if EG_MVE
        eg_matrix_mve(out, (const int16_t *)(const void *)v, K, Wc, w16, ncols / 4, bc, acc64, mul + col0, sh + col0,
                      rq ? rq + col0 : 0, layout);
#else
        eg_matrix_rows(out, v, K, Wc, w16, ncols, bc, acc64, mul + col0, sh + col0, rq ? rq + col0 : 0, layout);
#endif
        (void)r32;
        return;
    }
    if (!EG_USE_BLOCKS) return;
    if (acc64) {
        const void *Wc = w16 ? (const void *)((const int16_t *)W + col0 * K) : (const void *)((const int8_t *)W + col0 * K);
        eg_matrix_64(out, v, K, Wc, w16, ncols / 4, use_bias ? (const int64_t *)bias + col0 : 0, mul + col0,
                     sh + col0);
    } else if (w16) {
        eg_matrix_i16(out, v, K, (const int16_t *)W + col0 * K, ncols / 4,
                      use_bias ? (const int32_t *)bias + col0 : 0, mul + col0, sh + col0,
                      rq ? rq + col0 : 0);
    } else {
        eg_matrix_i8(out, v, K, (const int8_t *)W + col0 * K, ncols / 4,
                     use_bias ? (const int32_t *)bias + col0 : 0, mul + col0, sh + col0,
                     rq ? rq + col0 : 0, r32);
    }
}
#endif
