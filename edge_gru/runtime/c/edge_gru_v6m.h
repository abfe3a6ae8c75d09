/* edge-gru: the ARMv6-M (Cortex-M0/M0+) matrix, gate and state-update functions in
 * Thumb-1 assembly.
 * Included by edge_gru.c after its integer primitives; the integers are those of the other paths
 * (edge_gru/fixed/kernels.py). */
#ifndef EDGE_GRU_V6M_H
#define EDGE_GRU_V6M_H

#if EG_V6M
/* out[j] = requant(bias[j] + sum_k v[k] W[k, j]) for nb blocks of 4 columns (v: one int32 per value,
 * K even), every shift n in [17, 46] (the split of eg_requant32). Thumb-1 has 8 low
 * registers: x0..x3 = r0..r3 (one group of inputs), r4 = 4 weights of a column (bytes w0, w2, w1,
 * w3), r5 = product, r6 = weights, r7 = inputs; the accumulators live in r8..r11 (ADD reaches them),
 * the end of v in r12, the arguments in lr. Per group of 16 MACs: LDM of the inputs, then per column
 * LDM of 4 weights and per weight MULS, ADD; the bytes at either end of the word come out in one instruction
 * each (SXTB, ASRS #24), then REV16 swaps the bytes of each half and brings the middle two there: 5
 * instructions for 4 weights, where shifting each middle byte out took 2. Written as a whole function so that no
 * compiler setting (frame pointer, -O0) can leave it short of registers. */
typedef struct {
    int32_t *out;
    const int32_t *v;
    const int8_t *w;
    const int32_t *bias, *mul, *sh;    /* bias may be 0; mul 0: store the accumulators (C requantizes) */
    int32_t K;                         /* K even; K & 2: a last half group of 2 inputs */
    int32_t *out_end;                  /* out + 4 nb */
} eg_v6m_args_t;
void eg_matrix_v6m(eg_v6m_args_t *a);
/* The arguments of nb blocks at w against v into out (mul 0: the accumulators stored for C to requantize) */
static EG_INLINE void eg_v6m_args(eg_v6m_args_t *a, int32_t *out, const int32_t *v, const int8_t *w, int32_t K,
                                  int32_t nb, const int32_t *bias, const int32_t *mul, const int32_t *sh)
{
    a->out = out;
    a->v = v;
    a->w = w;
    a->bias = bias;
    a->mul = mul;
    a->sh = sh;
    a->K = K;
    a->out_end = out + 4 * nb;
}
/* the byte offsets the assembly below reads the arguments at (EG_ASM_OFFSET) */
EG_ASM_OFFSET(eg_v6m_args_t, eg_v6m, out, 0);
EG_ASM_OFFSET(eg_v6m_args_t, eg_v6m, v, 4);
EG_ASM_OFFSET(eg_v6m_args_t, eg_v6m, w, 8);
EG_ASM_OFFSET(eg_v6m_args_t, eg_v6m, bias, 12);
EG_ASM_OFFSET(eg_v6m_args_t, eg_v6m, mul, 16);
EG_ASM_OFFSET(eg_v6m_args_t, eg_v6m, sh, 20);
EG_ASM_OFFSET(eg_v6m_args_t, eg_v6m, K, 24);
EG_ASM_OFFSET(eg_v6m_args_t, eg_v6m, out_end, 28);
#define EG_V6M_COL(a)                                                                               \
    " ldm r6!, {r4}\n"                                                                        \
    " sxtb r5, r4\n muls r5, r0, r5\n add " a ", r5\n"           /* x0 w0 */                 \
    " asrs r5, r4, #24\n muls r5, r3, r5\n add " a ", r5\n"      /* x3 w3 */                 \
    " rev16 r4, r4\n"                                            /* bytes w2, w0, w3, w1 */  \
    " sxtb r5, r4\n muls r5, r2, r5\n add " a ", r5\n"           /* x2 w2 */                 \
    " asrs r5, r4, #24\n muls r5, r1, r5\n add " a ", r5\n"      /* x1 w1 */
