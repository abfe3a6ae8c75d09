/* edge-gru on-device runtime. Each line names the float equation it computes
 * (edge_gru/float_ref.py); rounding and saturation rules: edge_gru/fixed/kernels.py.
 * The integers are those of the Numba reference; only the order of exact integer additions and
 * the width of provably non-overflowing intermediates differ. */
#include <stddef.h>

#include "edge_gru.h"

/* ---- what this build compiles ----------------------------------------------------------------------
 * An export's model.h says which paths its model uses (EG_MODEL_USES_*): precision, accumulator
 * widths, reset_after, the input (features, embedding table, folded), a dense head, the weight layout.
 * Built next to that model.h, this file compiles only those paths and the compiler drops the rest
 * (one model per firmware). -DEG_GENERIC, or no model.h to be found, compiles every path, chosen at run
 * time from the model (several models in one firmware). eg_supports() says whether a model runs on this build. */
#if !defined(EG_GENERIC) && defined(__has_include)
#if __has_include("model.h")
#define EG_WITH_MODEL_H 1
#endif
#elif !defined(EG_GENERIC)
#define EG_WITH_MODEL_H 1     /* a compiler without __has_include: the export's folder is on the include path */
#endif
#ifdef EG_WITH_MODEL_H
#include "model.h"
#undef eg_step   /* a folded export's model.h turns calls into errors; the definitions below stay */
#undef eg_run
#endif
#if defined(EG_GENERIC) || !defined(EG_MODEL_USES_W8)
#define EG_USE_W8 1
#define EG_USE_W16 1
#define EG_USE_A8 1
#define EG_USE_A16 1
#define EG_USE_ACC32 1
#define EG_USE_ACC64 1
#define EG_USE_AFTER 1
#define EG_USE_BEFORE 1
#define EG_USE_FEATURES 1
#define EG_USE_TABLE 1
#define EG_USE_FOLD 1
#define EG_USE_DENSE 1
#define EG_USE_BLOCKS 1
#define EG_USE_ROWS 1
#else
#define EG_USE_W8 EG_MODEL_USES_W8
#define EG_USE_W16 EG_MODEL_USES_W16
#define EG_USE_A8 EG_MODEL_USES_A8
#define EG_USE_A16 EG_MODEL_USES_A16
#define EG_USE_ACC32 EG_MODEL_USES_ACC32
#define EG_USE_ACC64 EG_MODEL_USES_ACC64
#define EG_USE_AFTER EG_MODEL_USES_RESET_AFTER
#define EG_USE_BEFORE EG_MODEL_USES_RESET_BEFORE
#define EG_USE_FEATURES EG_MODEL_USES_FEATURES
#define EG_USE_TABLE EG_MODEL_USES_TABLE
#define EG_USE_FOLD EG_MODEL_USES_FOLD
#define EG_USE_DENSE EG_MODEL_USES_DENSE
#define EG_USE_BLOCKS EG_MODEL_USES_BLOCKS
#define EG_USE_ROWS EG_MODEL_USES_ROWS
#endif
/* A choice made at run time only where both sides are compiled in; else a constant the compiler folds. */
#define EG_PICK(both_a, both_b, runtime, only_b) (((both_a) && (both_b)) ? (runtime) : (only_b))
#define EG_W16(m) EG_PICK(EG_USE_W8, EG_USE_W16, (m)->w_bits == 16, EG_USE_W16)
#define EG_A8(m) EG_PICK(EG_USE_A16, EG_USE_A8, (m)->a_bits == 8, EG_USE_A8)
#define EG_ACC64(flag) EG_PICK(EG_USE_ACC32, EG_USE_ACC64, (flag), EG_USE_ACC64)
#define EG_AFTER(g) EG_PICK(EG_USE_BEFORE, EG_USE_AFTER, (g)->reset_after, EG_USE_AFTER)
#define EG_ROWS(g) EG_PICK(EG_USE_BLOCKS, EG_USE_ROWS, (g)->layout == EG_LAYOUT_ROWS, EG_USE_ROWS)

/* The DSP path uses GNU inline assembly and ACLE intrinsics (gcc, clang, armclang). */
#if defined(__ARM_FEATURE_DSP) && !defined(EG_PORTABLE) && (defined(__GNUC__) || defined(__clang__))
#define EG_DSP 1
#include <arm_acle.h>
#else
#define EG_DSP 0
#endif

