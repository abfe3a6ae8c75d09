/* edge-gru: the Arm DSP-extension matrix kernels (Cortex-M4/M7/M33/M55) in inline assembly (the gate loop:
 * edge_gru_dsp_gates.h).
 * Included by edge_gru.c after its integer primitives; the integers are those of the other paths
 * (edge_gru/fixed/kernels.py). */
#ifndef EDGE_GRU_DSP_H
#define EDGE_GRU_DSP_H

#if EG_DSP
/* One group of 4 inputs for one block of 4 columns, Thumb-2 DSP (inline assembly, so that the six
 * loads issue back to back and pipeline, which compilers do not schedule for): x01, x23 = 2 int16
 * pairs of v; p0, p1 = 4 int8 weights of a column (w0, w2, w1, w3); SXTB16 yields (w0, w1), then with
 * ROR #8 (w2, w3); SMLAD adds both products to the accumulator. 12 registers, none fixed. */
/* One column's 4 weights in p against the inputs X01, X23 into the accumulator a (T: the SXTB16 result); L1, L2:
 * instructions after the first and the last DSP instruction (the M7 schedule's loads, else ""). Operands are
 * strings: %[name] operands of an inline asm statement, or registers in the assembly function below. */
#define EG_COL_OPS(T, X01, X23, p, a, L1, L2)                                                        \
    "sxtb16 " T ", " p "\n\t" L1                                                                     \
    "smlad " a ", " T ", " X01 ", " a "\n\t"      /* a += x0 w0 + x1 w1 */                          \
    "sxtb16 " T ", " p ", ror #8\n\t"                                                                \
    "smlad " a ", " T ", " X23 ", " a "\n\t" L2   /* a += x2 w2 + x3 w3 */
/* One group: inputs from X, weights from W (both post-incremented), 4 loads then 2 (they pipeline on the M4) */
#define EG_GROUP_OPS(X, W, X01, X23, P0, P1, T, A0, A1, A2, A3)                                      \
    "ldr " X01 ", [" X "], #4\n\t"                                                                  \
    "ldr " X23 ", [" X "], #4\n\t"                                                                  \
    "ldr " P0 ", [" W "], #4\n\t"                                                                   \
    "ldr " P1 ", [" W "], #4\n\t"                                                                   \
    EG_COL_OPS(T, X01, X23, P0, A0, "", "") EG_COL_OPS(T, X01, X23, P1, A1, "", "")                 \
    "ldr " P0 ", [" W "], #4\n\t"                                                                   \
    "ldr " P1 ", [" W "], #4\n\t"                                                                   \
    EG_COL_OPS(T, X01, X23, P0, A2, "", "") EG_COL_OPS(T, X01, X23, P1, A3, "", "")
#define EG_I8_GROUP                                                                                  \
    EG_GROUP_OPS("%[x]", "%[w]", "%[x01]", "%[x23]", "%[p0]", "%[p1]", "%[t]", "%[a0]", "%[a1]", "%[a2]", "%[a3]")
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
/* The common case (bias, every shift in [16, 32]) as one assembly function, so that every register is used and
 * the block loop keeps its pointers out of memory: nb blocks of 4 columns, bias-initialised accumulators, the inputs
 * in groups of 4 (one group first when their number is odd, two per loop turn, a half group last when K = 2 mod 4),
 * SMMULR requantization, out[c * EG_OS]. One copy of the block loop per K & 6, chosen once per call.
 * Registers: r0-r3 accumulators, r4 r5 inputs, r6 r7 weights, r8 SXTB16 result, r9 input pointer, r10 weight
 * pointer, r11 end of the inputs' groups, r12 bias pointer, lr output pointer; on the stack: the inputs' start,
 * rq - bias - 16 in bytes, the end of the output. */
typedef struct {
    int32_t *out;                 /* [0] */
    const uint32_t *x;            /* [4] the operand */
    const int8_t *w;              /* [8] */
    const int32_t *bias;          /* [12] */
    int32_t rq_off;               /* [16] (rq - bias) in bytes, minus 16 */
    const uint32_t *xend;         /* [20] x + (K & ~3) / 2 */
    int32_t *out_end;             /* [24] out + 4 EG_OS nb */
    int32_t K;                    /* [28] the inputs (even) */
} eg_i8_args_t;
EG_ASM_OFFSET(eg_i8_args_t, eg_i8, out, 0);
EG_ASM_OFFSET(eg_i8_args_t, eg_i8, x, 4);
EG_ASM_OFFSET(eg_i8_args_t, eg_i8, w, 8);
EG_ASM_OFFSET(eg_i8_args_t, eg_i8, bias, 12);
EG_ASM_OFFSET(eg_i8_args_t, eg_i8, rq_off, 16);
EG_ASM_OFFSET(eg_i8_args_t, eg_i8, xend, 20);
EG_ASM_OFFSET(eg_i8_args_t, eg_i8, out_end, 24);
EG_ASM_OFFSET(eg_i8_args_t, eg_i8, K, 28);

