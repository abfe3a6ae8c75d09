/* edge-gru: the Arm DSP-extension gates and state update of a reset_after layer with a Q0.15 state (Cortex-M4/M7/M33)
 * in assembly. Included by edge_gru.c after its integer primitives; the integers are those of the other paths
 * (edge_gru/fixed/kernels.py). */
#ifndef EDGE_GRU_DSP_GATES_H
#define EDGE_GRU_DSP_GATES_H

#if EG_DSP && !EG_MVE
/* reset_after gates and state update for a Q0.15 state (a16), the loop of eg_gates_update_after in assembly: per
 * unit, z and r side by side (their table loads pipeline, no address waits on the result before it), then the
 * candidate and the update. The same integers as the C loop (kernels.py), every line names the float line:
 *   z  = act(sig, sat16(x_z + hU_z))           r = act(sig, sat16(x_r + hU_r))
 *   hh = act(tanh, sat16(sat21(x_h) + ((r sat16(hU_h) + 2^14) >> 15)))
 *   h  = max(sat16(hh + ((z (h_tm1 - hh) + 2^14) >> 15)), -32767)
 * act(mid, v) = t0 + (((t1 - t0) (v & 127) + 64) >> 7), t0, t1 = mid[v >> 7], mid[(v >> 7) + 1].
 * h's saturation is left out: it never acts (EG_H_IN_RANGE below), so the integers are the same.
 * Registers: r0 r1 r2 the (x W, h U) pairs of z, r and the candidate (8 bytes a unit), r3 the state, r4 r5 the
 * sigmoid and tanh tables' middles, r6-r11 temporaries, r12 = 64 and (M4/M33) lr = 2^14, the MLAs' rounding terms,
 * the state's end on the stack (the M7's two loops: lr the state's end). */
/* EG_H_IN_RANGE: h = hh + ((z (h_tm1 - hh) + 2^14) >> 15) lies between hh and h_tm1 when 0 <= z <= 32767 (a rounded
 * step of less than the whole distance), so within [-32767, 32767] when both are: act interpolates between two table
 * entries, the sigmoid table holds [0, 32767] and the tanh table [-32767, 32767] (edge_gru/fixed/quantize.py
 * activation_tables; a model file with other tables is refused, edge_gru/fixed/io.py), and the state starts at 0 and
 * holds only such h. The saturation of the reference (to_state) therefore never changes h; the assembly omits it
 * (tests/unit/test_fixed_bounds.py checks the bound). */
typedef struct {
    const int32_t *pz, *pr, *ph;  /* [0] [4] [8] */
    int16_t *h, *h_end;           /* [12] [16] */
    const int16_t *sig, *tanh;    /* [20] [24] the tables' middles (tab + 256) */
} eg_gates_args_t;
EG_ASM_OFFSET(eg_gates_args_t, eg_gates, pz, 0);
EG_ASM_OFFSET(eg_gates_args_t, eg_gates, h_end, 16);
EG_ASM_OFFSET(eg_gates_args_t, eg_gates, tanh, 24);
/* the entry after the registers' save: the pairs kernel, run with these arguments as its third (EG_P_EXIT), branches
 * here with r0 = them and its own save of r4-r11, lr, so one save and restore serve the products and the gates */
#define EG_GATES_BODY ".Leg_gates_dsp16_body:\n\t"
/* z's and r's table entries from (x_z, h_tm1 U_z) in r6, r7 and (x_r, h_tm1 U_r) in r8, r9: t0 in r7 and r9, t1 - t0
 * in r10 and r11, the fractions in r6 and r8 (the lines both schedules share) */
#define EG_G_LOOKUPS                                                                                 \
    "ldrd r6, r7, [r0], #8\n\t"         /* x_z, h_tm1 U_z */                                        \
    "ldrd r8, r9, [r1], #8\n\t"         /* x_r, h_tm1 U_r */                                        \
    EG_G_ENTRIES
