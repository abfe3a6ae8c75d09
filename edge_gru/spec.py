"""Framework-neutral description of a GRU network (the "spec").

A :class:`ModelSpec` is an optional :class:`EmbeddingLayer` (token ids in) or ``Masking``
(``mask_value``), a stack of :class:`GRULayer`, then zero or more :class:`DenseLayer`.
Masked timesteps (id 0 with ``mask_zero``, every feature equal to ``mask_value``, or beyond a
sequence's length) leave every GRU state unchanged, as in Keras. Weights follow Keras' layout: gates packed in the order
``z, r, h``; ``kernel`` is ``(F, 3H)``, ``recurrent_kernel`` ``(H, 3H)`` and ``bias``
``(2, 3H)`` when ``reset_after`` (row 0 input bias, row 1 recurrent bias) or ``(3H,)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_gru import container
from edge_gru.errors import ModelFileError, UnsupportedModelError

SPEC_KIND = "edge-gru-spec"
SPEC_VERSION = 1
DENSE_ACTIVATIONS = ("linear", "relu", "sigmoid", "softmax")
#: Keras ``Bidirectional`` merge modes edge-gru supports.
MERGE_MODES = ("concat", "sum", "ave", "mul")


@dataclass
class GRULayer:
    """One Keras-semantics GRU layer (tanh candidate, sigmoid gates)."""

    units: int
    input_dim: int
    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray | None
    reset_after: bool = True
    return_sequences: bool = False
    name: str = "gru"
    go_backwards: bool = False
    backward: GRULayer | None = None
    merge_mode: str = "concat"

    @property
    def bidirectional(self) -> bool:
        """True for a Keras ``Bidirectional`` layer: this is its forward direction, :attr:`backward` the other."""
        return self.backward is not None

    @property
    def output_dim(self) -> int:
        """Width of the layer's output: ``2 * units`` for a bidirectional layer merged by ``concat``."""
        return 2 * self.units if self.bidirectional and self.merge_mode == "concat" else self.units

    @property
    def macs_per_step(self) -> int:
        """Multiply-accumulates of one timestep (input and recurrent products, both directions)."""
        return 3 * self.units * (self.input_dim + self.units) * (2 if self.bidirectional else 1)

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        n = self.kernel.size + self.recurrent_kernel.size
        n += 0 if self.bias is None else self.bias.size
        return n + (self.backward.n_params if self.backward is not None else 0)

    def check(self) -> None:
        """Raise :class:`UnsupportedModelError` if the arrays do not fit the sizes."""
        h3 = 3 * self.units
        _sizes(self.name, self.units, self.input_dim)
        _shape(self.name, "kernel", self.kernel, (self.input_dim, h3))
        _shape(self.name, "recurrent_kernel", self.recurrent_kernel, (self.units, h3))
        if self.bias is not None:
            _shape(self.name, "bias", self.bias, (2, h3) if self.reset_after else (h3,))
        for what in ("kernel", "recurrent_kernel", "bias"):
            _values(self.name, what, getattr(self, what))
        if self.backward is not None:
            b = self.backward
            if self.merge_mode not in MERGE_MODES:
                raise UnsupportedModelError(f"layer {self.name!r}: Bidirectional merge_mode={self.merge_mode!r} is not "
                                            f"supported (supported: {', '.join(MERGE_MODES)})")
            if (b.units, b.input_dim, b.return_sequences, b.backward) != (self.units, self.input_dim,
                                                                          self.return_sequences, None) \
                    or not b.go_backwards or self.go_backwards:
                raise UnsupportedModelError(f"layer {self.name!r}: the backward direction of a Bidirectional layer "
                                            "must be the same GRU with go_backwards=True")
            b.check()


@dataclass
class EmbeddingLayer:
    """A Keras ``Embedding``: token id ``i`` -> row ``i`` of ``table (vocab, dim)``.

    With ``mask_zero`` id 0 is padding: its timestep is skipped by every GRU layer.
    """

    vocab: int
    dim: int
    table: np.ndarray
    mask_zero: bool = False
    name: str = "embedding"

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        return self.table.size

    def check(self) -> None:
        """Raise :class:`UnsupportedModelError` if the table does not fit the sizes."""
        if not 1 <= self.vocab <= MAX_VOCAB:
            raise UnsupportedModelError(f"layer {self.name!r}: vocabulary of {self.vocab} outside 1..{MAX_VOCAB:,}")
        _sizes(self.name, self.dim, self.vocab)
        _shape(self.name, "table", self.table, (self.vocab, self.dim))
        _values(self.name, "table", self.table)


