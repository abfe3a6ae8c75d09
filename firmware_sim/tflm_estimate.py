"""ESTIMATED cost of running a ``.tflite`` under TFLite Micro on a Cortex-M core (not emulated).

TFLite Micro's kernels are not emulated here; the estimate adds, per operator of the graph,
``interpreter overhead + work``. The work constants are Cortex-M4 cycles for TFLite Micro's
portable reference kernels, derived from their inner loops (int8 FULLY_CONNECTED: load, widen,
offset and multiply-accumulate per MAC plus a gemmlowp requantization per output; int8 ADD/MUL/SUB:
two or three 64-bit rounding-doubling multiplies per element; LOGISTIC/TANH int8: gemmlowp
fixed-point exp/tanh per element; copies for SPLIT/STRIDED_SLICE/RESHAPE/UNPACK). They are
cross-checked against the published figure of about 21 cycles per MAC for an int8 GRU on a
Cortex-M4 at 120 MHz (EdgeMark, arXiv 2502.01700; DESIGN.md section 2). Other cores scale the M4
figure. Arena RAM is TFLite Micro's own allocation report for the file (measured); flash is the file
plus an assumed interpreter + kernels code size.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from converters.tflite_inspect import TFLiteInfo, inspect_tflite
from firmware_sim.targets import Target

M4_OP_OVERHEAD = 250          # cycles per operator invoke: node loop, eval dispatch, tensor lookups
M4_FC_PER_MAC = 6.0           # reference int8 FULLY_CONNECTED inner loop
M4_FC_PER_OUTPUT = 60         # bias, requantization (MultiplyByQuantizedMultiplier), clamp
M4_PER_ELEMENT = {"ADD": 70, "SUB": 70, "MUL": 45, "LOGISTIC": 180, "TANH": 180, "SOFTMAX": 400,
                  "SPLIT": 4, "STRIDED_SLICE": 8, "RESHAPE": 2, "UNPACK": 4, "CONCATENATION": 4, "QUANTIZE": 30,
                  "DEQUANTIZE": 30}
DEFAULT_PER_ELEMENT = 40
CORE_SCALE = {"cortex-m0plus": 2.2, "cortex-m3": 1.15, "cortex-m4": 1.0, "cortex-m7": 0.6, "cortex-m33": 1.0,
              "cortex-m55": 0.9}
INTERPRETER_CODE_BYTES = 60_000   # assumed: TFLite Micro interpreter + the kernels above at -Os, Cortex-M


@dataclass
class TFLMEstimate:
    """Estimated cycles and memory of one ``.tflite`` on one target."""

    target: str
    core: str
    macs: int
    cycles: float
    cycles_per_mac: float
    latency_ms: float
    flash_bytes: int
    ram_bytes: int | None
    arena_bytes: int | None
    fits: bool | None
    ops: int
    method: str = "estimated"
    assumptions: str = ("op-list cost model of TFLite Micro reference kernels (Cortex-M4 constants, scaled per core), "
                        f"{M4_OP_OVERHEAD} cycles interpreter overhead per operator, interpreter code assumed "
                        f"{INTERPRETER_CODE_BYTES // 1000} kB, arena from TFLite Micro's allocation report")

    def as_dict(self) -> dict:
        """The estimate as a JSON-ready dictionary."""
        return asdict(self)


def m4_cycles(info: TFLiteInfo) -> float:
    """Estimated Cortex-M4 cycles for one invoke of the graph."""
    total = 0.0
    for op in info.ops:
        total += M4_OP_OVERHEAD
        if op.type == "FULLY_CONNECTED":
            total += M4_FC_PER_MAC * op.macs + M4_FC_PER_OUTPUT * op.out_elements
        else:
            total += M4_PER_ELEMENT.get(op.type, DEFAULT_PER_ELEMENT) * op.out_elements
    return total


def tflm_arena_bytes(path: str | Path) -> int | None:
    """Arena bytes TFLite Micro allocates for the model (its recording allocator), in a child process."""
    code = ("import sys\nfrom tflite_micro.python.tflite_micro import runtime as r\n"
            "it = r.Interpreter.from_bytes(open(sys.argv[1], 'rb').read())\nit.print_allocations()\n")
    try:
        p = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return None
    m = re.search(r"Arena allocation total (\d+) bytes", p.stdout + p.stderr)
    return int(m.group(1)) if m else None


def estimate(path: str | Path, target: Target, info: TFLiteInfo | None = None,
             arena: int | None = None) -> TFLMEstimate:
    """Estimate TFLite Micro's cycles, latency, flash and RAM for the ``.tflite`` at ``path`` on ``target``."""
    info = info or inspect_tflite(path)
    arena = arena if arena is not None else tflm_arena_bytes(path)
    cycles = m4_cycles(info) * CORE_SCALE[target.core]
    flash = info.size_bytes + INTERPRETER_CODE_BYTES
    ram = arena + 2048 if arena is not None else None     # + interpreter stack, assumed 2 kB
    fits = None if ram is None else (flash <= target.flash_bytes and ram <= target.ram_bytes)
    return TFLMEstimate(target=target.name, core=target.core, macs=info.macs, cycles=cycles,
                        cycles_per_mac=cycles / info.macs if info.macs else float("nan"),
                        latency_ms=cycles / (target.clock_mhz * 1e3), flash_bytes=flash, ram_bytes=ram,
                        arena_bytes=arena, fits=fits, ops=len(info.ops))


__all__ = ["TFLMEstimate", "estimate", "m4_cycles", "tflm_arena_bytes"]