/* ARMv6-M (Cortex-M0/M0+): the int8 matrix kernel, gates and state update are Thumb-1 assembly below
 * (unified syntax, as gcc >= 6 and clang emit it). */
#if !EG_DSP && !defined(EG_PORTABLE) && defined(__ARM_ARCH_6M__) && (defined(__GNUC__) || defined(__clang__))
#define EG_V6M 1
#else
#define EG_V6M 0
#endif

/* Armv8.1-M with Helium (Cortex-M55): MVE kernels for the rows layout (edge_gru_mve.h), DSP elsewhere. */
#if EG_DSP && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define EG_MVE 1
#include <arm_mve.h>
#else
#define EG_MVE 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define EG_NOINLINE __attribute__((noinline))   /* keeps the profile's matrix/gates/update split */
#define EG_INLINE __attribute__((always_inline)) inline
#else
#define EG_NOINLINE
#define EG_INLINE
#endif

/* EG_OS: int32 entries between consecutive columns of a matrix product's output. 2 on the DSP and portable paths,
 * where the x W + b_i and h_tm1 U + b_h outputs of a column sit side by side (gx at even, gh at odd entries), so that
 * the gate loop reads a unit's values through one pointer; 1 on the ARMv6-M and Helium paths, whose gate kernels
 * read each product's outputs as an array. */
#if EG_V6M || EG_MVE
#define EG_OS 1
#else
#define EG_OS 2
#endif

const char *eg_kernel_path(void) { return EG_MVE ? "mve" : (EG_DSP ? "dsp" : (EG_V6M ? "armv6m" : "portable")); }

/* ---- integer primitives (kernels.py: rshift_round, requant, sat, act, to_state) ---------------- */

/* floor(v / 2^n). GCC and clang define >> of a negative value as the arithmetic shift; other
 * compilers get a form that does not rely on the implementation-defined behaviour. */
