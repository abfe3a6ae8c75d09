"""Host throughput: fixed-point reference vs LiteRT vs TFLite Micro, same model and data, one thread.

Run with ``make bench``. Trains (or reuses) the spoken-digits GRU(16), converts it to an int8
``.tflite`` (unrolled) and times batch evaluation of the 600 test sequences. The fixed-point
reference runs with one Numba thread; the TFLite interpreters run one sequence per invoke
with one thread. Prints per-sequence times and the ratios measured in this run.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
# a fresh Numba cache, so the reported JIT compile time is a real compile
os.environ.setdefault("NUMBA_CACHE_DIR", __import__("tempfile").mkdtemp(prefix="edge-gru-bench-numba-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CACHE = Path(os.environ.get("EDGE_GRU_BENCH_DIR", Path(__file__).parent / ".cache"))


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def spoken_digits_spec():
    """The benchmarks' spoken-digits GRU(16) (trained once, cached), its data and its int8 .tflite."""
    from edge_gru.data import load_dataset
    from edge_gru.spec import load_spec, save_spec

    CACHE.mkdir(parents=True, exist_ok=True)
    train, test = load_dataset("spoken-digits")
    spec_path, tfl_path = CACHE / "sd16.egspec", CACHE / "sd16-int8.tflite"
    if not spec_path.exists():
        from converters.keras_import import import_keras
        from converters.keras_train import train_classifier

        model, _ = train_classifier(train, test, units=16, epochs=30, seed=0)
        save_spec(import_keras(model), spec_path)
    spec = load_spec(spec_path)
    if not tfl_path.exists():
        from converters.tflite_export import export_tflite_int8

        export_tflite_int8(spec, train.X, tfl_path)
    return spec, train, test, tfl_path


def main() -> int:
    from edge_gru.data import accuracy

    spec, train, test, tfl_path = spoken_digits_spec()

    from edge_gru.fixed.model import quantize_model
    from edge_gru.tflite.runner import TFLiteRunner

    n = len(test.X)
    rows = []
    for prec in ("w8a16", "w8a8", "w16a16"):
        t0 = time.perf_counter()
        fm = quantize_model(spec, train.X, prec)
        xq = fm.quantize_input(test.X)
        fm.predict_raw(xq[:2], quantized=True)  # JIT compile (or load from cache)
        compile_s = time.perf_counter() - t0
        sec = best_of(lambda fm=fm, xq=xq: fm.predict_raw(xq, quantized=True), 7)
        acc = accuracy(fm.predict(test.X), test.y)
        rows.append((f"fixed {prec} (Numba, 1 thread)", sec / n * 1e6, acc, f"quantize+JIT compile {compile_s:.2f} s"))
    for eng, label in (("litert", "LiteRT int8 (default kernels)"), ("litert-ref", "LiteRT int8 (reference kernels)"),
                       ("tflm", "TFLite Micro int8 (Python interpreter)")):
        r = TFLiteRunner(tfl_path, eng)
        xq = r.quantize(test.X)
        sec = best_of(lambda r=r, xq=xq: r.predict_raw(xq), 3 if eng != "tflm" else 2)
        rows.append((label, sec / n * 1e6, accuracy(r.dequantize(r.predict_raw(xq)), test.y), ""))
    from edge_gru.tflite.runner import predict_file, probe_file

    for eng, label in (("litert", "LiteRT int8, isolated (edge-gru run)"), ("tflm", "TFLite Micro, isolated")):
        # what `edge-gru run` does: a probe, then the data in one child process (a crash is an error line)
        sec = best_of(lambda eng=eng: (probe_file(tfl_path, eng), predict_file(tfl_path, eng, test.X, checked=True)), 2)
        call = best_of(lambda eng=eng: predict_file(tfl_path, eng, test.X[:1], checked=True), 5)
        rows.append((label, sec / n * 1e6, accuracy(predict_file(tfl_path, eng, test.X, checked=True), test.y),
                     f"{call * 1e3:.0f} ms per child call (fork + interpreter + 1 sequence)"))
    base = {label: us for label, us, _, _ in rows}
    ours = rows[0][1]
    print(f"spoken-digits GRU(16), 48 steps, {spec.macs_per_sequence()} MACs/seq, {n} test sequences, "
          f".tflite {tfl_path.stat().st_size} bytes")
    print(f"{'implementation':42s} {'us/seq':>9s} {'accuracy':>9s} {'w8a16 speed-up':>15s}")
    for label, us, acc, note in rows:
        print(f"{label:42s} {us:9.2f} {acc * 100:8.2f}% {us / ours:14.1f}x  {note}")
    print(f"ratios: fixed w8a16 vs LiteRT {base['LiteRT int8 (default kernels)'] / ours:.1f}x, "
          f"vs LiteRT reference {base['LiteRT int8 (reference kernels)'] / ours:.1f}x, "
          f"vs TFLite Micro {base['TFLite Micro int8 (Python interpreter)'] / ours:.1f}x")
    cycles(spec, train, test, tfl_path)
    import importlib.util

    if importlib.util.find_spec("unicorn") is not None:
        sys.path.insert(0, str(Path(__file__).parent))
        from memory_cycles import memory_table

        memory_table(spec, train, test)
    return 0