/* The arguments of nb blocks at w against the operand v (K inputs) into out, from bias with the multipliers rq. */
static EG_INLINE void eg_i8_args(eg_i8_args_t *a, int32_t *out, const uint32_t *v, int32_t K, const int8_t *w,
                                 int32_t nb, const int32_t *bias, const int32_t *rq)
{
    a->out = out;
    a->x = v;
    a->w = w;
    a->bias = bias;
    a->rq_off = (int32_t)((const char *)rq - (const char *)bias) - 16;
    a->xend = v + (K & ~3) / 2;
    a->out_end = out + 4 * EG_OS * nb;
    a->K = K;
}
/* The int8 kernels' (blocks and pairs layouts) entry: registers saved, 16 bytes of stack, the arguments (r0) into the
 * registers and stack slots of the block loops (see eg_matrix_i8_asm), K in r7; EG_I8_DISPATCH (K & 6 in r7) jumps to
 * the block-loop copy of that K & 6 (labels 10, 12, 14, 16; 9 when this build holds none: eg_supports says so);
 * EG_I8_EXIT (label 9) returns. */
#define EG_I8_ENTRY EG_I8_FRAME EG_I8_LOAD
#define EG_I8_FRAME                                                                                  \
    "push {r4-r11, lr}\n\t"                                                                           \
    "sub sp, sp, #16\n\t"
#define EG_I8_LOAD                                                                                   \
    "ldr r4, [r0, #4]\n\t"                                                                            \
    "ldr r5, [r0, #16]\n\t"                                                                           \
    "ldr r6, [r0, #24]\n\t"                                                                           \
    "str r4, [sp]\n\t"                                                                                \
    "str r5, [sp, #4]\n\t"                                                                            \
    "str r6, [sp, #8]\n\t"                                                                            \
    "ldr lr, [r0]\n\t"                                                                                \
    "ldr r10, [r0, #8]\n\t"                                                                           \
    "ldr r12, [r0, #12]\n\t"                                                                          \
    "ldr r7, [r0, #28]\n\t"                                                                           \
    "ldr r11, [r0, #20]\n\t"            /* (between K's load and its first use: the M33) */
#if EG_USE_I8_K0
#define EG_I8_TO_K0 "cmp r7, #0\n\tbeq 10f\n\t"
#else
#define EG_I8_TO_K0 ""
#endif
#if EG_USE_I8_K2
#define EG_I8_TO_K2 "cmp r7, #2\n\tbeq 12f\n\t"
#else
#define EG_I8_TO_K2 ""
#endif
#if EG_USE_I8_K4
#define EG_I8_TO_K4 "cmp r7, #4\n\tbeq 14f\n\t"
#else
#define EG_I8_TO_K4 ""
#endif
#if EG_USE_I8_K6
#define EG_I8_TO_K6 "cmp r7, #6\n\tbeq 16f\n\t"
#else
#define EG_I8_TO_K6 ""
#endif
#define EG_I8_DISPATCH "and r7, r7, #6\n\t" EG_I8_TO_K0 EG_I8_TO_K2 EG_I8_TO_K4 EG_I8_TO_K6 "b 9f\n\t"
#define EG_I8_EXIT "9:\n\tadd sp, sp, #16\n\tpop {r4-r11, pc}\n\t"

#define EG_S_(x) #x
#define EG_S(x) EG_S_(x)
#define EG_A_GROUP EG_GROUP_OPS("r9", "r10", "r4", "r5", "r6", "r7", "r8", "r0", "r1", "r2", "r3")
/* the last 2 inputs (K = 2 mod 4), with this block's rq address into r9 between the DSP instructions (r9, the input
 * pointer, is free once the inputs are loaded; the loads issue with the DSP instruction before them on the M7) */
