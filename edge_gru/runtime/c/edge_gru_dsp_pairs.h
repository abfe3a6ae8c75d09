/* edge-gru: the Arm DSP-extension matrix kernel of the pairs layout (edge_gru.h, EG_LAYOUT_PAIRS; Cortex-M4/M7/M33)
 * in assembly. Included by edge_gru_matrix.h after edge_gru_dsp.h (its argument struct, requantization and stores);
 * the integers are those of the other paths (edge_gru/fixed/kernels.py).
 *
 * A weight word of the pairs layout holds columns c, c+1 at inputs k, k+1 as the int16 halves
 * 256 (c+1 wk) + (c wk + 128) and 256 (c+1 wk+1) + (c wk+1 + 128). Against the inputs (xk, xk+1):
 *   SMLAD lo, word, x          lo += 256 (c+1 wk xk + c+1 wk+1 xk+1) + c wk xk + c wk+1 xk+1 + 128 (xk + xk+1)
 *   SXTB16 word, word, ror #8  (c+1 wk, c+1 wk+1)
 *   SMLAD hi, word, x          hi += c+1 wk xk + c+1 wk+1 xk+1
 * so after the block's inputs, with lo started at bias_c + 256 bias_(c+1) - S (the layout stores that bias, S = 128
 * sum x is the same for every block) and hi at bias_(c+1): a_c = lo - 256 hi, a_(c+1) = hi. The sums wrap modulo
 * 2^32 (SMLAD's result does; its Q flag is not read) and a_c fits int32 (proved at quantization), so a_c is exact.
 * 12 DSP instructions per 16 MACs where the blocks layout takes 16. */
#ifndef EDGE_GRU_DSP_PAIRS_H
#define EDGE_GRU_DSP_PAIRS_H

#if EG_DSP && EG_USE_PAIRS
/* One pair of columns (accumulators LO, HI) at 4 inputs: weight words PA (inputs 0, 1) and PB (inputs 2, 3) against
 * the input words r4 (x0, x1) and r5 (x2, x3); each weight word is overwritten by its SXTB16. */
#define EG_P_PAIR(PA, PB, LO, HI)                                                                     \
    /* lo += 256 (c+1 w0 x0 + c+1 w1 x1) + c w0 x0 + c w1 x1 + 128 (x0 + x1) */                        \
    "smlad " LO ", " PA ", r4, " LO "\n\t"                                                          \
    "sxtb16 " PA ", " PA ", ror #8\n\t"          /* (c+1 w0, c+1 w1) */                               \
    "smlad " HI ", " PA ", r4, " HI "\n\t"       /* hi += c+1 w0 x0 + c+1 w1 x1 */                    \
    "smlad " LO ", " PB ", r5, " LO "\n\t"       /* the same for inputs 2, 3 */                       \
    "sxtb16 " PB ", " PB ", ror #8\n\t"                                                               \
    "smlad " HI ", " PB ", r5, " HI "\n\t"
/* one group of 4 inputs: 4 loads then 2 (they pipeline on the M4), 12 DSP instructions */
#define EG_P_GROUP                                                                                    \
    "ldr r4, [r9], #4\n\t"                                                                           \
    "ldr r5, [r9], #4\n\t"                                                                           \
    "ldr r6, [r10], #4\n\t"                                                                          \
    "ldr r7, [r10], #4\n\t"                                                                          \
    EG_P_PAIR("r6", "r7", "r0", "r1")                                                                 \
    "ldr r6, [r10], #4\n\t"                                                                          \
    "ldr r7, [r10], #4\n\t"                                                                          \
    EG_P_PAIR("r6", "r7", "r2", "r3")
/* the last 2 inputs (K = 2 mod 4) in X: one word per pair of columns, r6 (columns 0, 1) and r7 (2, 3); I1, I2:
 * instructions placed between the DSP ones ("" for none) */