BREAKDOWN = {"matrix": ("eg_matrix",), "gates": ("eg_gates", "eg_update")}


def _seed_spec():
    from edge_gru.data import load_dataset
    from edge_gru.spec import load_spec, save_spec

    path = CACHE / "seed50.egspec"
    train, test = load_dataset("seed-toy")
    if not path.exists():
        from converters.keras_import import import_keras
        from converters.keras_train import train_classifier

        model, _ = train_classifier(train, test, units=50, epochs=15, seed=0)
        save_spec(import_keras(model), path)
    return load_spec(path), train, test


def cycles(spec, train, test, tfl_path, n_seq: int = 20) -> None:
    """Emulated cycles per MAC of the C runtime (w8a16) per core, with the breakdown, TFLite Micro's estimate, the
    runtime's code size, and both against the targets (zig and gcc)."""
    import importlib.util

    if importlib.util.find_spec("unicorn") is None:
        print("(emulator not installed: no cycle figures; pip install 'edge-gru[sim]')")
        return
    import numpy as np

    from edge_gru.fixed.model import quantize_model
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target
    from firmware_sim.tflm_estimate import estimate

    seed_spec, seed_train, seed_test = _seed_spec()
    models = [("spoken-digits GRU(16)", spec, train, test, tfl_path), ("seed GRU(50)", seed_spec, seed_train, seed_test,
                                                                       None)]
    print(f"\nemulated cycles, C runtime w8a16, {n_seq} sequences each, every output checked equal to the fixed-point "
          "reference's (cycle model: firmware_sim/core_timing.py; zero-wait memory here: each part's memory system is "
          "in the table that follows)")
    print("cycles/MAC: per model MAC for the whole inference, split into the matrix kernels' innermost-loop turns "
          "(inner), the rest of the matrix kernels (blocks: bias, odd and half input groups, requantization, block "
          "loop), gates with the state update, and other (operand packing, calls, the dense head); loop: cycles per "
          "MAC of a turn of the matrix kernel's innermost loop;\npadding: extra MACs the weight layout executes (gate "
          "columns padded to a multiple of 4, inputs to an even count)")
    print("M4, M7, M33: the pairs kernel's straight-line copies have no loop over the inputs, so their innermost loop "
          "is the block loop: inner and loop then count whole blocks of 4 columns (bias, every input group, "
          "requantization, stores) and blocks only the per-call work; a product of more than 24 inputs takes a rolled "
          "copy, whose innermost loop is 6 input groups (4 on the M7) of a block")
    print("floor: the fewest cycles per MAC the core's model gives the instructions of that loop (its back branch "
          "left out; firmware_sim/core_timing.py Timing.floor_cost, m55_timing.py loop_floor)")
    print("Cortex-M55 (alif-e3): Helium build run on QEMU mps3-an547, cycles from the M55 model "
          "(firmware_sim/m55_timing.py; not validated on silicon)")
    print(f"{'model':24s} {'target':10s} {'core':14s} {'kernel':9s} {'cycles/MAC':>10s} {'inner':>7s} "
          f"{'blocks':>7s} {'gates':>7s} {'other':>7s} {'loop':>6s} {'floor':>6s} {'padding':>8s} {'latency ms':>10s}")
    from firmware_sim.qemu import find_qemu

    m55 = ["alif-e3"]
    try:
        find_qemu()
    except Exception as exc:                     # noqa: BLE001 - the benchmark goes on without the M55 row
        print(f"(no Cortex-M55 row: {exc})")
        m55 = []
    measured: dict[tuple[str, str], float] = {}
    for name, sp, tr, te, tfl in models:
        fm = quantize_model(sp, tr.X, "w8a16")
        for t in ("rp2040", "nrf52840", "stm32h7", "nrf5340", *m55):
            target = get_target(t).ideal()
            r = simulate(fm, target, te.X[:n_seq])
            measured[name, target.core] = r.cycles_per_mac
            assert np.array_equal(r.outputs, fm.predict_raw(fm.quantize_input(te.X[:n_seq]), quantized=True)), \
                f"{name} on {t}: the emulated outputs differ from the fixed-point reference"
            parts = {k: r.breakdown_total(pre) / r.macs_per_sequence for k, pre in BREAKDOWN.items()}
            inner = r.matrix_loop_cycles_per_sequence / r.macs_per_sequence
            other = r.cycles_per_mac - sum(parts.values())
            loop = f"{r.loop_cycles_per_mac:6.2f}" if r.loop_cycles_per_mac else f"{'-':>6s}"
            floor = f"{r.loop_floor_cycles_per_mac:6.2f}" if r.loop_floor_cycles_per_mac else f"{'-':>6s}"
            print(f"{name:24s} {t:10s} {target.core:14s} {r.kernel:9s} {r.cycles_per_mac:10.2f} "
                  f"{inner:7.2f} {parts['matrix'] - inner:7.2f} {parts['gates']:7.2f} {other:7.2f} "
                  f"{loop} {floor} {r.padded_macs_per_sequence / r.macs_per_sequence - 1:8.1%} {r.latency_ms:10.3f}")
        if tfl is not None:
            macs = sp.macs_per_sequence(te.X.shape[1])
            for layout, kernels in (("unrolled", "reference"), ("unrolled", "cmsis-nn")):
                e = estimate(tfl, get_target("stm32l4r5").ideal(), layout, kernels, timesteps=te.X.shape[1],
                             model_macs=macs)
                err = e.calibration_error
                fit = "fitted on this model" if err["cycles_fitted"] else f"{err['cycles'] * 100:+.1f}% on this model"
                print(f"{name:24s} TFLite Micro {layout} {kernels} on cortex-m4 (ESTIMATED, calibrated: {fit}, "
                      "at worst "
                      f"{err['worst_cycles_any_model'] * 100:+.1f}% on {err['models_measured']} run(s) not fitted on): "
                      f"{e.cycles_per_mac:.1f} cycles/MAC, arena {e.arena_bytes:,} B, set-up {e.setup_cycles:,.0f} "
                      "cycles")
            e = estimate(tfl, get_target("alif-e3"), "unrolled", "cmsis-nn", timesteps=te.X.shape[1], model_macs=macs)
            print(f"{name:24s} TFLite Micro unrolled cmsis-nn on cortex-m55 (ESTIMATED: {e.core_basis}): "
                  f"{e.cycles_per_mac:.1f} cycles/MAC")
    sizes = code_sizes(models)
    targets_table(models, measured, sizes, n_seq)


