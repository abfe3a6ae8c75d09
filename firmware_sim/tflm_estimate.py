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
import math
import re
import subprocess
import sys
import tomllib
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

from edge_gru.tflite.inspection import TFLiteInfo, inspect_tflite
from firmware_sim.targets import Target

DATA = files("firmware_sim").joinpath("tflm_measurements.toml")      # the measurements, with their provenance
_M = tomllib.loads(DATA.read_text())
CALIBRATION = _M["build"]["summary"]
LAYOUTS = ("unrolled", "step")
KERNELS = ("reference", "cmsis-nn")
CALIBRATION_MODEL = _M["profile"]["model"]

Counts = dict[str, tuple[int, int, int]]
# The graphs measured: per operator type (operators, output elements, MACs), tensors, file bytes, TFLite Micro's host
# arena report, timesteps.
GRAPHS: dict[tuple[str, str], tuple[Counts, int, int, int, int]] = {
    (g["model"], g["layout"]): ({k: tuple(v) for k, v in g["ops"].items()}, g["tensors"], g["file_bytes"],
                                g["host_arena"], g["timesteps"]) for g in _M["graph"]}
# Cycles per sequence and set-up cycles measured with this commit's cycle model: (core, kernels, model, layout) ->
# (cycles, set-up); FITTED names the figures a constant below is solved from (the others are predictions checked).
MEASURED: dict[tuple[str, str, str, str], tuple[float, float]] = {
    (r["core"], r["kernels"], r["model"], r["layout"]): (r["cycles"], r["setup"]) for r in _M["run"]}
FITTED: dict[tuple[str, str, str, str], frozenset[str]] = {
    (r["core"], r["kernels"], r["model"], r["layout"]): frozenset(r["fit"]) for r in _M["run"]}
# Flash (code + file) and RAM of the calibration model: (core, kernels, layout) -> (flash, RAM).
MEASURED_MEMORY = {(r["core"], r["kernels"], r["layout"]): (r["flash"], r["ram"]) for r in _M["memory"]}
# The memory factors checked on a model they were not measured on: (model, target) -> (cycles, set-up).
MEMORY_CHECKS: dict[tuple[str, str], tuple[float, float]] = {
    (r["model"], r["target"]): (r["cycles"], r["setup"]) for r in _M["memory_check"]}


@dataclass(frozen=True)
class OpCost:
    """Cortex-M4 cycles of one operator: ``fixed + per_element * outputs + per_mac * MACs``."""

    fixed: float
    per_element: float
    per_mac: float = 0.0


# --- Cortex-M4, reference kernels: the measured per-type totals of the profile, less the per-element work read from
# the kernels: FC 9 cycles per MAC (its inner loop ldrsb, ldrsb, add, cmp, mla, bne) plus a 64-bit requantization
# per output (~45); LOGISTIC/TANH gemmlowp exp + reciprocal ~400; ADD/SUB three rescales ~100; MUL one rescale ~50;
# STRIDED_SLICE index arithmetic ~12; SPLIT/UNPACK copies 4-6, RESHAPE 1, SOFTMAX exp per element ~400. The rest of
# a type's total, over its operators, is its fixed cost (element counts: the profiled graph's).
PER_ELEMENT = {"FULLY_CONNECTED": (45, 9.0), "LOGISTIC": (400, 0.0), "TANH": (400, 0.0), "ADD": (100, 0.0),
               "SUB": (100, 0.0), "MUL": (50, 0.0), "STRIDED_SLICE": (12, 0.0)}
SMALL_COPIES = {"SPLIT": 4, "UNPACK": 6, "RESHAPE": 1, "SOFTMAX": 400}   # per element; one fixed cost shared


def _reference_costs() -> dict[str, OpCost]:
    prof, (counts, *_) = _M["profile"], GRAPHS[(CALIBRATION_MODEL, "unrolled")]
    costs = {}
    for op, (n_ops, total) in prof["per_type"].items():
        per_element, per_mac = PER_ELEMENT[op]
        _, elements, macs = counts[op]
        costs[op] = OpCost((total - per_element * elements - per_mac * macs) / n_ops, per_element, per_mac)
    copies = sum(e * counts[op][1] for op, e in SMALL_COPIES.items())
    shared = (prof["small_copies"] - copies) / prof["small_copies_ops"]
    costs.update({op: OpCost(shared, e) for op, e in SMALL_COPIES.items()})
    return costs


