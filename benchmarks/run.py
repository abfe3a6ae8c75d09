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


def main() -> int:
    from edge_gru.data import accuracy, load_dataset
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

    from edge_gru.fixed.model import quantize_model
    from edge_gru.runtime.tflite import TFLiteRunner

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