#: the issue's targets: cycles/MAC (w8a16, zig, emulated) per model and core, and the runtime's .text in bytes
TARGETS = {"seed GRU(50)": {"cortex-m4": 2.0, "cortex-m0plus": 5.5, "cortex-m7": 1.6, "cortex-m33": 1.8},
           "spoken-digits GRU(16)": {"cortex-m4": 2.6, "cortex-m0plus": 6.5, "cortex-m7": 2.0, "cortex-m33": 2.3},
           "runtime .text": {"cortex-m4": 4096, "cortex-m0plus": 4096, "cortex-m7": 4608, "cortex-m33": 4096}}
TARGET_PARTS = {"cortex-m4": "nrf52840", "cortex-m0plus": "rp2040", "cortex-m7": "stm32h7", "cortex-m33": "nrf5340"}


def targets_table(models, measured, sizes, n_seq: int) -> None:
    """The figures against the targets: zig (measured above) and gcc (measured here, same sequences), each cell
    ``zig [gcc, gcc/zig - 1] / target`` and whether zig meets it; every gcc run checked bit-exact too."""
    import numpy as np

    from edge_gru.fixed.model import quantize_model
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target
    from firmware_sim.toolchain import resolve_compiler

    try:
        gcc = resolve_compiler("gcc")
    except Exception as exc:                     # noqa: BLE001 - the table goes on without gcc
        print(f"(no gcc column: {exc})")
        gcc = None
    gcc_cycles, gcc_sizes = {}, {}
    if gcc is not None:
        for name, sp, tr, te, _ in models:
            fm = quantize_model(sp, tr.X, "w8a16")
            for core, part in TARGET_PARTS.items():
                r = simulate(fm, get_target(part).ideal(), te.X[:n_seq], cc=gcc)
                assert np.array_equal(r.outputs, fm.predict_raw(fm.quantize_input(te.X[:n_seq]), quantized=True)), \
                    f"{name} on {part} built by gcc: the emulated outputs differ from the fixed-point reference"
                gcc_cycles[name, core] = r.cycles_per_mac
        gcc_sizes = code_sizes(models[:1], gcc, quiet=True)
    print("\nagainst the targets (w8a16, zero-wait, emulated): zig [gcc, its difference] / target, + met, - not met")
    print(f"{'':24s} " + " ".join(f"{c:>28s}" for c in TARGET_PARTS))
    for name, goal in TARGETS.items():
        cells = []
        for core in TARGET_PARTS:
            if name == "runtime .text":
                z, g = sizes[models[0][0], core], gcc_sizes.get((models[0][0], core))
                fmt = "{:,}"
            else:
                z, g = measured[name, core], gcc_cycles.get((name, core))
                fmt = "{:.2f}"
            gcc_part = f" [{fmt.format(g)} {g / z - 1:+.0%}]" if g is not None else ""
            cells.append(f"{fmt.format(z)}{gcc_part} / {fmt.format(goal[core])} {'+' if z <= goal[core] else '-'}")
        print(f"{name:24s} " + " ".join(f"{c:>28s}" for c in cells))


