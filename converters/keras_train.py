"""Train a GRU classifier in Keras (used by ``edge-gru train`` and the demo)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from converters._tf import keras
from edge_gru.data import Dataset, accuracy, labels_of


def build_classifier(timesteps: int | None, features: int, n_out: int, units: int = 16, layers: int = 1,
                     reset_after: bool = True, name: str = "gru_classifier", vocab: int | None = None,
                     per_step: bool = False) -> Any:
    """A ``GRU x layers`` stack with a ``Dense`` head.

    One sigmoid output for binary problems (``n_out == 1``), softmax otherwise. With ``vocab`` the input
    is token ids through ``Embedding(vocab, features, mask_zero=True)``. With ``per_step`` the last GRU
    returns sequences and the head classifies every timestep (sequence labelling).
    """
    k = keras()
    if vocab is not None:
        inp = k.Input((timesteps,), dtype="int32", name="x")
        v = k.layers.Embedding(vocab, features, mask_zero=True, name="embedding")(inp)
    else:
        inp = k.Input((timesteps, features), name="x")
        v = inp
    for i in range(layers):
        v = k.layers.GRU(units, return_sequences=per_step or i < layers - 1, reset_after=reset_after,
                         name=f"gru_{i}")(v)
    act = "sigmoid" if n_out == 1 else "softmax"
    out = k.layers.Dense(n_out, activation=act, name="head")(v)
    return k.Model(inp, out, name=name)


def train_classifier(train: Dataset, test: Dataset | None = None, units: int = 16, layers: int = 1,
                     epochs: int = 30, seed: int = 0, batch_size: int = 32, lr: float = 5e-3,
                     on_epoch: Callable[[int, dict], None] | None = None,
                     embedding_dim: int = 16) -> tuple[Any, float | None]:
    """Train a classifier on ``train``; return ``(model, test_accuracy or None)``.

    Args:
        train: Training split with integer labels: ``y (N,)`` per sequence, or ``(N, T)`` per step (a per-step
            model: the reported accuracy is then the frame accuracy).
        test: Optional test split for the reported accuracy.
        units: GRU units per layer.
        layers: Stacked GRU layers.
        epochs: Training epochs.
        seed: Seed for weights and shuffling (results are reproducible on one machine).
        batch_size: Mini-batch size.
        lr: Adam learning rate.
        on_epoch: Called after each epoch with ``(epoch, logs)`` (progress display).
        embedding_dim: Embedding width for token-id data (``X (N, T)``; vocabulary = largest id + 1).
    """
    k = keras()
    k.utils.set_random_seed(seed)
    per_step = train.per_step_labels and train.y.ndim == 2
    y = train.y if per_step else labels_of(train.y)
    n_classes = int(y.max()) + 1
    n_out = 1 if n_classes <= 2 else n_classes
    if train.tokens:
        vocab = int(max(train.X.max(), test.X.max() if test is not None else 0)) + 1
        model = build_classifier(train.X.shape[1], embedding_dim, n_out, units, layers, vocab=vocab,
                                 per_step=per_step)
    else:
        model = build_classifier(train.X.shape[1], train.X.shape[2], n_out, units, layers, per_step=per_step)
    loss = "binary_crossentropy" if n_out == 1 else "sparse_categorical_crossentropy"
    model.compile(optimizer=k.optimizers.Adam(lr), loss=loss)
    callbacks = []
    if on_epoch is not None:
        callbacks.append(k.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: on_epoch(e, logs or {})))
    if per_step and n_out == 1:
        y = y[..., None]                                   # (N, T, 1) against the (N, T, 1) sigmoid output
    model.fit(train.X, y.astype(np.float32 if n_out == 1 else np.int64), epochs=epochs, batch_size=batch_size,
              verbose=0, shuffle=True, callbacks=callbacks)
    acc = None
    if test is not None and test.y is not None:
        acc = accuracy(np.asarray(model.predict(test.X, verbose=0, batch_size=256)), test.y)
    return model, acc


def save_keras(model: Any, path: str | Path) -> None:
    """Save a Keras model as ``.keras``."""
    model.save(Path(path))


__all__ = ["build_classifier", "save_keras", "train_classifier"]