/* last 2 inputs x0, x1 = r0, r1 for a column pair: bytes c0w0, c1w0, c0w1, c1w1 */
#define EG_V6M_HALF(a, b)                                                                           \
    " ldm r6!, {r4}\n"                                                                        \
    " sxtb r5, r4\n muls r5, r0, r5\n add " a ", r5\n"           /* x0 c0w0 */               \
    " asrs r5, r4, #24\n muls r5, r1, r5\n add " b ", r5\n"      /* x1 c1w1 */               \
    " rev16 r4, r4\n"                                            /* c1w0, c0w0, c1w1, c0w1 */ \
    " sxtb r5, r4\n muls r5, r0, r5\n add " b ", r5\n"           /* x0 c1w0 */               \
    " asrs r5, r4, #24\n muls r5, r1, r5\n add " a ", r5\n"      /* x1 c0w1 */
/* requant(acc, m, n) = (a1 m + floor(a0 m / 2^16) + 2^(n-17)) >> (n-16), acc = a1 2^16 + a0 (eg_requant32),
 * rounded as ((y >> (n-17)) + 1) >> 1 (the same integer: the bits below 2^(n-17) cannot carry into the sum);
 * r4 = mul, r5 = sh, r7 = out */
#define EG_V6M_REQ(a)                                                                               \
    " mov r0, " a "\n ldm r4!, {r1}\n ldm r5!, {r2}\n"                                  \
    " asrs r3, r0, #16\n muls r3, r1, r3\n"                    /* a1 m */                  \
    " uxth r0, r0\n muls r0, r1, r0\n lsrs r0, r0, #16\n"   /* floor(a0 m / 2^16) */   \
    " adds r0, r0, r3\n subs r2, #17\n asrs r0, r2\n adds r0, #1\n asrs r0, r0, #1\n" \
    " stm r7!, {r0}\n"
__asm__(
    " .syntax unified\n .pushsection .text.eg_matrix_v6m,\"ax\",%progbits\n"
    " .balign 4\n"
    " .global eg_matrix_v6m\n"
    " .hidden eg_matrix_v6m\n"
    " .thumb\n"
    " .thumb_func\n"
    " .type eg_matrix_v6m, %function\n"
    "eg_matrix_v6m:\n"
    " push {r4, r5, r6, r7, lr}\n"
    " mov r4, r8\n mov r5, r9\n mov r6, r10\n mov r7, r11\n"
    " push {r4, r5, r6, r7}\n"
    " mov lr, r0\n"
    " ldr r1, [r0, #4]\n ldr r2, [r0, #24]\n lsrs r2, r2, #2\n lsls r2, r2, #4\n adds r2, r1, r2\n"
    " mov r12, r2\n"                     /* end of the groups of 4 inputs in v */
    " ldr r6, [r0, #8]\n"                /* weights */
    " b 2f\n"
    "9:\n movs r1, #0\n movs r2, #0\n movs r3, #0\n movs r4, #0\n b 3f\n"   /* no bias: zeros */
    "2:\n"                                   /* next block: accumulators = bias */
    " mov r0, lr\n ldr r5, [r0, #12]\n"
    " cmp r5, #0\n beq 9b\n"
    " ldm r5!, {r1, r2, r3, r4}\n str r5, [r0, #12]\n"
    "3:\n"
    " mov r8, r1\n mov r9, r2\n mov r10, r3\n mov r11, r4\n"
    " ldr r7, [r0, #4]\n"
    " cmp r7, r12\n beq 5f\n"         /* fewer than 4 inputs */
    "1:\n"
    " ldm r7!, {r0, r1, r2, r3}\n"
    EG_V6M_COL("r8") EG_V6M_COL("r9") EG_V6M_COL("r10") EG_V6M_COL("r11")
    " cmp r7, r12\n"
    " bne 1b\n"
    "5:\n"
    " mov r0, lr\n ldr r0, [r0, #24]\n lsrs r0, r0, #2\n bcc 6f\n"   /* K & 2: last 2 inputs */
    " ldm r7!, {r0, r1}\n"
    EG_V6M_HALF("r8", "r9") EG_V6M_HALF("r10", "r11")
    "6:\n"
    " mov r0, lr\n ldr r4, [r0, #16]\n cmp r4, #0\n beq 7f\n"      /* no mul: the accumulators, for C */
    " ldr r5, [r0, #20]\n ldr r7, [r0, #0]\n"
    EG_V6M_REQ("r8") EG_V6M_REQ("r9") EG_V6M_REQ("r10") EG_V6M_REQ("r11")
    " mov r0, lr\n str r4, [r0, #16]\n str r5, [r0, #20]\n str r7, [r0, #0]\n"
    "8:\n"
    " ldr r1, [r0, #28]\n cmp r7, r1\n"        /* r7: the output after this block */
    " beq 4f\n"
    " b 2b\n"                               /* beyond a conditional branch's reach */
    "4:\n"
    " pop {r4, r5, r6, r7}\n"
    " mov r8, r4\n mov r9, r5\n mov r10, r6\n mov r11, r7\n"
    " pop {r4, r5, r6, r7, pc}\n"
    "7:\n"
    " ldr r7, [r0, #0]\n mov r1, r8\n mov r2, r9\n mov r3, r10\n mov r4, r11\n stm r7!, {r1, r2, r3, r4}\n"
    " str r7, [r0, #0]\n b 8b\n"
    " .size eg_matrix_v6m, .-eg_matrix_v6m\n"
    " .popsection\n");
