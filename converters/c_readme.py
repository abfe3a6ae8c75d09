"""The README.md generated with a C export: what the folder holds, the API, the model's sequence shape, memory."""

from __future__ import annotations

from converters.c_layout import window_sizes
from edge_gru.fixed.model import FixedModel

PER_STEP = """This model outputs after every timestep (`EG_MODEL_PER_STEP 1`: its last GRU returns sequences). In a
streaming loop call `eg_output` after each `eg_step`; for a buffered window
`eg_run_seq(&EG_MODEL, state, x_q_seq, T, out, scratch)` writes `T * EG_MODEL_OUTPUT_DIM` outputs, step `t`'s
at `out + t * EG_MODEL_OUTPUT_DIM` (`eg_run_tokens_seq` for token ids).
"""
STATEFUL = """This model was trained stateful (Keras `stateful=True`): its state carries over from one call to the next.
Keep `state` between calls and call `eg_reset` only where the stream restarts (Keras' `reset_state()`);
feeding a long input in chunks with `eg_step` then gives the outputs of one call over the whole input:
```c
eg_reset(&EG_MODEL, state);                     /* once, at the start of the stream */
for (;;) {                                     /* every chunk (a frame, a window) as it arrives */
    for (t = 0; t < n; ++t) eg_step(&EG_MODEL, state, chunk + t * EG_MODEL_FEATURES, scratch);
    eg_output(&EG_MODEL, state, out, scratch);  /* the outputs after the chunk; the state carries on */
}
```
(`eg_run` and `eg_run_seq` reset first: they are one call from a fresh state.) The state is
`EG_MODEL_STATE_LEN` int16 values: save them to keep a stream across a power cycle.
"""


WINDOW = """This model has a Bidirectional or go_backwards GRU: its backward direction needs the whole window before
any output, so it cannot stream (`eg_step` and `eg_step_token` are refused at compile time). `eg_run` /
`eg_run_seq` (`eg_run_tokens` / `eg_run_tokens_seq` for ids) take windows of at most `EG_MODEL_WINDOW` steps,
running layer by layer: each direction over every step (the backward one last step first), the two merged
(Keras' merge_mode, in integers). The window's sequences live in the scratch buffer (the Memory table below).
"""


def _window_row(fm: FixedModel) -> str:
    window, width = window_sizes(fm)
    if not window:
        return ""
    return (f"\n| of which the two window buffers (int16, 2 x {window} steps x {width} values) | "
            f"{4 * window * width:,} |")


def _shape_section(fm: FixedModel) -> str:
    text = "\n".join(part for part, on in ((PER_STEP, fm.per_step), (STATEFUL, fm.stateful), (WINDOW, fm.window))
                      if on)
    return "\n" + text if text else ""


def readme(fm: FixedModel, ident: str, mem: dict[str, int]) -> str:
    """The generated README.md of a C export (its placement section is added by :mod:`converters.c_placement`)."""
    arch = "\n".join(f"    {line}" for line in fm.describe())
    return f"""# {ident}: edge-gru C runtime (generated, do not edit)

Portable C99, no malloc, no floating point on the integer path, no global mutable state; the
model's weights are `const` (placed in flash by every embedded toolchain). The outputs are
bit-identical to `edge-gru run model.egru DATA --engine fixed --raw`.

{arch}

## Files
- `edge_gru.h`, `edge_gru.c` and its parts `edge_gru_build.h` (what a build compiles), `edge_gru_matrix.h` (the matrix
  products), `edge_gru_head.h` (the dense head), `edge_gru_window.h` (window models) and the cores' kernels
  `edge_gru_dsp.h`, `edge_gru_dsp_gates.h`, `edge_gru_dsp_pairs.h`, `edge_gru_run.h`, `edge_gru_v6m.h`,
  `edge_gru_mve.h`:
  the runtime (same for every model). Built next to this `model.h`, `edge_gru.c` compiles only the paths this model uses
  (`EG_MODEL_USES_*`: precision, accumulator widths, reset_after, input, head, weight layout) and the compiler
  drops the rest; a firmware with several models builds it with `-DEG_GENERIC` (every path, chosen at run
  time), and `eg_supports(&model)` says whether a build runs a model. On cores with the DSP extension
  (`__ARM_FEATURE_DSP`: Cortex-M4/M7/M33/M55) the matrix kernel is inline assembly with
  SMLAD/SXTB16 and SMMULR requantization (build with `-DEG_TUNE_M7` for a Cortex-M7: the same integers, its loop
  scheduled for the M7's dual issue, slower on an M4), fastest with a model exported with `--matrix-layout pairs`
  (3 DSP instructions per 4 MACs instead of 4; other cores run plain loops over that layout; the products named by
  `EG_MODEL_PAIRS_K*` in `model.h` get a copy of that kernel of their own: up to 24 inputs a straight line, no loop
  over their inputs, above a rolled copy, 6 groups of 4 inputs a loop turn (4 on the M7), sized to the instruction
  cache of the part named by `convert --target`);
  on ARMv6-M (Cortex-M0/M0+) a Thumb-1 assembly function;
  with Helium (`__ARM_FEATURE_MVE`, Cortex-M55) and a model exported with `--matrix-layout rows`
  (`EG_MODEL_MATRIX_LAYOUT` in `model.h`) the MVE kernels of `edge_gru_mve.h`;
  `-DEG_PORTABLE` forces the portable C path. All give the same integers; `eg_kernel_path()` says
  which one a build uses.
- `model.h`, `model.c`: this model (`{ident}_model`, also reachable as `EG_MODEL`).
- `example_main.c`: a minimal program; `CMakeLists.txt`: a static library `{ident}` (+ the example).
- `harness_host.c`: batch runner used by `edge-gru run DIR DATA.npz --engine c`.
- `model.egru`: the fixed-point model these files were generated from.

## API
```c
#include "model.h"
static int16_t state[EG_MODEL_STATE_LEN] EG_ALIGNED;  /* word-aligned: h_tm1 read in place */
static int32_t scratch[EG_MODEL_SCRATCH_LEN];
eg_reset(&EG_MODEL, state);                       /* start a sequence */
eg_step(&EG_MODEL, state, x_q, scratch);          /* one timestep: EG_MODEL_FEATURES int16 inputs */
eg_output(&EG_MODEL, state, out, scratch);        /* EG_MODEL_OUTPUT_DIM int32 outputs */
eg_run(&EG_MODEL, state, x_q_seq, T, out, scratch); /* or a whole sequence at once */
```
{_shape_section(fm)}
Inputs: `x_q = round(x / EG_MODEL_INPUT_SCALE)` clamped to the precision's range ({fm.precision.name}).
Outputs: `out * EG_MODEL_OUTPUT_SCALE`, then the model's output activation ({fm.output_activation});
for a classifier `eg_argmax(out, EG_MODEL_OUTPUT_DIM)` is the class, no float needed.

## Memory (exact)
| what | bytes |
|---|---|
| constant model data (flash: weights in kernel layout, biases, multipliers, tables) | {mem['constant_bytes']:,} |
| state buffer (RAM, `EG_MODEL_STATE_LEN` int16) | {mem['state_bytes']:,} |
| scratch buffer (RAM, `EG_MODEL_SCRATCH_LEN` int32) | {mem['scratch_bytes']:,} |{_window_row(fm)}

Code size and stack depend on the core and compiler: `edge-gru simulate DIR --target NAME` measures
flash (.text + .rodata + .data), RAM (.data + .bss + peak stack) and cycles on an emulated core.
"""


__all__ = ["readme"]
