"""Framework-neutral description of a GRU network (the "spec").

A :class:`ModelSpec` is a stack of :class:`GRULayer` followed by zero or more
:class:`DenseLayer`. Weights follow Keras' layout: gates packed in the order
``z, r, h``; ``kernel`` is ``(F, 3H)``, ``recurrent_kernel`` ``(H, 3H)`` and ``bias``
``(2, 3H)`` when ``reset_after`` (row 0 input bias, row 1 recurrent bias) or ``(3H,)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_gru import container
from edge_gru.errors import ModelFileError, UnsupportedModelError

SPEC_KIND = "edge-gru-spec"
SPEC_VERSION = 1
DENSE_ACTIVATIONS = ("linear", "relu", "sigmoid", "softmax")


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

    @property
    def macs_per_step(self) -> int:
        """Multiply-accumulates of one timestep (input and recurrent products)."""
        return 3 * self.units * (self.input_dim + self.units)

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        n = self.kernel.size + self.recurrent_kernel.size
        return n + (0 if self.bias is None else self.bias.size)

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
        grus: GRU layers, first to last.
        dense: Dense layers applied to the last GRU state.
        name: Model name (free text; sanitised wherever it becomes an identifier).
    """

    features: int
    timesteps: int | None
    grus: list[GRULayer]
    dense: list[DenseLayer] = field(default_factory=list)
    name: str = "model"

    @property
    def output_dim(self) -> int:
        """Width of the model output."""
        return self.dense[-1].units if self.dense else self.grus[-1].units

    @property
    def output_activation(self) -> str:
        """Activation of the last layer (``"linear"`` when the model ends with a GRU)."""
        return self.dense[-1].activation if self.dense else "linear"

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        return sum(g.n_params for g in self.grus) + sum(d.n_params for d in self.dense)

    def macs_per_sequence(self, timesteps: int | None = None) -> int:
        """Multiply-accumulates for one sequence of ``timesteps`` steps."""
        t = timesteps or self.timesteps
        if t is None:
            raise ValueError("timesteps unknown: pass it explicitly")
        return t * sum(g.macs_per_step for g in self.grus) + sum(d.macs for d in self.dense)

    def check(self) -> None:
        """Validate the layer chain; raise :class:`UnsupportedModelError` when broken."""
        if not self.grus:
            raise UnsupportedModelError("the model has no GRU layer (edge-gru needs at least one)")
        if self.features < 1:
            raise UnsupportedModelError(f"the model has {self.features} input features; it needs >= 1")
        if self.timesteps is not None and not 1 <= self.timesteps <= MAX_TIMESTEPS:
            raise UnsupportedModelError(f"sequence length {self.timesteps} outside 1..{MAX_TIMESTEPS:,}")
        width = self.features
        for i, g in enumerate(self.grus):
            if g.input_dim != width:
                raise UnsupportedModelError(f"layer {g.name!r}: expects {g.input_dim} inputs, gets {width}")
            last = i == len(self.grus) - 1
            if g.return_sequences == last:
                need = "return_sequences=False" if last else "return_sequences=True"
                raise UnsupportedModelError(
                    f"layer {g.name!r}: {'the last' if last else 'a stacked'} GRU needs {need}")
            g.check()
            width = g.units
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
        for g in self.grus:
            lines.append(f"  GRU {g.name!r}: units={g.units} reset_after={g.reset_after} "
                         f"use_bias={g.bias is not None} return_sequences={g.return_sequences} "
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
    for i, g in enumerate(spec.grus):
        arrays[f"gru{i}.kernel"] = g.kernel.astype(np.float32)
        arrays[f"gru{i}.recurrent_kernel"] = g.recurrent_kernel.astype(np.float32)
        if g.bias is not None:
            arrays[f"gru{i}.bias"] = g.bias.astype(np.float32)
        layers.append({"type": "gru", "name": g.name, "units": g.units, "input_dim": g.input_dim,
                       "reset_after": g.reset_after, "return_sequences": g.return_sequences,
                       "use_bias": g.bias is not None})
    for i, d in enumerate(spec.dense):
        arrays[f"dense{i}.kernel"] = d.kernel.astype(np.float32)
        if d.bias is not None:
            arrays[f"dense{i}.bias"] = d.bias.astype(np.float32)
        layers.append({"type": "dense", "name": d.name, "units": d.units, "input_dim": d.input_dim,
                       "activation": d.activation, "use_bias": d.bias is not None})
    meta = {"name": spec.name, "features": spec.features, "timesteps": spec.timesteps, "layers": layers}
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
    for lay in meta["layers"]:
        if lay["type"] == "gru":
            i = len(grus)
            grus.append(GRULayer(
                units=int(lay["units"]), input_dim=int(lay["input_dim"]),
                kernel=arrays[f"gru{i}.kernel"], recurrent_kernel=arrays[f"gru{i}.recurrent_kernel"],
                bias=arrays[f"gru{i}.bias"] if lay["use_bias"] else None,
                reset_after=bool(lay["reset_after"]), return_sequences=bool(lay["return_sequences"]),
                name=str(lay["name"])))
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
    spec = ModelSpec(features=int(meta["features"]), timesteps=None if t is None else int(t),
                     grus=grus, dense=dense, name=str(meta.get("name", "model")))
    spec.check()
    return spec


def random_spec(rng: np.random.Generator, features: int, units: list[int], dense: list[tuple[int, str]] | None = None,
                timesteps: int | None = None, reset_after: bool = True, use_bias: bool = True,
                scale: float = 0.5) -> ModelSpec:
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
    """
    grus = []
    width = features
    for i, h in enumerate(units):
        bias = None
        if use_bias:
            bias = (rng.normal(0, scale, (2, 3 * h) if reset_after else (3 * h,))).astype(np.float32)
        grus.append(GRULayer(h, width, rng.normal(0, scale, (width, 3 * h)).astype(np.float32),
                             rng.normal(0, scale, (h, 3 * h)).astype(np.float32), bias,
                             reset_after, i < len(units) - 1, f"gru_{i}"))
        width = h
    layers = []
    for j, (k, act) in enumerate(dense or []):
        b = rng.normal(0, scale, (k,)).astype(np.float32) if use_bias else None
        layers.append(DenseLayer(k, width, rng.normal(0, scale, (width, k)).astype(np.float32), b, act, f"dense_{j}"))
        width = k
    spec = ModelSpec(features, timesteps, grus, layers, "random")
    spec.check()
    return spec


__all__ = ["DENSE_ACTIVATIONS", "DenseLayer", "GRULayer", "ModelFileError", "ModelSpec", "load_spec",
           "random_spec", "save_spec", "spec_from_parts"]
