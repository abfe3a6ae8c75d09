"""Float reference of a GRU network, line for line after the Keras equations.

Equations (docs/measurements.md section 1; gates packed ``z, r, h``)::

    x_z = x W_z + b_z
    z   = sigmoid(x_z + h_tm1 U_z)
    r   = sigmoid(x_r + h_tm1 U_r)
    hh  = tanh(x_h + r * (h_tm1 U_h + b_hh))      reset_after=True
    hh  = tanh(x_h + (r * h_tm1) U_h)             reset_after=False
    h   = z * h_tm1 + (1 - z) * hh

A masked timestep (``edge_gru.sequence``) keeps ``h = h_tm1`` in every layer, as Keras does.
Computed in float32 like Keras, batched over sequences.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edge_gru.errors import DataError
from edge_gru.sequence import check_lengths, check_tokens, valid_steps
from edge_gru.spec import DenseLayer, GRULayer, ModelSpec


def sigmoid(v: np.ndarray) -> np.ndarray:
    """Logistic function, overflow-safe."""
    return (0.5 * (np.tanh(0.5 * v) + 1.0)).astype(v.dtype, copy=False)


def gru_step(layer: GRULayer, x_t: np.ndarray, h_tm1: np.ndarray, stats: dict[str, float] | None = None) -> np.ndarray:
    """One timestep of ``layer`` for a batch: ``x_t (N, F)``, ``h_tm1 (N, H)`` -> ``h (N, H)``.

    ``stats``: when given, ``stats["candidate_recurrent_max"]`` keeps the largest ``|h_tm1 U_h + b_hh|`` seen
    (``reset_after`` layers; the fixed-point kernels hold that term in Q3.12 before the reset gate scales it).
    """
    H = layer.units
    W, U = layer.kernel, layer.recurrent_kernel
    if layer.bias is None:
        b_i = b_h = np.zeros(3 * H, np.float32)
    elif layer.reset_after:
        b_i, b_h = layer.bias[0], layer.bias[1]
    else:
        b_i, b_h = layer.bias, np.zeros(3 * H, np.float32)
    x_all = x_t @ W + b_i                                   # x_z, x_r, x_h
    x_z, x_r, x_h = x_all[:, :H], x_all[:, H:2 * H], x_all[:, 2 * H:]
    if layer.reset_after:
        h_all = h_tm1 @ U + b_h                             # h_tm1 U_{z,r,h} (+ b_hz, b_hr, b_hh)
        z = sigmoid(x_z + h_all[:, :H])
        r = sigmoid(x_r + h_all[:, H:2 * H])
        hh = np.tanh(x_h + r * h_all[:, 2 * H:])
        if stats is not None and h_all.size:
            term = float(np.abs(h_all[:, 2 * H:]).max())
            stats["candidate_recurrent_max"] = max(stats.get("candidate_recurrent_max", 0.0), term)
    else:
        z = sigmoid(x_z + h_tm1 @ U[:, :H])
        r = sigmoid(x_r + h_tm1 @ U[:, H:2 * H])
        hh = np.tanh(x_h + (r * h_tm1) @ U[:, 2 * H:])
    return z * h_tm1 + (1.0 - z) * hh


def gru_layer(layer: GRULayer, x: np.ndarray, h0: np.ndarray | None = None,
              valid: np.ndarray | None = None, stats: dict[str, float] | None = None) -> np.ndarray:
    """Run ``layer`` over ``x (N, T, F)``; returns ``(N, T, H)`` or ``(N, H)`` per ``return_sequences``.

    ``valid (N, T)``: where False the step is masked (``h = h_tm1``). ``stats``: see :func:`gru_step`. A
    ``go_backwards`` layer runs the steps last to first; its sequence output comes in that order (Keras').
    """
    if layer.go_backwards:
        x = x[:, ::-1]
        valid = None if valid is None else valid[:, ::-1]
    n, t, _ = x.shape
    h = np.zeros((n, layer.units), np.float32) if h0 is None else h0.astype(np.float32)
    seq = np.empty((n, t, layer.units), np.float32) if layer.return_sequences else None
    for k in range(t):
        h_new = gru_step(layer, x[:, k, :], h, stats)
        h = h_new if valid is None else np.where(valid[:, k, None], h_new, h)   # masked: h = h_tm1
        if seq is not None:
            seq[:, k, :] = h
    return seq if seq is not None else h


def rnn_layer(layer: GRULayer, x: np.ndarray, valid: np.ndarray | None = None,
              stats: dict[str, float] | None = None) -> np.ndarray:
    """A GRU layer as Keras runs it: a ``Bidirectional`` one runs both directions and merges them.

    The backward direction's sequence is put back in input order; with ``return_sequences`` a masked step
    outputs zeros in both directions (Keras' Bidirectional sets ``zero_output_for_mask``).
    """
    if not layer.bidirectional:
        return gru_layer(layer, x, valid=valid, stats=stats)
    fwd = gru_layer(layer, x, valid=valid, stats=stats)
    bwd = gru_layer(layer.backward, x, valid=valid, stats=stats)
    if layer.return_sequences:
        bwd = bwd[:, ::-1]
        if valid is not None:
            fwd, bwd = (np.where(valid[..., None], v, np.float32(0)) for v in (fwd, bwd))
    return merge(fwd, bwd, layer.merge_mode)


def merge(fwd: np.ndarray, bwd: np.ndarray, mode: str) -> np.ndarray:
    """Keras' Bidirectional merge of the two directions' outputs."""
    if mode == "concat":
        return np.concatenate([fwd, bwd], axis=-1)
    if mode == "sum":
        return fwd + bwd
    if mode == "ave":
        return (fwd + bwd) / np.float32(2)
    return fwd * bwd


def dense(layer: DenseLayer, v: np.ndarray, apply_activation: bool = True) -> np.ndarray:
    """Evaluate a dense layer on ``v (N, in)``."""
    y = v @ layer.kernel
    if layer.bias is not None:
        y = y + layer.bias
    return activate(y, layer.activation) if apply_activation else y


def activate(y: np.ndarray, activation: str) -> np.ndarray:
    """Apply a dense activation by name."""
    if activation == "relu":
        return np.maximum(y, 0)
    if activation == "sigmoid":
        return sigmoid(y)
    if activation == "softmax":
        e = np.exp(y - y.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return y


def embed_and_mask(spec: ModelSpec, x: np.ndarray,
                   lengths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The GRU input ``(N, T, F)`` float32 and the valid-step mask for model input ``x``.

    Token ids ``(N, T)`` are looked up in the embedding table (checked against the vocabulary).
    """
    if spec.embedding is not None:
        ids = check_tokens(x, spec.embedding.vocab)
        lengths = check_lengths(lengths, ids.shape[0], ids.shape[1])
        return spec.embedding.table[ids], valid_steps(ids, spec.embedding.mask_zero, None, lengths)
    x = np.asarray(x, np.float32)
    lengths = check_lengths(lengths, x.shape[0], x.shape[1]) if x.ndim == 3 else lengths
    return x, valid_steps(x, False, spec.mask_value, lengths)


def predict(spec: ModelSpec, x: np.ndarray, batch_size: int = 4096, lengths: np.ndarray | None = None) -> np.ndarray:
    """Outputs ``(N, K)`` of the whole network for ``x (N, T, F)`` (token ids ``(N, T)`` for embedding models).

    A per-step model (:attr:`~edge_gru.spec.ModelSpec.per_step`) outputs ``(N, T, K)``: the head on the
    state after every step; a masked step keeps the state, so its output repeats the step before (Keras'
    ``zero_output_for_mask=False``, the default).

    Args:
        spec: The model.
        x: Model input.
        batch_size: Sequences per batch.
        lengths: Optional ``(N,)`` real lengths (steps beyond are masked).
    """
    outs = []
    for i in range(0, len(x), batch_size):
        part = None if lengths is None else np.asarray(lengths)[i:i + batch_size]
        v, valid = embed_and_mask(spec, x[i:i + batch_size], part)
        outs.append(_forward(spec, v, valid))
    if outs:
        return np.concatenate(outs)
    return np.zeros((0, np.shape(x)[1], spec.output_dim) if spec.per_step else (0, spec.output_dim), np.float32)


def _forward(spec: ModelSpec, x: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    v = x
    for g in spec.grus:
        v = rnn_layer(g, v, valid=valid)
    for d in spec.dense:
        v = dense(d, v)
    return v.astype(np.float32)


class FloatStream:
    """The float reference one call at a time, the state kept between calls (a Keras ``stateful=True`` model).

    ``feed(chunk)`` continues from the state the previous chunk left; ``reset()`` starts over from zeros, as
    Keras' ``reset_state()`` does. Masked steps keep the state; as in Keras, a call's masked steps before its
    first real one output the head of zeros (the GRU's output there is zero although its state carries over).

    Args:
        spec: The model.
        batch: Independent streams (rows of each chunk).
    """

    def __init__(self, spec: ModelSpec, batch: int = 1) -> None:
        if spec.window:
            raise DataError("a model with a Bidirectional or go_backwards GRU needs the whole sequence: it cannot "
                            "be streamed")
        self.spec = spec
        self.batch = batch
        self.reset()

    def reset(self) -> None:
        """Zero every layer's state."""
        self.states = [np.zeros((self.batch, g.units), np.float32) for g in self.spec.grus]

    def feed(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Feed ``x (batch, T, F)`` (token ids ``(batch, T)``): outputs after the last step ``(batch, K)``, or
        per-step models after every step ``(batch, T, K)``."""
        v, valid = embed_and_mask(self.spec, x, lengths)
        if v.shape[0] != self.batch:
            raise DataError(f"the stream has {self.batch} rows, the chunk {v.shape[0]}")
        for i, g in enumerate(self.spec.grus):
            out = gru_layer(dataclasses.replace(g, return_sequences=True), v, self.states[i], valid)
            self.states[i] = out[:, -1, :] if out.shape[1] else self.states[i]
            v = out
        if valid is not None:       # Keras: before a call's first real step the GRU outputs zeros (state kept)
            v = np.where((np.cumsum(valid, axis=1) > 0)[..., None], v, np.float32(0))
        if not self.spec.per_step:
            v = v[:, -1, :] if v.shape[1] else self.states[-1]
        for d in self.spec.dense:
            v = dense(d, v)
        return np.asarray(v, np.float32)


__all__ = ["FloatStream", "activate", "dense", "embed_and_mask", "gru_layer", "gru_step", "merge", "predict",
           "rnn_layer", "sigmoid"]
