"""Keyword spotting with spoken digits: from a Keras GRU to a number you can put in a datasheet.

Walks through what `edge-gru demo` automates, one step at a time, with the Python API:

1. train a GRU(16) on the built-in spoken-digit MFCC sequences (48 frames x 13 coefficients),
2. import it into edge-gru (float reference, checked against Keras),
3. quantize it (w8a16: int8 weights, int16 state) and compare with float,
4. export the C runtime and run it on the host: bit-exact with the Python reference,
5. emulate it on a Cortex-M4 (nRF52840 at 64 MHz) and read cycles, latency, flash and RAM.

    python examples/keyword_spotting.py [--epochs 30] [--emulate 100] [--out kws-out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from converters.c_export import export_c
from converters.keras_import import import_keras
from converters.keras_train import save_keras, train_classifier
from edge_gru.data import accuracy, load_dataset
from edge_gru.fixed.io import save_fixed
from edge_gru.fixed.model import quantize_model
from edge_gru.fixed.summary import compare_outputs
from edge_gru.float_ref import predict
from edge_gru.runtime.c_host import run_host
from firmware_sim.simulate import simulate
from firmware_sim.targets import get_target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--emulate", type=int, default=100, help="test sequences to emulate")
    ap.add_argument("--target", default="nrf52840")
    ap.add_argument("--out", type=Path, default=Path("kws-out"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    # 1. train
    train, test = load_dataset("spoken-digits")
    model, keras_acc = train_classifier(train, test, units=16, epochs=args.epochs, seed=0)
    save_keras(model, args.out / "kws.keras")
    print(f"1. trained GRU(16): Keras test accuracy {keras_acc * 100:.2f}%")

    # 2. import: the float reference follows Keras' GRU equations
    spec = import_keras(args.out / "kws.keras")
    y_float = predict(spec, test.X)
    print(f"2. float reference: {accuracy(y_float, test.y) * 100:.2f}%, {spec.n_params} parameters, "
          f"{spec.macs_per_sequence()} MACs per sequence")

    # 3. quantize (calibrated on the training data)
    fm = quantize_model(spec, train.X, "w8a16")
    save_fixed(fm, args.out / "kws.egru")
    cmp = compare_outputs(y_float, fm.predict(test.X))
    print(f"3. w8a16: {accuracy(fm.predict(test.X), test.y) * 100:.2f}%, class agreement with float "
          f"{cmp['agreement'] * 100:.2f}%, output RMSE {cmp['rmse']:.2e}")

    # 4. C runtime on the host: the integers of the Python reference
    export_c(fm, args.out / "c", force=True, name="kws")
    xq = fm.quantize_input(test.X)
    same = np.array_equal(run_host(args.out / "c", xq), fm.predict_raw(xq, quantized=True))
    print(f"4. C runtime on this machine: bit-exact on {len(xq)} sequences: {same}")

    # 5. the microcontroller
    target = get_target(args.target)
    res = simulate(fm, target, test.X[:args.emulate])
    exact = np.array_equal(res.outputs, fm.predict_raw(test.X[:args.emulate]))
    print(f"5. {target.part} ({target.core}, {target.clock_mhz:g} MHz), {res.sequences} sequences emulated, "
          f"bit-exact {exact}:")
    print(f"   {res.cycles_per_sequence:,.0f} cycles per sequence = {res.latency_ms:.2f} ms "
          f"({res.cycles_per_mac:.2f} cycles/MAC, {res.kernel} kernel)")
    print(f"   flash {res.flash_bytes:,} B, RAM {res.ram_bytes:,} B (stack {res.stack_bytes} B): "
          f"{'fits' if res.fits else 'does NOT fit'}")
    if not (same and exact):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