def code_sizes(models, cc=None, quiet: bool = False) -> dict[tuple[str, str], int]:
    """The runtime's code per core: ``.text`` of ``edge_gru.o`` specialized to each model, and the generic build
    (printed unless ``quiet``); returns the specialized sizes by (model, core)."""
    import tempfile
    from pathlib import Path

    from converters.c_export import export_c
    from edge_gru.fixed.model import quantize_model
    from firmware_sim.simulate import PAIRS_CORES
    from firmware_sim.sizes import object_sizes
    from firmware_sim.toolchain import resolve_compiler

    cc = cc or resolve_compiler(None)
    cores = ("cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m33")
    if not quiet:
        print(f"\nruntime code: .text of edge_gru.o in bytes, -O2, {cc.version}; built for the model in the layout "
              "the core runs (M0+ blocks, the DSP cores pairs; generic build with -DEG_GENERIC in brackets)")
        print(f"{'model':24s} " + " ".join(f"{c:>18s}" for c in cores))
    out = {}
    for name, sp, tr, _, _ in models:
        fm = quantize_model(sp, tr.X, "w8a16")
        with tempfile.TemporaryDirectory() as tmp:
            sizes = []
            for core in cores:          # in the layout simulate() uses on the core (the DSP cores: pairs)
                layout = "pairs" if core in PAIRS_CORES else "blocks"
                if not (Path(tmp) / layout).exists():
                    export_c(fm, Path(tmp) / layout, matrix=layout)
                sizes.append(object_sizes(Path(tmp) / layout, core, cc))
        out.update({(name, core): s["runtime_text"] for core, s in zip(cores, sizes, strict=True)})
        if not quiet:
            print(f"{name:24s} " + " ".join(f"{s['runtime_text']:>8,} ({s['generic_text']:>6,})" for s in sizes))
    return out


if __name__ == "__main__":
    sys.exit(main())
