/* firmware_sim harness: runs eg_run (or eg_run_tokens) over the sequences the emulator placed in its
 * I/O window. I/O window (emulator-only memory, not counted as target RAM), 32-bit words:
 *   [0] magic 0x4F494745 "EGIO"  [1] N  [2] T  [3] F  [4] mark register (written before each
 *   sequence and at the end)  [5] output_dim  [6] byte offset of the inputs (int16 features, or int32
 *   token ids when [8] = 1)  [7] byte offset of int32 outputs  [8] kind  [9] byte offset of the N int32
 *   lengths (steps fed per sequence)  [10] stream: 1 feeds the sequences as consecutive chunks of one stream (a
 *   stateful model's export only: eg_step / eg_step_token without a reset between them, then eg_output).
 *   At the end the runtime's code path is printed through semihosting.
 * Per-step models (EG_MODEL_PER_STEP): the outputs start with those of the zero state (written before the first
 * mark, so not timed), then T * output_dim per sequence from eg_run_seq / eg_run_tokens_seq. */
#include <stdint.h>
#include "edge_gru.h"
#include "model.h"

#ifndef EG_IO_BASE
#define EG_IO_BASE 0x60000000u
#endif

void eg_puts(const char *s);   /* semihosting SYS_WRITE0, in the generated startup code */
void eg_mark(uint32_t id);     /* a cycle mark (startup code); the QEMU runner times from its calls */

/* Sequence boundaries: the unicorn emulator watches the write to io[4]; QEMU's trace sees the call */
#ifdef EG_MARK_CALLS
#define EG_MARK(io, n) eg_mark((uint32_t)(n))
#else
#define EG_MARK(io, n) ((io)[4] = (n))
#endif

static int16_t state[EG_MODEL_STATE_LEN] EG_ALIGNED;
static int32_t scratch[EG_MODEL_SCRATCH_LEN];

#if EG_MODEL_STATEFUL && !EG_MODEL_WINDOW
/* One chunk of a stream: the state carries over from the chunk before (outputs after its last step, or per step) */
static int32_t eg_stream_chunk(const int16_t *x, const int32_t *ids, int32_t n, int32_t *out)
{
    int32_t t;
    for (t = 0; t < n; ++t) {
        if (ids) {
            if (eg_step_token(&EG_MODEL, state, ids[t], scratch) < 0) return 6;
        } else {
#if !EG_MODEL_EMBEDDING_FOLDED
            eg_step(&EG_MODEL, state, x + t * EG_MODEL_FEATURES, scratch);
#endif
        }
        if (EG_MODEL_PER_STEP) eg_output(&EG_MODEL, state, out + t * EG_MODEL_OUTPUT_DIM, scratch);
    }
    if (!EG_MODEL_PER_STEP) eg_output(&EG_MODEL, state, out, scratch);
    return 0;
}
#endif

int main(void)
{
    volatile int32_t *io = (volatile int32_t *)EG_IO_BASE;
    const int32_t *len;
    int32_t *out;
    int32_t n, N, T, F, kind;
#ifdef EG_MODEL_WEIGHTS_IN_RAM
    eg_model_place();          /* the generated start-up copy of the weights into RAM */
#endif
    if (io[0] != 0x4F494745) return 3;
    N = io[1];
    T = io[2];
    F = io[3];
    kind = io[8];
    if ((kind == 1 ? EG_MODEL_VOCAB == 0 : F != EG_MODEL_FEATURES) || io[5] != EG_MODEL_OUTPUT_DIM) return 4;
    out = (int32_t *)(EG_IO_BASE + (uint32_t)io[7]);
    len = (const int32_t *)(EG_IO_BASE + (uint32_t)io[9]);
#if EG_MODEL_PER_STEP
    eg_reset(&EG_MODEL, state);
    eg_output(&EG_MODEL, state, out, scratch);
    out += EG_MODEL_OUTPUT_DIM;
#define EG_RUN(run) run##_seq
#define EG_OUT_ROWS T
#else
#define EG_RUN(run) run
#define EG_OUT_ROWS 1
#endif
#if EG_MODEL_STATEFUL && !EG_MODEL_WINDOW
    eg_reset(&EG_MODEL, state);                   /* the start of the stream (io[10] = 1) */
#endif
    for (n = 0; n < N; ++n) {
        EG_MARK(io, n);
        if (len[n] < 0 || len[n] > T || (EG_MODEL_WINDOW && len[n] > EG_MODEL_WINDOW)) return 5;
#if EG_MODEL_STATEFUL && !EG_MODEL_WINDOW
        if (io[10]) {
            const int32_t *ids = kind == 1 ? (const int32_t *)(EG_IO_BASE + (uint32_t)io[6]) + n * T : 0;
            const int16_t *x = (const int16_t *)(EG_IO_BASE + (uint32_t)io[6]) + n * T * F;
            if (eg_stream_chunk(x, ids, len[n], out + n * EG_OUT_ROWS * EG_MODEL_OUTPUT_DIM)) return 6;
            continue;
        }
#endif
        if (kind == 1) {
            const int32_t *ids = (const int32_t *)(EG_IO_BASE + (uint32_t)io[6]);
            if (EG_RUN(eg_run_tokens)(&EG_MODEL, state, ids + n * T, len[n], out + n * EG_OUT_ROWS * EG_MODEL_OUTPUT_DIM,
                                      scratch) < 0)
                return 6;
        } else {
#if EG_MODEL_EMBEDDING_FOLDED
            return 4;                  /* a folded export takes token ids only */
#else
            const int16_t *x = (const int16_t *)(EG_IO_BASE + (uint32_t)io[6]);
            EG_RUN(eg_run)(&EG_MODEL, state, x + n * T * F, len[n], out + n * EG_OUT_ROWS * EG_MODEL_OUTPUT_DIM, scratch);
#endif
        }
    }
    EG_MARK(io, N);
    eg_puts("edge-gru kernel: ");
#if EG_MODEL_MATRIX_ROWS
    eg_puts(eg_kernel_path()[0] == 'm' ? "mve" : "portable");   /* rows layout: the MVE kernel, else plain loops */
#elif defined(EG_MODEL_MATRIX_PAIRS) && EG_MODEL_MATRIX_PAIRS
    eg_puts(eg_kernel_path()[0] == 'd' || eg_kernel_path()[0] == 'm' ? "dsp" : "portable");   /* pairs: DSP kernels */
#else
    eg_puts(eg_kernel_path()[0] == 'm' ? "dsp" : eg_kernel_path());   /* an MVE build runs the DSP kernels here */
#endif
    eg_puts("\n");
    return 0;
}
