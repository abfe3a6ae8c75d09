"""Streaming inference, one timestep at a time, in Python (Numba reference) and in C: same integers.

A sensor stream rarely arrives as whole sequences. This example trains a small GRU on the seed-toy
data, quantizes it (w8a16), exports the C runtime, then feeds test sequences sample by sample to
both `FixedModel.stream()` and the C runtime's `eg_step` (compiled on this machine and loaded with
ctypes) and checks that every intermediate output agrees bit for bit.

    python examples/streaming.py [--epochs 5] [--sequences 50] [--out stream-out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from converters.c_export import export_c
from converters.keras_import import import_keras
from converters.keras_train import train_classifier
from edge_gru.data import load_dataset
from edge_gru.fixed.model import quantize_model
from edge_gru.runtime.c_host import CStream


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--sequences", type=int, default=50)
    ap.add_argument("--out", type=Path, default=Path("stream-out"))
    args = ap.parse_args()

    train, test = load_dataset("seed-toy")
    model, acc = train_classifier(train, test, units=24, epochs=args.epochs, seed=0)
    fm = quantize_model(import_keras(model), train.X, "w8a16")
    export_c(fm, args.out / "c", force=True, name="stream_demo")
    print(f"GRU(24) trained ({acc * 100:.2f}% test accuracy), quantized to w8a16, C runtime in {args.out / 'c'}")

    py = fm.stream()                      # Python: Numba integer reference
    c = CStream(args.out / "c", fm.features)   # C: the exported runtime, step by step
    xq = fm.quantize_input(test.X[:args.sequences])
    steps = mismatches = 0
    for seq in xq:
        py.reset()
        c.reset()
        for x_t in seq:                   # one sample at a time, as it would arrive from a sensor
            py.step(x_t, quantized=True)
            c.step(x_t)
            steps += 1
            mismatches += int(not np.array_equal(py.output_raw()[0], c.output_raw()))
    c.close()
    whole = fm.predict_raw(xq, quantized=True)
    print(f"{steps} timesteps over {len(xq)} sequences: Python and C outputs differ after {mismatches} steps")
    print(f"last outputs equal to whole-sequence inference: {np.array_equal(py.output_raw()[0], whole[-1])}")
    if mismatches:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