#endif

/* EG_V6M_SEQ: a build with the one-layer sequence loop's path (edge_gru_run.h: eg_v6m_run; the model it runs: one
 * reset_after layer, int8 weights in the blocks layout, a Q0.15 state, 32-bit accumulators, features as input) */
#define EG_V6M_SEQ                                                                                   \
    (EG_V6M && EG_USE_BLOCKS && EG_USE_W8 && EG_USE_A16 && EG_USE_AFTER && EG_USE_ACC32 && EG_USE_FEATURES)

#if EG_V6M
/* The gate and state-update loops in Thumb-1 assembly (C compilers spill the 8 low registers and
 * branch around every saturation there). Common registers: r0..r3 temporaries,
 * r9 = the activation table's middle (tab + 256), r10 = 2^14, r11 = end of the output; out-of-range values leave the
 * loop for a few instructions (labels 3x) and come back.
 * eg_gates_v6m_sig:  out[k] = act(tab, sat16(a[k] + b[k]))                  (z = sigmoid(x_z + h_tm1 U_z))
 * eg_gates_v6m_cand: gxh[k] = sat16(clamp20(gxh[k]) + r_hu), r = act(sig, sat16(gxr[k] + ghr[k])),
 *                    r_hu = (r * sat16(ghh[k]) + 2^14) >> 15               (x_h + r * (h_tm1 U_h + b_hh))
 * eg_update_v6m16:   h[k] = clamp(hh + ((z[k] * (h[k] - hh) + 2^14) >> 15), +-32767), hh = act(tanh, gxh[k])
 *                    (the clamp never acts: EG_H_IN_RANGE, edge_gru_dsp_gates.h; no instruction computes it)
 *                                                                           (h = hh + z * (h_tm1 - hh)) */
void eg_gates_v6m_sig(int32_t *out, const int32_t *a, const int32_t *b, int32_t n, const int16_t *tab);
void eg_gates_v6m_cand(int32_t *gxh, const int32_t *gxr, const int32_t *ghr, const int32_t *ghh, int32_t n,
                       const int16_t *tab);
void eg_update_v6m16(int16_t *h, const int32_t *gxh, const int32_t *z, int32_t n, const int16_t *tab);
/* r0 = act(tab, r0) for r0 in int16 range (kernels.py: act): table interpolation, Q0.15; r9 holds the table's
 * middle (tab + 256), so the index is v >> 7 and the fraction v & 127 with no offset added (as eg_act_mid) */
#define EG_V6M_ACT EG_V6M_ACT_FROM("r9")
#define EG_V6M_ACT_FROM(tab)                                                                         \
    "    asrs r2, r0, #7\n    lsls r2, r2, #1\n    mov r3, " tab "\n"                              \
    "    ldrsh r1, [r3, r2]\n    adds r2, #2\n    ldrsh r2, [r3, r2]\n" /* t0, t1 */               \
    "    subs r2, r2, r1\n    lsls r0, r0, #25\n    lsrs r0, r0, #25\n" /* t1 - t0, frac */        \
    "    muls r0, r2, r0\n    adds r0, #64\n    asrs r0, r0, #7\n    adds r0, r0, r1\n"
/* reg = sat16(reg), tmp clobbered only out of line (label 3N) */
#define EG_V6M_SAT16(reg, tmp, N) "    sxth " tmp ", " reg "\n    cmp " tmp ", " reg "\n    bne 3" N "f\n4" N ":\n"
#define EG_V6M_SAT16_SLOW(reg, tmp, N)                                                               \
    "3" N ":\n    asrs " reg ", " reg ", #31\n    movs " tmp ", #1\n    lsls " tmp ", " tmp ", #15\n"      \
    "    subs " tmp ", #1\n    eors " reg ", " tmp "\n    b 4" N "b\n"
