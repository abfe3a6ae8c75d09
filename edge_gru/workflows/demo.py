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
from edge_gru.data import Dataset, load_dataset, validate
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


def demo_data(spec: ModelSpec, dataset: str, source: Path | str = "the model") -> tuple[Dataset, Dataset]:
    """The built-in dataset's train and test splits, checked against a user's model (``demo --model``)."""
    from edge_gru.errors import DataError
    from edge_gru.sequence import check_tokens

    train, test = load_dataset(dataset)
    for ds, split in ((train, "train"), (test, "test")):
        where = f"the {dataset} {split} split for {source}"
        given = "token ids" if np.asarray(ds.X).ndim == 2 else "features"
        if (given == "token ids") != spec.tokens:
            raise DataError(f"{where}: the dataset's input is {given}, the model takes "
                            f"{'token ids' if spec.tokens else 'features'}")
        if spec.tokens:
            check_tokens(ds.X, spec.embedding.vocab, where)
        else:
            validate(ds, where, spec.features, spec.timesteps)
    if train.per_step_labels != spec.per_step:
        raise DataError(f"{source}: the {dataset} dataset labels "
                        f"{'every step' if train.per_step_labels else 'whole sequences'}, the model outputs "
                        f"{'at every step' if spec.per_step else 'once per sequence'}")
    classes = int(np.max(train.y)) + 1 if train.y is not None and train.y.ndim == 1 else None
    if classes is not None and spec.output_dim not in ({classes, 1} if classes == 2 else {classes}):
        raise DataError(f"{source}: {spec.output_dim} outputs, but the {dataset} dataset has {classes} classes")
    return train, test


__all__ = ["demo_data", "train_demo_model"]
