"""ESTIMATED cost of a ``.tflite`` under TFLite Micro on a Cortex-M core, calibrated against measurement.

TFLite Micro itself is not run here. The estimate adds, per operator of the graph, a fixed cost
(the kernel's Eval set-up and the interpreter's dispatch) and a cost per output element or per
multiply-accumulate, for TFLite Micro's reference kernels and for its CMSIS-NN kernels (ADD, MUL,
FULLY_CONNECTED, SOFTMAX; every other operator stays a reference kernel), in the ``unrolled`` layout
(one invoke per sequence) and the ``step`` layout (one invoke per timestep plus the glue that copies
the states). Set-up cycles (``AllocateTensors``), the arena on a 32-bit target and the code size
come from the same measurement.

Calibration (CALIBRATION below): TFLite Micro built from source with arm-none-eabi-g++ 12.2 and the
flags of its ``cortex_m_generic`` release build, its outputs identical to the ``tflite-micro`` Python
interpreter, run in firmware_sim's emulator. The per-operator decomposition comes from the per-operator
profile of docs/measurements.md section 3 (spoken-digits GRU(16), cycle model of commit b2a872b): per-element costs from
reading the kernels (gemmlowp fixed-point exp for LOGISTIC/TANH, two or three 64-bit rounding multiplies
for ADD/SUB, one for MUL, an index computation for STRIDED_SLICE), each type's fixed cost what remains of
its measured total. The totals were measured again with this cycle model (MEASURED): the spoken-digits
GRU(16) unrolled file sets the scale, and the step file, the seed GRU(50) and a spoken-digits GRU(32)
(both layouts) check the estimate on graphs it was not fitted to. Other cores scale the M4 figures by the ratio
of their emulated CoreMark/MHz to the M4's (benchmarks/cycle_validation.py): checked on the M7 (MEASURED), never
on the M3, M33 and M55, whose error is unknown.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from edge_gru.tflite.inspection import TFLiteInfo, inspect_tflite
from firmware_sim.targets import Target

CALIBRATION = ("TFLite Micro (commit 90b983c, arm-none-eabi-g++ 12.2, cortex_m_generic release flags) measured in "
               "firmware_sim with this cycle model on spoken-digits GRU(16), seed GRU(50) and spoken-digits GRU(32), "
               "both layouts; operator profile, memory and the M0+ CMSIS-NN ratio from docs/measurements.md section 3")
LAYOUTS = ("unrolled", "step")
KERNELS = ("reference", "cmsis-nn")


@dataclass(frozen=True)
class OpCost:
    """Cortex-M4 cycles of one operator: ``fixed + per_element * outputs + per_mac * MACs``."""

    fixed: float
    per_element: float
    per_mac: float = 0.0


# --- Cortex-M4, reference kernels. Measured per type (docs/measurements.md section 3, unrolled file, one sequence):
# FULLY_CONNECTED 96 ops 1,012,706; LOGISTIC 96 721,689; TANH 48 364,344; ADD 191 532,171; MUL 143 302,089;
# SUB 48 158,832; STRIDED_SLICE 141 177,378; SPLIT+UNPACK+SOFTMAX+RESHAPE 51 55,410; interpreter ~57,000.
# Per element (kernel reading): FC 9 cycles per MAC (its inner loop ldrsb, ldrsb, add, cmp, mla, bne) plus a
# 64-bit requantization per output (~45); LOGISTIC/TANH gemmlowp exp + reciprocal ~400; ADD/SUB three
# rescales ~100; MUL one rescale ~50; STRIDED_SLICE index arithmetic ~12; SPLIT/UNPACK copies 4-6, RESHAPE 1,
# SOFTMAX exp per element ~400. Fixed = (measured total - per-element part) / ops, from the spoken-digits
# element counts (FC 4,570 outputs and 66,208 MACs; LOGISTIC 1,536; TANH 768; ADD 3,056; MUL 2,288; SUB 768;
# STRIDED_SLICE 2,256; SPLIT 2,304; UNPACK 624; RESHAPE 624; SOFTMAX 10).
M4_REFERENCE: dict[str, OpCost] = {
    "FULLY_CONNECTED": OpCost((1_012_706 - 9.0 * 66_208 - 45 * 4_570) / 96, 45, 9.0),
    "LOGISTIC": OpCost((721_689 - 400 * 1_536) / 96, 400),
    "TANH": OpCost((364_344 - 400 * 768) / 48, 400),
    "ADD": OpCost((532_171 - 100 * 3_056) / 191, 100),
    "SUB": OpCost((158_832 - 100 * 768) / 48, 100),
    "MUL": OpCost((302_089 - 50 * 2_288) / 143, 50),
    "STRIDED_SLICE": OpCost((177_378 - 12 * 2_256) / 141, 12),
    "SPLIT": OpCost(742, 4), "UNPACK": OpCost(742, 6), "RESHAPE": OpCost(742, 1), "SOFTMAX": OpCost(742, 400),
}
# GATHER: measured once, TFLite Micro built from source running the step file of a text model (Embedding(2000, 16):
# 16 int8 elements per invoke) in firmware_sim on the M4 with this cycle model: 221 cycles per step, dispatch
# included. One point: all of it fixed, solved back through the scalings op_cycles_m4 applies.
GATHER_MEASURED = 221
# (55,410 - 4 x 2,304 - 6 x 624 - 1 x 624 - 400 x 10) / 51 = 742 for the four small copy-like types.
DEFAULT_OP = OpCost(1_100, 40)               # an operator type never measured: a typical element-wise kernel
INTERPRETER_PER_OP = 57_000 / 814            # the invoke loop outside the kernels
# The per-type totals were taken with profiler marks around each op; they add up to 3,381,619 where the
# whole sequence measured 3,308,841: the difference (the marks' own cost) is taken off every operator.
PROFILER_SHARE = 3_308_841 / 3_381_619
# The operator profile above was taken with the cycle model of commit b2a872b; the same file measured again with
# this cycle model costs 3,199,858 cycles (MEASURED): every M4 figure is scaled by the ratio.
M4_SCALE = 3_199_858 / 3_308_841
M4_REFERENCE["GATHER"] = OpCost((GATHER_MEASURED / M4_SCALE - INTERPRETER_PER_OP) / PROFILER_SHARE, 0)

# --- CMSIS-NN kernels (Cortex-M4, DSP). Per element, from reading arm_nn_requantize (~20 per FC output),
# arm_elementwise_add_s8 (~40), arm_elementwise_mul_s8 (~18), arm_softmax_s8 (~150). Two constants are solved
# from the measured unrolled totals of the spoken-digits GRU(16) and GRU(32) (2,733,574 and 4,813,102 cycles):
# FULLY_CONNECTED's cycles per MAC, 6.56 (reading arm_nn_vec_mat_mult_t_s8's inner loop suggested 1.6; its
# per-row set-up dominates rows of 13 to 50 inputs), and the extra fixed cost of a CMSIS-NN operator over the
# reference one, 94 cycles. The step layouts and the seed GRU(50) are predictions.
M4_CMSIS_WORK = {"FULLY_CONNECTED": (20, 6.56), "ADD": (40, 0.0), "MUL": (18, 0.0), "SOFTMAX": (150, 0.0)}
CMSIS_FIXED_EXTRA = 94.0

# --- step layout: the firmware's glue per timestep (copying the input and the states between invokes),
# measured 13,651 cycles per 48-step sequence on M4 (docs/measurements.md section 3).
STEP_GLUE_PER_STEP = 13_651 / 48

# --- cores. M0+: cycles = factor x the M4 estimate + extra cycles per FULLY_CONNECTED MAC (no MLA/SMULL, byte
# loads without offset addressing), both solved per kernel set from the measured unrolled spoken-digits GRU(16)
# and GRU(32) on M0+ with this cycle model (reference 9,121,197 and 17,868,434; CMSIS-NN 8,429,807 and
# 16,175,573). Others: emulated CoreMark/MHz of the M4 over theirs (GCC, this commit's cycle model), never
# checked against TFLite Micro.
MEASURED_CORE_FACTOR = {("cortex-m0plus", "reference"): (2.6178, 11.20), ("cortex-m0plus", "cmsis-nn"): (2.7172, 15.15)}
COREMARK_PER_MHZ = {"cortex-m4": 2.532, "cortex-m3": 2.446, "cortex-m7": 3.926, "cortex-m33": 2.902,
                    "cortex-m55": 2.902}

# --- set-up (AllocateTensors and the kernels' Prepare): a * ops + b * tensors^2 + c * FC output channels (the
# memory planner is quadratic in the tensors; FULLY_CONNECTED's Prepare computes a multiplier per output channel
# in soft float), solved per core through three measurements: GRU(16) unrolled and step, GRU(32) step.
SETUP_POINTS = {"cortex-m4": ((814, 1_067, 4_570, 60_135_288), (19, 35, 106, 355_518), (19, 35, 202, 488_942)),
                "cortex-m0plus": ((814, 1_067, 4_570, 69_105_998), (19, 35, 106, 662_587), (19, 35, 202, 957_797))}

# --- memory (docs/measurements.md section 3). Code (interpreter + kernels, -Os/-O2, gc-sections), measured:
# M4 reference 72,556 B, CMSIS-NN 90,368; M0+ 86,388 and 97,888; the step build adds ~360 B of glue.
# Other cores: the M4's.
CODE_BYTES = {("cortex-m4", "reference"): 72_556, ("cortex-m4", "cmsis-nn"): 90_368,
              ("cortex-m0plus", "reference"): 86_388, ("cortex-m0plus", "cmsis-nn"): 97_888}
STEP_GLUE_CODE = 360
# Arena: the smallest that works on the 32-bit target over TFLite Micro's host allocation report, measured
# 187,440 / 172,576 (unrolled) and 5,072 / 5,328 (step).
ARENA_RATIO = {"unrolled": 187_440 / 172_576, "step": 5_072 / 5_328}
# The estimate must never be below what allocates: on models it was not calibrated on (a text model, a HAR GRU(24)
# in both layouts, a stacked GRU; 16 cases) the ratios above left the arena up to 3.8% short (a stacked step
# file) in 4 cases, so the estimate is never below the host report and carries 4% headroom, rounded up to 16 B.
ARENA_HEADROOM = 0.04
# --- memory systems (firmware_sim/targets.toml): TFLite Micro built from source and run on the calibration model
# (unrolled, reference kernels, model array in flash, arena in SRAM) with zero-wait memory and through each part's
# memory model (benchmarks/tflm_measure.py): (warm cycles per sequence, set-up cycles) through the part's memory
# over the same with zero-wait memory.
# Measured 2026-12-07, TFLite Micro 90b983c, arm-none-eabi-g++ 12.2.1, 3 sequences (warm: the 2nd and 3rd); outputs
# identical to the tflite-micro Python interpreter in every run:
#   target     zero-wait cycles, set-up      through the part's memory: warm, set-up
#   stm32l4r5  3,199,120, 60,111,607         6,308,744, 73,951,006   (ART: its 1 KB I-cache misses the interpreter)
#   rp2040     9,118,302, 69,107,215         10,313,094, 75,812,540  (16 KB XIP cache)
#   stm32h7    2,175,857, 30,632,771         2,228,831, 30,829,376   (16 KB L1 caches)
MEMORY_FACTOR: dict[str, tuple[float, float]] = {
    "stm32l4r5-art": (6_308_744 / 3_199_120, 73_951_006 / 60_111_607),
    "rp2040-xip": (10_313_094 / 9_118_302, 75_812_540 / 69_107_215),
    "stm32h7-l1": (2_228_831 / 2_175_857, 30_829_376 / 30_632_771),
}
# RAM besides the arena (stack, .data, .bss), measured: M4 2,596 (reference unrolled) / 2,676 (step), M0+ 2,764;
# CMSIS-NN's scratch buffer adds 3,072 (unrolled) and 96 (step).
RAM_OVERHEAD = {"cortex-m0plus": 2_764, "other": 2_636}
CMSIS_SCRATCH = {"unrolled": 3_072, "step": 96}

# The graphs measured (what `edge-gru inspect` counts in the converted int8 files): per operator type
# (operators, output elements, MACs), tensors, file bytes, TFLite Micro's host arena report, timesteps.
Counts = dict[str, tuple[int, int, int]]
GRAPHS: dict[tuple[str, str], tuple[Counts, int, int, int, int]] = {
    ("spoken-digits GRU(16)", "unrolled"): (
        {"ADD": (191, 3_056, 0), "FULLY_CONNECTED": (96, 4_570, 66_208), "LOGISTIC": (96, 1_536, 0),
         "MUL": (143, 2_288, 0), "RESHAPE": (1, 624, 0), "SOFTMAX": (1, 10, 0), "SPLIT": (48, 2_304, 0),
         "STRIDED_SLICE": (141, 2_256, 0), "SUB": (48, 768, 0), "TANH": (48, 768, 0), "UNPACK": (1, 624, 0)},
        1_067, 331_144, 172_576, 48),
    ("spoken-digits GRU(16)", "step"): (
        {"ADD": (4, 64, 0), "FULLY_CONNECTED": (3, 106, 1_552), "LOGISTIC": (2, 32, 0), "MUL": (3, 48, 0),
         "SOFTMAX": (1, 10, 0), "SPLIT": (1, 48, 0), "STRIDED_SLICE": (3, 48, 0), "SUB": (1, 16, 0),
         "TANH": (1, 16, 0)}, 35, 10_664, 5_328, 48),
    ("seed GRU(50)", "unrolled"): (
        {"ADD": (39, 1_950, 0), "FULLY_CONNECTED": (20, 2_851, 75_050), "LOGISTIC": (21, 1_001, 0),
         "MUL": (29, 1_450, 0), "RESHAPE": (1, 50, 0), "SPLIT": (10, 1_500, 0), "STRIDED_SLICE": (27, 1_350, 0),
         "SUB": (10, 500, 0), "TANH": (10, 500, 0), "UNPACK": (1, 50, 0)}, 231, 97_552, 52_912, 10),
    ("seed GRU(50)", "step"): (
        {"ADD": (4, 200, 0), "FULLY_CONNECTED": (3, 301, 8_300), "LOGISTIC": (3, 101, 0), "MUL": (3, 150, 0),
         "SPLIT": (1, 150, 0), "STRIDED_SLICE": (3, 150, 0), "SUB": (1, 50, 0), "TANH": (1, 50, 0)},
        35, 22_832, 7_312, 10),
    ("spoken-digits GRU(32)", "unrolled"): (
        {"ADD": (191, 6_112, 0), "FULLY_CONNECTED": (96, 9_130, 204_608), "LOGISTIC": (96, 3_072, 0),
         "MUL": (143, 4_576, 0), "RESHAPE": (1, 624, 0), "SOFTMAX": (1, 10, 0), "SPLIT": (48, 4_608, 0),
         "STRIDED_SLICE": (141, 4_512, 0), "SUB": (48, 1_536, 0), "TANH": (48, 1_536, 0), "UNPACK": (1, 624, 0)},
        1_067, 398_072, 211_008, 48),
    ("spoken-digits GRU(32)", "step"): (
        {"ADD": (4, 128, 0), "FULLY_CONNECTED": (3, 202, 4_640), "LOGISTIC": (2, 64, 0), "MUL": (3, 96, 0),
         "SOFTMAX": (1, 10, 0), "SPLIT": (1, 96, 0), "STRIDED_SLICE": (3, 96, 0), "SUB": (1, 32, 0),
         "TANH": (1, 32, 0)}, 35, 16_440, 6_256, 48),
}
CALIBRATION_MODEL = "spoken-digits GRU(16)"

# Cycles per sequence and set-up cycles measured with this commit's cycle model (TFLite Micro 90b983c, outputs
# identical to its Python interpreter on every sequence run). "fit" marks what a constant above was solved
# from; every other entry is a prediction check.
MEASURED: dict[tuple[str, str, str, str], tuple[float, float]] = {   # (core, kernels, model, layout)
    ("cortex-m4", "reference", "spoken-digits GRU(16)", "unrolled"): (3_199_858, 60_135_288),      # fit
    ("cortex-m4", "reference", "spoken-digits GRU(16)", "step"): (3_660_336, 355_518),             # fit (set-up)
    ("cortex-m4", "reference", "seed GRU(50)", "unrolled"): (1_971_857, 7_246_916),
    ("cortex-m4", "reference", "seed GRU(50)", "step"): (2_081_173, 626_068),
    ("cortex-m4", "reference", "spoken-digits GRU(32)", "unrolled"): (6_185_435, 66_391_767),
    ("cortex-m4", "reference", "spoken-digits GRU(32)", "step"): (6_729_274, 488_942),             # fit (set-up)
    ("cortex-m4", "cmsis-nn", "spoken-digits GRU(16)", "unrolled"): (2_733_574, 60_158_463),       # fit
    ("cortex-m4", "cmsis-nn", "spoken-digits GRU(16)", "step"): (3_144_961, 356_474),
    ("cortex-m4", "cmsis-nn", "seed GRU(50)", "unrolled"): (1_489_761, 7_251_707),
    ("cortex-m4", "cmsis-nn", "seed GRU(50)", "step"): (1_551_921, 626_804),
    ("cortex-m4", "cmsis-nn", "spoken-digits GRU(32)", "unrolled"): (4_813_102, 66_414_942),      # fit
    ("cortex-m4", "cmsis-nn", "spoken-digits GRU(32)", "step"): (5_254_393, 489_898),
    ("cortex-m0plus", "reference", "spoken-digits GRU(16)", "unrolled"): (9_121_197, 69_105_998),  # fit
    ("cortex-m0plus", "reference", "spoken-digits GRU(16)", "step"): (10_710_129, 662_587),        # fit (set-up)
    ("cortex-m0plus", "reference", "seed GRU(50)", "unrolled"): (5_720_257, 13_007_301),
    ("cortex-m0plus", "reference", "seed GRU(50)", "step"): (5_909_895, 1_261_214),
    ("cortex-m0plus", "reference", "spoken-digits GRU(32)", "unrolled"): (17_868_434, 83_054_524),  # fit
    ("cortex-m0plus", "reference", "spoken-digits GRU(32)", "step"): (19_577_399, 957_797),        # fit (set-up)
    # benchmarks/tflm_measure.py on stm32h7 with zero-wait memory (2026-12-07): the first M7 measurement; its cycles
    # check the CoreMark scaling, its set-up is a fit (SETUP_SCALE)
    ("cortex-m7", "reference", "spoken-digits GRU(16)", "unrolled"): (2_175_857, 30_632_771),     # fit (set-up)
    ("cortex-m7", "reference", "seed GRU(50)", "unrolled"): (1_308_305, 4_179_969),
    ("cortex-m0plus", "cmsis-nn", "spoken-digits GRU(16)", "unrolled"): (8_429_807, 69_141_509),   # fit
    ("cortex-m0plus", "cmsis-nn", "spoken-digits GRU(16)", "step"): (9_957_127, 664_033),
    ("cortex-m0plus", "cmsis-nn", "seed GRU(50)", "unrolled"): (5_141_357, 13_014_752),
    ("cortex-m0plus", "cmsis-nn", "seed GRU(50)", "step"): (5_289_180, 1_262_330),
    ("cortex-m0plus", "cmsis-nn", "spoken-digits GRU(32)", "unrolled"): (16_175_573, 83_090_401),  # fit
    ("cortex-m0plus", "cmsis-nn", "spoken-digits GRU(32)", "step"): (17_788_458, 959_255),
}
# Memory of the calibration model (docs/measurements.md section 3): (core, kernels, layout) -> flash (code + file), RAM.
MEASURED_MEMORY = {
    ("cortex-m4", "reference", "unrolled"): (403_700, 190_036),
    ("cortex-m4", "cmsis-nn", "unrolled"): (421_512, 193_108),
    ("cortex-m4", "reference", "step"): (83_572, 7_748),
    ("cortex-m4", "cmsis-nn", "step"): (101_384, 7_844),
    ("cortex-m0plus", "reference", "unrolled"): (417_532, 190_204),
    ("cortex-m0plus", "cmsis-nn", "unrolled"): (429_032, 193_276),
    ("cortex-m0plus", "reference", "step"): (97_420, 7_916),
}


@dataclass
class TFLMEstimate:
    """Estimated cycles and memory of one ``.tflite`` on one target, for one layout and kernel set."""

    target: str
    core: str
    layout: str
    kernels: str
    macs: int
    cycles: float
    cycles_per_mac: float
    latency_ms: float
    setup_cycles: float
    flash_bytes: int
    code_bytes: int
    ram_bytes: int | None
    arena_bytes: int | None
    fits: bool | None
    ops: int
    method: str = "estimated"
    calibration: str = CALIBRATION
    core_basis: str = ""
    calibration_error: dict | None = None      # relative error on the last measurement of this configuration
    memory: str = ""                           # the memory system the cycles include, and how
    memory_factor: float | None = None         # cycles through the part's memory / zero-wait (None: not included)

    def as_dict(self) -> dict:
        """The estimate as a JSON-ready dictionary."""
        return asdict(self)


def graph_counts(info: TFLiteInfo) -> Counts:
    """Operators, output elements and MACs per operator type of a ``.tflite``."""
    counts: dict[str, list[int]] = {}
    for op in info.ops:
        c = counts.setdefault(op.type, [0, 0, 0])
        c[0] += 1
        c[1] += op.out_elements
        c[2] += op.macs
    return {k: (v[0], v[1], v[2]) for k, v in counts.items()}


def op_cycles_m4(op_type: str, elements: float, macs: float, kernels: str) -> float:
    """Cortex-M4 cycles of one operator invoke (kernel + interpreter dispatch)."""
    ref = M4_REFERENCE.get(op_type, DEFAULT_OP)
    cost = ref.fixed + ref.per_element * elements + ref.per_mac * macs
    if kernels == "cmsis-nn" and op_type in M4_CMSIS_WORK:
        per_element, per_mac = M4_CMSIS_WORK[op_type]
        cost = ref.fixed + CMSIS_FIXED_EXTRA + per_element * elements + per_mac * macs
    return (cost * PROFILER_SHARE + INTERPRETER_PER_OP) * M4_SCALE


def invoke_cycles_m4(counts: Counts, kernels: str) -> float:
    """Cortex-M4 cycles of one invoke of a graph with these per-type counts (the model is linear in them)."""
    return sum(n * op_cycles_m4(t, e / n, m / n, kernels) for t, (n, e, m) in counts.items() if n)


def core_factor(core: str, kernels: str) -> tuple[float, str]:
    """Cycles on ``core`` over cycles on the M4 (before a core's per-MAC term), and what the factor rests on."""
    if core == "cortex-m4":
        return 1.0, "measured (Cortex-M4)"
    if (core, kernels) in MEASURED_CORE_FACTOR:
        return MEASURED_CORE_FACTOR[(core, kernels)][0], "measured on this core (M0+/M4 factor and per-MAC term)"
    ratio = COREMARK_PER_MHZ["cortex-m4"] / COREMARK_PER_MHZ.get(core, COREMARK_PER_MHZ["cortex-m4"])
    if core == "cortex-m7":
        return ratio, "M4 figures scaled by emulated CoreMark/MHz (checked once on this core: see calibration_error)"
    return ratio, "M4 figures scaled by emulated CoreMark/MHz (never measured on this core)"


@functools.cache
def _setup_coefficients(core: str) -> tuple[float, float, float]:
    """``(a, b, c)`` through the three measured set-up points of ``core``."""
    import numpy as np

    points = SETUP_POINTS[core]
    rows = np.array([[o, t * t, ch] for o, t, ch, _ in points], float)
    a, b, c = np.linalg.solve(rows, np.array([cyc for *_, cyc in points], float))
    return float(a), float(b), float(c)


# The memory factors checked on a model they were not measured on (seed GRU(50), unrolled, reference kernels,
# benchmarks/tflm_measure.py --tflite, 2026-12-07): warm cycles and set-up cycles through the part's memory.
MEMORY_CHECKS: dict[tuple[str, str], tuple[float, float]] = {   # (model, target) -> (cycles, set-up)
    ("seed GRU(50)", "stm32l4r5"): (3_491_984, 12_398_690),
    ("seed GRU(50)", "rp2040"): (6_370_214, 14_749_888),
    ("seed GRU(50)", "stm32h7"): (1_323_551, 4_229_568),
}


def memory_check_errors() -> dict[tuple[str, str], dict[str, float]]:
    """The estimate's error, memory system included, on :data:`MEMORY_CHECKS` (cycles; set-up)."""
    from firmware_sim.targets import get_target

    out = {}
    for (model, target), (cyc, setup) in MEMORY_CHECKS.items():
        e = estimate_graph(model, "unrolled", get_target(target), "reference", with_error=False)
        out[(model, target)] = {"cycles": e.cycles / cyc - 1, "setup_cycles": e.setup_cycles / setup - 1}
    return out


# Set-up on a core measured once: its set-up over the M4's on the same file (the M7's, calibration model, unrolled:
# CoreMark's ratio, 0.645, predicted it 27% high: AllocateTensors' soft-float and memory-planner code dual-issues
# better than CoreMark's).
SETUP_SCALE = {"cortex-m7": 30_632_771 / 60_135_288}


def setup_cycles(ops: int, tensors: int, fc_channels: int, core: str) -> float:
    """Set-up cycles: ``a * ops + b * tensors^2 + c * FC output channels`` through the core's measured points (the
    M7: the M4's scaled by its measured :data:`SETUP_SCALE`; cores never measured: the M4's, scaled by CoreMark)."""
    a, b, c = _setup_coefficients(core if core in SETUP_POINTS else "cortex-m4")
    cycles = a * ops + b * tensors ** 2 + c * fc_channels
    if core in SETUP_POINTS:
        return cycles
    return cycles * SETUP_SCALE.get(core, core_factor(core, "reference")[0])


def code_bytes(core: str, kernels: str, layout: str) -> int:
    """Interpreter + kernel code (measured on M4 and M0+; other cores use the M4's)."""
    base = CODE_BYTES.get((core, kernels), CODE_BYTES[("cortex-m4", kernels)])
    return base + (STEP_GLUE_CODE if layout == "step" else 0)


def memory_factor(target: Target) -> tuple[tuple[float, float] | None, str]:
    """How much the part's memory system multiplies TFLite Micro's cycles and set-up cycles, and a label saying
    where that comes from.

    (1, 1) for a memory with no wait states; the factors measured by ``benchmarks/tflm_measure.py`` for the parts in
    :data:`MEMORY_FACTOR`; None (zero-wait cycles, said so) for a part never measured.
    """
    mem = target.memory
    if mem.ideal:
        return (1.0, 1.0), f"{mem.name} (no wait states modelled)"
    if mem.name in MEMORY_FACTOR:
        f = MEMORY_FACTOR[mem.name]
        return f, (f"{mem.name}: cycles x{f[0]:.3f}, set-up x{f[1]:.3f}, measured with TFLite Micro run through "
                   "this memory model (model array in flash, arena in SRAM; reference kernels, unrolled "
                   "calibration model; applied to every layout and kernel set)")
    return None, f"zero-wait estimate: {mem.name}'s wait states and caches are not included (never measured)"


def arena_estimate(arena_host: int, layout: str) -> int:
    """The 32-bit target's arena from TFLite Micro's host allocation report: never below the report, plus
    :data:`ARENA_HEADROOM`, rounded up to 16 bytes."""
    raw = arena_host * max(ARENA_RATIO[layout], 1.0) * (1 + ARENA_HEADROOM)
    return int(-(-raw // 16) * 16)


def tflm_arena_bytes(path: str | Path) -> int | None:
    """Arena bytes TFLite Micro's host allocator reports for the model, in a child process."""
    code = ("import sys\nfrom tflite_micro.python.tflite_micro import runtime as r\n"
            "it = r.Interpreter.from_bytes(open(sys.argv[1], 'rb').read())\nit.print_allocations()\n")
    try:
        p = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, errors="replace",
                           timeout=300)
    except subprocess.TimeoutExpired:
        return None
    m = re.search(r"Arena allocation total (\d+) bytes", p.stdout + p.stderr)
    return int(m.group(1)) if m else None


def estimate(path: str | Path, target: Target, layout: str = "unrolled", kernels: str = "reference",
             info: TFLiteInfo | None = None, arena: int | None = None, timesteps: int | None = None,
             model_macs: int | None = None) -> TFLMEstimate:
    """Estimate TFLite Micro's cycles, latency, set-up, flash and RAM for the ``.tflite`` at ``path``.

    Args:
        path: The ``.tflite`` (its layout must be ``layout``).
        target: The microcontroller.
        layout: ``unrolled`` (one invoke per sequence) or ``step`` (one invoke per timestep).
        kernels: ``reference`` or ``cmsis-nn``.
        info: The file's inspection, if already made.
        arena: TFLite Micro's host allocation report for the file, if already measured.
        timesteps: Steps per sequence (needed for the step layout).
        model_macs: The model's MACs per sequence: cycles per MAC are divided by these, as for the C runtime's
            rows (the file's own count differs: the step file runs the head every step).

    Returns:
        The estimate; ``cycles`` are per sequence.
    """
    info = info or inspect_tflite(path)
    arena_host = arena if arena is not None else tflm_arena_bytes(path)
    return estimate_counts(graph_counts(info), info.n_tensors, info.size_bytes, arena_host, target, layout, kernels,
                           timesteps, model_macs)


def estimate_counts(counts: Counts, tensors: int, file_bytes: int, arena_host: int | None, target: Target,
                    layout: str, kernels: str, timesteps: int | None = None,
                    model_macs: int | None = None, with_error: bool = True) -> TFLMEstimate:
    """:func:`estimate` from a graph's per-type counts, tensor count, file size and host arena report."""
    if layout not in LAYOUTS or kernels not in KERNELS:
        raise ValueError(f"layout must be one of {LAYOUTS} and kernels one of {KERNELS}")
    if layout == "step" and not timesteps:
        raise ValueError("the step layout needs the number of timesteps per sequence")
    factor, basis = core_factor(target.core, kernels)
    invokes = timesteps if layout == "step" else 1
    _, fc_channels, fc_macs = counts.get("FULLY_CONNECTED", (0, 0, 0))
    ops = sum(n for n, _, _ in counts.values())
    m4 = (invoke_cycles_m4(counts, kernels) + (STEP_GLUE_PER_STEP if layout == "step" else 0.0)) * invokes
    macs = model_macs or sum(m for _, _, m in counts.values()) * invokes
    cycles = m4 * factor + MEASURED_CORE_FACTOR.get((target.core, kernels), (1.0, 0.0))[1] * fc_macs * invokes
    code = code_bytes(target.core, kernels, layout)
    flash = file_bytes + code
    arena32 = arena_estimate(arena_host, layout) if arena_host is not None else None
    ram = None
    if arena32 is not None:
        ram = arena32 + RAM_OVERHEAD["cortex-m0plus" if target.core == "cortex-m0plus" else "other"] + (
            CMSIS_SCRATCH[layout] if kernels == "cmsis-nn" else 0)
    fits = None if ram is None else (flash <= target.flash_bytes and ram <= target.ram_bytes)
    mem_factor, mem_label = memory_factor(target)
    cycles *= mem_factor[0] if mem_factor else 1.0
    return TFLMEstimate(target=target.name, core=target.core, layout=layout, kernels=kernels, macs=macs,
                        cycles=cycles, cycles_per_mac=cycles / macs if macs else float("nan"),
                        latency_ms=cycles / (target.clock_mhz * 1e3),
                        setup_cycles=setup_cycles(ops, tensors, fc_channels, target.core)
                        * (mem_factor[1] if mem_factor else 1.0), flash_bytes=flash,
                        code_bytes=code, ram_bytes=ram, arena_bytes=arena32, fits=fits, ops=ops, core_basis=basis,
                        calibration_error=calibration_error(target.core, layout, kernels) if with_error else None,
                        memory=mem_label, memory_factor=mem_factor[0] if mem_factor else None)


def estimate_graph(model: str, layout: str, target: Target, kernels: str, with_error: bool = True) -> TFLMEstimate:
    """The estimate for one of the measured graphs (GRAPHS)."""
    counts, tensors, file_bytes, arena, timesteps = GRAPHS[(model, layout)]
    return estimate_counts(counts, tensors, file_bytes, arena, target, layout, kernels, timesteps,
                           with_error=with_error)


def calibration_errors() -> dict[tuple[str, str, str, str], dict[str, float]]:
    """The estimate's relative error on every measurement: cycles and set-up for each (core, kernels, model, layout)
    measured with this cycle model, plus flash and RAM where the calibration model's memory was measured."""
    out = {}
    for (core, kernels, model, layout), (cyc, setup) in MEASURED.items():
        t = Target(name=core, part=core, core=core, clock_mhz=100, flash_kb=4096, ram_kb=4096)
        e = estimate_graph(model, layout, t, kernels, with_error=False)
        err = {"cycles": e.cycles / cyc - 1, "setup_cycles": e.setup_cycles / setup - 1}
        if model == CALIBRATION_MODEL and (core, kernels, layout) in MEASURED_MEMORY:
            flash, ram = MEASURED_MEMORY[(core, kernels, layout)]
            err.update(flash_bytes=e.flash_bytes / flash - 1, ram_bytes=e.ram_bytes / ram - 1)
        out[(core, kernels, model, layout)] = err
    return out


def calibration_error(core: str, layout: str, kernels: str) -> dict | None:
    """How far the estimate was from the last measurement of this core, layout and kernel set, on the calibration
    model, plus the largest cycle error over every model measured so (None: never measured)."""
    errors = _errors()
    if (core, kernels, CALIBRATION_MODEL, layout) not in errors:
        return None
    err = dict(errors[(core, kernels, CALIBRATION_MODEL, layout)])
    others = [v["cycles"] for (c, k, _, lay), v in errors.items() if (c, k, lay) == (core, kernels, layout)]
    err["worst_cycles_any_model"] = max(others, key=abs)
    err["models_measured"] = len(others)
    return err


@functools.lru_cache(maxsize=1)
def _errors() -> dict:
    return calibration_errors()


__all__ = ["CALIBRATION", "GRAPHS", "KERNELS", "LAYOUTS", "MEASURED", "MEASURED_MEMORY", "MEMORY_CHECKS",
           "MEMORY_FACTOR", "TFLMEstimate", "memory_check_errors", "memory_factor",
           "calibration_errors", "estimate", "estimate_counts", "estimate_graph", "graph_counts", "invoke_cycles_m4",
           "tflm_arena_bytes"]
