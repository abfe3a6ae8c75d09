"""Float spec + calibration data -> fixed-point model parameters.

Everything here runs once, in float64, at quantization time; inference is integer-only
(:mod:`edge_gru.fixed.kernels`). The overflow proof lives here too: for every column
of every matrix, the largest possible accumulator magnitude
``|b_q| + sum_i |W_q[i, j]| * qmax_in`` is computed exactly in Python integers and
decides the accumulator width (int32 when below 2^31, int64 when below 2^63, refused
otherwise); the requantized partial sums are bounded the same way.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from edge_gru.errors import QuantizationError, QuantizationWarning
from edge_gru.fixed.kernels import GATE_FRAC, TAB_SHIFT
from edge_gru.float_ref import dense as float_dense
from edge_gru.float_ref import rnn_layer
from edge_gru.spec import DenseLayer, GRULayer, ModelSpec

PRECISIONS: dict[str, tuple[int, int]] = {"w8a8": (8, 8), "w8a16": (8, 16), "w16a16": (16, 16)}
TABLE_SIZE = (1 << (16 - TAB_SHIFT)) + 1
INT32_LIMIT = 2**31 - 1
INT64_LIMIT = 2**63 - 1
DENSE_HEADROOM = 1.1


@dataclass(frozen=True)
class Precision:
    """Bit widths of a precision variant."""

    name: str
    w_bits: int
    a_bits: int

    @property
    def w_qmax(self) -> int:
        """Largest weight magnitude."""
        return (1 << (self.w_bits - 1)) - 1

    @property
    def a_qmax(self) -> int:
        """Largest activation / state magnitude."""
        return (1 << (self.a_bits - 1)) - 1

    @property
    def state_shift(self) -> int:
        """Left shift from the state format to Q0.15."""
        return 16 - self.a_bits


def precision(name: str) -> Precision:
    """Look up a precision by name (``w8a8``, ``w8a16``, ``w16a16``).

    Raises:
        QuantizationError: Unknown name.
    """
    if name not in PRECISIONS:
        raise QuantizationError(f"unknown precision {name!r}; choose one of {', '.join(PRECISIONS)}")
    w, a = PRECISIONS[name]
    return Precision(name, w, a)


def quantize_multiplier(real: float, where: str) -> tuple[int, int]:
    """Encode a positive real multiplier as ``m * 2^-n``, ``m`` in ``[2^14, 2^15)``, ``1 <= n <= 62``.

    Multipliers below ``2^-48`` become ``(0, 1)`` (their contribution is below one LSB).

    Raises:
        QuantizationError: The multiplier is too large (>= 2^14) or not finite.
    """
    if not math.isfinite(real) or real < 0:
        raise QuantizationError(f"{where}: invalid requantization multiplier {real!r}")
    if real < 2.0**-48:
        return 0, 1
    mant, exp = math.frexp(real)            # real = mant * 2^exp, mant in [0.5, 1)
    m = int(round(mant * (1 << 15)))
    n = 15 - exp
    if m == 1 << 15:
        m //= 2
        n -= 1
    if n < 1:
        raise QuantizationError(f"{where}: requantization multiplier {real:.3g} is too large for the "
                                "fixed-point format (input values or weights are out of range)")
    if n > 62:
        return 0, 1
    return m, n


def activation_tables() -> tuple[np.ndarray, np.ndarray]:
    """The sigmoid and tanh tables: Q3.12 grid in steps of 2^TAB_SHIFT, Q0.15 values."""
    v = (np.arange(TABLE_SIZE, dtype=np.float64) * (1 << TAB_SHIFT) - 32768.0) / (1 << GATE_FRAC)
    sig = np.clip(np.floor(32768.0 / (1.0 + np.exp(-v)) + 0.5), 0, 32767).astype(np.int16)
    tanh = np.clip(np.floor(32768.0 * np.tanh(v) + 0.5), -32767, 32767).astype(np.int16)
    return sig, tanh


def round_half_away(v: np.ndarray) -> np.ndarray:
    """Round to nearest, ties away from zero (the input quantization rule)."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def per_column_quant(w: np.ndarray, qmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-column quantization: returns ``(w_q int64, scale (cols,))``."""
    maxabs = np.abs(w.astype(np.float64)).max(axis=0)
    scale = np.where(maxabs > 0, maxabs / qmax, 1.0)
    q = np.clip(round_half_away(w / scale), -qmax, qmax).astype(np.int64)
    return q, scale