#define EG_P_HALF_OPS(X, I1, I2)                                                                      \
    "smlad r0, r6, " X ", r0\n\t"                                                                    \
    "sxtb16 r6, r6, ror #8\n\t"                                                                      \
    "smlad r1, r6, " X ", r1\n\t" I1                                                                 \
    "smlad r2, r7, " X ", r2\n\t"                                                                    \
    "sxtb16 r7, r7, ror #8\n\t" I2                                                                   \
    "smlad r3, r7, " X ", r3\n\t"
#define EG_P_HALF_LOADS                                                                               \
    "ldr r6, [r10], #4\n\t"                                                                          \
    "ldr r4, [r9], #4\n\t"                                                                           \
    "ldr r7, [r10], #4\n\t"
/* the loop copies' half group: this block's rq address into r9 on the way */
#define EG_P_HALF EG_P_HALF_LOADS EG_P_HALF_OPS("r4", "ldr r9, [sp, #4]\n\t", "add r9, r9, r12\n\t")
#if EG_M7_SCHEDULE
/* Cortex-M7 (EG_TUNE_M7): each load issues with the DSP instruction before it, and a group's last loads fetch the next
 * group's first weights and inputs (software pipelining, as EG_B_*): 12 cycles per 16 MACs on the M7 model, its
 * floor. EG_Q_LOAD fetches a block's first group's inputs and first weight word; EG_Q_NEXT runs a group and fetches
 * the next one's; EG_Q_LAST runs the block's last group. */
#define EG_Q_LOAD                                                                                   \
    "ldr r6, [r10], #4\n\t"                                                                         \
    "ldr r4, [r9], #4\n\t"                                                                          \
    "ldr r5, [r9], #4\n\t"
#define EG_Q_GROUP(L9, L10, L12)                                                                        \
    "smlad r0, r6, r4, r0\n\t"              /* columns 0, 1 at inputs 0, 1 */                           \
    "ldr r7, [r10], #4\n\t"                 /* (c0 c1, k2 k3) */                                        \
    "sxtb16 r6, r6, ror #8\n\t"                                                                         \
    "smlad r1, r6, r4, r1\n\t"                                                                          \
    "ldr r6, [r10], #4\n\t"                 /* (c2 c3, k0 k1) */                                        \
    "smlad r0, r7, r5, r0\n\t"              /* columns 0, 1 at inputs 2, 3 */                           \
    "sxtb16 r7, r7, ror #8\n\t"                                                                         \
    "smlad r1, r7, r5, r1\n\t"                                                                          \
    "ldr r7, [r10], #4\n\t"                 /* (c2 c3, k2 k3) */                                        \
    "smlad r2, r6, r4, r2\n\t"              /* columns 2, 3 at inputs 0, 1 */                           \
    "sxtb16 r6, r6, ror #8\n\t"                                                                         \
    "smlad r3, r6, r4, r3\n\t" L9           /* then the next group's (c0 c1, k0 k1) */                  \
    "smlad r2, r7, r5, r2\n\t" L10          /* columns 2, 3 at inputs 2, 3; the next inputs 0, 1 */     \
    "sxtb16 r7, r7, ror #8\n\t"                                                                         \
    "smlad r3, r7, r5, r3\n\t" L12          /* the next inputs 2, 3 */
#define EG_Q_NEXT EG_Q_GROUP("ldr r6, [r10], #4\n\t", "ldr r4, [r9], #4\n\t", "ldr r5, [r9], #4\n\t")
#define EG_Q_LAST EG_Q_GROUP("", "", "")
#endif
/* a block's start: x = the operand's start, the 4 biases (the layout stores bias_c + 256 bias_(c+1) for even c),
 * lo = that - S */
#define EG_P_START                                                                                    \
    "1:\n\t"                                                                                        \
    "ldmia r12!, {r0-r3}\n\t"                                                                        \
    "ldr r9, [sp]\n\t"                   /* (between the LDM and its first use: no wait on the M33) */  \
    "sub r0, r0, r8\n\t"                                                                             \
    "sub r2, r2, r8\n\t"
