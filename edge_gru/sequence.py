"""Token ids, sequence lengths and masks: which timesteps of a batch are real.

Keras' mask semantics: a masked timestep leaves every GRU state unchanged (a ``return_sequences``
output repeats the previous one). A step is masked when its token id is 0 and the embedding has
``mask_zero``, when all its features equal a ``Masking`` layer's ``mask_value``, or when it lies at or
beyond the sequence's entry in an optional ``lengths`` array. On the device the caller simply does not
feed masked steps (``eg_run_tokens`` skips id 0 itself).
"""

from __future__ import annotations

import numpy as np

from edge_gru.errors import DataError


def check_tokens(X: np.ndarray, vocab: int, where: str = "data") -> np.ndarray:
    """Validate token ids ``(N, T)``: integers in ``[0, vocab)``; returns them as int32.

    Raises:
        DataError: Wrong rank or dtype, or an id outside the vocabulary.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError(f"{where}: an embedding model takes token ids of shape (N, T), got {X.shape}")
    if X.dtype.kind not in "iu":
        if X.dtype.kind != "f" or not (np.isfinite(X).all() and np.all(np.mod(X, 1) == 0)):
            raise DataError(f"{where}: token ids must be integers, got dtype {X.dtype}")
    if X.size and (X.min() < 0 or X.max() >= vocab):
        bad = X[(X < 0) | (X >= vocab)]
        raise DataError(f"{where}: token id {int(bad[0])} is outside the vocabulary 0..{vocab - 1} "
                        f"({bad.size} ids out of range); map unknown tokens to an id the model knows")
    return X.astype(np.int32)


def check_lengths(lengths: np.ndarray | None, n: int, t: int, where: str = "data") -> np.ndarray | None:
    """Validate ``lengths (N,)``: whole numbers in ``[0, T]``; returns int32 or ``None``.

    Raises:
        DataError: Wrong shape or values.
    """
    if lengths is None:
        return None
    lengths = np.asarray(lengths)
    if lengths.shape != (n,):
        raise DataError(f"{where}: lengths must have shape ({n},), got {lengths.shape}")
    if lengths.dtype.kind not in "iu":
        raise DataError(f"{where}: lengths must be integers, got dtype {lengths.dtype}")
    if n and (lengths.min() < 0 or lengths.max() > t):
        raise DataError(f"{where}: lengths must lie in 0..{t} (the sequence length of X)")
    return lengths.astype(np.int32)


def valid_steps(X: np.ndarray, mask_zero: bool = False, mask_value: float | None = None,
                lengths: np.ndarray | None = None) -> np.ndarray | None:
    """Boolean ``(N, T)``: True where the timestep is real; ``None`` when every step is.

    Args:
        X: Token ids ``(N, T)`` or features ``(N, T, F)``.
        mask_zero: Id 0 is padding (token input).
        mask_value: A ``Masking`` value (feature input): a step whose features all equal it is padding.
        lengths: Optional ``(N,)``: steps at or after ``lengths[n]`` are padding.
    """
    valid = None
    if mask_zero:
        valid = X != 0
    elif mask_value is not None:
        valid = np.any(X != np.float32(mask_value), axis=-1)
    if lengths is not None:
        in_len = np.arange(X.shape[1])[None, :] < np.asarray(lengths)[:, None]
        valid = in_len if valid is None else valid & in_len
    return valid


def compact(X: np.ndarray, valid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Move each sequence's real steps to the front (order kept) and zero the rest.

    Feeding the first ``lengths[n]`` steps of the result is what skipping the masked steps does.

    Returns:
        ``(X_compacted, lengths int32 (N,))``.
    """
    n, t = X.shape[0], X.shape[1]
    if valid is None:
        return X, np.full(n, t, np.int32)
    lengths = valid.sum(axis=1).astype(np.int32)
    order = np.argsort(~valid, axis=1, kind="stable")             # real steps first, in order
    idx = order.reshape(order.shape + (1,) * (X.ndim - 2))
    out = np.take_along_axis(X, idx, axis=1).copy()
    out[~(np.arange(t)[None, :] < lengths[:, None])] = 0
    return out, lengths


__all__ = ["check_lengths", "check_tokens", "compact", "valid_steps"]
