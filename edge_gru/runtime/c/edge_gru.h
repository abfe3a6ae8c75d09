/* edge-gru on-device runtime: integer GRU inference, portable C99.
 * No malloc, no floating point on the integer path, no global mutable state.
 * Arithmetic is defined in edge_gru/fixed/kernels.py; this file computes the same integers.
 *
 * Code paths (same outputs bit for bit, checked by the conformance tests):
 *   - portable C99 (any compiler, any core; define EG_PORTABLE to force it);
 *   - Arm DSP extension (__ARM_FEATURE_DSP: Cortex-M4/M7/M33/M55): SMLAD, SXTB16, SMMULR, with the
 *     inner loop in inline assembly (loads grouped so that they pipeline);
 *   - ARMv6-M (Cortex-M0/M0+): the int8 matrix kernel, the gates and the w8a16 state update are
 *     Thumb-1 assembly functions;
 *   - Armv8.1-M with Helium (__ARM_FEATURE_MVE: Cortex-M55): the matrix products of a model exported
 *     with the rows layout (below) use VMLADAVA / VMLALDAVA (8 MACs per instruction) with tail
 *     predication; gates, requantization and the dense head are the DSP path's.
 */
#ifndef EDGE_GRU_H
#define EDGE_GRU_H
#include <stdint.h>

/* GRU weights are stored for the kernel (chosen at export time): the gates' columns z, r, h follow
 * each other (z at 0, r at H, h at hoff) and are padded to a multiple of 4 together (reset_after) or
 * as z, r then h (reset_after=False: the candidate's product starts a block, hoff = 2H rounded up to 4);
 * the inputs are padded to K rounded up to 2; columns come in blocks of 4,
 * and for each group of 4 inputs a block holds 4 x 4 weights (column-major inside the block).
 * int8 weights inside a group are ordered w0, w2, w1, w3 (so SXTB16 yields the pairs (w0, w1) and
 * (w2, w3)); int16 weights keep the natural order. When K = 2 mod 4 a block ends with a half group
 * of 4 x 2 weights: int8 c0w0, c1w0, c0w1, c1w1, c2w0, c3w0, c2w1, c3w1 (SXTB16 yields a column's
 * pair), int16 c0w0, c0w1, c1w0, ... Padding weights are zero. */
/* eg_gru_t.layout. EG_LAYOUT_BLOCKS is described above (the DSP, ARMv6-M and portable kernels);
 * EG_LAYOUT_ROWS: for each block of 4 columns, the inputs in chunks of 8 (K rounded up to 8, zero padded), a
 * chunk holding 8 weights of each of the 4 columns in turn (the Helium kernel loads 8 of them per instruction
 * with one pointer; the other paths run plain loops over it). Chunks of 16 for int8 weights with int8
 * activations and int32 accumulators (w8a8), a column's 16 weights stored as inputs 0, 8, 1, 9, ..., 7, 15. */
/* EG_LAYOUT_PAIRS (int8 weights; the DSP kernels of the Cortex-M4/M7/M33, plain loops elsewhere): the blocks layout's
 * blocks, groups and half group, but each 32-bit word holds a pair of columns (c, c+1) at two inputs (k, k+1) as the
 * bytes c wk + 128 (unsigned), c+1 wk, c wk+1 + 128, c+1 wk+1; a group of 4 inputs is the words (c0 c1, k0 k1),
 * (c0 c1, k2 k3), (c2 c3, k0 k1), (c2 c3, k2 k3); a half group (c0 c1, k0 k1), (c2 c3, k0 k1). Read as two int16 a
 * word is 256 (c+1 w) + c w + 128 per input: one SMLAD accumulates 256 a_(c+1) + a_c + 128 sum(x), one SXTB16 and
 * one SMLAD a_(c+1) (edge_gru_dsp_pairs.h). An int32 bias of an even column c holds b_c + 256 b_(c+1) (modulo 2^32),
 * where that accumulation starts. */