M4_REFERENCE: dict[str, OpCost] = _reference_costs()
DEFAULT_OP = OpCost(1_100, 40)               # an operator type never measured: a typical element-wise kernel
INTERPRETER_PER_OP = _M["profile"]["interpreter"] / sum(n for n, _, _ in GRAPHS[(CALIBRATION_MODEL, "unrolled")][0]
                                                        .values())
# The profile's marks cost cycles of their own: taken off every operator.
PROFILER_SHARE = _M["profile"]["sequence_total"] / _M["profile"]["marked_total"]
# The profile was taken with an earlier cycle model; the same file measured with this one: every M4 figure scales.
M4_SCALE = MEASURED[("cortex-m4", "reference", CALIBRATION_MODEL, "unrolled")][0] / _M["profile"]["sequence_total"]
# GATHER: one measured point, all of it fixed, solved back through the scalings op_cycles_m4 applies.
M4_REFERENCE["GATHER"] = OpCost((_M["gather"]["cycles_per_step"] / M4_SCALE - INTERPRETER_PER_OP) / PROFILER_SHARE, 0)

# --- CMSIS-NN kernels (Cortex-M4, DSP). Per element, from reading arm_nn_requantize (~20 per FC output),
# arm_elementwise_add_s8 (~40), arm_elementwise_mul_s8 (~18), arm_softmax_s8 (~150). FULLY_CONNECTED's cycles per
# MAC and the extra fixed cost of a CMSIS-NN operator over the reference one are solved (_solve_cmsis) from the two
# CMSIS-NN runs marked fit (reading arm_nn_vec_mat_mult_t_s8's inner loop suggested 1.6 per MAC; its per-row set-up
# dominates rows of 13 to 50 inputs).
CMSIS_PER_ELEMENT = {"FULLY_CONNECTED": 20, "ADD": 40, "MUL": 18, "SOFTMAX": 150}

# --- step layout: the firmware's glue per timestep (copying the input and the states between invokes).
STEP_GLUE_PER_STEP = _M["step_glue"]["cycles"] / _M["step_glue"]["timesteps"]

# --- cores. Other than M4 and M0+: emulated CoreMark/MHz of the M4 over theirs (GCC, this commit's cycle model,
# benchmarks/cycle_validation.py), never checked against TFLite Micro except the M7 (MEASURED).
COREMARK_PER_MHZ: dict[str, float] = _M["coremark_per_mhz"]

# --- memory. Code (interpreter + kernels), measured on M4 and M0+ (other cores: the M4's).
CODE_BYTES = {(core, k): v for core, table in _M["code"].items() if isinstance(table, dict) for k, v in table.items()}
STEP_GLUE_CODE = _M["code"]["step_glue"]
# Arena: the smallest that works on the 32-bit target over TFLite Micro's host allocation report.
ARENA_RATIO = {layout: a["target"] / a["host"] for layout, a in _M["arena"].items()}
# The estimate must never be below what allocates: on models it was not calibrated on (a text model, a HAR GRU(24)
# in both layouts, a stacked GRU; 16 cases) the ratios above left the arena up to 3.8% short (a stacked step
# file) in 4 cases, so the estimate is never below the host report and carries 4% headroom, rounded up to 16 B.
ARENA_HEADROOM = 0.04
RAM_OVERHEAD = _M["ram"]["overhead"]
CMSIS_SCRATCH = _M["ram"]["cmsis_scratch"]
# --- memory systems: (warm cycles, set-up) through the part's memory over the same with zero-wait memory.
MEMORY_FACTOR: dict[str, tuple[float, float]] = {
    r["memory"]: (r["cycles"] / r["zero_wait_cycles"], r["setup"] / r["zero_wait_setup"]) for r in _M["memory_system"]}


def _fit_runs(core: str, kernels: str, figure: str, layout: str | None = None) -> list[tuple[str, str, float]]:
    """(model, layout, measured value) of the runs whose ``figure`` ("cycles" or "setup") is marked fit."""
    return [(m, lay, MEASURED[(c, k, m, lay)][figure == "setup"]) for (c, k, m, lay), fit in FITTED.items()
            if (c, k) == (core, kernels) and figure in fit and (layout is None or lay == layout)]


