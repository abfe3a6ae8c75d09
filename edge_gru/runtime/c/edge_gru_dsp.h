/* edge-gru: the Arm DSP-extension matrix kernels (Cortex-M4/M7/M33/M55) in inline assembly.
 * Included by edge_gru.c after its integer primitives; the integers are those of the other paths
 * (edge_gru/fixed/kernels.py). */
#ifndef EDGE_GRU_DSP_H
#define EDGE_GRU_DSP_H

#if EG_DSP
/* One group of 4 inputs for one block of 4 columns, Thumb-2 DSP (inline assembly, so that the six
 * loads issue back to back and pipeline, which compilers do not schedule for): x01, x23 = 2 int16
 * pairs of v; p0, p1 = 4 int8 weights of a column (w0, w2, w1, w3); SXTB16 yields (w0, w1), then with
 * ROR #8 (w2, w3); SMLAD adds both products to the accumulator. 12 registers, none fixed. */
#define EG_I8_COL(p, a)                                                                              \
    "sxtb16 %[t], %[" p "]\n\t"                                                                      \
    "smlad %[" a "], %[t], %[x01], %[" a "]\n\t"      /* a += x0 w0 + x1 w1 */                      \
    "sxtb16 %[t], %[" p "], ror #8\n\t"                                                              \
    "smlad %[" a "], %[t], %[x23], %[" a "]\n\t"      /* a += x2 w2 + x3 w3 */
#define EG_I8_GROUP                                                                                  \
    "ldr %[x01], [%[x]], #4\n\t"                                                                     \
    "ldr %[x23], [%[x]], #4\n\t"                                                                     \
    "ldr %[p0], [%[w]], #4\n\t"                                                                      \
    "ldr %[p1], [%[w]], #4\n\t"                                                                      \
    EG_I8_COL("p0", "a0") EG_I8_COL("p1", "a1")                                                     \
    "ldr %[p0], [%[w]], #4\n\t"                                                                      \
    "ldr %[p1], [%[w]], #4\n\t"                                                                      \
    EG_I8_COL("p0", "a2") EG_I8_COL("p1", "a3")
/* the last 2 inputs when K = 2 mod 4: one word per column pair (c0w0, c1w0, c0w1, c1w1) */
#define EG_I8_HALF                                                                                   \
    "ldr %[x01], [%[x]], #4\n\t"                                                                     \
    "ldr %[p0], [%[w]], #4\n\t"                                                                      \
    "ldr %[p1], [%[w]], #4\n\t"                                                                      \
    "sxtb16 %[t], %[p0]\n\t"                                                                        \
    "smlad %[a0], %[t], %[x01], %[a0]\n\t"                                                           \
    "sxtb16 %[t], %[p0], ror #8\n\t"                                                                \
    "smlad %[a1], %[t], %[x01], %[a1]\n\t"                                                           \
    "sxtb16 %[t], %[p1]\n\t"                                                                        \
    "smlad %[a2], %[t], %[x01], %[a2]\n\t"                                                           \
    "sxtb16 %[t], %[p1], ror #8\n\t"                                                                \
    "smlad %[a3], %[t], %[x01], %[a3]\n\t"
/* A block's inputs x .. from its weights w ..: an odd group first, then two-group loop turns up to xend,
 * then the half group; the groups are one of the EG_*_GROUP/HALF bodies with their operand list. */
#define EG_RUN_GROUPS(GROUP, HALF, OUTPUTS, odd, half)                                               \
    do {                                                                                             \
        if (odd)                                                                                     \
            __asm__(GROUP : OUTPUTS : : "memory");                                                   \
        if (x != xend)                                                                               \
            __asm__("1:\n\t" GROUP GROUP "cmp %[x], %[xe]\n\tbne 1b\n\t"                              \
                    : OUTPUTS : [xe] "r"(xend) : "cc", "memory");                                    \
        if (half)                                                                                    \
            __asm__(HALF : OUTPUTS : : "memory");                                                    \
    } while (0)
#define EG_I8_OUTPUTS                                                                                \
    [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),                \
    [x01] "=&r"(x01), [x23] "=&r"(x23), [p0] "=&r"(p0), [p1] "=&r"(p1), [t] "=&r"(t)