#define EG_G_ENTRIES                                                                                 \
    "add r6, r6, r7\n\t"                                                                            \
    "add r8, r8, r9\n\t"                                                                            \
    "ssat r6, #16, r6\n\t"                                                                          \
    "ssat r8, #16, r8\n\t"                                                                          \
    "asr r7, r6, #7\n\t"                                                                            \
    "asr r9, r8, #7\n\t"                                                                            \
    "and r6, r6, #127\n\t"                                                                          \
    "and r8, r8, #127\n\t"                                                                          \
    "add r7, r4, r7, lsl #1\n\t"                                                                    \
    "add r9, r4, r9, lsl #1\n\t"                                                                    \
    "ldrsh r10, [r7, #2]\n\t"                                                                       \
    "ldrsh r7, [r7]\n\t"                                                                            \
    "ldrsh r11, [r9, #2]\n\t"                                                                       \
    "ldrsh r9, [r9]\n\t"                                                                            \
    "sub r10, r10, r7\n\t"                                                                          \
    "sub r11, r11, r9\n\t"
#if EG_M7_SCHEDULE
/* Cortex-M7: the candidate and the update form one chain per unit, which the M7 cannot pair, so two loops: the first
 * computes z and the candidate's pre-activation v = sat16(x_h + r * (h_tm1 U_h + b_hh)) per unit and writes them over
 * the unit's r pair; the second takes two units a turn (two chains side by side, which pair), and a last odd unit.
 * Second loop's registers: r0 the (z, v) pairs, r1 the state, r2 the tanh table's middle, r3 the end of the pairs of
 * units, r4-r8 and r9-r12, lr the two units' z, v, h_tm1, table address, t1. */
/* z and r of the next unit (z stored over its x_r, r into r3) */
#define EG_G_ZR                                                                                      \
    EG_G_LOOKUPS                                                                                    \
    "mul r6, r10, r6\n\t"                                                                           \
    "mul r8, r11, r8\n\t"                                                                           \
    "add r6, r6, #64\n\t"                                                                           \
    "add r8, r8, #64\n\t"                                                                           \
    "add r6, r7, r6, asr #7\n\t"        /* z = sigmoid(x_z + h_tm1 U_z) */                          \
    "str r6, [r1, #-8]\n\t"                                                                         \
    "add r3, r9, r8, asr #7\n\t"        /* r = sigmoid(x_r + h_tm1 U_r) */
/* the candidate's pre-activation of the unit before (r in r3), stored over its h_tm1 U_r at OFF from r1 */
#define EG_G_V(OFF)                                                                                  \
    "ldrd r5, r12, [r2], #8\n\t"        /* x_h, h_tm1 U_h + b_hh */                                 \
    "ssat r12, #16, r12\n\t"                                                                        \
    "mul r3, r3, r12\n\t"                                                                           \
    "ssat r5, #21, r5\n\t"                                                                          \
    "add r3, r3, #16384\n\t"                                                                        \
    "add r3, r5, r3, asr #15\n\t"       /* x_h + r * (h_tm1 U_h + b_hh) */                          \
    "ssat r3, #16, r3\n\t"                                                                          \
    "str r3, [r1, #" OFF "]\n\t"
/* EG_G_ZR of unit k and EG_G_V of unit k - 1 interleaved (scheduled for the M7's pairs: 19 cycles on its model
 * against 22 in sequence) */