#define EG_A_HALF                                                                                    \
    "ldr r6, [r10], #4\n\t"                                                                         \
    "ldr r4, [r9], #4\n\t"                                                                          \
    "ldr r7, [r10], #4\n\t"                                                                         \
    "sxtb16 r8, r6\n\t"                                                                             \
    "smlad r0, r8, r4, r0\n\t"                                                                      \
    "ldr r9, [sp, #4]\n\t"                                                                          \
    "sxtb16 r8, r6, ror #8\n\t"                                                                     \
    "smlad r1, r8, r4, r1\n\t"                                                                      \
    "sxtb16 r8, r7\n\t"                                                                             \
    "add r9, r9, r12\n\t"                                                                           \
    "smlad r2, r8, r4, r2\n\t"                                                                      \
    "sxtb16 r8, r7, ror #8\n\t"                                                                     \
    "smlad r3, r8, r4, r3\n\t"
/* without a half group: only the rq address */
#define EG_A_RQ                                                                                      \
    "ldr r9, [sp, #4]\n\t"                                                                          \
    "add r9, r9, r12\n\t"
/* requant(acc, m, n) of the 4 accumulators (r4-r7: the block's rq), each store after the next SMMULR (on the M7 the
 * two issue together); r4 then holds the end of the output */
#define EG_A_REQUANT_STORE                                                                           \
    "smmulr r0, r0, r4\n\t"                                                                         \
    "ldr r4, [sp, #8]\n\t"                 /* the end of the output, for the block loop's compare */  \
    "smmulr r1, r1, r5\n\t"                                                                         \
    "str r0, [lr], #" EG_S(16 * EG_OS) "\n\t"  /* the output pointer's step in the first store */     \
    "smmulr r2, r2, r6\n\t"                                                                         \
    "str r1, [lr, #-" EG_S(12 * EG_OS) "]\n\t"                                                      \
    "smmulr r3, r3, r7\n\t"                                                                         \
    "str r2, [lr, #-" EG_S(8 * EG_OS) "]\n\t"                                                       \
    "str r3, [lr, #-" EG_S(4 * EG_OS) "]\n\t"
#if EG_M7_SCHEDULE
/* Cortex-M7 (EG_TUNE_M7): each load issues with the DSP instruction before it (DSP only from the older slot, one
 * load per cycle), and a group's last loads fetch the next group's inputs and first weights (software pipelining):
 * 16 cycles per 16 MACs on the M7 model, the floor, instead of 21. EG_B_LOAD fetches a block's first group's inputs
 * and column 0; EG_B_NEXT runs a group and fetches the next one's; EG_B_LAST runs the block's last group (nothing
 * is read past the block's weights or the inputs). r4, r5 inputs, r6, r7 weights, r8 the SXTB16 result. */
#define EG_B_LOAD                                                                                    \
    "ldr r6, [r10], #4\n\t"                 /* first: the group's first instruction reads it */          \
    "ldr r4, [r9], #4\n\t"                                                                          \
    "ldr r5, [r9], #4\n\t"
#define EG_B_COL(p, a, LOAD1, LOAD2) EG_COL_OPS("r8", "r4", "r5", p, a, LOAD1, LOAD2)
#define EG_B_W6 "ldr r6, [r10], #4\n\t"
#define EG_B_W7 "ldr r7, [r10], #4\n\t"
#define EG_B_NEXT                                                                                    \
    EG_B_COL("r6", "r0", EG_B_W7, EG_B_W6)          /* column 1's weights, then column 2's */            \
    EG_B_COL("r7", "r1", "", EG_B_W7)               /* column 3's */                                     \
    EG_B_COL("r6", "r2", "", EG_B_W6)               /* the next group's column 0 */                      \
    "sxtb16 r8, r7\n\t"                                                                             \
    "smlad r3, r8, r4, r3\n\t"                                                                      \
    "ldr r4, [r9], #4\n\t"                        /* the next group's inputs */                        \
    "sxtb16 r8, r7, ror #8\n\t"                                                                     \
    "smlad r3, r8, r5, r3\n\t"                                                                      \
    "ldr r5, [r9], #4\n\t"
#define EG_B_LAST                                                                                    \
    EG_B_COL("r6", "r0", EG_B_W7, EG_B_W6) EG_B_COL("r7", "r1", "", EG_B_W7)                          \
    EG_B_COL("r6", "r2", "", "") EG_B_COL("r7", "r3", "", "")
/* a block's groups, G = K / 4 of them: EG_B_LOAD, G - 1 EG_B_NEXT (two per loop turn; one before the loop when G is
 * even), EG_B_LAST; EVEN is the G = 0 exit and the lone EG_B_NEXT when G is even, "" when odd; EVEN_K0 leaves out
 * the exit (K = 0 mod 8: G >= 2) */