/* the block loop of one K & 6 (as EG_A_BLOCKS): GROUPS the block's groups (EG_X_P_*), HALF EG_P_HALF or EG_A_RQ;
 * a_c = lo - 256 hi before the requantization */
#define EG_P_BLOCKS(GROUPS, HALF)                                                                    \
    EG_P_START                                                                                       \
    GROUPS                                                                                           \
    "2:\n\t" HALF                                                                                    \
    "sub r0, r0, r1, lsl #8\n\t"            /* a_c = lo - 256 a_(c+1) */                              \
    "sub r2, r2, r3, lsl #8\n\t"                                                                     \
    "ldmia r9, {r4-r7}\n\t"                                                                          \
    EG_A_REQUANT_STORE                                                                               \
    "cmp lr, r4\n\t"                                                                                 \
    "bne 1b\n\t"                                                                                     \
    "b 9f\n\t"

#if EG_M7_SCHEDULE
/* the M7's block loop: G = K / 4 groups as EG_Q_LOAD, G - 1 EG_Q_NEXT (two a turn; one before the loop when G is
 * even), EG_Q_LAST; START: EG_Q_EVEN (with the G = 0 exit), EG_Q_EVEN_K0 (K = 0 mod 8) or EG_Q_ODD */
#define EG_Q_EVEN_K0 EG_Q_LOAD EG_Q_NEXT
#define EG_Q_EVEN "cmp r9, r11\n\tbeq 2f\n\t" EG_Q_EVEN_K0
#define EG_Q_ODD EG_Q_LOAD
#define EG_P_LOOP(START)                                                                              \
    START                                                                                            \
    "cmp r9, r11\n\t"                                                                                \
    "beq 4f\n\t"                                                                                     \
    "3:\n\t" EG_Q_NEXT EG_Q_NEXT                                                                     \
    "cmp r9, r11\n\t"                                                                                \
    "bne 3b\n\t"                                                                                     \
    "4:\n\t" EG_Q_LAST
#define EG_X_P_K0 EG_P_LOOP(EG_Q_EVEN_K0)
#define EG_X_P_EVEN EG_P_LOOP(EG_Q_EVEN)
#define EG_X_P_ODD EG_P_LOOP(EG_Q_ODD)
#else
#define EG_P_LOOP(ODD, CHECK)                                                                         \
    ODD                                                                                              \
    CHECK                                                                                            \
    "3:\n\t" EG_P_GROUP EG_P_GROUP                                                                   \
    "cmp r9, r11\n\t"                                                                                \
    "bne 3b\n\t"
#define EG_X_P_K0 EG_P_LOOP("", "")
#define EG_X_P_EVEN EG_P_LOOP("", EG_A_CHECK)
#define EG_X_P_ODD EG_P_LOOP(EG_P_GROUP, EG_A_CHECK)
#endif

/* The copies for one exact K (a literal, EG_PAIRS_K1..4: the model's products, model.h), in straight lines: no loop
 * turn in S or in a block (the assembler's .rept writes the K / 4 groups). EG_P_EXACT_S_RQ: S = 128 sum x by LDMs of
 * 8 inputs (two register sets in turn, so that no SMLAD reads the LDM just before it: the M33's load-use wait), the
 * last 2-6 inputs by single loads; then the rq pointer into r11 (rq - bias - 16 is on the stack, r12 the bias
 * pointer; these copies have no loop end to keep there). */
#define EG_P_SUM4(A, B, C, D)                                                                        \
    "smlad r8, " A ", r0, r8\n\t"                                                                     \
    "smlad r8, " B ", r0, r8\n\t"                                                                     \
    "smlad r8, " C ", r0, r8\n\t"                                                                     \
    "smlad r8, " D ", r0, r8\n\t"
