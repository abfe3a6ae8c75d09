"""The fixed-point model: build from a float spec, run it (batches or one step at a time).

Saving and loading ``.egru`` files is in :mod:`edge_gru.fixed.io` (``load_fixed``, ``save_fixed``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from edge_gru.errors import DataError, QuantizationError
from edge_gru.fixed import kernels as K
from edge_gru.fixed.directions import MERGE_SCALE, directions, is_bidirectional, layer_output_dim, merge_int
from edge_gru.fixed.quantize import (
    Precision,
    activation_tables,
    calibrate,
    precision,
    quantize_dense,
    quantize_gru,
    round_half_away,
)
from edge_gru.float_ref import activate, embed_and_mask
from edge_gru.sequence import check_lengths, check_tokens, compact, valid_steps
from edge_gru.spec import ModelSpec

BLOCK = 64
GRU_ARRAYS = ("W", "U", "b_i", "b_h", "mx", "nx", "mh", "nh")
DENSE_ARRAYS = ("W", "b", "m", "n")


@dataclass
class FixedModel:
    """An integer GRU network.

    Attributes:
        precision: Bit widths (``w8a8``, ``w8a16`` or ``w16a16``).
        features: Input features per timestep.
        timesteps: Sequence length the model was built for (``None``: any).
        input_scale: Real value of one input LSB.
        grus: Per GRU layer: integer arrays and scalars (see :func:`quantize_gru`).
        dense: Per dense layer: integer arrays and scalars.
        output_scale: Real value of one output LSB.
        output_activation: Applied in float when dequantizing (``sigmoid``/``softmax``/...).
        sig_tab, tanh_tab: Activation tables, 513 int16 each.
        name: Model name.
        embedding: For token input: ``{"table": (vocab, features) int8/int16 at input_scale, "vocab",
            "mask_zero", "name"}`` (the lookup yields the quantized input of the first GRU layer).
        mask_value: A ``Masking`` value (decided on the float input, before quantization).
        per_step: The head runs after every timestep: outputs ``(N, T, K)`` (the float model's last GRU
            returns sequences).
        stateful: The float model was Keras ``stateful=True``: a stream (:meth:`stream`) keeps its state
            across calls until :meth:`FixedStream.reset`; batches are still evaluated from the zero state.
    """

    precision: Precision
    features: int
    timesteps: int | None
    input_scale: float
    grus: list[dict]
    dense: list[dict]
    output_scale: float
    output_activation: str
    sig_tab: np.ndarray
    tanh_tab: np.ndarray
    name: str = "model"
    info: dict = field(default_factory=dict)
    embedding: dict | None = None
    mask_value: float | None = None
    per_step: bool = False
    stateful: bool = False

    @property
    def tokens(self) -> bool:
        """True when the input is token ids ``(N, T)``."""
        return self.embedding is not None

    @property
    def vocab(self) -> int | None:
        """Embedding rows (``None`` for feature input)."""
        return None if self.embedding is None else int(self.embedding["vocab"])

    # ----------------------------------------------------------------- properties
    @property
    def output_dim(self) -> int:
        """Width of the output."""
        return self.dense[-1]["units"] if self.dense else layer_output_dim(self.grus[-1])

    @property
    def window(self) -> bool:
        """True when inference needs the whole sequence first (a bidirectional or ``go_backwards`` layer)."""
        return any(is_bidirectional(g) or g.get("go_backwards") for g in self.grus)

    @property
    def state_dtype(self) -> type:
        """numpy dtype of inputs and states on the device."""
        return np.int8 if self.precision.a_bits == 8 else np.int16

    def macs_per_sequence(self, timesteps: int | None = None) -> int:
        """Multiply-accumulates per sequence."""
        t = timesteps or self.timesteps
        if t is None:
            raise ValueError("timesteps unknown: pass it explicitly")
        return t * self.macs_per_step + (t if self.per_step else 1) * sum(
            d["units"] * d["input_dim"] for d in self.dense)

    @property
    def macs_per_step(self) -> int:
        """Multiply-accumulates of one timestep (all GRU layers)."""
        return sum(3 * d["units"] * (d["input_dim"] + d["units"]) for g in self.grus for d in directions(g))

    def device_input(self, X: np.ndarray, lengths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """What the C runtime is fed for model input ``X``: ``(inputs, lengths)``.

        Token models: the ids ``(N, T)`` int32 (``eg_run_tokens`` skips padding ids itself) and the lengths.
        Feature models: the quantized inputs ``(N, T, F)`` with each sequence's masked steps removed
        (skipping a step = not feeding it) and the number of steps left.
        """
        X = self.check_input(np.asarray(X), any_length=True)
        if self.window and self.timesteps is not None and X.shape[1] > self.timesteps:
            raise DataError(f"input has {X.shape[1]} timesteps; this model's C runtime holds windows of at most "
                            f"{self.timesteps} (a Bidirectional or go_backwards GRU needs the whole window in RAM)")
        if self.tokens:
            lens = check_lengths(lengths, X.shape[0], X.shape[1])
            return X, np.full(len(X), X.shape[1], np.int32) if lens is None else lens
        valid = self.valid_steps(X, lengths)
        return compact(self.quantize_input(X), valid)

    def device_step_index(self, X: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Per-step models: for each ``(n, t)`` of model input ``X``, which output the device wrote for it.

        The device (``eg_run_seq`` / ``eg_run_tokens_seq`` on :meth:`device_input`) writes one output per step
        it is fed: a feature model is fed only its unmasked steps, so the output at a masked step is the one
        of the last real step before it; a token model is fed its first ``length`` ids (padding ids keep the
        state and still write an output). ``-1``: no step yet, the output is the head of the zero state. A
        bidirectional model outputs the head of zeros at every masked step (Keras' rule), so those are ``-1``.
        """
        X = self.check_input(np.asarray(X), any_length=True)
        n, t = X.shape[:2]
        if self.tokens:
            lens = check_lengths(lengths, n, t)
            return self.prefix_step_index(np.full(n, t) if lens is None else lens, t)
        valid = self.valid_steps(X, lengths)
        if valid is None:
            return np.broadcast_to(np.arange(t), (n, t)).copy()
        index = np.cumsum(valid, axis=1) - 1
        if self.window:
            index[~valid] = -1
        return index

    def prefix_step_index(self, lengths: np.ndarray, t: int) -> np.ndarray:
        """:meth:`device_step_index` for a batch fed its first ``lengths`` of ``t`` steps as they are (token ids,
        integer inputs): step ``t`` holds the device's row ``t`` up to the length, the last row beyond it (a window
        model: ``-1``, the head of zeros)."""
        steps, lens = np.arange(t)[None, :], np.asarray(lengths)[:, None]
        index = np.minimum(steps, lens - 1)
        if self.window:
            index[steps >= lens] = -1
        return index

    def expand_device_outputs(self, raw: np.ndarray, zero: np.ndarray, index: np.ndarray) -> np.ndarray:
        """A per-step device batch ``raw (N, T, K)`` (row ``j`` = after the ``j``-th fed step) and the head of
        the zero state ``zero (K,)`` -> the outputs at every input step, as :meth:`predict_raw` gives them."""
        n, t = index.shape
        full = np.empty((n, t, self.output_dim), np.int32)
        rows = np.arange(n)[:, None]
        full[:] = np.asarray(raw)[rows, np.maximum(index, 0)]
        full[index < 0] = np.asarray(zero, np.int32)
        return full

    def steps_run(self, xq: np.ndarray, lengths: np.ndarray) -> float:
        """Average real steps per sequence of a :meth:`device_input` batch (padding ids not counted)."""
        lengths = np.asarray(lengths)
        if not len(lengths):
            return 0.0
        if self.tokens and self.embedding["mask_zero"]:
            real = (np.asarray(xq) != 0) & (np.arange(xq.shape[1])[None, :] < lengths[:, None])
            return float(real.sum(axis=1).mean())
        return float(lengths.mean())

    def weight_bytes(self) -> int:
        """Bytes of all constant arrays (weights, biases, multipliers, tables)."""
        n = self.sig_tab.nbytes + self.tanh_tab.nbytes
        if self.embedding is not None:
            n += self.embedding["table"].nbytes
        for g in self.grus:
            n += sum(d[k].nbytes for d in directions(g) for k in GRU_ARRAYS)
        for d in self.dense:
            n += sum(d[k].nbytes for k in DENSE_ARRAYS)
        return n

    def describe(self) -> list[str]:
        """Human-readable summary lines."""
        p = self.precision
        t = self.timesteps
        lines = [f"fixed-point model {self.name!r} ({p.name}: int{p.w_bits} weights, int{p.a_bits} "
                 f"inputs/state, Q3.12 gates): input ({t if t else 'T'}, {self.features}), "
                 f"input scale {self.input_scale:.6g}"]
        if self.embedding is not None:
            e = self.embedding
            tt = t if t else 'T'
            lines[0] = lines[0].replace(f"input ({tt}, {self.features})", f"input ({tt},) ids")
            lines.append(f"  Embedding {e['name']!r}: vocab={e['vocab']} dim={self.features} "
                         f"mask_zero={e['mask_zero']} table int{self.precision.a_bits} at the input scale "
                         f"({e['table'].nbytes} bytes)")
        if self.mask_value is not None:
            lines.append(f"  Masking: mask_value={self.mask_value:g} (decided on the float input)")
        for g in self.grus:
            kind = f"Bidirectional(GRU, merge_mode={g['merge']})" if is_bidirectional(g) else "GRU"
            kind += " go_backwards=True" if g.get("go_backwards") else ""
            lines.append(f"  {kind} {g['name']!r}: units={g['units']} reset_after={g['reset_after']} "
                         f"use_bias={g['use_bias']} accumulator=int{g['acc_bits']}")
        for d in self.dense:
            lines.append(f"  Dense {d['name']!r}: units={d['units']} activation={d['activation']} "
                         f"accumulator=int{d['acc_bits']}")
        lines.append(f"output scale {self.output_scale:.6g}, output activation {self.output_activation} "
                     "(applied when dequantizing)" + (", an output after every timestep" if self.per_step else ""))
        if self.stateful:
            lines.append("stateful: a stream keeps its state between calls until reset")
        lines.append(f"constant bytes: {self.weight_bytes()}")
        if t:
            lines.append(f"MACs per sequence: {self.macs_per_sequence(t)}")
        return lines

    # ----------------------------------------------------------------- running
    def check_input(self, X: np.ndarray, any_length: bool = False) -> np.ndarray:
        """Validate ``X (N, T, F)`` (any ``T`` when ``any_length``); returns it as float32.

        Token models: ``X (N, T)`` integer ids below the vocabulary size, returned as int32.
        """
        X = np.asarray(X)
        if self.embedding is not None:
            X = check_tokens(X, self.vocab, "input")
            if not any_length and self.timesteps is not None and X.shape[1] != self.timesteps:
                raise DataError(f"input has {X.shape[1]} timesteps, the model expects {self.timesteps}")
            return X
        if X.ndim != 3 or X.shape[2] != self.features:
            raise DataError(f"input must have shape (N, T, {self.features}), got {X.shape}")
        if not any_length and self.timesteps is not None and X.shape[1] != self.timesteps:
            raise DataError(f"input has {X.shape[1]} timesteps, the model expects {self.timesteps}")
        X = X.astype(np.float32)
        if not np.isfinite(X).all():
            raise DataError("input has NaN or infinite values")
        return X

    def quantize_input(self, X: np.ndarray) -> np.ndarray:
        """Float inputs -> integers: ``clamp(round_half_away(x / s_x))`` in float64.

        Token models: the rows of the quantized embedding table (the same rule, applied at quantization).
        """
        if self.embedding is not None:
            return self.embedding["table"][np.asarray(X, np.int64)]
        return self.quantize_input_features(X)

    def valid_steps(self, X: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray | None:
        """``(N, T)`` bool, False on masked steps (padding id, ``mask_value``, beyond ``lengths``), or ``None``."""
        X = np.asarray(X)
        lengths = check_lengths(lengths, X.shape[0], X.shape[1])
        mask_zero = self.embedding is not None and bool(self.embedding["mask_zero"])
        return valid_steps(X, mask_zero, self.mask_value, lengths)

    def predict_raw(self, X: np.ndarray, quantized: bool = False, lengths: np.ndarray | None = None) -> np.ndarray:
        """Integer outputs ``(N, K)`` int32 for float (or, with ``quantized``, integer) inputs.

        A per-step model returns ``(N, T, K)``: the head on the state after every step (a masked step
        keeps the state, so its output repeats the step before; before any real step, the head of zeros).

        Args:
            X: Model input (token ids for embedding models).
            quantized: ``X`` is already integer GRU input ``(N, T, F)`` (only ``lengths`` then masks steps).
            lengths: Optional real lengths ``(N,)``: steps at or beyond are masked.
        """
        if quantized:
            xq = np.asarray(X)
            valid = valid_steps(xq, lengths=check_lengths(lengths, xq.shape[0], xq.shape[1]))
        else:
            X = self.check_input(X)
            valid = self.valid_steps(X, lengths)
            xq = self.quantize_input(X)
        vmask = None if valid is None else np.ascontiguousarray(valid, np.uint8)
        v = xq
        for g in self.grus:
            v = self._layer(g, v, vmask, keep_seq=self.per_step or g is not self.grus[-1])
        if self.per_step:
            n, t, h = v.shape
            return self._head(v.reshape(n * t, h)).reshape(n, t, -1)
        return self._head(v[:, -1, :])

    def quantize_input_features(self, X: np.ndarray) -> np.ndarray:
        """Float GRU inputs ``(..., F)`` -> integers: ``clamp(round_half_away(x / s_x))`` in float64."""
        q = self.precision.a_qmax
        v = round_half_away(np.asarray(X, np.float64) / self.input_scale)
        return np.clip(v, -q, q).astype(self.state_dtype)

    def predict(self, X: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Float outputs ``(N, K)`` (``(N, T, K)`` per step): :meth:`predict_raw` dequantized, activation applied."""
        return self.dequantize(self.predict_raw(X, lengths=lengths))

    def dequantize(self, raw: np.ndarray) -> np.ndarray:
        """Integer outputs -> float, applying the output activation."""
        return activate(raw.astype(np.float64) * self.output_scale, self.output_activation).astype(np.float32)

    def stream(self, batch: int = 1) -> FixedStream:
        """A streaming runner that takes one timestep at a time."""
        return FixedStream(self, batch)

    # ----------------------------------------------------------------- internals
    def _acc_like(self, bits: int) -> np.ndarray:
        return np.zeros(0, np.int32 if bits == 32 else np.int64)

    def _gru(self, g: dict, x: np.ndarray, h0: np.ndarray, keep_seq: bool,
             valid: np.ndarray | None = None) -> np.ndarray:
        p = self.precision
        if valid is None:
            valid = np.ones(x.shape[:2], np.uint8)
        return K.gru_layer_batch(x, h0, g["W"], g["U"], g["b_i"], g["b_h"], g["mx"], g["nx"], g["mh"], g["nh"],
                                 self.sig_tab, self.tanh_tab, g["reset_after"], g["use_bias"], p.state_shift,
                                 p.a_qmax, self._acc_like(g["acc_bits"]), keep_seq, BLOCK, valid)

    def _direction(self, g: dict, x: np.ndarray, valid: np.ndarray | None, keep_seq: bool) -> np.ndarray:
        """One direction over ``x`` from the zero state (``go_backwards``: last step first, output in that order)."""
        if g.get("go_backwards"):
            x = x[:, ::-1]
            valid = None if valid is None else valid[:, ::-1]
        h0 = np.zeros((x.shape[0], g["units"]), np.int32)
        return self._gru(g, np.ascontiguousarray(x), h0, keep_seq,
                         None if valid is None else np.ascontiguousarray(valid))

    def _layer(self, g: dict, x: np.ndarray, valid: np.ndarray | None, keep_seq: bool) -> np.ndarray:
        """A layer's output: ``(N, T, W)`` with ``keep_seq`` else ``(N, 1, W)``; bidirectional layers merged
        (:mod:`edge_gru.fixed.directions`), the backward sequence in input order and masked steps zero."""
        fwd = self._direction(g, x, valid, keep_seq)
        if not is_bidirectional(g):
            return fwd
        bwd = self._direction(g["backward"], x, valid, keep_seq)
        if keep_seq:
            bwd = bwd[:, ::-1]
            if valid is not None:
                fwd, bwd = (np.where(valid[..., None] != 0, v, 0) for v in (fwd, bwd))
        return merge_int(fwd, bwd, g["merge"], self.precision.a_bits)

    def _head(self, v: np.ndarray) -> np.ndarray:
        p = self.precision
        v = np.ascontiguousarray(v, np.int32)
        for d in self.dense:
            v = K.dense_batch(v, d["W"], d["b"], d["use_bias"], d["m"], d["n"], d["mode"], d["relu"], p.a_qmax,
                              p.state_shift, self.sig_tab, self._acc_like(d["acc_bits"]))
        return v


class FixedStream:
    """Streaming inference: feed one timestep at a time; the object keeps the states.

    Produces exactly the integers of :meth:`FixedModel.predict_raw` on the same prefix.
    """

    def __init__(self, model: FixedModel, batch: int = 1) -> None:
        if model.window:
            raise DataError("a model with a Bidirectional or go_backwards GRU needs the whole sequence: it cannot be "
                            "streamed (run whole sequences with predict_raw, or eg_run in C)")
        self.model = model
        self.batch = batch
        self.reset()

    def reset(self) -> None:
        """Zero the states."""
        self.states = [np.zeros((self.batch, g["units"]), np.int32) for g in self.model.grus]
        self.steps = 0

    def step(self, x_t: np.ndarray, quantized: bool = False) -> None:
        """Advance by one timestep; ``x_t`` is ``(F,)`` or ``(batch, F)`` (token models: an id per sequence).

        A masked step (padding id or ``mask_value``) leaves that sequence's state unchanged.
        """
        m = self.model
        valid = None
        if m.tokens and not quantized:
            x = m.check_input(np.asarray(x_t).reshape(self.batch, 1), any_length=True)
            valid = m.valid_steps(x)
            v = m.quantize_input(x)
        else:
            x = np.asarray(x_t).reshape(self.batch, 1, m.features)
            if not quantized:
                x = m.check_input(x, any_length=True)
                valid = m.valid_steps(x)
            v = x if quantized else m.quantize_input(x)
        vmask = None if valid is None else np.ascontiguousarray(valid, np.uint8)
        for i, g in enumerate(m.grus):
            v = m._gru(g, v, self.states[i], keep_seq=True, valid=vmask)
            self.states[i] = np.ascontiguousarray(v[:, 0, :])
        self.steps += 1
        self.last_real = np.ones(self.batch, bool) if valid is None else np.asarray(valid)[:, 0]

    def output_raw(self) -> np.ndarray:
        """Integer head outputs for the current state, ``(batch, K)``."""
        return self.model._head(self.states[-1])

    def output(self) -> np.ndarray:
        """Dequantized head outputs for the current state."""
        return self.model.dequantize(self.output_raw())

    def feed(self, X: np.ndarray, quantized: bool = False) -> np.ndarray:
        """Feed a chunk ``X (batch, T, F)`` (token ids ``(batch, T)``) from the current state, which carries on
        (a stateful model's call): the raw outputs after its last step ``(batch, K)``, or per-step models after
        every step ``(batch, T, K)``. Chunks fed one after another give what one call on the whole input gives.

        Keras' rule for a call's masked steps before its first real one: the GRU outputs zeros there (the state
        still carries over), so the outputs are those of the head on zeros (:class:`~edge_gru.float_ref.FloatStream`
        does the same).
        """
        X = np.asarray(X)
        rows = []
        seen = np.zeros(self.batch, bool)
        zero = self.model._head(np.zeros((1, self.model.grus[-1]["units"]), np.int32))
        for t in range(X.shape[1]):
            self.step(X[:, t], quantized)
            seen |= self.last_real
            if self.model.per_step:
                rows.append(np.where(seen[:, None], self.output_raw(), zero))
        if self.model.per_step:
            return np.stack(rows, 1) if rows else np.zeros((self.batch, 0, self.model.output_dim), np.int32)
        return np.where(seen[:, None], self.output_raw(), zero)

    def run(self, X: np.ndarray, quantized: bool = False) -> Iterator[np.ndarray]:
        """Feed ``X (batch, T, F)`` step by step, yielding the raw outputs after each step."""
        for t in range(X.shape[1]):
            self.step(X[:, t, :], quantized)
            yield self.output_raw()


def quantize_model(spec: ModelSpec, calibration: np.ndarray, precision_name: str = "w8a16") -> FixedModel:
    """Quantize a float spec with calibration inputs ``(N, T, F)``.

    Raises:
        QuantizationError: Bad calibration data, a multiplier out of range, or possible overflow.
    """
    prec = precision(precision_name)
    if spec.embedding is not None:
        try:
            ids = check_tokens(calibration, spec.embedding.vocab, "calibration data")
        except DataError as exc:
            raise QuantizationError(str(exc)) from None
        if len(ids) == 0:
            raise QuantizationError("calibration data is empty")
        calibration, valid = embed_and_mask(spec, ids)
    else:
        calibration = np.asarray(calibration, np.float32)
        if calibration.ndim != 3 or calibration.shape[2] != spec.features or len(calibration) == 0:
            raise QuantizationError(f"calibration data must have shape (N, T, {spec.features}), "
                                    f"got {calibration.shape}")
        valid = None if spec.mask_value is None else embed_and_mask(spec, calibration)[1]
    x_max, dense_max = calibrate(spec, calibration, valid)
    if spec.embedding is not None:      # any row can be looked up: the table's range is the input range
        x_max = float(np.abs(spec.embedding.table).max())
    s_x = max(x_max, 1e-6) / prec.a_qmax
    s_h = 2.0 ** -(prec.a_bits - 1)
    grus = []
    s_in, qmax_in = s_x, prec.a_qmax
    for g in spec.grus:
        layer = quantize_gru(g, s_in, qmax_in, prec)
        layer["go_backwards"] = g.go_backwards
        if g.backward is not None:
            layer["backward"] = quantize_gru(g.backward, s_in, qmax_in, prec)
            layer["backward"]["go_backwards"] = True
            layer["merge"] = g.merge_mode
        grus.append(layer)
        s_in = s_h * (MERGE_SCALE[g.merge_mode] if g.backward is not None else 1.0)
    dense = []
    for i, d in enumerate(spec.dense):
        params, s_in = quantize_dense(d, s_in, prec.a_qmax, dense_max[i], i == len(spec.dense) - 1, prec)
        dense.append(params)
    sig, tanh = activation_tables()
    out_act = spec.output_activation if spec.output_activation in ("sigmoid", "softmax") else "linear"
    fm = FixedModel(prec, spec.features, spec.timesteps, float(s_x), grus, dense, float(s_in), out_act,
                    sig, tanh, spec.name, mask_value=spec.mask_value, per_step=spec.per_step, stateful=spec.stateful)
    if spec.embedding is not None:
        e = spec.embedding
        table = fm.quantize_input_features(e.table[None])[0]         # x_q = clamp(round(x / s_x)) per row
        fm.embedding = {"table": table, "vocab": e.vocab, "mask_zero": e.mask_zero, "name": e.name}
    return fm