#define EG_LAYOUT_BLOCKS 0
#define EG_LAYOUT_ROWS 1
#define EG_LAYOUT_PAIRS 2

/* Declare the state buffer EG_ALIGNED (word-aligned): on the DSP path a layer with an even number of units then reads
 * h_tm1 in place instead of packing a copy each step (any alignment gives the same outputs). */
#if defined(__GNUC__) || defined(__clang__)
#define EG_ALIGNED __attribute__((aligned(4)))
#else
#define EG_ALIGNED
#endif

typedef struct {
    int32_t units, cols, hoff, input_dim, kx, kh;   /* H, padded columns, candidate's first column, F,
                                                       F and H padded to 2 */
    int32_t reset_after, use_bias, acc64;
    const void *W, *U;                 /* int8_t or int16_t, layout above */
    const void *b_i, *b_h;             /* int32_t or int64_t (acc64), (cols) */
    const int32_t *mx, *nx, *mh, *nh;  /* requantization to Q3.12, (cols) */
    const int32_t *rqx, *rqh;          /* m * 2^(32-n) when every n of the product is in [16, 32], else 0 */
    int32_t r32x, r32h;                /* 1 when every n of the product is in [17, 46] (32-bit requantization) */
    int32_t layout;                    /* EG_LAYOUT_*: how W and U are stored */
    int32_t dir;                       /* EG_DIR_*: which way the steps run (see below) */
    int32_t merge;                     /* EG_DIR_PAIR entries: how the two directions merge (EG_MERGE_*) */
} eg_gru_t;

/* eg_gru_t.dir. A Keras Bidirectional layer is two entries of eg_model_t.gru: its forward direction
 * (EG_DIR_FORWARD) then its backward one (EG_DIR_PAIR, which holds the merge). EG_DIR_BACKWARD: a go_backwards
 * GRU on its own (the last layer). A model with a backward direction runs over a whole window (eg_run, eg_run_seq,
 * eg_run_tokens(_seq); eg_model_t.window > 0): layer by layer, the sequences in the scratch buffer. */
#define EG_DIR_FORWARD 0
#define EG_DIR_PAIR 1
#define EG_DIR_BACKWARD 2
/* eg_gru_t.merge, on states in the state format (edge_gru/fixed/directions.py): concat [h_f, h_b];
 * EG_MERGE_AVE (h_f + h_b + 1) >> 1 (Keras' ave, and sum at twice the scale); EG_MERGE_MUL
 * (h_f * h_b + 2^(a_bits-2)) >> (a_bits - 1) */
#define EG_MERGE_CONCAT 0
#define EG_MERGE_AVE 1
#define EG_MERGE_MUL 2

/* eg_dense_t.mode: what becomes of a dense layer's accumulators (edge_gru/fixed/kernels.py DENSE_*) */
#define EG_DENSE_REQUANT 0             /* requantize to the calibrated scale; then ReLU when relu is set */
#define EG_DENSE_SIGMOID 1             /* requantize to Q3.12, sigmoid table, state format (a hidden sigmoid) */

typedef struct {
    int32_t units, input_dim, use_bias, acc64;
    int32_t mode;                      /* EG_DENSE_REQUANT or EG_DENSE_SIGMOID */
    int32_t relu;
    const void *W;                     /* (in, K) row-major */
    const void *b;                     /* int32_t or int64_t */
    const int32_t *m, *n;
} eg_dense_t;