#define EG_P_EXACT_S_RQ(K)                                                                           \
    "mov r9, r4\n\t"                                                                                 \
    "mov r8, #0\n\t"                                                                                 \
    ".if ((" K ") / 8) & 1\n\t"                                                                      \
    "ldmia r9!, {r4-r7}\n\t"                                                                         \
    "mov r0, #0x00010001\n\t"                                                                        \
    EG_P_SUM4("r4", "r5", "r6", "r7")                                                                 \
    ".else\n\t"                                                                                      \
    "mov r0, #0x00010001\n\t"                                                                        \
    ".endif\n\t"                                                                                     \
    ".rept (" K ") / 16\n\t"                                                                         \
    "ldmia r9!, {r4-r7}\n\t"                                                                         \
    "ldmia r9!, {r1, r2, r3, r11}\n\t"                                                               \
    EG_P_SUM4("r4", "r5", "r6", "r7") EG_P_SUM4("r1", "r2", "r3", "r11")                               \
    ".endr\n\t"                                                                                      \
    ".if (" K ") & 6\n\t" "ldr r1, [r9], #4\n\t" ".endif\n\t"                                          \
    ".if ((" K ") & 6) >= 4\n\t" "ldr r2, [r9], #4\n\t" ".endif\n\t"                                  \
    ".if ((" K ") & 6) >= 6\n\t" "ldr r3, [r9], #4\n\t" ".endif\n\t"                                  \
    "ldr r11, [sp, #4]\n\t"                                                                          \
    ".if (" K ") & 6\n\t" "smlad r8, r1, r0, r8\n\t" ".endif\n\t"                                      \
    ".if ((" K ") & 6) >= 4\n\t" "smlad r8, r2, r0, r8\n\t" ".endif\n\t"                              \
    ".if ((" K ") & 6) >= 6\n\t" "smlad r8, r3, r0, r8\n\t" ".endif\n\t"                              \
    "lsl r8, r8, #7\n\t"                                                                             \
    "add r11, r11, r12\n\t"                                                                          \
    "add r11, r11, #16\n\t"
#if EG_M7_SCHEDULE
/* the block loop of K inputs (after EG_P_EXACT_S_RQ): the K / 4 groups software-pipelined, then the last 2 inputs as
 * EG_P_HALF without the rq address (r11 holds it) */
#define EG_P_EXACT_BODY(K)                                                                           \
    EG_P_START                                                                                       \
    ".if (" K ") / 4\n\t" EG_Q_LOAD ".rept (" K ") / 4 - 1\n\t" EG_Q_NEXT ".endr\n\t" EG_Q_LAST ".endif\n\t"     \
    ".if (" K ") & 2\n\t" EG_P_HALF_LOADS EG_P_HALF_OPS("r4", "", "") ".endif\n\t"
#else
/* M4/M33 (K >= 8 here: fewer take EG_P_SMALL): the inputs at fixed offsets from r9, which stays at the operand's start
 * for every block (the assembler symbol .Leg_xo counts the offset), so no pointer reset per block; the block's first
 * group takes lo = bias - S between its loads and its DSP instructions (after the LDM's first use: the M33) */
#define EG_P_XGROUP(SUBS)                                                                            \
    "ldr r4, [r9, #.Leg_xo]\n\t"                                                                       \
    "ldr r5, [r9, #.Leg_xo + 4]\n\t"                                                                   \
    "ldr r6, [r10], #4\n\t"                                                                          \
    "ldr r7, [r10], #4\n\t" SUBS                                                                     \
    EG_P_PAIR("r6", "r7", "r0", "r1")                                                                 \
    "ldr r6, [r10], #4\n\t"                                                                          \
    "ldr r7, [r10], #4\n\t"                                                                          \
    EG_P_PAIR("r6", "r7", "r2", "r3")                                                                 \
    ".set .Leg_xo, .Leg_xo + 8\n\t"
