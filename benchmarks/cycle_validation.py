"""How far to trust the cycle figures: CoreMark emulated per core vs published silicon scores.

CoreMark (EEMBC) is a control-heavy public benchmark with published per-MHz scores for real chips.
It is not part of edge-gru: pass a checkout of https://github.com/eembc/coremark with ``--coremark``.
This script builds it with edge-gru's own port (``benchmarks/coremark_port/``), the generated
startup code and linker script, with the compiler ``--cc`` names (gcc: the family of the published
figures), runs the performance run in firmware_sim's emulator on each target, and prints
CoreMark/MHz = iterations x 10^6 / cycles between the start and stop marks, next to the published
silicon figure for the same core (zero wait-state memory: code and data in TCM or RAM) and the error.

With ``--memory`` it checks the memory model instead (``firmware_sim/memory.py``): CoreMark run from each
part's flash/XIP through its modelled wait states and caches, compared with published figures measured on
silicon from flash: a flash-vs-RAM or caches-on-vs-off ratio of one build (the figure's source and our two
placements or cache settings of one build), or a from-flash score against the same core from RAM.

Usage::

    python benchmarks/cycle_validation.py --coremark DIR [--cc gcc] [--iterations 10] [--json out.json]
    python benchmarks/cycle_validation.py --coremark DIR --memory [--cc gcc]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

PORT = Path(__file__).with_name("coremark_port")
CORE_SOURCES = ("core_list_join.c", "core_main.c", "core_matrix.c", "core_state.c", "core_util.c")

# Published CoreMark/MHz of silicon with code and data in zero wait-state memory, GCC.
# i.MX RT figures: github.com/Masmiseim36/Coremark_iMXRT README, "code and data is stored in TCM",
# -O2 column, iterations/s divided by the clock.
PUBLISHED: dict[str, dict] = {
    "cortex-m0plus": {"score": 2.00, "compiler": "GCC", "chip": "RP2040, code in RAM",
                      "source": "docs/measurements.md section 4 (the project's record of published RP2040 figures)"},
    "cortex-m4": {"score": 605.96 / 240, "compiler": "GCC 12.2 -O2", "chip": "i.MX RT1160 CM4 at 240 MHz, TCM",
                  "source": "Masmiseim36/Coremark_iMXRT: 605.96 iterations/s"},
    "cortex-m7": {"score": 2423.06 / 600, "compiler": "GCC 12.2 -O2", "chip": "i.MX RT1060 at 600 MHz, TCM",
                  "source": "Masmiseim36/Coremark_iMXRT: 2423.06 iterations/s"},
    "cortex-m33": {"score": 651.09 / 240, "compiler": "GCC 12.3 -O2", "chip": "i.MX RT1180 CM33 at 240 MHz, TCM",
                   "source": "Masmiseim36/Coremark_iMXRT: 651.09 iterations/s (no GCC 12.2 row for this chip)"},
}
# Same-compiler M33/M4 ratio on silicon (GCC 12.3 -O2, both at 240 MHz in TCM: 651.09 / 589.04) and Arm's own.
M33_OVER_M4 = {"silicon GCC 12.3": 651.09 / 589.04, "Arm (Arm Compiler)": 4.02 / 3.42}
# No GCC CoreMark of M55 silicon in zero-wait memory is published; Arm's product figures (Arm Compiler) give the
# M55/M33 ratio the two models are compared with (the M55 runs on QEMU with its own model, firmware_sim/m55_timing.py).
M55_OVER_M33 = {"Arm (Arm Compiler)": 4.2 / 4.02}
DEFAULT_TARGETS = "rp2040,stm32f103,nrf52840,stm32h7,nrf5340,alif-e3"


# Published silicon ratios from flash (numerator) vs the reference (denominator), same build each.
# kind: "placement" = our `flash` vs `ram` placement; "caches" = caches on vs off; "ideal" = flash vs zero-wait.
FROM_FLASH: list[dict] = [
    {"target": "rp2040", "kind": "placement", "published": 1.82 / 1.945,
     "what": "CoreMark/MHz from XIP flash / from SRAM",
     "source": "RP2040: ~1.82 CoreMark/MHz from flash (GCC 10, -Os) vs 1.89-2.00 from SRAM (other builds; midpoint "
               "1.945): different builds, so the ratio is indicative"},
    {"target": "stm32h7", "kind": "caches", "published": 2.9,
     "what": "CoreMark with L1 caches on / off, from flash",
     "source": "STM32H743 at 480 MHz, GCC 13: CoreMark 2.9x faster with the L1 caches on than off (flash at 4 WS)"},
    {"target": "stm32l4r5", "kind": "ideal", "published": 3.42 / 3.42,
     "what": "CoreMark/MHz from flash with ART on / Cortex-M4 zero-wait",
     "source": "STM32L4 family datasheets: 3.42 CoreMark/MHz from flash with the ART accelerator on; Arm: 3.42 "
               "for the Cortex-M4 (zero-wait): the ART hides the 5 wait states for CoreMark"},
    {"target": "nrf5340", "kind": "placement", "published": 3.86 / 3.73,
     "what": "CoreMark/MHz from flash + cache / from RAM",
     "source": "nRF5340 product specification: 3.86 (flash + cache) vs 3.73 (RAM) CoreMark/MHz at 64 MHz, same "
               "armclang build"},
]


def memory_rows(coremark: Path, cc, iterations: int, work: Path) -> list[dict]:
    """CoreMark through each :data:`FROM_FLASH` part's memory model: the modelled ratio next to the published one."""
    from dataclasses import replace

    from firmware_sim.targets import get_target

    rows = []
    for case in FROM_FLASH:
        t = get_target(case["target"])
        flash = measure(build(coremark, t, cc, iterations, work / f"{t.name}-flash"), t, iterations)
        if case["kind"] == "placement":
            ref = measure(build(coremark, t, cc, iterations, work / f"{t.name}-ram", "ram"), t, iterations)
        elif case["kind"] == "caches":
            off = replace(t, memory=t.memory.with_caches(False))
            ref = measure(build(coremark, t, cc, iterations, work / f"{t.name}-flash"), off, iterations)
        else:
            ref = measure(build(coremark, t, cc, iterations, work / f"{t.name}-flash"), t.ideal(), iterations)
        ratio = flash["coremark_per_mhz"] / ref["coremark_per_mhz"]
        rows.append({**case, "memory": t.memory.name, "flash_coremark_per_mhz": flash["coremark_per_mhz"],
                     "reference_coremark_per_mhz": ref["coremark_per_mhz"], "modelled": ratio,
                     "error": ratio / case["published"] - 1})
    return rows