def quantize_bias(b: np.ndarray | None, scale: np.ndarray, where: str) -> np.ndarray:
    """Bias at the accumulator scale as int64 (its size enters the accumulator bound)."""
    if b is None:
        return np.zeros(len(scale), np.int64)
    q = round_half_away(b.astype(np.float64) / scale)
    if not np.isfinite(q).all() or np.abs(q).max(initial=0) >= 2.0**47:
        raise QuantizationError(f"{where}: a bias is too large for the accumulator at this scale")
    return q.astype(np.int64)


def bias_dtype(acc_bits: int) -> type:
    """Biases are stored in the accumulator type."""
    return np.int32 if acc_bits == 32 else np.int64


def acc_bound(w_q: np.ndarray, b_q: np.ndarray, qmax_in: int) -> np.ndarray:
    """Exact per-column bound of ``|b_q + sum_i v_i w_q[i, j]|`` for ``|v_i| <= qmax_in`` (Python ints)."""
    col = np.abs(w_q).astype(object).sum(axis=0) * qmax_in
    return np.abs(b_q).astype(object) + col


def acc_bits_for(bounds: list[np.ndarray], where: str) -> int:
    """32 when every bound fits int32, 64 when int64, else refuse."""
    worst = max(int(max(b)) for b in bounds)
    if worst <= INT32_LIMIT:
        return 32
    if worst <= INT64_LIMIT // (1 << 15):  # requant multiplies by a 15-bit m in 64-bit
        return 64
    raise QuantizationError(f"{where}: accumulators could reach {worst}, beyond 64-bit requantization; "
                            "use smaller inputs or an 8-bit precision")