#define EG_G_ZRV                                                                                     \
    "ldrd r6, r7, [r0], #8\n\t"                                                                     \
    "ldrd r8, r9, [r1], #8\n\t"                                                                     \
    "add r6, r6, r7\n\t"                                                                            \
    "add r8, r8, r9\n\t"                                                                            \
    "ssat r6, #16, r6\n\t"                                                                          \
    "asr r7, r6, #7\n\t"                                                                            \
    "and r6, r6, #127\n\t"                                                                          \
    "add r7, r4, r7, lsl #1\n\t"                                                                    \
    "ssat r8, #16, r8\n\t"                                                                          \
    "ldrsh r10, [r7, #2]\n\t"                                                                       \
    "ldrd r5, r12, [r2], #8\n\t"        /* the unit before: x_h, h_tm1 U_h + b_hh */                \
    "asr r9, r8, #7\n\t"                                                                            \
    "ldrsh r7, [r7]\n\t"                                                                            \
    "add r9, r4, r9, lsl #1\n\t"                                                                    \
    "sub r10, r10, r7\n\t"                                                                          \
    "ssat r12, #16, r12\n\t"                                                                        \
    "ldrsh r11, [r9, #2]\n\t"                                                                       \
    "mul r6, r10, r6\n\t"                                                                           \
    "ldrsh r9, [r9]\n\t"                                                                            \
    "mul r3, r3, r12\n\t"                                                                           \
    "add r6, r6, #64\n\t"                                                                           \
    "ssat r5, #21, r5\n\t"                                                                          \
    "add r3, r3, #16384\n\t"                                                                        \
    "and r8, r8, #127\n\t"                                                                          \
    "sub r11, r11, r9\n\t"                                                                          \
    "add r6, r7, r6, asr #7\n\t"        /* z = sigmoid(x_z + h_tm1 U_z) */                          \
    "mul r8, r11, r8\n\t"                                                                           \
    "add r3, r5, r3, asr #15\n\t"       /* the unit before: x_h + r * (h_tm1 U_h + b_hh) */         \
    "str r6, [r1, #-8]\n\t"                                                                         \
    "ssat r3, #16, r3\n\t"                                                                          \
    "add r8, r8, #64\n\t"                                                                           \
    "str r3, [r1, #-12]\n\t"                                                                        \
    "add r3, r9, r8, asr #7\n\t"        /* r = sigmoid(x_r + h_tm1 U_r) */
/* hh = tanh(v) and h = hh + z (h_tm1 - hh) of one unit: Z V H (its z, v, h_tm1), A T (temporaries) */
#define EG_G_HH(Z, V, H, A, T)                                                                       \
    "asr " A ", " V ", #7\n\t"                                                                      \
    "and " V ", " V ", #127\n\t"                                                                    \
    "add " A ", r2, " A ", lsl #1\n\t"                                                              \
    "ldrsh " T ", [" A ", #2]\n\t"                                                                  \
    "ldrsh " A ", [" A "]\n\t"                                                                      \
    "sub " T ", " T ", " A "\n\t"                                                                   \
    "mul " V ", " T ", " V "\n\t"                                                                   \
    "add " V ", " V ", #64\n\t"                                                                     \
    "add " V ", " A ", " V ", asr #7\n\t"           /* hh = tanh(x_h + r * (h_tm1 U_h + b_hh)) */   \
    "sub " H ", " H ", " V "\n\t"                                                                   \
    "mul " H ", " Z ", " H "\n\t"                                                                   \
    "add " H ", " H ", #16384\n\t"                                                                  \
    "add " V ", " V ", " H ", asr #15\n\t"          /* h = hh + z * (h_tm1 - hh) (EG_H_IN_RANGE) */
/* the two units' lines interleaved in the order a list scheduler found for the M7 model (22 cycles a turn on its
 * model with the loads and stores) */