def _solve2(f, target: list[float]) -> tuple[float, float]:
    """``(a, b)`` with ``f(a, b) == target`` for a function ``f`` affine in both (a list of two values)."""
    import numpy as np

    base, fa, fb = np.array(f(0.0, 0.0)), np.array(f(1.0, 0.0)), np.array(f(0.0, 1.0))
    a, b = np.linalg.solve(np.column_stack([fa - base, fb - base]), np.array(target) - base)
    return float(a), float(b)


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


def op_cycles_m4(op_type: str, elements: float, macs: float, kernels: str,
                 cmsis: tuple[float, float] | None = None) -> float:
    """Cortex-M4 cycles of one operator invoke (kernel + interpreter dispatch).

    ``cmsis``: FULLY_CONNECTED's cycles per MAC and the extra fixed cost of a CMSIS-NN operator (default: the
    values solved from the measurements)."""
    ref = M4_REFERENCE.get(op_type, DEFAULT_OP)
    cost = ref.fixed + ref.per_element * elements + ref.per_mac * macs
    if kernels == "cmsis-nn" and op_type in CMSIS_PER_ELEMENT:
        per_mac, extra = cmsis if cmsis is not None else (CMSIS_FC_PER_MAC, CMSIS_FIXED_EXTRA)
        cost = ref.fixed + extra + CMSIS_PER_ELEMENT[op_type] * elements + (
            per_mac * macs if op_type == "FULLY_CONNECTED" else 0.0)
    return (cost * PROFILER_SHARE + INTERPRETER_PER_OP) * M4_SCALE


def invoke_cycles_m4(counts: Counts, kernels: str, cmsis: tuple[float, float] | None = None) -> float:
    """Cortex-M4 cycles of one invoke of a graph with these per-type counts (the model is linear in them)."""
    return sum(n * op_cycles_m4(t, e / n, m / n, kernels, cmsis) for t, (n, e, m) in counts.items() if n)


def _m4_sequence(model: str, layout: str, kernels: str, cmsis: tuple[float, float] | None = None) -> float:
    counts, _, _, _, timesteps = GRAPHS[(model, layout)]
    invokes = timesteps if layout == "step" else 1
    return (invoke_cycles_m4(counts, kernels, cmsis) + (STEP_GLUE_PER_STEP if layout == "step" else 0.0)) * invokes


def _solve_cmsis() -> tuple[float, float]:
    runs = _fit_runs("cortex-m4", "cmsis-nn", "cycles")
    return _solve2(lambda a, b: [_m4_sequence(m, lay, "cmsis-nn", (a, b)) for m, lay, _ in runs],
                   [v for *_, v in runs])


CMSIS_FC_PER_MAC, CMSIS_FIXED_EXTRA = _solve_cmsis()


def _fc_macs(model: str, layout: str) -> float:
    counts, _, _, _, timesteps = GRAPHS[(model, layout)]
    return counts.get("FULLY_CONNECTED", (0, 0, 0))[2] * (timesteps if layout == "step" else 1)


def _solve_core(core: str, kernels: str) -> tuple[float, float]:
    runs = _fit_runs(core, kernels, "cycles")
    return _solve2(lambda a, b: [a * _m4_sequence(m, lay, kernels) + b * _fc_macs(m, lay) for m, lay, _ in runs],
                   [v for *_, v in runs])


# Cores with two cycle fits (the M0+): cycles = factor x the M4 estimate + extra cycles per FULLY_CONNECTED MAC (no
# MLA/SMULL, byte loads without offset addressing), per kernel set.
MEASURED_CORE_FACTOR = {(c, k): _solve_core(c, k) for c, k in {(c, k) for (c, k, *_), fit in FITTED.items()
                                                              if "cycles" in fit and c != "cortex-m4"}}


def core_factor(core: str, kernels: str) -> tuple[float, str]:
    """Cycles on ``core`` over cycles on the M4 (before a core's per-MAC term), and what the factor rests on."""
    if core == "cortex-m4":
        return 1.0, "measured (Cortex-M4)"
    if (core, kernels) in MEASURED_CORE_FACTOR:
        return MEASURED_CORE_FACTOR[(core, kernels)][0], "measured on this core (M0+/M4 factor and per-MAC term)"
    ratio = COREMARK_PER_MHZ["cortex-m4"] / COREMARK_PER_MHZ.get(core, COREMARK_PER_MHZ["cortex-m4"])
    if any(c == core for c, *_ in MEASURED):
        return ratio, "M4 figures scaled by emulated CoreMark/MHz (checked once on this core: see calibration_error)"
    return ratio, "M4 figures scaled by emulated CoreMark/MHz (never measured on this core)"