/* reg = clamp(reg, -2^20, 2^20 - 1) (sat21), tmp clobbered; the slow part out of line (label 3N) */
#define EG_V6M_SAT21(reg, tmp, N)                                                                    \
    "    lsls " tmp ", " reg ", #11\n    asrs " tmp ", " tmp ", #11\n    cmp " tmp ", " reg "\n    bne 3" N "f\n4" N ":\n"
#define EG_V6M_SAT21_SLOW(reg, tmp, N)                                                               \
    "3" N ":\n    asrs " reg ", " reg ", #31\n    movs " tmp ", #1\n    lsls " tmp ", " tmp ", #20\n"      \
    "    subs " tmp ", #1\n    eors " reg ", " tmp "\n    b 4" N "b\n"
#define EG_V6M_PROLOGUE(tab_off)                                                                     \
    "    push {r4, r5, r6, r7, lr}\n"                                                               \
    "    mov r4, r8\n    mov r5, r9\n    mov r6, r10\n    mov r7, r11\n    push {r4, r5, r6, r7}\n"     \
    "    ldr r4, [sp, #" tab_off "]\n    movs r5, #2\n    lsls r5, r5, #8\n    adds r4, r4, r5\n"            \
    "    mov r9, r4\n"                                            /* the table's middle */       \
    "    movs r4, #1\n    lsls r4, r4, #14\n    mov r10, r4\n"
#define EG_V6M_EPILOGUE                                                                              \
    "    pop {r4, r5, r6, r7}\n    mov r8, r4\n    mov r9, r5\n    mov r10, r6\n    mov r11, r7\n"     \
    "    pop {r4, r5, r6, r7, pc}\n"
#define EG_V6M_FUNC(name) "    .syntax unified\n    .pushsection .text." name ",\"ax\",%progbits\n    .balign 4\n    .global " name "\n" \
    "    .hidden " name "\n    .thumb\n    .thumb_func\n    .type " name ", %function\n" name ":\n"
#define EG_V6M_END(name) "    .size " name ", .-" name "\n    .popsection\n"
#if EG_V6M_SEQ
/* eg_v6m_run's state operand: out[k] = src[k] for k < 2 pairs, src word-aligned: two words a turn (LDM, SXTH and
 * ASRS #16 per word, one STM of the 4 values), an odd pair first; 15 cycles per 4 values where the compiled C loop
 * took 30 */
void eg_v6m_unpack16(int32_t *out, const int16_t *src, int32_t pairs);
__asm__(
    EG_V6M_FUNC("eg_v6m_unpack16")
    "    push {r4, r5, r6, lr}\n"
    "    lsls r3, r2, #2\n    adds r2, r1, r3\n"                          /* the end of src */
    "    lsrs r3, r3, #3\n    bcc 2f\n"                                   /* an odd number of pairs: one first */
    "    ldm r1!, {r5}\n    sxth r3, r5\n    asrs r4, r5, #16\n    stm r0!, {r3, r4}\n"
    "2:\n    cmp r1, r2\n    beq 3f\n"
    "1:\n    ldm r1!, {r5, r6}\n"
    "    sxth r3, r5\n    asrs r4, r5, #16\n    sxth r5, r6\n    asrs r6, r6, #16\n    stm r0!, {r3, r4, r5, r6}\n"
    "    cmp r1, r2\n    bne 1b\n"
    "3:\n    pop {r4, r5, r6, pc}\n"
    EG_V6M_END("eg_v6m_unpack16"));
#endif
#if EG_USE_A8   /* (w8a8 reset_after layers; a Q0.15 state takes eg_gates_v6m16 below) */
__asm__(
    EG_V6M_FUNC("eg_gates_v6m_sig")
    EG_V6M_PROLOGUE("36")
    "    lsls r3, r3, #2\n    adds r3, r0, r3\n    mov r11, r3\n"
    "    mov r4, r0\n    mov r5, r1\n    mov r6, r2\n"
    "1:\n"
    "    ldm r5!, {r0}\n    ldm r6!, {r1}\n    adds r0, r0, r1\n"
    EG_V6M_SAT16("r0", "r1", "0")
    EG_V6M_ACT
    "    stm r4!, {r0}\n"
    "    cmp r4, r11\n    bne 1b\n"
    EG_V6M_EPILOGUE
    EG_V6M_SAT16_SLOW("r0", "r1", "0")
    EG_V6M_END("eg_gates_v6m_sig"));