def build(coremark: Path, target, cc, iterations: int, work: Path, placement: str = "flash") -> Path:
    """CoreMark + our port for ``target``'s core, built by ``cc`` at -O2 with the generated startup code."""
    from firmware_sim.simulate import emulation_target
    from firmware_sim.targets import uses_qemu
    from firmware_sim.toolchain import build_elf

    qemu = uses_qemu(target)
    target = emulation_target(target) if qemu else target
    missing = [s for s in CORE_SOURCES + ("coremark.h",) if not (coremark / s).is_file()]
    if missing:
        raise SystemExit(f"{coremark}: not a CoreMark checkout (missing {', '.join(missing)})")
    flags = f"-O2 ({cc.kind})"
    return build_elf([*(coremark / s for s in CORE_SOURCES), PORT / "core_portme.c"], target, work,
                     name="coremark", include_dirs=(PORT, coremark),
                     defines=("PERFORMANCE_RUN=1", f"ITERATIONS={iterations}", f'FLAGS_STR="{flags}"',
                              *(("EG_QEMU",) if qemu else ())), cc=cc,
                     placement=placement)


def measure(elf: Path, target, iterations: int) -> dict:
    """Emulate the CoreMark ELF; its CoreMark/MHz and the checks CoreMark prints."""
    from firmware_sim.simulate import emulation_target, make_emulator
    from firmware_sim.targets import uses_qemu

    t0 = time.perf_counter()
    run_on = emulation_target(target) if uses_qemu(target) else target     # (the M55 on QEMU, relocated)
    res = make_emulator(elf, run_on, 0).run(max_instructions=4_000_000_000)
    wall = time.perf_counter() - t0
    # CoreMark counts a run shorter than 10 s as an error; the emulated run has no clock, so that line is
    # expected; any other ERROR line (a wrong CRC) is a failure
    errors = [ln for ln in res.stdout.splitlines() if "ERROR" in ln and "at least 10 secs" not in ln]
    if res.exit_code != 0 or errors or "seedcrc          : 0xe9f5" not in res.stdout:
        raise SystemExit(f"CoreMark failed on {target.core}: exit {res.exit_code}\n{res.stdout}")
    if res.mark_values != [1, 2]:
        raise SystemExit(f"expected a start and a stop mark, got {res.mark_values}")
    cycles = res.marks[1] - res.marks[0]
    m = re.search(r"Iterations\s*:\s*(\d+)", res.stdout)
    assert m is not None and int(m.group(1)) == iterations, res.stdout
    return {"target": target.name, "core": target.core, "cycle_model": res.model, "iterations": iterations,
            "cycles": cycles, "coremark_per_mhz": iterations * 1e6 / cycles,
            "instructions": res.instructions, "cpi": cycles / res.instructions, "emulation_s": wall}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--coremark", type=Path, required=True, help="a checkout of github.com/eembc/coremark")
    ap.add_argument("--cc", default="gcc", help="gcc (default: the published figures' family), zig or a command")
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--targets", default=DEFAULT_TARGETS)
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--memory", action="store_true", help="check the memory model (CoreMark from flash) instead")
    args = ap.parse_args(argv)

    from firmware_sim.targets import get_target
    from firmware_sim.toolchain import resolve_compiler

    cc = resolve_compiler(args.cc)
    if args.memory:
        with tempfile.TemporaryDirectory(prefix="edge-gru-coremark-") as tmp:
            rows = memory_rows(args.coremark, cc, args.iterations, Path(tmp))
        print(f"CoreMark through the memory model, built with {cc.version} -O2 ({args.iterations} iterations)")
        print(f"{'target':<10} {'memory':<16} {'modelled':>8} {'silicon':>8} {'error':>7}  what (source)")
        for r in rows:
            print(f"{r['target']:<10} {r['memory']:<16} {r['modelled']:>8.3f} {r['published']:>8.3f} "
                  f"{r['error'] * 100:>+6.1f}%  {r['what']} ({r['source']})")
        if args.json:
            args.json.write_text(json.dumps({"compiler": cc.describe(), "memory_rows": rows}, indent=2))
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="edge-gru-coremark-") as tmp:
        for name in args.targets.split(","):
            target = get_target(name.strip()).ideal()      # the core rules alone: zero-wait memory
            elf = build(args.coremark, target, cc, args.iterations, Path(tmp) / name)
            row = measure(elf, target, args.iterations)
            pub = PUBLISHED.get(target.core)
            row["published"] = pub
            row["error"] = row["coremark_per_mhz"] / pub["score"] - 1 if pub else None
            rows.append(row)
    print(f"CoreMark/MHz emulated by firmware_sim, built with {cc.version} -O2 "
          f"({args.iterations} iterations, performance run)")
    print(f"{'target':<10} {'core':<14} {'emulated':>8} {'CPI':>5} {'silicon':>8} {'error':>7}  published figure")
    for r in rows:
        pub = r["published"]
        print(f"{r['target']:<10} {r['core']:<14} {r['coremark_per_mhz']:>8.3f} {r['cpi']:>5.2f} "
              + (f"{pub['score']:>8.3f} {r['error'] * 100:>+6.1f}%  {pub['chip']}, {pub['compiler']} ({pub['source']})"
                 if pub else f"{'-':>8} {'-':>7}  none"))
    by_core = {r["core"]: r["coremark_per_mhz"] for r in rows}
    ratio = None
    if "cortex-m33" in by_core and "cortex-m4" in by_core:
        ratio = by_core["cortex-m33"] / by_core["cortex-m4"]
        refs = ", ".join(f"{k} {v:.3f} ({(ratio / v - 1) * 100:+.1f}%)" for k, v in M33_OVER_M4.items())
        print(f"M33/M4 ratio emulated {ratio:.3f}; published: {refs}")
    if "cortex-m55" in by_core and "cortex-m33" in by_core:
        r55 = by_core["cortex-m55"] / by_core["cortex-m33"]
        refs = ", ".join(f"{k} {v:.3f} ({(r55 / v - 1) * 100:+.1f}%)" for k, v in M55_OVER_M33.items())
        print(f"M55/M33 ratio emulated {r55:.3f}; published: {refs}")
    if args.json:
        args.json.write_text(json.dumps({"compiler": cc.describe(), "rows": rows, "m33_over_m4": ratio,
                                         "m33_over_m4_published": M33_OVER_M4}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