/* a_c += sum_k v[k] W[k, c] for the block at *w (K even); advances *w past the block. */
static EG_INLINE void eg_block_i8(int32_t *acc, const uint32_t *x, int32_t K, const int8_t **wp)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *w = *wp;
    const uint32_t *xend = x + (K & ~3) / 2;
    uint32_t x01, x23, p0, p1, t;
    EG_RUN_GROUPS(EG_I8_GROUP, EG_I8_HALF, EG_I8_OUTPUTS, K & 4, K & 2);
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    *wp = w;
}
#endif

#if EG_DSP
/* The common case (bias, every shift in [16, 32]): nb blocks, bias-initialised accumulators, the
 * inputs in groups of 4 (one group first when their number is odd, a half group last when K = 2 mod 4),
 * SMMULR requantization. */
static EG_INLINE void eg_matrix_i8_fast(int32_t *out, const uint32_t *v, int32_t K, const int8_t *w, int32_t nb,
                                        const int32_t *bias, const int32_t *rq, int odd, int half)
{
    const uint32_t *xend = v + (K & ~3) / 2;
    const int32_t *end = out + 4 * EG_OS * nb;
    for (; out < end; out += 4 * EG_OS, bias += 4, rq += 4) {
        int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
        const uint32_t *x = v;
        uint32_t x01, x23, p0, p1, t;
        EG_RUN_GROUPS(EG_I8_GROUP, EG_I8_HALF, EG_I8_OUTPUTS, odd, half);
        out[0 * EG_OS] = eg_mulhr(a0, rq[0]);   /* requant(acc, m, n) */
        out[1 * EG_OS] = eg_mulhr(a1, rq[1]);
        out[2 * EG_OS] = eg_mulhr(a2, rq[2]);
        out[3 * EG_OS] = eg_mulhr(a3, rq[3]);
    }
}
#endif

#if EG_DSP
/* int16 weights (w16 precisions with int32 accumulators): per group of 4 inputs x 4 columns,
 * 2 words of inputs and 2 words of weights per column, loads in runs of 5, 3 and 2 so that they
 * pipeline, 8 SMLAD; 12 registers. */
#define EG_I16_GROUP                                                                                 \
    "ldr %[x01], [%[x]], #4\n\t"                                                                     \
    "ldr %[x23], [%[x]], #4\n\t"                                                                     \
    "ldr %[q0], [%[w]], #4\n\t"                                                                      \
    "ldr %[q1], [%[w]], #4\n\t"                                                                      \
    "ldr %[q2], [%[w]], #4\n\t"                                                                      \
    "smlad %[a0], %[q0], %[x01], %[a0]\n\t"                                                          \
    "smlad %[a0], %[q1], %[x23], %[a0]\n\t"                                                          \
    "smlad %[a1], %[q2], %[x01], %[a1]\n\t"                                                          \
    "ldr %[q0], [%[w]], #4\n\t"                                                                      \
    "ldr %[q1], [%[w]], #4\n\t"                                                                      \
    "ldr %[q2], [%[w]], #4\n\t"                                                                      \
    "smlad %[a1], %[q0], %[x23], %[a1]\n\t"                                                          \
    "smlad %[a2], %[q1], %[x01], %[a2]\n\t"                                                          \
    "smlad %[a2], %[q2], %[x23], %[a2]\n\t"                                                          \
    "ldr %[q0], [%[w]], #4\n\t"                                                                      \
    "ldr %[q1], [%[w]], #4\n\t"                                                                      \
    "smlad %[a3], %[q0], %[x01], %[a3]\n\t"                                                          \
    "smlad %[a3], %[q1], %[x23], %[a3]\n\t"
/* the last 2 inputs: one word (c w0, c w1) per column */
#define EG_I16_HALF                                                                                  \
    "ldr %[x01], [%[x]], #4\n\t"                                                                     \
    "ldr %[q0], [%[w]], #4\n\t"                                                                      \
    "ldr %[q1], [%[w]], #4\n\t"                                                                      \
    "ldr %[q2], [%[w]], #4\n\t"                                                                      \
    "ldr %[x23], [%[w]], #4\n\t"                                                                     \
    "smlad %[a0], %[q0], %[x01], %[a0]\n\t"                                                          \
    "smlad %[a1], %[q1], %[x01], %[a1]\n\t"                                                          \
    "smlad %[a2], %[q2], %[x01], %[a2]\n\t"                                                          \
    "smlad %[a3], %[x23], %[x01], %[a3]\n\t"
#define EG_I16_OUTPUTS                                                                               \
    [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),                \
    [x01] "=&r"(x01), [x23] "=&r"(x23), [q0] "=&r"(q0), [q1] "=&r"(q1), [q2] "=&r"(q2)
#endif

#endif
