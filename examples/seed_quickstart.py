"""The classic seed model end to end: GRU(50) on 10 timesteps x 5 features, Dense(1, sigmoid).

Trains on the built-in seed-toy data, imports the Keras model into edge-gru, checks the float
reference against Keras and quantizes it to the fixed-point w8a16 model.

    python examples/seed_quickstart.py [--epochs 15] [--out seed-out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from converters._tf import keras
from converters.keras_import import import_keras
from edge_gru.data import accuracy, load_dataset
from edge_gru.fixed.io import save_fixed
from edge_gru.fixed.model import quantize_model
from edge_gru.float_ref import predict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--out", type=Path, default=Path("seed-out"))
    args = ap.parse_args()
    k = keras()
    k.utils.set_random_seed(0)
    train, test = load_dataset("seed-toy")

    model = k.Sequential([k.Input((10, 5)), k.layers.GRU(50), k.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=k.optimizers.Adam(5e-3), loss="binary_crossentropy")
    model.fit(train.X, train.y.astype("float32"), epochs=args.epochs, batch_size=32, verbose=0)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "seed.keras")

    spec = import_keras(args.out / "seed.keras")
    y_keras = model.predict(test.X, verbose=0)
    y_float = predict(spec, test.X)
    print("\n".join(spec.describe()))
    print(f"float reference vs Keras: max abs difference {np.abs(y_keras - y_float).max():.2e}")
    print(f"accuracy: Keras {accuracy(y_keras, test.y) * 100:.2f}%, "
          f"float reference {accuracy(y_float, test.y) * 100:.2f}%")

    fm = quantize_model(spec, train.X, "w8a16")
    save_fixed(fm, args.out / "seed.egru")
    y_fixed = fm.predict(test.X)
    print(f"fixed-point w8a16: accuracy {accuracy(y_fixed, test.y) * 100:.2f}%, "
          f"max abs difference to float {np.abs(y_fixed - y_float).max():.2e}; saved {args.out / 'seed.egru'}")


if __name__ == "__main__":
    main()
