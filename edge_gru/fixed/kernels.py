"""Integer GRU kernels (Numba-jitted; identical integers with ``NUMBA_DISABLE_JIT=1``).

This file is the fixed-point implementation of the GRU math; ``float_ref.py`` is the
float one and ``runtime/c/edge_gru.c`` the C one. Each fixed-point line names the float
line it computes.

Number formats
--------------
* ``A`` activation bits (8 or 16). Inputs ``x_q`` and states ``h_q`` are signed A-bit
  integers in ``[-(2^(A-1)-1), 2^(A-1)-1]``. The state is Q0.(A-1): scale ``2^-(A-1)``
  (it always lies in (-1, 1), docs/measurements.md section 1). The input scale ``s_x`` comes from
  calibration.
* Weights are signed 8- or 16-bit, symmetric, one scale per output column.
* Accumulators are int32 when quantization proved ``|acc| < 2^31`` for every column
  (w8), else int64 (w16); the proof is in ``quantize.py``.
* Gate pre-activations are Q3.12 (scale 2^-12) held in int16 range (saturated).
* Gate outputs ``z, r`` and the candidate ``hh`` are Q0.15 (int16); the state update is
  done in Q0.15 and rounded to the state format.

Rounding and saturation rules
-----------------------------
* ``rshift_round(v, n) = (v + 2^(n-1)) >> n`` with an arithmetic (flooring) shift:
  round half up. Used for every right shift that drops bits, ``n >= 1``.
* ``requant(acc, m, n) = rshift_round(acc * m, n)`` in 64-bit, ``m`` a 15-bit
  multiplier in ``[2^14, 2^15)`` (or 0), ``1 <= n <= 62``: multiplies by ``m * 2^-n``.
* ``sat(v, lo, hi)`` clamps; every narrowing to int16 / the state format saturates,
  nothing wraps.
* ``act(tab, v)``: 513-entry table over Q3.12 inputs in steps of 128 (1/32), linear
  interpolation ``t0 + rshift_round((t1 - t0) * frac, 7)``; the tables are built once
  at quantization time and stored in the model file, so every implementation reads the
  same numbers.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

GATE_FRAC = 12             # gate pre-activations are Q3.12
TAB_SHIFT = 7              # table step: 2^7 raw Q3.12 units = 1/32
DENSE_REQUANT = 0          # dense output mode: requantize to the calibrated scale
DENSE_SIGMOID = 1          # dense output mode: requantize to Q3.12, sigmoid table, state format


@njit(cache=True, inline="always")
def rshift_round(v, n):
    """Round-half-up right shift of an int64 by ``n >= 1`` bits."""
    return (np.int64(v) + (np.int64(1) << (n - 1))) >> n


@njit(cache=True, inline="always")
def requant(acc, m, n):
    """``acc * m * 2^-n`` rounded half up, in 64-bit."""
    return rshift_round(np.int64(acc) * np.int64(m), n)


@njit(cache=True)
def requant_columns(acc, m, n):
    """:func:`requant` of every entry of an int64 ``(rows, cols)`` matrix, column ``j`` by ``m[j], n[j]``."""
    out = np.empty_like(acc)
    for i in range(acc.shape[0]):
        for j in range(acc.shape[1]):
            out[i, j] = requant(acc[i, j], m[j], n[j])
    return out


@njit(cache=True, inline="always")
def sat(v, lo, hi):
    """Clamp ``v`` to ``[lo, hi]``."""
    if v < lo:
        return np.int64(lo)
    if v > hi:
        return np.int64(hi)
    return np.int64(v)


@njit(cache=True, inline="always")
def act(tab, v):
    """Table activation of a Q3.12 value (int16 range) -> Q0.15."""
    u = np.int64(v) + 32768
    idx = u >> TAB_SHIFT
    frac = u & ((1 << TAB_SHIFT) - 1)
    t0 = np.int64(tab[idx])
    t1 = np.int64(tab[idx + 1])
    return t0 + rshift_round((t1 - t0) * frac, TAB_SHIFT)


@njit(cache=True, inline="always")
def to_state(h16, state_shift, qmax):
    """Q0.15 -> state format Q0.(15 - state_shift), saturated to ``[-qmax, qmax]``."""
    if state_shift == 0:
        return sat(h16, -qmax, qmax)
    return sat(rshift_round(h16, state_shift), -qmax, qmax)


@njit(cache=True)
def _matvec_cols(acc, vec, Wm, col0, ncols, bias, use_bias):
    """``acc[j, n] = bias[col0 + j] + sum_i vec[i, n] * Wm[i, col0 + j]`` for ``j < ncols``."""
    nb = vec.shape[1]
    for j in range(ncols):
        b = bias[col0 + j] if use_bias else 0
        for n in range(nb):
            acc[j, n] = b
        for i in range(vec.shape[0]):
            w = Wm[i, col0 + j]
            for n in range(nb):
                acc[j, n] += w * vec[i, n]


@njit(cache=True)
def gru_block(xb, h, W, U, b_i, b_h, mx, nx, mh, nh, sig_tab, tanh_tab,
              reset_after, use_bias, state_shift, qmax, acc_like, seq_out, keep_seq, vb):
    """Run one GRU layer over a block of sequences, batch innermost.

    Args:
        xb: ``(T, F, NB)`` int32 inputs (A-bit values).
        h: ``(H, NB)`` int32 state, updated in place (initial state in, final out).
        W, U: ``(F, 3H)`` and ``(H, 3H)`` integer weights, gates ``z, r, h``.
        b_i, b_h: ``(3H,)`` int32 input / recurrent biases at the accumulator scales.
        mx, nx, mh, nh: ``(3H,)`` requantization multipliers and shifts to Q3.12.
        sig_tab, tanh_tab: activation tables (513 int16).
        reset_after: Keras ``reset_after``.
        use_bias: whether biases are added.
        state_shift: 0 for a Q0.15 state, 8 for Q0.7.
        qmax: largest state magnitude.
        acc_like: zero-size array whose dtype is the accumulator type.
        seq_out: ``(T, H, NB)`` receives every state when ``keep_seq``.
        keep_seq: store the state of every timestep.
        vb: ``(T, NB)`` uint8: 0 where the step is masked (the state is kept: ``h = h_tm1``).
    """
    T, F, NB = xb.shape
    H = h.shape[0]
    acc = np.zeros((3 * H, NB), acc_like.dtype)
    gx = np.zeros((3 * H, NB), np.int64)
    gh = np.zeros((3 * H, NB), np.int64)
    z = np.zeros((H, NB), np.int64)
    rh = np.zeros((H, NB), np.int32)
    h_new = np.zeros((H, NB), np.int32)
    for t in range(T):
        # x_all = x W + b_i  ->  acc (scale s_x * s_w[j]) -> gx in Q3.12
        _matvec_cols(acc, xb[t], W, 0, 3 * H, b_i, use_bias)
        for j in range(3 * H):
            for n in range(NB):
                gx[j, n] = requant(acc[j, n], mx[j], nx[j])
        if reset_after:
            # h_all = h_tm1 U + b_h  ->  gh in Q3.12
            _matvec_cols(acc, h, U, 0, 3 * H, b_h, use_bias)
            for j in range(3 * H):
                for n in range(NB):
                    gh[j, n] = requant(acc[j, n], mh[j], nh[j])
            for k in range(H):
                for n in range(NB):
                    # z = sigmoid(x_z + h_tm1 U_z)
                    z[k, n] = act(sig_tab, sat(gx[k, n] + gh[k, n], -32768, 32767))
                    # r = sigmoid(x_r + h_tm1 U_r)
                    r = act(sig_tab, sat(gx[H + k, n] + gh[H + k, n], -32768, 32767))
                    # r * (h_tm1 U_h + b_hh)   (Q0.15 * Q3.12 -> Q3.12)
                    r_hu = rshift_round(r * sat(gh[2 * H + k, n], -32768, 32767), 15)
                    # x_h + r * (h_tm1 U_h + b_hh)   (Q3.12, saturated)
                    gx[2 * H + k, n] = sat(gx[2 * H + k, n] + r_hu, -32768, 32767)
        else:
            # h_tm1 U_z, h_tm1 U_r  ->  gh[:2H] in Q3.12
            _matvec_cols(acc, h, U, 0, 2 * H, b_h, False)
            for j in range(2 * H):
                for n in range(NB):
                    gh[j, n] = requant(acc[j, n], mh[j], nh[j])
            for k in range(H):
                for n in range(NB):
                    # z = sigmoid(x_z + h_tm1 U_z)
                    z[k, n] = act(sig_tab, sat(gx[k, n] + gh[k, n], -32768, 32767))
                    # r = sigmoid(x_r + h_tm1 U_r)
                    r = act(sig_tab, sat(gx[H + k, n] + gh[H + k, n], -32768, 32767))
                    # r * h_tm1   (Q0.15 * state -> state format)
                    rh[k, n] = rshift_round(r * np.int64(h[k, n]), 15)
            # (r * h_tm1) U_h  ->  gh[2H:] in Q3.12
            _matvec_cols(acc, rh, U, 2 * H, H, b_h, False)
            for k in range(H):
                for n in range(NB):
                    g = requant(acc[k, n], mh[2 * H + k], nh[2 * H + k])
                    # x_h + (r * h_tm1) U_h   (Q3.12, saturated)
                    gx[2 * H + k, n] = sat(gx[2 * H + k, n] + g, -32768, 32767)
        for k in range(H):
            for n in range(NB):
                # hh = tanh(...)   (Q0.15)
                hh = act(tanh_tab, gx[2 * H + k, n])
                # h = z * h_tm1 + (1 - z) * hh  ==  hh + z * (h_tm1 - hh)   (Q0.15)
                h_tm1 = np.int64(h[k, n]) << state_shift
                h16 = hh + rshift_round(z[k, n] * (h_tm1 - hh), 15)
                h_new[k, n] = to_state(h16, state_shift, qmax)
        for k in range(H):
            for n in range(NB):
                if vb[t, n]:             # a masked step keeps h = h_tm1 (Keras mask semantics)
                    h[k, n] = h_new[k, n]
                if keep_seq:
                    seq_out[t, k, n] = h[k, n]


@njit(cache=True, parallel=True)
def gru_layer_batch(x, h0, W, U, b_i, b_h, mx, nx, mh, nh, sig_tab, tanh_tab,
                    reset_after, use_bias, state_shift, qmax, acc_like, keep_seq, block, valid):
    """One GRU layer over ``x (N, T, F)`` from states ``h0 (N, H)``, parallel over blocks.

    ``valid (N, T)`` uint8: 0 marks a masked step (state kept).

    Returns:
        ``(N, T, H)`` int32 states of every step when ``keep_seq`` else ``(N, 1, H)`` the last.
    """
    N, T, F = x.shape
    H = h0.shape[1]
    n_blocks = (N + block - 1) // block
    out = np.zeros((N, T if keep_seq else 1, H), np.int32)
    for b in prange(n_blocks):
        s = b * block
        e = min(N, s + block)
        nb = e - s
        xb = np.empty((T, F, nb), np.int32)
        for n in range(nb):
            for t in range(T):
                for i in range(F):
                    xb[t, i, n] = x[s + n, t, i]
        h = np.empty((H, nb), np.int32)
        for n in range(nb):
            for k in range(H):
                h[k, n] = h0[s + n, k]
        vb = np.empty((T, nb), np.uint8)
        for n in range(nb):
            for t in range(T):
                vb[t, n] = valid[s + n, t]
        seq = np.zeros((T if keep_seq else 0, H, nb), np.int32)
        gru_block(xb, h, W, U, b_i, b_h, mx, nx, mh, nh, sig_tab, tanh_tab,
                  reset_after, use_bias, state_shift, qmax, acc_like, seq, keep_seq, vb)
        for n in range(nb):
            if keep_seq:
                for t in range(T):
                    for k in range(H):
                        out[s + n, t, k] = seq[t, k, n]
            else:
                for k in range(H):
                    out[s + n, 0, k] = h[k, n]
    return out


@njit(cache=True)
def dense_batch(v, Wd, bd, use_bias, m, nsh, mode, relu, qmax, state_shift, sig_tab, acc_like):
    """Integer dense layer on ``v (N, in)``.

    ``mode == DENSE_REQUANT``: ``y_q = sat(requant(b + v W), -qmax, qmax)`` at the
    calibrated output scale (then ``max(0, .)`` when ``relu``).
    ``mode == DENSE_SIGMOID``: ``sigmoid`` through the table, output in the state format.
    """
    N, nin = v.shape
    K = Wd.shape[1]
    out = np.zeros((N, K), np.int32)
    for s in range(N):
        for j in range(K):
            acc = np.zeros(1, acc_like.dtype)
            acc[0] = bd[j] if use_bias else 0
            for i in range(nin):
                acc[0] += Wd[i, j] * v[s, i]
            # y = v W + b   (at the calibrated output scale, or Q3.12 for sigmoid)
            y = requant(acc[0], m[j], nsh[j])
            if mode == DENSE_SIGMOID:
                # y = sigmoid(v W + b)
                y = to_state(act(sig_tab, sat(y, -32768, 32767)), state_shift, qmax)
            else:
                y = sat(y, -qmax, qmax)
                if relu and y < 0:
                    # y = relu(v W + b)
                    y = 0
            out[s, j] = y
    return out


__all__ = ["DENSE_REQUANT", "DENSE_SIGMOID", "GATE_FRAC", "TAB_SHIFT", "act", "dense_batch", "gru_block",
           "gru_layer_batch", "requant", "rshift_round", "sat", "to_state"]