typedef struct {
    int32_t w_bits, a_bits, features, n_gru, n_dense, output_dim;
    int32_t state_len;                 /* sum of GRU units: int16 entries of the state buffer */
    int32_t scratch_len;               /* int32 entries of the scratch buffer */
    const eg_gru_t *gru;
    const eg_dense_t *dense;
    const int16_t *sig_tab, *tanh_tab; /* 513 entries, Q0.15 */
    int32_t vocab, mask_zero;          /* embedding models: rows of the table; id 0 is padding when mask_zero */
    const void *embedding;             /* (vocab, features) int8_t (a_bits 8) or int16_t (a_bits 16), or 0 */
    const void *fold;                  /* folded embedding: (vocab, gru[0].cols) first-layer x W + b_i in Q3.12,
                                          int16_t when fold16 else int32_t; then embedding and gru[0].W are 0 */
    int32_t fold16;
    int32_t window;                    /* > 0: a model with a backward direction; the most steps eg_run takes */
    int32_t window_width;              /* widest sequence row (int16 entries) of the window buffers */
    int32_t window_scratch;            /* int32 entries of scratch before the two window buffers */
} eg_model_t;

/* Zero the state (state_len int16 entries). */
void eg_reset(const eg_model_t *m, int16_t *state);
/* Advance all layers by one timestep; x_q has `features` integer inputs. (A model with a Bidirectional or
 * go_backwards layer cannot stream: its eg_step / eg_step_token do nothing, use eg_run and its kin.) */
void eg_step(const eg_model_t *m, int16_t *state, const int16_t *x_q, int32_t *scratch);
/* Integer outputs (output_dim) of the dense head for the current state. */
void eg_output(const eg_model_t *m, const int16_t *state, int32_t *out, int32_t *scratch);
/* Reset, feed T timesteps (x_q is T * features), write the outputs. A window model (eg_model_t.window > 0)
 * takes at most `window` steps: beyond, nothing is written. */
void eg_run(const eg_model_t *m, int16_t *state, const int16_t *x_q, int32_t T, int32_t *out, int32_t *scratch);
/* Embedding models: advance by one token. Returns 1 when the step ran, 0 when the token is padding
 * (id 0 with mask_zero: the state is kept, as Keras does), -1 when the id is outside the vocabulary
 * (or the model has no embedding; the state is kept). */
int32_t eg_step_token(const eg_model_t *m, int16_t *state, int32_t id, int32_t *scratch);
/* Reset, feed T token ids (padding skipped), write the outputs; returns the number of steps run
 * (-1 on an id outside the vocabulary: the outputs are then those of the steps before it; a window model
 * writes nothing then, and returns -2 when T exceeds its window). */
int32_t eg_run_tokens(const eg_model_t *m, int16_t *state, const int32_t *ids, int32_t T, int32_t *out,
                      int32_t *scratch);
/* Per-step models (model.h: EG_MODEL_PER_STEP 1, the last GRU returns sequences): reset, feed T timesteps and
 * write the head's outputs after every one: out holds T * output_dim values, step t's at out + t * output_dim
 * (the same as eg_step then eg_output at each step, which streaming firmware calls itself). */
void eg_run_seq(const eg_model_t *m, int16_t *state, const int16_t *x_q, int32_t T, int32_t *out, int32_t *scratch);
/* The same for T token ids: a padding id keeps the state and still writes the outputs of that state. Returns
 * the steps run, or -1 on an id outside the vocabulary (the outputs after it are not written). */
int32_t eg_run_tokens_seq(const eg_model_t *m, int16_t *state, const int32_t *ids, int32_t T, int32_t *out,
                          int32_t *scratch);
/* Index of the largest of n outputs (the class of a classifier; the first on ties). */
int32_t eg_argmax(const int32_t *out, int32_t n);
/* 1 if this build of the runtime runs model m, else 0. Compiled next to an export's model.h, edge_gru.c
 * holds only the paths that model uses (precision, accumulators, reset_after, input, head, layout);
 * -DEG_GENERIC compiles every path (a firmware with several models). */
int32_t eg_supports(const eg_model_t *m);
/* Which code path this build uses: "mve", "dsp", "armv6m" or "portable" ("mve" builds run the DSP
 * path for a model whose layout is EG_LAYOUT_BLOCKS). */
const char *eg_kernel_path(void);

#endif