# --- the Cortex-M55 with CMSIS-NN: FULLY_CONNECTED runs CMSIS-NN's Helium kernel (arm_nn_vec_mat_mult_t_s8, MVE
# path: per pass 4 rows, per loop turn 16 columns: one VLDRB.8 of the input, per row one VLDRB.8 of weights and one
# VMLADAVA.S8). A turn is timed on the M55 model (firmware_sim/m55_timing.py) from the instructions below; a pass's
# set-up and epilogue (4 kernel sums, 5 pointers, DLSTP, 2 VMOVs, the requantization's 4 vector operations,
# offset, clamp, scatter store, loop) counted from the source as one instruction a cycle. Never measured on an M55.
_MVE_FC_TURN = ("ecb0 1e10 ecb1 3e10 eef2 6f20 ecb2 3e10 eef2 8f20 ecb3 3e10 eef2 af20 ecb4 3e10 eef2 cf20 "
                "f01f c015")   # vldrb.u8 q0,[r0],#16; (vldrb.u8 q1,[rN],#16; vmlava.s8 rA,q1,q0) x 4; letp
MVE_FC_PASS_CYCLES = 20.0


@functools.cache
def mve_fc_turn_cycles() -> float:
    """Cycles of one steady-state turn (16 columns x 4 rows) of CMSIS-NN's MVE matrix loop on the M55 model."""
    from firmware_sim.m55_timing import ops_from_halfwords, steady_turn

    return steady_turn(ops_from_halfwords(_MVE_FC_TURN))


def mve_fc_cycles(counts: Counts) -> float:
    """M55 cycles of one invoke's FULLY_CONNECTED MAC work with CMSIS-NN's MVE kernel: per operator, output rows / 4
    passes of (set-up + turns of 16 columns)."""
    n, rows, macs = counts.get("FULLY_CONNECTED", (0, 0, 0))
    if not n or not rows:
        return 0.0
    cols = macs / rows
    per_op_rows = rows / n
    return n * math.ceil(per_op_rows / 4) * (MVE_FC_PASS_CYCLES + mve_fc_turn_cycles() * math.ceil(cols / 16))


def _setup_point(model: str, layout: str, setup: float) -> tuple[int, int, int, float]:
    counts, tensors, *_ = GRAPHS[(model, layout)]
    return (sum(n for n, _, _ in counts.values()), tensors, counts.get("FULLY_CONNECTED", (0, 0, 0))[1], setup)


# --- set-up (AllocateTensors and the kernels' Prepare): a * ops + b * tensors^2 + c * FC output channels (the
# memory planner is quadratic in the tensors; FULLY_CONNECTED's Prepare computes a multiplier per output channel
# in soft float), solved per core through its three set-up fits.
SETUP_POINTS = {c: [_setup_point(m, lay, v) for m, lay, v in _fit_runs(c, "reference", "setup")]
                for c in {c for (c, _, _, _), fit in FITTED.items() if "setup" in fit}}
# A core with one set-up fit (the M7): its set-up over the M4's on the same file (CoreMark's ratio, 0.645, predicted
# the M7's 27% high: AllocateTensors' soft-float and memory-planner code dual-issues better than CoreMark's).
SETUP_SCALE = {c: pts[0][3] / MEASURED[("cortex-m4", "reference", m, lay)][1]
               for c, pts in SETUP_POINTS.items() if len(pts) == 1
               for m, lay, _ in _fit_runs(c, "reference", "setup")}
SETUP_POINTS = {c: pts for c, pts in SETUP_POINTS.items() if len(pts) == 3}


@functools.cache
def _setup_coefficients(core: str) -> tuple[float, float, float]:
    """``(a, b, c)`` through the three measured set-up points of ``core``."""
    import numpy as np

    points = SETUP_POINTS[core]
    rows = np.array([[o, t * t, ch] for o, t, ch, _ in points], float)
    a, b, c = np.linalg.solve(rows, np.array([cyc for *_, cyc in points], float))
    return float(a), float(b), float(c)