#if defined(__GNUC__) || defined(__clang__)
static int64_t eg_asr(int64_t v, int n) { return v >> n; }
static int32_t eg_asr32(int32_t v, int n) { return v >> n; }
#else
static int64_t eg_asr(int64_t v, int n) { return v >= 0 ? (v >> n) : ~((~v) >> n); }
static int32_t eg_asr32(int32_t v, int n) { return v >= 0 ? (v >> n) : ~((~v) >> n); }
#endif
static int64_t eg_rshift_round(int64_t v, int n) { return eg_asr(v + ((int64_t)1 << (n - 1)), n); }
/* callers guarantee v + 2^(n-1) fits in 32 bits */
static int32_t eg_rshift_round32(int32_t v, int n) { return eg_asr32(v + ((int32_t)1 << (n - 1)), n); }
static int64_t eg_requant(int64_t acc, int32_t m, int32_t n) { return eg_rshift_round(acc * (int64_t)m, n); }
static int64_t eg_sat(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
static int32_t eg_sat32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
static int32_t eg_sat16(int32_t v) { return eg_sat32(v, -32768, 32767); }   /* compilers emit SSAT */

/* requant(acc, m, n) = floor((acc * m + 2^(n-1)) / 2^n) for an int32 accumulator.
 * For 17 <= n <= 46 without 64-bit arithmetic: acc = a1 * 2^16 + a0 (0 <= a0 < 2^16) gives
 * floor((a1 * m + floor(a0 * m / 2^16) + 2^(n-17)) / 2^(n-16)), every term below 2^30 (m < 2^15).
 * For 1 <= n <= 16, 2^n divides a1 * m * 2^16: a1 * m * 2^(16-n) + floor((a0 * m + 2^(n-1)) / 2^n),
 * summed modulo 2^32 (a0 * m + 2^15 < 2^31; the result fits int32, proved at quantization). */
static int32_t eg_requant32(int32_t acc, int32_t m, int32_t n)
{
    int32_t a1 = eg_asr32(acc, 16), a0 = acc & 0xFFFF;
    if (n >= 17 && n <= 46)
        return eg_asr32(a1 * m + ((a0 * m) >> 16) + ((int32_t)1 << (n - 17)), n - 16);
    if (!EG_DSP && n >= 1 && n <= 16)   /* (the DSP cores' 64-bit SMULL form is faster) 2^n divides a1 m 2^16: a1 m 2^(16-n) + floor((a0 m + 2^(n-1)) / 2^n), mod 2^32 */
        return (int32_t)(((uint32_t)(a1 * m) << (16 - n)) + (uint32_t)((a0 * m + ((int32_t)1 << (n - 1))) >> n));
    return (int32_t)eg_requant(acc, m, n);   /* fits: proved at quantization */
}

/* Table activation of a Q3.12 value in int16 range -> Q0.15 (kernels.py: act) */
static int32_t eg_act(const int16_t *tab, int32_t v)
{
    int32_t u = v + 32768, idx = u >> 7, frac = u & 127;
    int32_t t0 = tab[idx], t1 = tab[idx + 1];
    return t0 + eg_rshift_round32((t1 - t0) * frac, 7);
}

/* Q0.15 -> state format, saturated (kernels.py: to_state) */
static int32_t eg_to_state(int32_t h16, int shift, int32_t qmax)
{
    return eg_sat32(shift ? eg_rshift_round32(h16, shift) : h16, -qmax, qmax);
}

/* ---- matrix operands ------------------------------------------------------------------------------
 * A vector operand holds K values (K a multiple of 4, zero padded). Portable: one int32 per value.
 * DSP: two int16 per 32-bit word, element 2i in the low half (the SMLAD operand layout). */
#if EG_DSP
static void eg_vset(int32_t *v, int32_t k, int32_t val)
{
    uint32_t *w = (uint32_t *)v + (k >> 1);
    uint32_t u = (uint32_t)val & 0xFFFFu;
    *w = (k & 1) ? ((*w & 0xFFFFu) | (u << 16)) : u;
}
static int32_t eg_vget(const int32_t *v, int32_t k)
{
    uint32_t w = ((const uint32_t *)v)[k >> 1];
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
            const uint32_t *x = (const uint32_t *)v;
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
#include "edge_gru_v6m.h"    /* EG_V6M: the Thumb-1 matrix, gate and update functions */

/* int8 weights, int32 accumulators (overflow ruled out at quantization): nb blocks of 4 columns. */
static EG_NOINLINE void eg_matrix_i8(int32_t *out, const int32_t *v, int32_t K, const int8_t *w, int32_t nb,
                                     const int32_t *bias, const int32_t *mul, const int32_t *sh, const int32_t *rq,
                                     int r32)
{
    int32_t b;
#if EG_V6M
    if (nb > 0) {
        eg_v6m_args_t a;
        a.out = out;
        a.v = v;
        a.w = w;
        a.bias = bias;
        a.mul = mul;
        a.sh = sh;
        a.K = K;
        a.nb = nb;
        a.raw = !r32;
        eg_matrix_v6m(&a);
        if (!r32)
            for (b = 0; b < 4 * nb; ++b) out[b] = eg_requant32(out[b], mul[b], sh[b]);   /* (EG_OS is 1 here) */
        return;
    }
#else
    (void)r32;
#endif
#if EG_DSP
    if (bias && rq) {
        /* constant odd/half flags: four copies, so that none of them keeps K live in the block loop */
        const uint32_t *x = (const uint32_t *)v;
        switch (K & 6) {
        case 0: eg_matrix_i8_fast(out, x, K, w, nb, bias, rq, 0, 0); break;
        case 2: eg_matrix_i8_fast(out, x, K, w, nb, bias, rq, 0, 1); break;
        case 4: eg_matrix_i8_fast(out, x, K, w, nb, bias, rq, 1, 0); break;
        default: eg_matrix_i8_fast(out, x, K, w, nb, bias, rq, 1, 1); break;
        }
        return;
    }
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
    if (EG_USE_ROWS && layout) {                         /* rows: layout = the chunk (8 or 16) */
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

/* ---- gates ---------------------------------------------------------------------------------------- */



#if !EG_V6M && !EG_MVE
/* reset_after, unit k: z (to *z_k) and hh = tanh(x_h + r * (h_tm1 U_h + b_hh)); p = gx + 2k, the products' outputs
 * side by side (EG_OS 2): p[0] x_z, p[1] h_tm1 U_z, p[2 H] x_r, p[2 H + 1], p[2 hoff] x_h, p[2 hoff + 1]. */
static EG_INLINE int32_t eg_cand_after(const int16_t *sig, const int16_t *tanh_tab, const int32_t *p, int32_t r_at,
                                       int32_t h_at, int32_t *z_k)
{
    int32_t r, r_hu, xh;
    *z_k = eg_act(sig, eg_sat16(p[0] + p[1]));                                /* z = sigmoid(x_z + h_tm1 U_z) */
    r = eg_act(sig, eg_sat16(p[r_at] + p[r_at + 1]));                        /* r = sigmoid(x_r + h_tm1 U_r) */
    r_hu = eg_rshift_round32(r * eg_sat16(p[h_at + 1]), 15);                 /* r * (h_tm1 U_h + b_hh) */
    xh = eg_sat32(p[h_at], -(1 << 20), (1 << 20) - 1);                       /* exact: |r_hu| <= 2^15 */
    return eg_act(tanh_tab, eg_sat16(xh + r_hu));                            /* hh = tanh(x_h + r * (...)) */
}

/* reset_after: gates and state update in one pass over the units, the state written in its format (one loop per
 * format, so that the shift and the bounds are constants). gx: the products' outputs side by side (EG_OS 2). */
static EG_NOINLINE void eg_gates_update_after(const eg_model_t *m, int32_t H, int32_t hoff, const int32_t *gx,
                                              int16_t *h_state)
{
    const int16_t *sig = m->sig_tab, *tanh_tab = m->tanh_tab;
    const int16_t *end = h_state + H;
    const int32_t r_at = 2 * H, h_at = 2 * hoff;
    int32_t z, hh, h_tm1, h16;
    if (EG_A8(m)) {
        for (; h_state < end; ++h_state, gx += 2) {
            hh = eg_cand_after(sig, tanh_tab, gx, r_at, h_at, &z);
            h_tm1 = *h_state * 256;
            h16 = hh + eg_rshift_round32(z * (h_tm1 - hh), 15);                /* h = hh + z * (h_tm1 - hh) */
            *h_state = (int16_t)eg_sat32(eg_rshift_round32(h16, 8), -127, 127);
        }
    } else {
        for (; h_state < end; ++h_state, gx += 2) {
            hh = eg_cand_after(sig, tanh_tab, gx, r_at, h_at, &z);
            h_tm1 = *h_state;
            h16 = hh + eg_rshift_round32(z * (h_tm1 - hh), 15);                /* h = hh + z * (h_tm1 - hh) */
            *h_state = (int16_t)eg_sat32(h16, -32767, 32767);
        }
    }
}
#endif

/* reset_after=False: z, and r * h_tm1 as the operand of the candidate's matrix product (gx, gh: the products'
 * outputs, EG_OS apart). */
static EG_NOINLINE void eg_gates_before(const eg_model_t *m, int32_t H, const int32_t *gx,
                                        const int32_t *gh, const int16_t *h_tm1, int32_t *z, int32_t *rh)
{
    int32_t k;
    for (k = 0; k < H; ++k) {
        int32_t r;
        z[k] = eg_act(m->sig_tab, eg_sat16(gx[k * EG_OS] + gh[k * EG_OS]));   /* z = sigmoid(x_z + h_tm1 U_z) */
        r = eg_act(m->sig_tab, eg_sat16(gx[(H + k) * EG_OS] + gh[(H + k) * EG_OS]));   /* r = sigmoid(x_r + h_tm1 U_r) */
        eg_vset(rh, k, eg_rshift_round32(r * h_tm1[k], 15));                  /* r * h_tm1 */
    }
}

/* hh = tanh(...), h = hh + z * (h_tm1 - hh), written to the state in its format (one loop per state
 * format, so that the shift and the bounds are constants); gxh[k * EG_OS] holds the candidate's pre-activation. */
static EG_NOINLINE void eg_update(const eg_model_t *m, int32_t H, const int32_t *gxh, const int32_t *z,
                                  int16_t *h_state)
{
    const int16_t *tab = m->tanh_tab;
    int32_t k;
    if (EG_A8(m)) {
        for (k = 0; k < H; ++k) {
            int32_t hh = eg_act(tab, gxh[k * EG_OS]);                                  /* hh = tanh(...) */
            int32_t h_tm1 = h_state[k] * 256;
            int32_t h16 = hh + eg_rshift_round32(z[k] * (h_tm1 - hh), 15);    /* h = hh + z * (h_tm1 - hh) */
            h_state[k] = (int16_t)eg_sat32(eg_rshift_round32(h16, 8), -127, 127);
        }
    } else {
        for (k = 0; k < H; ++k) {
            int32_t hh = eg_act(tab, gxh[k * EG_OS]);                                  /* hh = tanh(...) */
            int32_t h_tm1 = h_state[k];
            int32_t h16 = hh + eg_rshift_round32(z[k] * (h_tm1 - hh), 15);    /* h = hh + z * (h_tm1 - hh) */
            h_state[k] = (int16_t)eg_sat32(h16, -32767, 32767);
        }
    }
}

/* work (int32): vh (kh) | gx, gh (2 cols) | z (H). Columns: z at 0, r at H, the candidate at hoff; column j of
 * x W + b_i at gx[j * EG_OS], of h_tm1 U + b_h at gh[j * EG_OS] (EG_OS 2: gh = gx + 1, side by side; else gh = gx + cols). */
static void eg_gru_step(const eg_model_t *m, const eg_gru_t *g, int16_t *h_state, const int32_t *vx, int32_t *work,
                        int32_t fold_row)
{
    const int32_t H = g->units, C = g->cols, hoff = g->hoff, w16 = EG_W16(m);
    int32_t *vh = work, *gx = work + g->kh, *gh = EG_OS == 2 ? gx + 1 : gx + C, *z = gx + 2 * C;
    /* the layout argument of eg_matrix: 0 (blocks) or the rows layout's chunk */
    const int32_t lay = !EG_ROWS(g) ? 0 : (!w16 && EG_A8(m) && !EG_ACC64(g->acc64)) ? 16 : 8;
    int32_t k;
    eg_vec_from16(vh, h_state, H, g->kh);                                      /* h_tm1 */
    if (EG_USE_FOLD && fold_row >= 0) {
        /* x_all = x W + b_i -> Q3.12, computed at export time for every token (folded embedding) */
        if (m->fold16)
            for (k = 0; k < C; ++k) gx[k * EG_OS] = ((const int16_t *)m->fold)[fold_row * C + k];
        else
            for (k = 0; k < C; ++k) gx[k * EG_OS] = ((const int32_t *)m->fold)[fold_row * C + k];
    } else {
        /* x_all = x W + b_i  -> Q3.12 */
        eg_matrix(gx, vx, g->kx, g->W, w16, 0, C, g->b_i, g->use_bias, g->acc64, g->mx, g->nx, g->rqx, g->r32x, lay);
    }
    if (EG_AFTER(g)) {
        /* h_all = h_tm1 U + b_h  -> Q3.12 */
        eg_matrix(gh, vh, g->kh, g->U, w16, 0, C, g->b_h, g->use_bias, g->acc64, g->mh, g->nh, g->rqh, g->r32h, lay);
#if EG_V6M
        eg_gates_v6m_sig(z, gx, gh, H, m->sig_tab);
        eg_gates_v6m_cand(gx + hoff, gx + H, gh + H, gh + hoff, H, m->sig_tab);
#elif EG_MVE
        eg_gates_after_mve(m, H, hoff, gx, gh, z);
#else
        eg_gates_update_after(m, H, hoff, gx, h_state);                        /* z, r, hh and h */
        return;
#endif
    } else if (EG_USE_BEFORE) {
        /* h_tm1 U_z, h_tm1 U_r -> Q3.12 (columns before hoff); then (r * h_tm1) U_h */
        eg_matrix(gh, vh, g->kh, g->U, w16, 0, hoff, g->b_h, 0, g->acc64, g->mh, g->nh, g->rqh, g->r32h, lay);
        eg_gates_before(m, H, gx, gh, h_state, z, vh);                          /* vh := r * h_tm1 */
        eg_matrix(gh + hoff * EG_OS, vh, g->kh, g->U, w16, hoff, C - hoff, g->b_h, 0, g->acc64, g->mh, g->nh, g->rqh,
                  g->r32h, lay);
        for (k = hoff * EG_OS; k < (hoff + H) * EG_OS; k += EG_OS)
            gx[k] = eg_sat16(gx[k] + gh[k]);                                    /* x_h + (r*h_tm1) U_h */
    }
#if EG_V6M
    if (!EG_A8(m)) {
        eg_update_v6m16(h_state, gx + hoff, z, H, m->tanh_tab);
        return;
    }
#endif
#if EG_MVE
    eg_update_mve(m, H, gx + hoff, z, h_state);
#else
    eg_update(m, H, gx + hoff * EG_OS, z, h_state);
#endif
}

/* ---- dense head (row-major (in, K) weights; runs once per sequence) --------------------------------- */

static void eg_dense(int32_t *out, const int32_t *v, int32_t nin, const eg_dense_t *d, int w16)
{
    int32_t i, j;
    for (j = 0; j < d->units; ++j) {
        int64_t y;
        if (EG_ACC64(d->acc64)) {
            int64_t acc = eg_bias64(d->b, d->use_bias, j);
            for (i = 0; i < nin; ++i) {
                int32_t w = w16 ? ((const int16_t *)d->W)[i * d->units + j] : ((const int8_t *)d->W)[i * d->units + j];
                acc += (int64_t)w * v[i];
            }
            y = eg_requant(acc, d->m[j], d->n[j]);
        } else {   /* int32 accumulation proved safe at quantization: no 64-bit multiplies on small cores */
            int32_t acc = eg_bias32(d->b, d->use_bias, j);
            for (i = 0; i < nin; ++i) {
                int32_t w = w16 ? ((const int16_t *)d->W)[i * d->units + j] : ((const int8_t *)d->W)[i * d->units + j];
                acc += w * v[i];
            }
            y = eg_requant32(acc, d->m[j], d->n[j]);
        }
        out[j] = (int32_t)eg_sat(y, -((int64_t)1 << 30), (int64_t)1 << 30);
    }
}

/* ---- public API ----------------------------------------------------------------------------------- */

void eg_reset(const eg_model_t *m, int16_t *state)
{
    int32_t i;
    for (i = 0; i < m->state_len; ++i) state[i] = 0;
}

static int32_t eg_kmax(const eg_model_t *m)
{
    int32_t l, kmax = 0;
    for (l = 0; l < m->n_gru; ++l) kmax = m->gru[l].kx > kmax ? m->gru[l].kx : kmax;
    return kmax;
}

/* Every GRU layer, one step; scratch holds the first layer's input operand (max kx entries) | GRU work */
static void eg_step_layers(const eg_model_t *m, int16_t *state, int32_t *scratch, int32_t fold_row)
{
    int32_t l, off = 0, kmax = eg_kmax(m);
    int32_t *vx = scratch;
    for (l = 0; l < m->n_gru; ++l) {
        const eg_gru_t *g = &m->gru[l];
        eg_gru_step(m, g, state + off, vx, scratch + kmax, l == 0 ? fold_row : -1);
        if (l + 1 < m->n_gru) eg_vec_from16(vx, state + off, g->units, m->gru[l + 1].kx);
        off += g->units;
    }
}

void eg_step(const eg_model_t *m, int16_t *state, const int16_t *x_q, int32_t *scratch)
{
    /* a folded export has no input weights (its model.h refuses eg_step): the state is kept */
    if (!EG_USE_FEATURES || !m->gru[0].W) return;
    eg_vec_from16(scratch, x_q, m->features, m->gru[0].kx);
    eg_step_layers(m, state, scratch, -1);
}

/* The operand of an int8 table row (a_bits 8): same values as eg_vec_from16 of the row widened */
static void eg_vec_from8(int32_t *v, const int8_t *src, int32_t n, int32_t K)
{
    int32_t k = 0;
#if EG_DSP
    uint32_t *w = (uint32_t *)v;
    for (; k + 1 < n; k += 2) *w++ = ((uint32_t)(int32_t)src[k] & 0xFFFFu) | ((uint32_t)(int32_t)src[k + 1] << 16);
    if (k < n) {
        *w++ = (uint32_t)(int32_t)src[k] & 0xFFFFu;
        k += 2;
    }
    for (; k < K; k += 2) *w++ = 0;
#else
    for (; k < n; ++k) eg_vset(v, k, src[k]);
    for (; k < K; ++k) eg_vset(v, k, 0);
#endif
}

int32_t eg_step_token(const eg_model_t *m, int16_t *state, int32_t id, int32_t *scratch)
{
    const int32_t F = m->features;
    if ((!EG_USE_TABLE && !EG_USE_FOLD) || (!m->embedding && !m->fold) || id < 0 || id >= m->vocab) return -1;
    if (id == 0 && m->mask_zero) return 0;                                   /* masked step: h = h_tm1 */
    if (EG_USE_FOLD && m->fold) {
        eg_step_layers(m, state, scratch, id);
        return 1;
    }
    if (!EG_USE_TABLE) return -1;
    /* x = embedding[id]: the table holds x_q = clamp(round(x / s_x)) */
    if (EG_A8(m))
        eg_vec_from8(scratch, (const int8_t *)m->embedding + id * F, F, m->gru[0].kx);
    else
        eg_vec_from16(scratch, (const int16_t *)m->embedding + id * F, F, m->gru[0].kx);
    eg_step_layers(m, state, scratch, -1);
    return 1;
}

void eg_output(const eg_model_t *m, const int16_t *state, int32_t *out, int32_t *scratch)
{
    int32_t l, i, width = m->gru[m->n_gru - 1].units, D = width;
    const int32_t qmax = EG_A8(m) ? 127 : 32767, n_dense = EG_USE_DENSE ? m->n_dense : 0;
    int32_t *v, *y;
    for (l = 0; l < n_dense; ++l) D = m->dense[l].units > D ? m->dense[l].units : D;
    v = scratch;
    y = scratch + D;
    for (i = 0; i < width; ++i) v[i] = state[m->state_len - width + i];
    for (l = 0; l < n_dense; ++l) {
        const eg_dense_t *d = &m->dense[l];
        eg_dense(y, v, width, d, EG_W16(m));
        for (i = 0; i < d->units; ++i) {
            int32_t t = y[i];
            if (d->mode == EG_DENSE_SIGMOID) {
                t = eg_to_state(eg_act(m->sig_tab, eg_sat16(t)), 16 - m->a_bits, qmax);   /* sigmoid */
            } else {
                t = eg_sat32(t, -qmax, qmax);
                if (d->relu && t < 0) t = 0;                                               /* relu */
            }
            v[i] = t;
        }
        width = d->units;
    }
    for (i = 0; i < width; ++i) out[i] = v[i];
}

int32_t eg_run_tokens(const eg_model_t *m, int16_t *state, const int32_t *ids, int32_t T, int32_t *out,
                      int32_t *scratch)
{
    int32_t t, ran = 0, r = 0;
    eg_reset(m, state);
    for (t = 0; t < T && r >= 0; ++t) {
        r = eg_step_token(m, state, ids[t], scratch);
        ran += r > 0;
    }
    eg_output(m, state, out, scratch);
    return r < 0 ? -1 : ran;
}

int32_t eg_argmax(const int32_t *out, int32_t n)
{
    int32_t i, best = 0;
    for (i = 1; i < n; ++i) if (out[i] > out[best]) best = i;
    return best;
}

void eg_run(const eg_model_t *m, int16_t *state, const int16_t *x_q, int32_t T, int32_t *out, int32_t *scratch)
{
    int32_t t;
    eg_reset(m, state);
    for (t = 0; t < T; ++t) eg_step(m, state, x_q + (int32_t)t * m->features, scratch);
    eg_output(m, state, out, scratch);
}

int32_t eg_supports(const eg_model_t *m)
{
    int32_t l;
    if ((m->w_bits == 16 ? !EG_USE_W16 : !EG_USE_W8) || (m->a_bits == 8 ? !EG_USE_A8 : !EG_USE_A16)) return 0;
    if (m->fold ? !EG_USE_FOLD : m->embedding ? !EG_USE_TABLE : !EG_USE_FEATURES) return 0;
    if (m->n_dense && !EG_USE_DENSE) return 0;
    for (l = 0; l < m->n_gru; ++l) {
        const eg_gru_t *g = &m->gru[l];
        if (g->acc64 ? !EG_USE_ACC64 : !EG_USE_ACC32) return 0;
        if (g->reset_after ? !EG_USE_AFTER : !EG_USE_BEFORE) return 0;
        if (g->layout == EG_LAYOUT_ROWS ? !EG_USE_ROWS : !EG_USE_BLOCKS) return 0;
    }
    for (l = 0; l < m->n_dense; ++l)
        if (m->dense[l].acc64 ? !EG_USE_ACC64 : !EG_USE_ACC32) return 0;
    return 1;
}