__asm__(   /* one statement per function: C99 string literals stay under 4095 characters */
    EG_V6M_FUNC("eg_gates_v6m_cand")
    EG_V6M_PROLOGUE("40")
    "    ldr r4, [sp, #36]\n    lsls r4, r4, #2\n    adds r4, r0, r4\n    mov r11, r4\n"
    "    mov r4, r0\n    mov r5, r1\n    mov r6, r2\n    mov r7, r3\n"
    "1:\n"
    "    ldm r5!, {r0}\n    ldm r6!, {r1}\n    adds r0, r0, r1\n"
    EG_V6M_SAT16("r0", "r1", "0")
    EG_V6M_ACT                                                          /* r = sigmoid(x_r + h_tm1 U_r) */
    "    ldm r7!, {r1}\n"
    EG_V6M_SAT16("r1", "r2", "1")
    "    muls r1, r0, r1\n    mov r0, r10\n    adds r1, r1, r0\n    asrs r1, r1, #15\n"   /* r_hu */
    "    ldr r0, [r4]\n"
    EG_V6M_SAT21("r0", "r2", "2")                                       /* clamp to [-2^20, 2^20) */
    "    adds r0, r0, r1\n"
    EG_V6M_SAT16("r0", "r1", "3")
    "    stm r4!, {r0}\n"
    "    cmp r4, r11\n    bne 1b\n"
    EG_V6M_EPILOGUE
    EG_V6M_SAT16_SLOW("r0", "r1", "0")
    EG_V6M_SAT16_SLOW("r1", "r2", "1")
    EG_V6M_SAT21_SLOW("r0", "r2", "2")
    EG_V6M_SAT16_SLOW("r0", "r1", "3")
    EG_V6M_END("eg_gates_v6m_cand"));
#endif
#if EG_USE_BEFORE && EG_USE_A16   /* (reset_after=False layers with a Q0.15 state) */
__asm__(
    EG_V6M_FUNC("eg_update_v6m16")
    EG_V6M_PROLOGUE("36")
    "    lsls r3, r3, #1\n    adds r3, r0, r3\n    mov r11, r3\n"
    "    mov r4, r0\n    mov r5, r1\n    mov r6, r2\n"
    "1:\n"
    "    ldm r5!, {r0}\n"
    EG_V6M_ACT                                                          /* hh = tanh(...) */
    "    ldrh r1, [r4]\n    sxth r1, r1\n    subs r1, r1, r0\n"             /* h_tm1 - hh */
    "    ldm r6!, {r2}\n    muls r1, r2, r1\n    mov r2, r10\n    adds r1, r1, r2\n    asrs r1, r1, #15\n"
    "    adds r0, r0, r1\n"              /* h = hh + z * (h_tm1 - hh): in range (EG_H_IN_RANGE, edge_gru_dsp_gates.h) */
    "    strh r0, [r4]\n    adds r4, #2\n"
    "    cmp r4, r11\n    bne 1b\n"
    EG_V6M_EPILOGUE
    EG_V6M_END("eg_update_v6m16"));
#endif

#if EG_USE_AFTER && EG_USE_A16
/* A reset_after layer with a Q0.15 state (w8a16, w16a16) in one pass per unit: the three loops above fused, so that
 * z stays in a register and nothing is stored between them (kernels.py: the same integers):
 *   z = act(sig, sat16(x_z + h_tm1 U_z)), r = act(sig, sat16(x_r + h_tm1 U_r)),
 *   hh = act(tanh, sat16(clamp20(x_h) + ((r sat16(h_tm1 U_h + b_hh) + 2^14) >> 15))),
 *   h = clamp(hh + ((z (h_tm1 - hh) + 2^14) >> 15), +-32767) (the clamp never acts: EG_H_IN_RANGE).
 * gx: the layer's x W + b_i (EG_OS 1; h_tm1 U + b_h follows at gx + cols), h: its state (units >= 1), the sizes from
 * g, the tables from m (no argument struct: the step's stack stays as deep as with the matrix kernel).
 * Registers: r4 = &gx[k], r5 = &gh[k], r6 = &h[k], r7 = z; r8 = 4 H and r12 = 4 hoff (the byte offsets of r's and
 * the candidate's columns), r9, r10 the sigmoid and tanh tables' middles, r11 the state's end, lr = 2^14. */
