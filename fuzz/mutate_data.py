"""Data-file mutations: arrays a user's pipeline could get wrong (features or token ids)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

Rng = np.random.Generator
Mutation = tuple[Path, str]


def data_mutation(rng: Rng, seed: Path, case: Path) -> Mutation:
    """A data file whose arrays are wrong in a way a user's pipeline could produce."""
    with np.load(seed) as z:
        X, y = z["X"], z["y"]
    n = len(X)
    if X.ndim == 2:
        return _token_data_mutation(rng, X, y, case)
    choices: list[tuple[str, Callable[[], dict]]] = [
        ("NaN in X", lambda: {"X": _put(X, np.nan, rng), "y": y}),
        ("inf in X", lambda: {"X": _put(X, np.inf, rng), "y": y}),
        ("huge X", lambda: {"X": (X * 1e30).astype(np.float32), "y": y}),
        ("1e38 in X", lambda: {"X": _put(X, 3e38, rng), "y": y}),
        ("X float64", lambda: {"X": X.astype(np.float64) * 1e200, "y": y}),
        ("X int", lambda: {"X": (X * 100).astype(np.int64), "y": y}),
        ("X 2-D", lambda: {"X": X[:, :, 0], "y": y}),
        ("X 4-D", lambda: {"X": X[..., None], "y": y}),
        ("X empty", lambda: {"X": X[:0], "y": y[:0]}),
        ("X other features", lambda: {"X": np.repeat(X, 2, axis=2), "y": y}),
        ("X other length", lambda: {"X": X[:, :3], "y": y}),
        ("X bool", lambda: {"X": X > 0, "y": y}),
        ("X complex", lambda: {"X": X.astype(np.complex64), "y": y}),
        ("X strings", lambda: {"X": X.astype(str), "y": y}),
        ("X structured", lambda: {"X": np.zeros(n, dtype=[("a", "<f4")]), "y": y}),
        ("y 0-d", lambda: {"X": X, "y": np.array(3)}),
        ("y short", lambda: {"X": X, "y": y[: n // 2]}),
        ("y negative", lambda: {"X": X, "y": -y - 1}),
        ("y fractional", lambda: {"X": X, "y": y + 0.5}),
        ("y NaN", lambda: {"X": X, "y": np.full(n, np.nan)}),
        ("y huge class", lambda: {"X": X, "y": np.full(n, 2**40)}),
        ("y 3-D", lambda: {"X": X, "y": np.zeros((n, 2, 2))}),
        ("no X", lambda: {"y": y}),
        ("X Fortran order", lambda: {"X": np.asfortranarray(X), "y": y}),
        ("X big-endian", lambda: {"X": X.astype(">f4"), "y": y}),
    ]
    what, make = choices[int(rng.integers(len(choices)))]
    out = case / "data.npz"
    with open(out, "wb") as fh:
        np.savez(fh, **make())
    return out, f"data: {what}"


def _token_data_mutation(rng: Rng, X: np.ndarray, y: np.ndarray, case: Path) -> Mutation:
    """Token-id data ``(N, T)`` gone wrong: ids outside the vocabulary, float ids, bad ``lengths``, wrong ranks."""
    n, t = X.shape
    choices: list[tuple[str, Callable[[], dict]]] = [
        ("id = vocab", lambda: {"X": _put(X, 20, rng), "y": y}),
        ("id -1", lambda: {"X": _put(X, -1, rng), "y": y}),
        ("id 2^31-1", lambda: {"X": _put(X, 2**31 - 1, rng), "y": y}),
        ("id int64 2^40", lambda: {"X": _put(X.astype(np.int64), 2**40, rng), "y": y}),
        ("ids float", lambda: {"X": X + 0.5, "y": y}),
        ("ids NaN", lambda: {"X": _put(X.astype(np.float64), np.nan, rng), "y": y}),
        ("ids uint8", lambda: {"X": X.astype(np.uint8), "y": y}),
        ("ids bool", lambda: {"X": X > 3, "y": y}),
        ("ids 3-D", lambda: {"X": X[..., None], "y": y}),
        ("ids 1-D", lambda: {"X": X[:, 0], "y": y}),
        ("ids empty", lambda: {"X": X[:, :0], "y": y}),
        ("ids other length", lambda: {"X": X[:, :3], "y": y}),
        ("all padding", lambda: {"X": np.zeros_like(X), "y": y}),
        ("lengths > T", lambda: {"X": X, "y": y, "lengths": np.full(n, t + 1)}),
        ("lengths negative", lambda: {"X": X, "y": y, "lengths": np.full(n, -1)}),
        ("lengths float", lambda: {"X": X, "y": y, "lengths": np.full(n, 2.5)}),
        ("lengths short", lambda: {"X": X, "y": y, "lengths": np.full(n // 2, 2)}),
        ("lengths zero", lambda: {"X": X, "y": y, "lengths": np.zeros(n, np.int32)}),
        ("lengths 2-D", lambda: {"X": X, "y": y, "lengths": np.zeros((n, 2), np.int32)}),
        ("y negative", lambda: {"X": X, "y": -y - 1}),
    ]
    what, make = choices[int(rng.integers(len(choices)))]
    out = case / "data.npz"
    with open(out, "wb") as fh:
        np.savez(fh, **make())
    return out, f"token data: {what}"


def _put(X: np.ndarray, value: float, rng: Rng) -> np.ndarray:
    X = X.copy()
    X.flat[int(rng.integers(X.size))] = value
    return X


__all__ = ["data_mutation"]