#define EG_P_EXACT_BODY(K)                                                                           \
    "sub r9, r9, #(2 * (" K "))\n\t"     /* back to the operand's start */                           \
    "1:\n\t"                                                                                         \
    "ldmia r12!, {r0-r3}\n\t"                                                                        \
    ".set .Leg_xo, 0\n\t"                                                                              \
    EG_P_XGROUP("sub r0, r0, r8\n\tsub r2, r2, r8\n\t")                                               \
    ".rept (" K ") / 4 - 1\n\t" EG_P_XGROUP("") ".endr\n\t"                                          \
    ".if (" K ") & 2\n\t"                                                                            \
    "ldr r6, [r10], #4\n\t"                                                                          \
    "ldr r4, [r9, #.Leg_xo]\n\t"                                                                       \
    "ldr r7, [r10], #4\n\t"                                                                          \
    EG_P_HALF_OPS("r4", "", "")                                                                       \
    ".endif\n\t"
#endif
#define EG_P_EXACT(K)                                                                                \
    EG_P_EXACT_BODY(K)                                                                               \
    "sub r0, r0, r1, lsl #8\n\t"                                                                       \
    "ldmia r11!, {r4-r7}\n\t"                                                                        \
    "sub r2, r2, r3, lsl #8\n\t"                                                                     \
    EG_A_REQUANT_STORE                                                                               \
    "cmp lr, r4\n\t"                                                                                 \
    "bne 1b\n\t"                                                                                     \
    "b 9f\n\t"
#if !EG_M7_SCHEDULE
/* K <= 6 (an input product of a few features): the inputs stay in registers for every block (r4, r5, r9), the rq
 * pointer in r11, the multipliers two at a time through r6, r7: no input load and no pointer reset per block. */
#define EG_P_LD6 "ldr r6, [r10], #4\n\t"
/* one group (inputs r4 = x0 x1, r5 = x2 x3), as EG_P_GROUP without its input loads: columns 0, 1 (words: inputs
 * 0-1, 2-3), then 2, 3; LD6: the first word's load, "" when the block start has made it */
#define EG_P_SMALL_GROUP(LD6)                                                                        \
    LD6 "ldr r7, [r10], #4\n\t" EG_P_PAIR("r6", "r7", "r0", "r1")                                    \
    EG_P_LD6 "ldr r7, [r10], #4\n\t" EG_P_PAIR("r6", "r7", "r2", "r3")
/* the last 2 inputs (r9): one word per pair of columns */
#define EG_P_SMALL_HALF(LD6) LD6 "ldr r7, [r10], #4\n\t" EG_P_HALF_OPS("r9", "", "")
#define EG_P_SMALL(K)                                                                                \
    "ldr r9, [sp]\n\t"                                                                               \
    ".if (" K ") >= 4\n\t"                                                                           \
    "ldrd r4, r5, [r9]\n\t"                                                                          \
    ".if (" K ") & 2\n\t"                                                                            \
    "ldr r9, [r9, #8]\n\t"                                                                           \
    ".endif\n\t"                                                                                     \
    ".else\n\t"                                                                                      \
    "ldr r9, [r9]\n\t"                                                                               \
    ".endif\n\t"                                                                                     \
    "1:\n\t"                                                                                         \
    "ldmia r12!, {r0-r3}\n\t"                                                                        \
    "ldr r6, [r10], #4\n\t"              /* the first weight word: no wait on the LDM (the M33) */      \
    "sub r0, r0, r8\n\t"                                                                             \
    "sub r2, r2, r8\n\t"                                                                             \
    ".if (" K ") >= 4\n\t" EG_P_SMALL_GROUP("")                                                      \
    ".if (" K ") & 2\n\t" EG_P_SMALL_HALF(EG_P_LD6) ".endif\n\t"                                        \
    ".else\n\t" EG_P_SMALL_HALF("") ".endif\n\t"                                                        \
    "ldmia r11!, {r6, r7}\n\t"            /* (each LDM's first use an instruction later: the M33) */     \
    "sub r0, r0, r1, lsl #8\n\t"                                                                       \
    "smmulr r0, r0, r6\n\t"                                                                          \
    "smmulr r1, r1, r7\n\t"                                                                          \
    "ldmia r11!, {r6, r7}\n\t"                                                                       \
    "sub r2, r2, r3, lsl #8\n\t"                                                                     \
    "smmulr r2, r2, r6\n\t"                                                                          \
    "str r0, [lr], #" EG_S(16 * EG_OS) "\n\t"                                                        \
    "smmulr r3, r3, r7\n\t"                                                                          \
    "ldr r6, [sp, #8]\n\t"                                                                           \
    "str r1, [lr, #-" EG_S(12 * EG_OS) "]\n\t"                                                       \
    "str r2, [lr, #-" EG_S(8 * EG_OS) "]\n\t"                                                        \
    "str r3, [lr, #-" EG_S(4 * EG_OS) "]\n\t"                                                        \
    "cmp lr, r6\n\t"                                                                                 \
    "bne 1b\n\t"                                                                                     \
    "b 9f\n\t"