EG_ASM_OFFSET(eg_gru_t, eg_gru, units, 0);
EG_ASM_OFFSET(eg_gru_t, eg_gru, cols, 4);
EG_ASM_OFFSET(eg_gru_t, eg_gru, hoff, 8);
EG_ASM_OFFSET(eg_model_t, eg_model, sig_tab, 40);
EG_ASM_OFFSET(eg_model_t, eg_model, tanh_tab, 44);
void eg_gates_v6m16(const int32_t *gx, int16_t *h, const eg_gru_t *g, const eg_model_t *m);
__asm__(
    EG_V6M_FUNC("eg_gates_v6m16")
    "    push {r4, r5, r6, r7, lr}\n"
    "    mov r4, r8\n    mov r5, r9\n    mov r6, r10\n    mov r7, r11\n    push {r4, r5, r6, r7}\n"
    "    ldr r4, [r2, #0]\n    lsls r5, r4, #2\n    mov r8, r5\n"          /* units: 4 H */
    "    lsls r4, r4, #1\n    adds r4, r1, r4\n    mov r11, r4\n"          /* the state's end */
    "    ldr r5, [r2, #8]\n    lsls r5, r5, #2\n    mov r12, r5\n"          /* hoff: 4 hoff */
    "    ldr r5, [r2, #4]\n    lsls r5, r5, #2\n    adds r5, r0, r5\n"      /* cols: gh = gx + cols */
    "    movs r2, #2\n    lsls r2, r2, #8\n"                               /* 256 entries: 512 bytes */
    "    ldr r4, [r3, #40]\n    adds r4, r4, r2\n    mov r9, r4\n"
    "    ldr r4, [r3, #44]\n    adds r4, r4, r2\n    mov r10, r4\n"
    "    movs r4, #1\n    lsls r4, r4, #14\n    mov lr, r4\n"
    "    mov r4, r0\n    mov r6, r1\n"
    "1:\n"
    "    ldr r0, [r4]\n    ldr r1, [r5]\n    adds r0, r0, r1\n"
    EG_V6M_SAT16("r0", "r1", "0")
    EG_V6M_ACT_FROM("r9")                                               /* z = sigmoid(x_z + h_tm1 U_z) */
    "    mov r7, r0\n    mov r2, r8\n"
    "    ldr r0, [r4, r2]\n    ldr r1, [r5, r2]\n    adds r0, r0, r1\n"
    EG_V6M_SAT16("r0", "r1", "1")
    EG_V6M_ACT_FROM("r9")                                               /* r = sigmoid(x_r + h_tm1 U_r) */
    "    mov r2, r12\n    ldr r1, [r5, r2]\n"
    EG_V6M_SAT16("r1", "r3", "2")
    "    muls r1, r0, r1\n    mov r3, lr\n    adds r1, r1, r3\n    asrs r1, r1, #15\n"   /* r * (h_tm1 U_h + b_hh) */
    "    ldr r0, [r4, r2]\n"
    EG_V6M_SAT21("r0", "r3", "3")                                       /* clamp to [-2^20, 2^20) */
    "    adds r0, r0, r1\n"
    EG_V6M_SAT16("r0", "r1", "4")
    EG_V6M_ACT_FROM("r10")                                              /* hh = tanh(x_h + r * (...)) */
    "    ldrh r1, [r6]\n    sxth r1, r1\n    subs r1, r1, r0\n"             /* h_tm1 - hh */
    "    muls r1, r7, r1\n    mov r3, lr\n    adds r1, r1, r3\n    asrs r1, r1, #15\n"
    "    adds r0, r0, r1\n"              /* h = hh + z * (h_tm1 - hh): in range (EG_H_IN_RANGE, edge_gru_dsp_gates.h) */
    "    strh r0, [r6]\n    adds r6, #2\n    adds r4, #4\n    adds r5, #4\n"
    "    cmp r6, r11\n    bne 1b\n"
    EG_V6M_EPILOGUE
    EG_V6M_SAT16_SLOW("r0", "r1", "0")
    EG_V6M_SAT16_SLOW("r0", "r1", "1")
    EG_V6M_SAT16_SLOW("r1", "r3", "2")
    EG_V6M_SAT21_SLOW("r0", "r3", "3")
    EG_V6M_SAT16_SLOW("r0", "r1", "4")
    EG_V6M_END("eg_gates_v6m16"));
#endif
#endif

#endif