#define EG_B_EVEN_K0 EG_B_LOAD EG_B_NEXT
#define EG_B_EVEN "cmp r9, r11\n\tbeq 2f\n\t" EG_B_EVEN_K0
#define EG_B_ODD EG_B_LOAD
#define EG_B_BLOCKS(START, HALF)                                                                     \
    "1:\n\t"                                                                                        \
    "ldr r9, [sp]\n\t"                                                                              \
    "ldmia r12!, {r0-r3}\n\t"                                                                       \
    START                                                                                           \
    "cmp r9, r11\n\t"                                                                               \
    "beq 4f\n\t"                                                                                    \
    "3:\n\t" EG_B_NEXT EG_B_NEXT                                                                    \
    "cmp r9, r11\n\t"                                                                               \
    "bne 3b\n\t"                                                                                    \
    "4:\n\t" EG_B_LAST                                                                              \
    EG_A_TAIL(HALF)
#endif

/* the block loop of one K & 6: ODD is EG_A_GROUP or "", CHECK the exit when no loop turn is left (EG_A_CHECK; ""
 * when K = 0 mod 8: at least one turn), HALF is EG_A_HALF or EG_A_RQ */
#define EG_A_CHECK "cmp r9, r11\n\tbeq 2f\n\t"
#define EG_A_BLOCKS(ODD, CHECK, HALF)                                                                \
    "1:\n\t"                                                                                        \
    "ldr r9, [sp]\n\t"                     /* x = the operand's start */                            \
    "ldmia r12!, {r0-r3}\n\t"              /* a = bias */                                           \
    ODD                                                                                             \
    CHECK                                                                                           \
    "3:\n\t" EG_A_GROUP EG_A_GROUP                                                                  \
    "cmp r9, r11\n\t"                                                                               \
    "bne 3b\n\t"                                                                                    \
    EG_A_TAIL(HALF)
/* after a block's groups: the half group and this block's rq address (HALF: EG_A_HALF or EG_A_RQ), requantization,
 * stores, the next block */
#define EG_A_TAIL(HALF)                                                                              \
    "2:\n\t" HALF                                                                                   \
    "ldmia r9, {r4-r7}\n\t"                 /* this block's rq (r9 = rq - bias - 16 + the bias pointer) */ \
    EG_A_REQUANT_STORE                                                                              \
    "cmp lr, r4\n\t"                                                                                \
    "bne 1b\n\t"                                                                                    \
    "b 9f\n\t"

__attribute__((naked, noinline)) static void eg_matrix_i8_asm(const eg_i8_args_t *a __attribute__((unused)))
{
    __asm__ volatile(
        EG_I8_ENTRY
        EG_I8_DISPATCH);
    /* (one statement per copy: a C99 string literal stays under 4095 characters; the model's model.h says which
     * copies its products use) */
#if EG_M7_SCHEDULE
#define EG_X_BLOCKS_K0 EG_B_BLOCKS(EG_B_EVEN_K0, EG_A_RQ)
#define EG_X_BLOCKS_EVEN(HALF) EG_B_BLOCKS(EG_B_EVEN, HALF)
#define EG_X_BLOCKS_ODD(HALF) EG_B_BLOCKS(EG_B_ODD, HALF)
#else
#define EG_X_BLOCKS_K0 EG_A_BLOCKS("", "", EG_A_RQ)
#define EG_X_BLOCKS_EVEN(HALF) EG_A_BLOCKS("", EG_A_CHECK, HALF)
#define EG_X_BLOCKS_ODD(HALF) EG_A_BLOCKS(EG_A_GROUP, EG_A_CHECK, HALF)
#endif
#if EG_USE_I8_K0
    __asm__ volatile("10:\n\t" EG_X_BLOCKS_K0);
#endif
#if EG_USE_I8_K2
    __asm__ volatile("12:\n\t" EG_X_BLOCKS_EVEN(EG_A_HALF));
#endif
#if EG_USE_I8_K4
    __asm__ volatile("14:\n\t" EG_X_BLOCKS_ODD(EG_A_RQ));
#endif
#if EG_USE_I8_K6
    __asm__ volatile("16:\n\t" EG_X_BLOCKS_ODD(EG_A_HALF));
#endif
    __asm__ volatile(EG_I8_EXIT);
}

static EG_INLINE void eg_matrix_i8_fast(int32_t *out, const uint32_t *v, int32_t K, const int8_t *w, int32_t nb,
                                        const int32_t *bias, const int32_t *rq)
{
    eg_i8_args_t a;
    eg_i8_args(&a, out, v, K, w, nb, bias, rq);
    eg_matrix_i8_asm(&a);
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