#define EG_P_COPY(K) ".if (" K ") <= 6\n\t" EG_P_SMALL(K) ".else\n\t" EG_P_EXACT(K) ".endif\n\t"
#else
#define EG_P_COPY(K) EG_P_EXACT(K)
#endif
/* A product of more than EG_PAIRS_STRAIGHT_K inputs (converters/c_paths.py: PAIRS_STRAIGHT_MAX_K) takes a rolled copy
 * instead: the generic S loop, then per block its K / 4 groups as (K / 4) % EG_PAIRS_ROLL of them in a straight line
 * and the rest EG_PAIRS_ROLL a loop turn, or all in a line when that would be a single turn (the M7: its software-
 * pipelined groups the same way), so its code stays under 2 EG_PAIRS_ROLL - 1 groups whatever K (seed GRU(50)'s 50
 * inputs on the M4: 6 groups a turn, 2 turns, instead of 12 groups in a line; the loop copies take 2 a turn). */
#define EG_PAIRS_STRAIGHT_K 24
#if EG_M7_SCHEDULE
#define EG_PAIRS_ROLL 4       /* (the M7's groups are longer, its target has room: code first) */
#else
#define EG_PAIRS_ROLL 6
#endif
/* N groups G: in a line below 2 EG_PAIRS_ROLL, else N % EG_PAIRS_ROLL in a line and the rest in a loop (r9 = r11 at
 * the end: the inputs' pointer, which each group advances, at the end of the operand's groups) */
#define EG_P_ROLL(N, G)                                                                               \
    ".if (" N ") < 2 * " EG_S(EG_PAIRS_ROLL) "\n\t" ".rept " N "\n\t" G ".endr\n\t"                   \
    ".else\n\t" ".rept (" N ") % " EG_S(EG_PAIRS_ROLL) "\n\t" G ".endr\n\t"                            \
    "3:\n\t" ".rept " EG_S(EG_PAIRS_ROLL) "\n\t" G ".endr\n\t"                                          \
    "cmp r9, r11\n\t"                                                                                 \
    "bne 3b\n\t"                                                                                      \
    ".endif\n\t"
#if EG_M7_SCHEDULE
#define EG_X_P_ROLL(K) EG_Q_LOAD EG_P_ROLL("(" K ") / 4 - 1", EG_Q_NEXT) EG_Q_LAST
#else
#define EG_X_P_ROLL(K) EG_P_ROLL("(" K ") / 4", EG_P_GROUP)
#endif
/* the rolled copy's blocks (after the generic S loop, which leaves r11 at the end of the inputs' groups) */
#define EG_P_ROLLED(K) EG_P_BLOCKS(EG_X_P_ROLL(K), ".if (" K ") & 2\n\t" EG_P_HALF ".else\n\t" EG_A_RQ ".endif\n\t")
/* the dispatch to copy N of K inputs (0: none): a straight-line copy before S (EG_P_TO_K), a rolled one after it
 * (EG_P_TO_R); the assembler's .if picks */
#define EG_P_TO_K(K, N)                                                                               \
    ".if (" K ") && (" K ") <= " EG_S(EG_PAIRS_STRAIGHT_K) "\n\t" "cmp r7, #" K "\n\tbeq 3" N "f\n\t" ".endif\n\t"
