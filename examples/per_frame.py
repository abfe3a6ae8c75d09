"""Per-frame labelling (an output at every timestep): speech vs silence on the spoken-digit recordings.

Sequence labelling is the everyday shape of a microcontroller GRU: a decision per audio frame or sensor
window while the stream runs. This example trains a per-step GRU(16) in Keras on the built-in
``speech-frames`` data (windows of 40 MFCC frames, each frame labelled speech or silence), imports it
(the last GRU returns sequences, the Dense head runs on every step), quantizes it, exports the C runtime,
checks that the C runtime's ``eg_run_seq`` gives the Numba reference's integers at every frame, streams
one window frame by frame through ``eg_step`` + ``eg_output`` (what firmware does), and, with
``--emulate N``, runs N windows on an emulated Cortex-M4 and prints the cycles per frame.

    python examples/per_frame.py [--epochs 10] [--emulate 5] [--out per-frame-out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from converters.c_export import export_c
from converters.keras_import import import_keras
from converters.keras_train import train_classifier
from edge_gru.data import accuracy, load_dataset
from edge_gru.fixed.model import quantize_model
from edge_gru.float_ref import predict
from edge_gru.runtime.c_host import CStream, HostProgram


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--emulate", type=int, default=0, help="windows to run on an emulated Cortex-M4 (0: none)")
    ap.add_argument("--out", type=Path, default=Path("per-frame-out"))
    args = ap.parse_args()

    train, test = load_dataset("speech-frames")
    model, keras_acc = train_classifier(train, test, units=16, epochs=args.epochs, seed=0)
    spec = import_keras(model)
    worst = float(np.abs(predict(spec, test.X) - np.asarray(model.predict(test.X, verbose=0))).max())
    print(f"per-step GRU(16): {len(test.X)} test windows of {test.X.shape[1]} frames, speech in "
          f"{test.y.mean() * 100:.1f}% of frames")
    print(f"frame accuracy: Keras {keras_acc * 100:.2f}%; float reference vs Keras max difference {worst:.2e}")

    fm = quantize_model(spec, train.X[:300], "w8a16")
    raw = fm.predict_raw(test.X)
    print(f"frame accuracy w8a16 (Numba integer reference): {accuracy(fm.dequantize(raw), test.y) * 100:.2f}%")
    export_c(fm, args.out / "c", force=True, name="per_frame")
    xq = fm.quantize_input(test.X)
    with HostProgram(args.out / "c") as prog:
        c_raw = prog.run(xq)                             # eg_run_seq: T outputs per window
    print(f"C runtime (eg_run_seq) equal to Numba at every frame of {len(xq)} windows: {np.array_equal(c_raw, raw)}")

    stream = CStream(args.out / "c", fm.features)        # a firmware's loop: one frame in, one decision out
    labels = []
    for x_t in xq[0]:
        stream.step(x_t)
        labels.append(int(fm.dequantize(stream.output_raw()[None])[0, 0] > 0.5))
    stream.close()
    print("window 0, frame by frame (1 = speech): " + "".join(map(str, labels)))
    print("                        true labels:   " + "".join(map(str, test.y[0])))
    ok = np.array_equal(c_raw, raw)

    if args.emulate:
        from firmware_sim.simulate import simulate
        from firmware_sim.targets import get_target

        res = simulate(fm, get_target("nrf52840"), test.X[:args.emulate])
        same = np.array_equal(res.outputs, raw[:args.emulate])
        checked = "validated" if res.memory_validated else "modelled, not validated on silicon"
        print(f"nrf52840 (Cortex-M4, emulated; memory {res.memory_description}, {checked}): "
              f"{res.cycles_per_step:,.0f} cycles per frame, {res.latency_ms / res.timesteps * 1e3:.1f} us per frame "
              f"at {res.clock_mhz:g} MHz; {args.emulate} windows bit-exact {same}")
        ok = ok and same
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