#define EG_G_HH2                                                                                     \
    "asr r7, r5, #7\n\t"                                                                            \
    "asr r12, r10, #7\n\t"                                                                          \
    "add r7, r2, r7, lsl #1\n\t"                                                                    \
    "and r5, r5, #127\n\t"                                                                          \
    "ldrsh r8, [r7, #2]\n\t"                                                                        \
    "add r12, r2, r12, lsl #1\n\t"                                                                  \
    "ldrsh r7, [r7]\n\t"                                                                            \
    "and r10, r10, #127\n\t"                                                                        \
    "ldrsh lr, [r12, #2]\n\t"                                                                       \
    "sub r8, r8, r7\n\t"                                                                            \
    "ldrsh r12, [r12]\n\t"                                                                          \
    "mul r5, r8, r5\n\t"                                                                            \
    "sub lr, lr, r12\n\t"                                                                           \
    "add r5, r5, #64\n\t"                                                                           \
    "ldrsh r6, [r1]\n\t" /* h_tm1 */                                                                \
    "mul r10, lr, r10\n\t"                                                                          \
    "add r5, r7, r5, asr #7\n\t" /* hh = tanh(x_h + r * (...)) */                                   \
    "add r10, r10, #64\n\t"                                                                         \
    "sub r6, r6, r5\n\t"                                                                            \
    "ldrsh r11, [r1, #2]\n\t" /* h_tm1 */                                                           \
    "add r10, r12, r10, asr #7\n\t" /* hh = tanh(x_h + r * (...)) */                                \
    "mul r6, r4, r6\n\t"                                                                            \
    "sub r11, r11, r10\n\t"                                                                         \
    "add r6, r6, #16384\n\t"                                                                        \
    "mul r11, r9, r11\n\t"                                                                          \
    "add r5, r5, r6, asr #15\n\t" /* h = hh + z * (h_tm1 - hh) (EG_H_IN_RANGE) */                   \
    "add r11, r11, #16384\n\t"                                                                      \
    "add r10, r10, r11, asr #15\n\t" /* h = hh + z * (h_tm1 - hh) */
__attribute__((naked, noinline)) static void eg_gates_dsp16(const eg_gates_args_t *a __attribute__((unused)))
{
    __asm__ volatile(
        "push {r4-r11, lr}\n\t"
        EG_GATES_BODY
        "ldr r1, [r0, #4]\n\t"
        "ldr r3, [r0, #12]\n\t"
        "ldr r5, [r0, #16]\n\t"
        "ldr r6, [r0, #24]\n\t"
        "push {r1, r3, r5, r6}\n\t"          /* [sp] the (z, v) pairs, [sp, #4] the state, its end, tanh */
        "ldr r2, [r0, #8]\n\t"
        "ldr r4, [r0, #20]\n\t"
        "ldr r0, [r0]\n\t"
        "sub r5, r5, r3\n\t"                 /* 2 H bytes */
        "add lr, r1, r5, lsl #2\n\t"         /* the end of the r pairs: 8 bytes a unit */
        EG_G_ZR                              /* unit 0 */
        "cmp r1, lr\n\t"
        "beq 5f\n\t"
        "1:\n\t" EG_G_ZRV
        "cmp r1, lr\n\t"
        "bne 1b\n\t"
        "5:\n\t" EG_G_V("-4"));              /* the last unit */
    __asm__ volatile(
        "ldr r0, [sp]\n\t"
        "ldr r1, [sp, #4]\n\t"
        "ldr r3, [sp, #8]\n\t"
        "ldr r2, [sp, #12]\n\t"
        "sub r3, r3, r1\n\t"
        "bic r3, r3, #3\n\t"                 /* the bytes of the pairs of units */
        "add r3, r1, r3\n\t"
        "cmp r1, r3\n\t"
        "beq 3f\n\t"
        "2:\n\t"
        "ldrd r4, r5, [r0], #8\n\t"          /* z, v of two units */
        "ldrd r9, r10, [r0], #8\n\t"
        EG_G_HH2
        "strh r10, [r1, #2]\n\t"
        "strh r5, [r1], #4\n\t"
        "cmp r1, r3\n\t"
        "bne 2b\n\t");
    __asm__ volatile(
        "3:\n\t"
        "ldr r3, [sp, #8]\n\t"
        "cmp r1, r3\n\t"
        "beq 4f\n\t"
        "ldrd r4, r5, [r0]\n\t"              /* the last unit of an odd count */
        "ldrsh r6, [r1]\n\t"
        EG_G_HH("r4", "r5", "r6", "r7", "r8")
        "strh r5, [r1]\n\t"
        "4:\n\t"
        "add sp, sp, #16\n\t"
        "pop {r4-r11, pc}\n\t");
}
#else
/* one unit: z, r, hh and h, the state written (M4 and M33: the loop below runs two a turn, so the loop test and
 * its taken branch come once per two units; END, after hh, loads the state's end for that test). r12 = 64 and
 * lr = 2^14 are the rounding terms of the MLAs (the state's end is on the stack) */