#define EG_P_TO_R(K, N)                                                                               \
    ".if (" K ") > " EG_S(EG_PAIRS_STRAIGHT_K) "\n\t" "cmp r7, #" K "\n\tbeq 3" N "f\n\t" ".endif\n\t"
#define EG_P_TO_ALL(TO)                                                                               \
    TO(EG_S(EG_PAIRS_K1), "1") TO(EG_S(EG_PAIRS_K2), "2") TO(EG_S(EG_PAIRS_K3), "3") TO(EG_S(EG_PAIRS_K4), "4")
/* EG_P_EXIT (label 9): the next product's arguments (eg_matrix_p8_asm's second argument, kept at [sp, #12]) run in
 * the same call (back to label 8, next = 0), which saves the return, the call and the registers' save and restore
 * between two products of a step (edge_gru_run.h); after the last product, the gates' arguments (the third,
 * at [sp, #16]; eg_gates_dsp16 in a build with a Q0.15 reset_after path) continue into eg_gates_dsp16 past its
 * registers' save, which returns to this call's caller; else return. */
#if EG_USE_A16 && EG_USE_AFTER && !EG_MVE   /* (eg_gates_dsp16 exists: edge_gru_dsp_gates.h) */
#define EG_P_TO_GATES "cbz r0, 6f\n\tb .Leg_gates_dsp16_body\n\t6:\n\t"
#else
#define EG_P_TO_GATES ""
#endif
#define EG_P_EXIT                                                                                    \
    "9:\n\t"                                                                                         \
    "ldr r0, [sp, #12]\n\t"                                                                          \
    "cbnz r0, 7f\n\t"                                                                                \
    "ldr r0, [sp, #16]\n\t"                                                                          \
    "add sp, sp, #24\n\t"                                                                            \
    EG_P_TO_GATES                                                                                    \
    "pop {r4-r11, pc}\n\t"                                                                           \
    "7:\n\t"                                                                                         \
    "mov r1, #0\n\t"                                                                                 \
    "b 8b\n\t"
/* nb blocks of the pairs layout with a bias and SMMULR requantization (the arguments of eg_matrix_i8_asm). A K with
 * its own copy (EG_PAIRS_K1..4) goes there; else first
 * S = 128 sum x over the operand (2 words a turn with SMLAD against 0x00010001), kept in r8; then the block loop
 * of the K & 6 at hand. Registers in the block loop: r0 lo of columns 0, 1, r1 column 1, r2 lo of columns 2, 3, r3
 * column 3, r4 r5 inputs, r6 r7 weights, r8 S, r9 input pointer, r10 weight pointer, r11 end of the inputs' groups,
 * r12 bias pointer, lr output pointer; on the stack the inputs' start, rq - bias - 16, the end of the output. */