def memory_check_errors() -> dict[tuple[str, str], dict[str, float]]:
    """The estimate's error, memory system included, on :data:`MEMORY_CHECKS` (cycles; set-up)."""
    from firmware_sim.targets import get_target

    out = {}
    for (model, target), (cyc, setup) in MEMORY_CHECKS.items():
        e = estimate_graph(model, "unrolled", get_target(target), "reference", with_error=False)
        out[(model, target)] = {"cycles": e.cycles / cyc - 1, "setup_cycles": e.setup_cycles / setup - 1}
    return out


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
    if target.core == "cortex-m55" and kernels == "cmsis-nn":
        # the FC MACs leave the scaled M4 figure and take CMSIS-NN's Helium loop timed on the M55 model
        m4_fc_macs = CMSIS_FC_PER_MAC * fc_macs * PROFILER_SHARE * M4_SCALE
        cycles = (m4 - m4_fc_macs * invokes) * factor + mve_fc_cycles(counts) * invokes
        basis = (f"{basis}; FULLY_CONNECTED's MACs: CMSIS-NN's Helium kernel (4 rows x 16 columns per VMLADAVA.S8 "
                 f"turn, {mve_fc_turn_cycles():g} cycles a turn on the M55 model, {MVE_FC_PASS_CYCLES:g} per 4-row "
                 "pass counted from its source); never measured on an M55")
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


def calibration_errors() -> dict[tuple[str, str, str, str], dict]:
    """The estimate's relative error on every measurement: cycles and set-up for each (core, kernels, model, layout)
    measured with this cycle model, plus flash and RAM where the calibration model's memory was measured.

    ``fitted`` lists the figures of that run a constant was solved from: their error is zero by construction (a
    check that the solve is right), not a measure of accuracy; every other figure is a prediction."""
    out = {}
    for (core, kernels, model, layout), (cyc, setup) in MEASURED.items():
        t = Target(name=core, part=core, core=core, clock_mhz=100, flash_kb=4096, ram_kb=4096)
        e = estimate_graph(model, layout, t, kernels, with_error=False)
        err: dict = {"cycles": e.cycles / cyc - 1, "setup_cycles": e.setup_cycles / setup - 1}
        if model == CALIBRATION_MODEL and (core, kernels, layout) in MEASURED_MEMORY:
            flash, ram = MEASURED_MEMORY[(core, kernels, layout)]
            err.update(flash_bytes=e.flash_bytes / flash - 1, ram_bytes=e.ram_bytes / ram - 1)
        fit = FITTED[(core, kernels, model, layout)]
        err["fitted"] = sorted({"cycles": "cycles", "setup": "setup_cycles"}[f] for f in fit)
        out[(core, kernels, model, layout)] = err
    return out


def calibration_error(core: str, layout: str, kernels: str) -> dict | None:
    """How far the estimate's cycles were from the measured runs of this core, layout and kernel set that no constant
    was solved from (None: no such run). ``cycles``: the error on the calibration model, or ``None`` when its cycles
    are a fit point (``cycles_fitted``); ``worst_cycles_any_model``: the largest over the predicted runs."""
    errors = _errors()
    runs = {m: v for (c, k, m, lay), v in errors.items() if (c, k, lay) == (core, kernels, layout)}
    predicted = {m: v["cycles"] for m, v in runs.items() if "cycles" not in v["fitted"]}
    if not predicted:
        return None
    cal = runs.get(CALIBRATION_MODEL)
    fitted = cal is not None and "cycles" in cal["fitted"]
    return {"cycles": None if cal is None or fitted else cal["cycles"], "cycles_fitted": fitted,
            "worst_cycles_any_model": max(predicted.values(), key=abs), "models_measured": len(predicted)}


@functools.lru_cache(maxsize=1)
def _errors() -> dict:
    return calibration_errors()


__all__ = ["CALIBRATION", "DATA", "FITTED", "GRAPHS", "KERNELS", "LAYOUTS", "MEASURED", "MEASURED_MEMORY",
           "MEMORY_CHECKS", "MEMORY_FACTOR", "TFLMEstimate", "memory_check_errors", "memory_factor",
           "calibration_errors", "estimate", "estimate_counts", "estimate_graph", "graph_counts", "invoke_cycles_m4",
           "tflm_arena_bytes"]