def encode_multipliers(real: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Vector form of :func:`quantize_multiplier`: ``(m int32, n int32)``."""
    pairs = [quantize_multiplier(float(v), f"{where}[{j}]") for j, v in enumerate(real)]
    return np.array([p[0] for p in pairs], np.int32), np.array([p[1] for p in pairs], np.int32)


def requant_bound(bound: np.ndarray, m: np.ndarray, n: np.ndarray) -> int:
    """Largest magnitude after requantization of accumulators bounded by ``bound``."""
    return max(((int(b) * int(mm)) >> int(nn)) + 1 for b, mm, nn in zip(bound, m, n, strict=False))


def quantize_gru(layer: GRULayer, s_in: float, qmax_in: int, prec: Precision) -> dict:
    """Quantize one GRU layer whose input has scale ``s_in`` and magnitude ``<= qmax_in``."""
    H = layer.units
    where = f"layer {layer.name!r}"
    s_h = 2.0 ** -(prec.a_bits - 1)
    W_q, sw = per_column_quant(layer.kernel, prec.w_qmax)
    U_q, su = per_column_quant(layer.recurrent_kernel, prec.w_qmax)
    if layer.bias is None:
        b_i = b_h = None
    elif layer.reset_after:
        b_i, b_h = layer.bias[0], layer.bias[1]
    else:
        b_i, b_h = layer.bias, None
    b_i_q = quantize_bias(b_i, s_in * sw, where)
    b_h_q = quantize_bias(b_h, s_h * su, where)
    mx, nx = encode_multipliers(s_in * sw * 2.0**GATE_FRAC, f"{where} input multiplier")
    mh, nh = encode_multipliers(s_h * su * 2.0**GATE_FRAC, f"{where} recurrent multiplier")
    bx = acc_bound(W_q, b_i_q, qmax_in)
    bh = acc_bound(U_q, b_h_q, prec.a_qmax)
    bits = acc_bits_for([bx, bh], where)
    if requant_bound(bx, mx, nx) + requant_bound(bh, mh, nh) > INT32_LIMIT:
        raise QuantizationError(f"{where}: gate pre-activations could overflow 32 bits")
    dt = np.int8 if prec.w_bits == 8 else np.int16
    return {"W": W_q.astype(dt), "U": U_q.astype(dt), "b_i": b_i_q.astype(bias_dtype(bits)),
            "b_h": b_h_q.astype(bias_dtype(bits)),
            "mx": mx, "nx": nx, "mh": mh, "nh": nh, "acc_bits": bits, "units": H, "input_dim": layer.input_dim,
            "reset_after": layer.reset_after, "use_bias": layer.bias is not None, "name": layer.name}


def quantize_dense(layer: DenseLayer, s_in: float, qmax_in: int, out_maxabs: float, last: bool,
                   prec: Precision) -> tuple[dict, float]:
    """Quantize a dense layer; returns its parameters and its output scale."""
    where = f"layer {layer.name!r}"
    Wd, sd = per_column_quant(layer.kernel, prec.w_qmax)
    bd = quantize_bias(layer.bias, s_in * sd, where)
    sigmoid_inside = layer.activation == "sigmoid" and not last
    if sigmoid_inside:
        s_out = 2.0 ** -(prec.a_bits - 1)
        real = s_in * sd * 2.0**GATE_FRAC
    else:
        s_out = max(out_maxabs * DENSE_HEADROOM, 1e-6) / prec.a_qmax
        real = s_in * sd / s_out
    m, n = encode_multipliers(real, f"{where} multiplier")
    bits = acc_bits_for([acc_bound(Wd, bd, qmax_in)], where)
    dt = np.int8 if prec.w_bits == 8 else np.int16
    params = {"W": Wd.astype(dt), "b": bd.astype(bias_dtype(bits)), "m": m, "n": n, "acc_bits": bits,
              "mode": 1 if sigmoid_inside else 0, "relu": layer.activation == "relu",
              "units": layer.units, "input_dim": layer.input_dim, "use_bias": layer.bias is not None,
              "activation": layer.activation, "name": layer.name}
    return params, s_out


#: the largest Q3.12 value (int16): gate pre-activations saturate here
GATE_LIMIT = 32767 / 4096


def calibrate(spec: ModelSpec, X: np.ndarray, valid: np.ndarray | None = None) -> tuple[float, list[float]]:
    """Input max-abs and each dense layer's pre-activation max-abs on calibration data.

    ``X`` is the GRU input ``(N, T, F)``; ``valid (N, T)`` marks the real (unmasked) steps.

    Warns (:class:`~edge_gru.errors.QuantizationWarning`) when a ``reset_after`` layer's recurrent candidate
    term ``h_tm1 U_h + b_hh`` exceeds :data:`GATE_LIMIT` on the calibration data: the kernels hold it in Q3.12,
    so it saturates there before the reset gate scales it, and the outputs can move far from float (a known
    limit of the format, ``tests/unit/test_fixed.py::test_candidate_term_saturation_is_reported``).
    """
    if not np.isfinite(X).all():
        raise QuantizationError("calibration data has NaN or infinite values")
    x_max = float(np.abs(X if valid is None else X[valid]).max(initial=0.0))
    v = X.astype(np.float32)
    for i, g in enumerate(spec.grus):
        stats: dict[str, float] = {}
        v = rnn_layer(g, v, valid=valid, stats=stats)
        term = stats.get("candidate_recurrent_max", 0.0)
        if term > GATE_LIMIT:
            warnings.warn(f"GRU layer {i} ({g.name}): the recurrent candidate term h_tm1 U_h + b_hh reaches "
                          f"{term:.2f} on the calibration data, beyond the Q3.12 range (+-{GATE_LIMIT:.2f}) it is "
                          "held in before the reset gate scales it: outputs can differ from float where it "
                          "saturates (check the quantize report; smaller recurrent weights avoid it)",
                          QuantizationWarning, stacklevel=3)
    dense_max = []
    for d in spec.dense:
        pre = float_dense(d, v, apply_activation=False)
        dense_max.append(float(np.abs(pre).max()))
        v = float_dense(d, v)
    return x_max, dense_max


__all__ = ["GATE_LIMIT", "PRECISIONS", "Precision", "activation_tables", "calibrate", "precision", "quantize_dense",
           "quantize_gru", "quantize_multiplier", "round_half_away"]