__attribute__((naked, noinline)) static void eg_matrix_p8_asm(const eg_i8_args_t *a __attribute__((unused)),
                                                              const eg_i8_args_t *next __attribute__((unused)),
                                                              const void *gates __attribute__((unused)))
{
    __asm__ volatile(
        "push {r4-r11, lr}\n\t"
        "sub sp, sp, #24\n\t"
        "str r2, [sp, #16]\n\t"             /* the gates to run after the products (EG_P_EXIT), or 0 */
        "8:\n\t"
        "str r1, [sp, #12]\n\t"             /* the product to run after this one (EG_P_EXIT), or 0 */
        EG_I8_LOAD
        EG_P_TO_ALL(EG_P_TO_K)
        "mov r9, r4\n\t"                    /* S = 128 sum x */
        "mov r8, #0\n\t"
        "mov r0, #0x00010001\n\t"
        "cmp r9, r11\n\t"
        "beq 21f\n\t"
        "20:\n\t"
        "ldr r4, [r9], #4\n\t"
        "ldr r5, [r9], #4\n\t"
        "smlad r8, r4, r0, r8\n\t"
        "smlad r8, r5, r0, r8\n\t"
        "cmp r9, r11\n\t"
        "bne 20b\n\t"
        "21:\n\t"
        "tst r7, #2\n\t"
        "itt ne\n\t"
        "ldrne r4, [r9]\n\t"
        "smladne r8, r4, r0, r8\n\t"
        "lsl r8, r8, #7\n\t"
        EG_P_TO_ALL(EG_P_TO_R)
        EG_I8_DISPATCH);
    /* (two statements per copy, S then its blocks: a C99 string literal stays under 4095 characters) */
#if EG_USE_I8_K0
    __asm__ volatile("10:\n\t" EG_P_BLOCKS(EG_X_P_K0, EG_A_RQ));
#endif
#if EG_USE_I8_K2
    __asm__ volatile("12:\n\t" EG_P_BLOCKS(EG_X_P_EVEN, EG_P_HALF));
#endif
#if EG_USE_I8_K4
    __asm__ volatile("14:\n\t" EG_P_BLOCKS(EG_X_P_ODD, EG_A_RQ));
#endif
#if EG_USE_I8_K6
    __asm__ volatile("16:\n\t" EG_P_BLOCKS(EG_X_P_ODD, EG_P_HALF));
#endif
#if EG_PAIRS_K1 && EG_PAIRS_K1 <= EG_PAIRS_STRAIGHT_K   /* (S, then the blocks: each under C99's 4095 characters) */
    __asm__ volatile("31:\n\t" EG_P_EXACT_S_RQ(EG_S(EG_PAIRS_K1)));
    __asm__ volatile(EG_P_COPY(EG_S(EG_PAIRS_K1)));
#elif EG_PAIRS_K1
    __asm__ volatile("31:\n\t" EG_P_ROLLED(EG_S(EG_PAIRS_K1)));
#endif
#if EG_PAIRS_K2 && EG_PAIRS_K2 <= EG_PAIRS_STRAIGHT_K   /* (S, then the blocks: each under C99's 4095 characters) */
    __asm__ volatile("32:\n\t" EG_P_EXACT_S_RQ(EG_S(EG_PAIRS_K2)));
    __asm__ volatile(EG_P_COPY(EG_S(EG_PAIRS_K2)));
#elif EG_PAIRS_K2
    __asm__ volatile("32:\n\t" EG_P_ROLLED(EG_S(EG_PAIRS_K2)));
#endif
#if EG_PAIRS_K3 && EG_PAIRS_K3 <= EG_PAIRS_STRAIGHT_K   /* (S, then the blocks: each under C99's 4095 characters) */
    __asm__ volatile("33:\n\t" EG_P_EXACT_S_RQ(EG_S(EG_PAIRS_K3)));
    __asm__ volatile(EG_P_COPY(EG_S(EG_PAIRS_K3)));
#elif EG_PAIRS_K3
    __asm__ volatile("33:\n\t" EG_P_ROLLED(EG_S(EG_PAIRS_K3)));
#endif
#if EG_PAIRS_K4 && EG_PAIRS_K4 <= EG_PAIRS_STRAIGHT_K   /* (S, then the blocks: each under C99's 4095 characters) */
    __asm__ volatile("34:\n\t" EG_P_EXACT_S_RQ(EG_S(EG_PAIRS_K4)));
    __asm__ volatile(EG_P_COPY(EG_S(EG_PAIRS_K4)));
#elif EG_PAIRS_K4
    __asm__ volatile("34:\n\t" EG_P_ROLLED(EG_S(EG_PAIRS_K4)));
#endif
    __asm__ volatile(EG_P_EXIT);
}

static EG_INLINE void eg_matrix_p8_fast(int32_t *out, const uint32_t *v, int32_t K, const int8_t *w, int32_t nb,
                                        const int32_t *bias, const int32_t *rq)
{
    eg_i8_args_t a;
    eg_i8_args(&a, out, v, K, w, nb, bias, rq);
    eg_matrix_p8_asm(&a, 0, 0);
}
#endif

#endif
