/* firmware_sim harness: runs eg_run over the sequences the emulator placed in its I/O window.
 * I/O window (emulator-only memory, not counted as target RAM), 32-bit words:
 *   [0] magic 0x4F494745 "EGIO"  [1] N  [2] T  [3] F  [4] mark register (written before each
 *   sequence and at the end)  [5] output_dim  [6] byte offset of int16 inputs  [7] byte offset of
 *   int32 outputs. At the end the runtime's code path is printed through semihosting. */
#include <stdint.h>
#include "edge_gru.h"
#include "model.h"

#ifndef EG_IO_BASE
#define EG_IO_BASE 0x60000000u
#endif

void eg_puts(const char *s);   /* semihosting SYS_WRITE0, in the generated startup code */

static int16_t state[EG_MODEL_STATE_LEN];
static int32_t scratch[EG_MODEL_SCRATCH_LEN];

int main(void)
{
    volatile int32_t *io = (volatile int32_t *)EG_IO_BASE;
    const int16_t *x;
    int32_t *out;
    int32_t n, N, T, F;
    if (io[0] != 0x4F494745) return 3;
    N = io[1];
    T = io[2];
    F = io[3];
    if (F != EG_MODEL_FEATURES || io[5] != EG_MODEL_OUTPUT_DIM) return 4;
    x = (const int16_t *)(EG_IO_BASE + (uint32_t)io[6]);
    out = (int32_t *)(EG_IO_BASE + (uint32_t)io[7]);
    for (n = 0; n < N; ++n) {
        io[4] = n;
        eg_run(&EG_MODEL, state, x + n * T * F, T, out + n * EG_MODEL_OUTPUT_DIM, scratch);
    }
    io[4] = N;
    eg_puts("edge-gru kernel: ");
    eg_puts(eg_kernel_path());
    eg_puts("\n");
    return 0;
}
