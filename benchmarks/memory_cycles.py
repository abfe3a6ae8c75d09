"""Cycles per MAC per target under its memory system: zero-wait, weights in flash (cold and warm), weights in RAM.

Part of ``make bench`` (``benchmarks/run.py`` calls :func:`memory_table`); also runs alone::

    python benchmarks/memory_cycles.py [--sequences 5]

Models: the spoken-digits GRU(16) (trained, as in the other benchmarks) and a GRU(64) of the same input shape
(13 features, 48 steps; random weights quantized on the training data: cycles do not depend on the weights'
values beyond a few data-dependent branches). w8a16, zig's clang -O2. ``cold`` is the first sequence after
reset, ``warm`` the mean of the others.
"""

from __future__ import annotations

import argparse
import sys

TARGETS = ("rp2040", "stm32g0", "stm32f103", "nrf52840", "stm32l4r5", "stm32h7", "nrf5340", "alif-e3")


def models(spec16, train) -> list[tuple[str, object]]:
    """The two fixed-point models of the table."""
    import numpy as np

    from edge_gru.fixed.model import quantize_model
    from edge_gru.spec import random_spec

    spec64 = random_spec(np.random.default_rng(64), spec16.features, [64], [(10, "softmax")],
                         timesteps=train.X.shape[1], scale=0.3)
    return [("spoken-digits GRU(16)", quantize_model(spec16, train.X, "w8a16")),
            ("GRU(64) x 48 x 13", quantize_model(spec64, train.X[:200], "w8a16"))]


def memory_table(spec16, train, test, n_seq: int = 5) -> list[dict]:
    """Print and return, per model and target: cycles/MAC with zero-wait memory, weights in flash (cold, warm),
    weights in RAM, and the slow-down of flash over zero-wait."""
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    X = test.X[:n_seq]
    rows = []
    split = []
    print(f"\ncycles per MAC under each part's memory system (emulated, w8a16, {n_seq} sequences: cold = the first "
          "after reset, warm = the rest); memory: firmware_sim/targets.toml")
    print(f"{'model':22s} {'target':10s} {'memory':16s} {'zero-wait':>9s} {'flash cold':>10s} {'flash warm':>10s} "
          f"{'weights RAM':>11s} {'flash/0-wait':>12s}  validated")
    for name, fm in models(spec16, train):
        for t in TARGETS:
            target = get_target(t)
            ideal = simulate(fm, target.ideal(), X)
            flash = simulate(fm, target, X, placement="flash")
            ram = simulate(fm, target, X, placement="weights-ram")
            ref = fm.predict_raw(X)
            if not all((r.outputs == ref).all() for r in (ideal, flash, ram)):
                raise SystemExit(f"{name} on {t}: emulated outputs differ from the Numba reference")
            macs = flash.macs_per_sequence
            row = {"model": name, "target": t, "memory": target.memory.name,
                   "zero_wait": ideal.cycles_per_mac, "flash_cold": flash.cycles_cold / macs,
                   "flash_warm": flash.cycles_per_mac, "weights_ram": ram.cycles_per_mac,
                   "weights_ram_fits": ram.fits, "validated": target.memory.validated or "not validated"}
            rows.append(row)
            split.append((name, t, flash, ram))
            print(f"{name:22s} {t:10s} {row['memory']:16s} {row['zero_wait']:9.2f} {row['flash_cold']:10.2f} "
                  f"{row['flash_warm']:10.2f} {row['weights_ram']:11.2f}{'' if ram.fits else '*'} "
                  f"{row['flash_warm'] / row['zero_wait']:11.2f}x  {row['validated']}")
    print("* weights in RAM do not fit the part's RAM; every run above bit-exact with the Numba reference")
    breakdown_table(split)
    return rows


def breakdown_table(split) -> None:
    """Where the cycles go with the weights in flash and in RAM: cycles per model MAC in the matrix kernels, the gates
    and state update, and the rest, each with the memory stalls its code met (every sequence, the cold first one
    included), and the memory stalls of a warm sequence alone."""
    from run import BREAKDOWN

    print("\nwhere the cycles go, weights in flash | weights in RAM: cycles per model MAC of the matrix kernels, gates "
          "with the state update, the rest (each with its memory stalls; all sequences, the cold one included), and a "
          "warm sequence's memory stalls alone")
    print(f"{'model':22s} {'target':10s} " + " | ".join(f"{'matrix':>7s} {'gates':>6s} {'rest':>6s} {'stalls':>7s}"
                                                         for _ in range(2)))
    for name, t, *runs in split:
        cells = []
        for r in runs:
            macs = r.macs_per_sequence
            part = {k: r.breakdown_total(pre) / macs for k, pre in BREAKDOWN.items()}
            rest = sum(r.breakdown.values()) / macs - part["matrix"] - part["gates"]
            stall = r.stall_cycles_per_sequence / macs
            cells.append(f"{part['matrix']:7.2f} {part['gates']:6.2f} {rest:6.2f} {stall:7.2f}")
        print(f"{name:22s} {t:10s} " + " | ".join(cells))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sequences", type=int, default=5)
    args = ap.parse_args(argv)
    from run import spoken_digits_spec

    spec, train, test, _ = spoken_digits_spec()
    memory_table(spec, train, test, args.sequences)
    return 0


if __name__ == "__main__":
    sys.exit(main())
