"""Float reference of a GRU network, line for line after the Keras equations.

Equations (DESIGN.md section 1; gates packed ``z, r, h``)::

    x_z = x W_z + b_z
    z   = sigmoid(x_z + h_tm1 U_z)
    r   = sigmoid(x_r + h_tm1 U_r)
    hh  = tanh(x_h + r * (h_tm1 U_h + b_hh))      reset_after=True
    hh  = tanh(x_h + (r * h_tm1) U_h)             reset_after=False
    h   = z * h_tm1 + (1 - z) * hh

Computed in float32 like Keras, batched over sequences.
"""

from __future__ import annotations

import numpy as np

from edge_gru.spec import DenseLayer, GRULayer, ModelSpec


def sigmoid(v: np.ndarray) -> np.ndarray:
    """Logistic function, overflow-safe."""
    return (0.5 * (np.tanh(0.5 * v) + 1.0)).astype(v.dtype, copy=False)


def gru_step(layer: GRULayer, x_t: np.ndarray, h_tm1: np.ndarray) -> np.ndarray:
    """One timestep of ``layer`` for a batch: ``x_t (N, F)``, ``h_tm1 (N, H)`` -> ``h (N, H)``."""
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
    else:
        z = sigmoid(x_z + h_tm1 @ U[:, :H])
        r = sigmoid(x_r + h_tm1 @ U[:, H:2 * H])
        hh = np.tanh(x_h + (r * h_tm1) @ U[:, 2 * H:])
    return z * h_tm1 + (1.0 - z) * hh


def gru_layer(layer: GRULayer, x: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """Run ``layer`` over ``x (N, T, F)``; returns ``(N, T, H)`` or ``(N, H)`` per ``return_sequences``."""
    n, t, _ = x.shape
    h = np.zeros((n, layer.units), np.float32) if h0 is None else h0.astype(np.float32)
    seq = np.empty((n, t, layer.units), np.float32) if layer.return_sequences else None
    for k in range(t):
        h = gru_step(layer, x[:, k, :], h)
        if seq is not None:
            seq[:, k, :] = h
    return seq if seq is not None else h


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


def predict(spec: ModelSpec, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Outputs ``(N, K)`` of the whole network for ``x (N, T, F)``."""
    x = np.asarray(x, np.float32)
    outs = [_forward(spec, x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0, spec.output_dim), np.float32)


def _forward(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    v = x
    for g in spec.grus:
        v = gru_layer(g, v)
    for d in spec.dense:
        v = dense(d, v)
    return v.astype(np.float32)


__all__ = ["activate", "dense", "gru_layer", "gru_step", "predict", "sigmoid"]
