"""The training half of ``edge-gru demo`` / ``make demo`` (the report does the rest).

Trains the spoken-digits GRU(16) on the built-in data, saves it, imports it and checks the float
reference against Keras.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from converters.keras_import import import_keras
from converters.keras_train import save_keras, train_classifier
from edge_gru.data import Dataset, load_dataset
from edge_gru.float_ref import predict
from edge_gru.spec import ModelSpec

log = logging.getLogger(__name__)


def train_demo_model(out: Path, dataset: str = "spoken-digits", units: int = 16, epochs: int = 30, seed: int = 0,
                     say: Callable[[str], None] = log.info,
                     on_epoch: Callable[[int, dict], None] | None = None) -> tuple[ModelSpec, Dataset, Dataset]:
    """Train, save ``out/model.keras``, import; returns (spec, train, test)."""
    out.mkdir(parents=True, exist_ok=True)
    train, test = load_dataset(dataset)
    say(f"dataset {dataset}: train {train.X.shape}, test {test.X.shape}")
    t0 = time.perf_counter()
    model, keras_acc = train_classifier(train, test, units=units, epochs=epochs, seed=seed, on_epoch=on_epoch)
    say(f"trained GRU({units}) in {time.perf_counter() - t0:.1f} s: Keras test accuracy {keras_acc * 100:.2f}%")
    save_keras(model, out / "model.keras")
    spec = import_keras(model)
    y_keras = np.asarray(model.predict(test.X, verbose=0, batch_size=256))
    say(f"float reference vs Keras: max abs difference {float(np.abs(y_keras - predict(spec, test.X)).max()):.2e}")
    return spec, train, test


__all__ = ["train_demo_model"]