@dataclass
class DenseLayer:
    """A fully connected layer ``y = act(x W + b)``."""

    units: int
    input_dim: int
    kernel: np.ndarray
    bias: np.ndarray | None
    activation: str = "linear"
    name: str = "dense"

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one evaluation."""
        return self.units * self.input_dim

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        return self.kernel.size + (0 if self.bias is None else self.bias.size)

    def check(self) -> None:
        """Raise :class:`UnsupportedModelError` if the arrays do not fit the sizes."""
        if self.activation not in DENSE_ACTIVATIONS:
            raise UnsupportedModelError(
                f"layer {self.name!r}: activation {self.activation!r} is not supported "
                f"(supported: {', '.join(DENSE_ACTIVATIONS)})")
        _sizes(self.name, self.units, self.input_dim)
        _shape(self.name, "kernel", self.kernel, (self.input_dim, self.units))
        if self.bias is not None:
            _shape(self.name, "bias", self.bias, (self.units,))
        _values(self.name, "kernel", self.kernel)
        _values(self.name, "bias", self.bias)


@dataclass
class ModelSpec:
    """A GRU stack plus an optional dense head.

    Attributes:
        features: Input features per timestep.
        timesteps: Sequence length the model was built for (``None``: any).
        grus: GRU layers, first to last. When the last has ``return_sequences`` the model is *per-step*
            (sequence labelling): the dense head is applied to the state after every timestep and the
            output is ``(N, T, K)``; otherwise to the last state, output ``(N, K)``.
        dense: Dense layers applied to the last GRU state (to every step's state when per-step).
        name: Model name (free text; sanitised wherever it becomes an identifier).
        embedding: Token-id input through this table (``features`` is then its width).
        mask_value: A Keras ``Masking`` layer's value: a timestep whose features all equal it is skipped.
        stateful: Keras ``stateful=True``: the state carries over from one call to the next until an explicit
            reset (streaming). Every engine still evaluates a batch of sequences from the zero state; the
            streaming APIs (:class:`~edge_gru.float_ref.FloatStream`, ``FixedModel.stream``, the C runtime
            without ``eg_reset``) continue across calls.
    """

    features: int
    timesteps: int | None
    grus: list[GRULayer]
    dense: list[DenseLayer] = field(default_factory=list)
    name: str = "model"
    embedding: EmbeddingLayer | None = None
    mask_value: float | None = None
    stateful: bool = False

    @property
    def tokens(self) -> bool:
        """True when the input is token ids ``(N, T)`` (an embedding model)."""
        return self.embedding is not None

    @property
    def vocab(self) -> int | None:
        """Embedding rows (``None`` for feature input)."""
        return None if self.embedding is None else self.embedding.vocab

    @property
    def masked(self) -> bool:
        """True when padding steps are recognised from the input (``mask_zero`` or ``Masking``)."""
        return (self.embedding is not None and self.embedding.mask_zero) or self.mask_value is not None

    @property
    def per_step(self) -> bool:
        """True when the model outputs after every timestep (the last GRU has ``return_sequences``)."""
        return bool(self.grus) and self.grus[-1].return_sequences

    @property
    def output_dim(self) -> int:
        """Width of the model output (per timestep for a per-step model)."""
        return self.dense[-1].units if self.dense else self.grus[-1].output_dim

    @property
    def window(self) -> bool:
        """True when inference needs the whole sequence first (a bidirectional or ``go_backwards`` layer)."""
        return any(g.bidirectional or g.go_backwards for g in self.grus)

    @property
    def output_activation(self) -> str:
        """Activation of the last layer (``"linear"`` when the model ends with a GRU)."""
        return self.dense[-1].activation if self.dense else "linear"

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        emb = self.embedding.n_params if self.embedding is not None else 0
        return emb + sum(g.n_params for g in self.grus) + sum(d.n_params for d in self.dense)

    def macs_per_sequence(self, timesteps: int | None = None) -> int:
        """Multiply-accumulates for one sequence of ``timesteps`` steps."""
        t = timesteps or self.timesteps
        if t is None:
            raise ValueError("timesteps unknown: pass it explicitly")
        head = sum(d.macs for d in self.dense)
        return t * sum(g.macs_per_step for g in self.grus) + (t if self.per_step else 1) * head

    def check(self) -> None:
        """Validate the layer chain; raise :class:`UnsupportedModelError` when broken."""
        if not self.grus:
            raise UnsupportedModelError("the model has no GRU layer (edge-gru needs at least one)")
        if self.features < 1:
            raise UnsupportedModelError(f"the model has {self.features} input features; it needs >= 1")
        if self.timesteps is not None and not 1 <= self.timesteps <= MAX_TIMESTEPS:
            raise UnsupportedModelError(f"sequence length {self.timesteps} outside 1..{MAX_TIMESTEPS:,}")
        if self.embedding is not None:
            if self.mask_value is not None:
                raise UnsupportedModelError("Masking after an Embedding is not supported (use mask_zero=True)")
            self.embedding.check()
            if self.embedding.dim != self.features:
                raise UnsupportedModelError(f"embedding width {self.embedding.dim} differs from the GRU input "
                                            f"{self.features}")
        if self.mask_value is not None and not (isinstance(self.mask_value, float) and math.isfinite(self.mask_value)):
            raise UnsupportedModelError(f"Masking value {self.mask_value!r} must be a finite number")
        width = self.features
        for i, g in enumerate(self.grus):
            if g.input_dim != width:
                raise UnsupportedModelError(f"layer {g.name!r}: expects {g.input_dim} inputs, gets {width}")
            if not g.return_sequences and i < len(self.grus) - 1:
                raise UnsupportedModelError(f"layer {g.name!r}: a stacked GRU needs return_sequences=True")
            if g.go_backwards and g.return_sequences:
                raise UnsupportedModelError(f"layer {g.name!r}: GRU go_backwards=True with return_sequences=True is "
                                            "not supported outside Bidirectional (its outputs come last step first)")
            g.check()
            width = g.output_dim
        if self.stateful and self.window:
            name = next(g.name for g in self.grus if g.bidirectional or g.go_backwards)
            raise UnsupportedModelError(f"layer {name!r}: stateful=True with a Bidirectional or go_backwards GRU is "
                                        "not supported (the backward direction needs the whole sequence; a stream "
                                        "never ends)")
        for j, d in enumerate(self.dense):
            if d.input_dim != width:
                raise UnsupportedModelError(f"layer {d.name!r}: expects {d.input_dim} inputs, gets {width}")
            if d.activation == "softmax" and j != len(self.dense) - 1:
                raise UnsupportedModelError(f"layer {d.name!r}: softmax is supported on the last layer only")
            d.check()
            width = d.units

    def describe(self, timesteps: int | None = None) -> list[str]:
        """Human-readable lines: one per layer, then totals."""
        t = timesteps or self.timesteps
        lines = [f"model {self.name!r}: input ({t if t else 'T'}, {self.features})"]
        if self.stateful:
            lines.append("  stateful: the state carries over between calls until a reset (streaming)")
        if self.per_step:
            lines.append("  outputs at every timestep (the last GRU returns sequences; the head runs per step)")
        if self.embedding is not None:
            e = self.embedding
            lines[0] = f"model {self.name!r}: input ({t if t else 'T'},) token ids"
            lines.append(f"  Embedding {e.name!r}: vocab={e.vocab} dim={e.dim} mask_zero={e.mask_zero} "
                         f"params={e.n_params}")
        if self.mask_value is not None:
            lines.append(f"  Masking: mask_value={self.mask_value:g} (a step whose features all equal it is skipped)")
        for g in self.grus:
            kind = f"Bidirectional(GRU, merge_mode={g.merge_mode})" if g.bidirectional else "GRU"
            back = " go_backwards=True" if g.go_backwards else ""
            lines.append(f"  {kind} {g.name!r}: units={g.units} reset_after={g.reset_after} "
                         f"use_bias={g.bias is not None} return_sequences={g.return_sequences}{back} "
                         f"params={g.n_params}")
        for d in self.dense:
            lines.append(f"  Dense {d.name!r}: units={d.units} activation={d.activation} params={d.n_params}")
        lines.append(f"parameters: {self.n_params}")
        if t:
            lines.append(f"MACs per sequence: {self.macs_per_sequence(t)}")
        return lines


#: Largest weight magnitude accepted (trained GRU weights are a few units; beyond this a file is corrupt).
MAX_ABS_WEIGHT = 1e6
#: Accepted fixed sequence lengths.
MAX_TIMESTEPS = 1_000_000
#: Largest embedding vocabulary (ids are int32 on the device; beyond this a table does not fit any MCU).
MAX_VOCAB = 1 << 22


def _sizes(layer: str, units: int, input_dim: int) -> None:
    if units < 1 or input_dim < 1:
        raise UnsupportedModelError(f"layer {layer!r}: units {units} and input size {input_dim} must be >= 1")


def _values(layer: str, what: str, arr: np.ndarray | None) -> None:
    if arr is None:
        return
    if arr.dtype.kind not in "fiu":
        raise UnsupportedModelError(f"layer {layer!r}: {what} has dtype {arr.dtype}; weights must be numbers")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise UnsupportedModelError(f"layer {layer!r}: {what} has {int((~np.isfinite(arr)).sum())} NaN or infinite "
                                    "weights; the model is corrupt (or training diverged)")
    if arr.size and float(np.abs(arr).max()) > MAX_ABS_WEIGHT:
        raise UnsupportedModelError(f"layer {layer!r}: {what} has a weight of magnitude "
                                    f"{float(np.abs(arr).max()):.3g}, beyond the limit of {MAX_ABS_WEIGHT:g}")


def _shape(layer: str, what: str, arr: np.ndarray, want: tuple[int, ...]) -> None:
    if tuple(arr.shape) != want:
        raise UnsupportedModelError(f"layer {layer!r}: {what} has shape {tuple(arr.shape)}, expected {want}")


def save_spec(spec: ModelSpec, path: str | Path) -> None:
    """Write ``spec`` to ``path`` (no pickle; see :mod:`edge_gru.container`)."""
    spec.check()
    arrays: dict[str, np.ndarray] = {}
    layers = []
    if spec.embedding is not None:
        e = spec.embedding
        arrays["embedding.table"] = e.table.astype(np.float32)
        layers.append({"type": "embedding", "name": e.name, "vocab": e.vocab, "dim": e.dim,
                       "mask_zero": e.mask_zero})
    for i, g in enumerate(spec.grus):
        for key, d in ((f"gru{i}", g), (f"gru{i}.backward", g.backward)):
            if d is None:
                continue
            arrays[f"{key}.kernel"] = d.kernel.astype(np.float32)
            arrays[f"{key}.recurrent_kernel"] = d.recurrent_kernel.astype(np.float32)
            if d.bias is not None:
                arrays[f"{key}.bias"] = d.bias.astype(np.float32)
        layers.append({"type": "gru", "name": g.name, "units": g.units, "input_dim": g.input_dim,
                       "reset_after": g.reset_after, "return_sequences": g.return_sequences,
                       "use_bias": g.bias is not None, "go_backwards": g.go_backwards,
                       **({} if g.backward is None else {"merge_mode": g.merge_mode, "backward_name": g.backward.name,
                                                         "backward_use_bias": g.backward.bias is not None})})
    for i, d in enumerate(spec.dense):
        arrays[f"dense{i}.kernel"] = d.kernel.astype(np.float32)
        if d.bias is not None:
            arrays[f"dense{i}.bias"] = d.bias.astype(np.float32)
        layers.append({"type": "dense", "name": d.name, "units": d.units, "input_dim": d.input_dim,
                       "activation": d.activation, "use_bias": d.bias is not None})
    meta = {"name": spec.name, "features": spec.features, "timesteps": spec.timesteps, "layers": layers,
            "mask_value": spec.mask_value, "stateful": spec.stateful}
    container.save(path, SPEC_KIND, SPEC_VERSION, meta, arrays)


def load_spec(path: str | Path) -> ModelSpec:
    """Read a spec written by :func:`save_spec`.

    Raises:
        ModelFileError: The file is missing, corrupt or inconsistent.
    """
    meta, arrays = container.load(path, SPEC_KIND, SPEC_VERSION)
    try:
        return spec_from_parts(meta, arrays)
    except (KeyError, TypeError, ValueError, OverflowError, UnsupportedModelError) as exc:  # int(inf): Overflow
        raise ModelFileError(f"{path}: inconsistent spec file ({exc})") from None


def spec_from_parts(meta: dict, arrays: dict[str, np.ndarray]) -> ModelSpec:
    """Rebuild a :class:`ModelSpec` from a container's ``meta`` and ``arrays``."""
    grus: list[GRULayer] = []
    dense: list[DenseLayer] = []
    embedding = None
    for lay in meta["layers"]:
        if lay["type"] == "embedding" and embedding is None and not grus:
            embedding = EmbeddingLayer(vocab=int(lay["vocab"]), dim=int(lay["dim"]), table=arrays["embedding.table"],
                                       mask_zero=bool(lay["mask_zero"]), name=str(lay["name"]))
        elif lay["type"] == "gru":
            i = len(grus)
            grus.append(_gru_from_parts(lay, arrays, f"gru{i}", bool(lay["use_bias"]), str(lay["name"]),
                                        bool(lay.get("go_backwards", False))))
            if "merge_mode" in lay:
                grus[-1].merge_mode = str(lay["merge_mode"])
                grus[-1].backward = _gru_from_parts(lay, arrays, f"gru{i}.backward", bool(lay["backward_use_bias"]),
                                                    str(lay["backward_name"]), True)
        elif lay["type"] == "dense":
            i = len(dense)
            dense.append(DenseLayer(
                units=int(lay["units"]), input_dim=int(lay["input_dim"]),
                kernel=arrays[f"dense{i}.kernel"],
                bias=arrays[f"dense{i}.bias"] if lay["use_bias"] else None,
                activation=str(lay["activation"]), name=str(lay["name"])))
        else:
            raise ValueError(f"unknown layer type {lay['type']!r}")
    t = meta.get("timesteps")
    mv = meta.get("mask_value")
    spec = ModelSpec(features=int(meta["features"]), timesteps=None if t is None else int(t),
                     grus=grus, dense=dense, name=str(meta.get("name", "model")), embedding=embedding,
                     mask_value=None if mv is None else float(mv), stateful=bool(meta.get("stateful", False)))
    spec.check()
    return spec


def _gru_from_parts(lay: dict, arrays: dict[str, np.ndarray], key: str, use_bias: bool, name: str,
                    go_backwards: bool) -> GRULayer:
    return GRULayer(units=int(lay["units"]), input_dim=int(lay["input_dim"]), kernel=arrays[f"{key}.kernel"],
                    recurrent_kernel=arrays[f"{key}.recurrent_kernel"],
                    bias=arrays[f"{key}.bias"] if use_bias else None,
                    reset_after=bool(lay["reset_after"]), return_sequences=bool(lay["return_sequences"]), name=name,
                    go_backwards=go_backwards)


def random_spec(rng: np.random.Generator, features: int, units: list[int], dense: list[tuple[int, str]] | None = None,
                timesteps: int | None = None, reset_after: bool = True, use_bias: bool = True,
                scale: float = 0.5, vocab: int | None = None, mask_zero: bool = False,
                mask_value: float | None = None, per_step: bool = False,
                bidirectional: list[str | None] | None = None, go_backwards: bool = False) -> ModelSpec:
    """A spec with random weights, for tests and benchmarks.

    Args:
        rng: Random generator.
        features: Input features.
        units: Units of each stacked GRU.
        dense: ``(units, activation)`` of each dense layer.
        timesteps: Sequence length recorded in the spec.
        reset_after: Keras ``reset_after`` for every GRU.
        use_bias: Whether layers have biases.
        scale: Standard deviation of the weights.
        vocab: When given, token-id input through an embedding table of this many rows (width ``features``).
        mask_zero: The embedding's ``mask_zero``.
        mask_value: A ``Masking`` value for feature input.
        per_step: The last GRU returns sequences (an output at every timestep).
        bidirectional: Per GRU layer, ``None`` or the merge mode of a ``Bidirectional`` wrapper.
        go_backwards: The last GRU runs last step first (it must not return sequences).
    """
    grus = []
    width = features

    def gru(h: int, seq: bool, name: str, backwards: bool = False) -> GRULayer:
        bias = None
        if use_bias:
            bias = (rng.normal(0, scale, (2, 3 * h) if reset_after else (3 * h,))).astype(np.float32)
        return GRULayer(h, width, rng.normal(0, scale, (width, 3 * h)).astype(np.float32),
                        rng.normal(0, scale, (h, 3 * h)).astype(np.float32), bias, reset_after, seq, name, backwards)

    for i, h in enumerate(units):
        seq = per_step or i < len(units) - 1
        grus.append(gru(h, seq, f"gru_{i}", go_backwards and i == len(units) - 1))
        mode = (bidirectional or [None] * len(units))[i]
        if mode is not None:
            grus[-1].backward, grus[-1].merge_mode = gru(h, seq, f"gru_{i}_backward", True), mode
        width = grus[-1].output_dim
    layers = []
    for j, (k, act) in enumerate(dense or []):
        b = rng.normal(0, scale, (k,)).astype(np.float32) if use_bias else None
        layers.append(DenseLayer(k, width, rng.normal(0, scale, (width, k)).astype(np.float32), b, act, f"dense_{j}"))
        width = k
    emb = None
    if vocab is not None:
        emb = EmbeddingLayer(vocab, features, rng.normal(0, 1, (vocab, features)).astype(np.float32), mask_zero)
    spec = ModelSpec(features, timesteps, grus, layers, "random", emb, mask_value)
    spec.check()
    return spec


__all__ = ["DENSE_ACTIVATIONS", "MERGE_MODES", "DenseLayer", "EmbeddingLayer", "GRULayer", "ModelFileError",
           "ModelSpec", "load_spec", "random_spec", "save_spec", "spec_from_parts"]