#define EG_G_UNIT(END)                                                                               \
    "ldr r7, [r0, #4]\n\t"             /* h_tm1 U_z (4 LDRs: 5 cycles on the M4, 2 LDRDs 6) */       \
    "ldr r6, [r0], #8\n\t"             /* x_z */                                                    \
    "ldr r9, [r1, #4]\n\t"             /* h_tm1 U_r */                                              \
    "ldr r8, [r1], #8\n\t"             /* x_r */                                                    \
    EG_G_ENTRIES                                                                                    \
    "mla r6, r10, r6, r12\n\t"                                                                      \
    "mla r8, r11, r8, r12\n\t"                                                                      \
    "add r8, r9, r8, asr #7\n\t"        /* r = sigmoid(x_r + h_tm1 U_r) */                          \
    "ldrd r10, r11, [r2], #8\n\t"       /* x_h, h_tm1 U_h + b_hh */                                 \
    "add r6, r7, r6, asr #7\n\t"        /* z = sigmoid(x_z + h_tm1 U_z) (not the LDRD's: M33 load-use) */\
    "ssat r11, #16, r11\n\t"                                                                        \
    "mla r8, r8, r11, lr\n\t"                                                                       \
    "ssat r10, #21, r10\n\t"                                                                        \
    "add r8, r10, r8, asr #15\n\t"      /* x_h + r * (h_tm1 U_h + b_hh) */                          \
    "ssat r8, #16, r8\n\t"                                                                          \
    "asr r7, r8, #7\n\t"                                                                            \
    "add r7, r5, r7, lsl #1\n\t"                                                                    \
    "and r8, r8, #127\n\t"             /* (between the address and its load: the M4's AGU stall) */  \
    "ldrsh r9, [r7, #2]\n\t"                                                                        \
    "ldrsh r7, [r7]\n\t"                                                                            \
    "ldrsh r10, [r3]\n\t"               /* h_tm1 (between t0's load and its use: M33 load-use) */    \
    "sub r9, r9, r7\n\t"                                                                            \
    "mla r8, r9, r8, r12\n\t"                                                                       \
    "add r8, r7, r8, asr #7\n\t"        /* hh = tanh(x_h + r * (h_tm1 U_h + b_hh)) */               \
    END                                                                                             \
    "sub r10, r10, r8\n\t"                                                                          \
    "mla r10, r6, r10, lr\n\t"                                                                      \
    "add r8, r8, r10, asr #15\n\t"      /* h = hh + z * (h_tm1 - hh) (EG_H_IN_RANGE) */             \
    "strh r8, [r3], #2\n\t"
__attribute__((naked, noinline)) static void eg_gates_dsp16(const eg_gates_args_t *a __attribute__((unused)))
{
    __asm__ volatile(
        "push {r4-r11, lr}\n\t"
        EG_GATES_BODY
        "ldr r1, [r0, #4]\n\t"
        "ldr r2, [r0, #8]\n\t"
        "ldr r3, [r0, #12]\n\t"
        "ldr r6, [r0, #16]\n\t"
        "ldr r4, [r0, #20]\n\t"
        "ldr r5, [r0, #24]\n\t"
        "ldr r0, [r0]\n\t"
        "sub sp, sp, #8\n\t"
        "str r6, [sp]\n\t"                 /* the state's end */
        "mov r12, #64\n\t"
        "mov lr, #16384\n\t"
        "sub r6, r6, r3\n\t"
        "tst r6, #2\n\t"                   /* an odd number of units: the first alone */
        "bne 2f\n\t"
        "1:\n\t" EG_G_UNIT("")              /* two units a turn */
        "2:\n\t" EG_G_UNIT("ldr r7, [sp]\n\t")
        "cmp r3, r7\n\t"
        "bne 1b\n\t"
        "add sp, sp, #8\n\t"
        "pop {r4-r11, pc}\n\t");
}
#endif
#endif

#endif
