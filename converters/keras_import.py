"""Keras model -> :class:`edge_gru.spec.ModelSpec`.

Accepts ``Input``, an optional first ``Embedding`` (token ids in, ``mask_zero`` either way) or
``Masking`` layer (any ``mask_value``), one or more ``GRU`` layers (default activations, ``reset_after``
True/False, with or without bias; stacked layers need ``return_sequences=True``; a last GRU with
``return_sequences=True`` makes a per-step model, an output at every timestep), ``Dropout`` (identity at
inference) and ``Dense`` layers (or ``TimeDistributed(Dense)``) with linear / relu / sigmoid / softmax
activations. Everything else is refused with an error naming the layer, the
attribute and what is supported. After import the spec is checked numerically
against Keras on random input, so a topology the walk could not see (branches,
shared layers) is refused rather than silently mis-read.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from converters._tf import keras
from edge_gru.errors import ModelFileError, UnsupportedModelError, error_summary
from edge_gru.spec import DENSE_ACTIVATIONS, MERGE_MODES, DenseLayer, EmbeddingLayer, GRULayer, ModelSpec

SUPPORTED = ("InputLayer", "Embedding", "Masking", "GRU", "Bidirectional", "Dense", "TimeDistributed", "Dropout")
_SUPPORTED_TEXT = ("supported: Input, Embedding or Masking first, GRU (tanh/sigmoid, reset_after True/False, "
                   "use_bias, return_sequences for stacking or an output per step, go_backwards on the last), "
                   "Bidirectional(GRU) (merge_mode concat/sum/ave/mul), Dropout, Dense or "
                   "TimeDistributed(Dense) (linear/relu/sigmoid/softmax)")


_MASK_OPS = ("NotEqual", "Any")


def load_keras(path: str | Path) -> Any:
    """Load a ``.keras`` file with ``safe_mode=True``.

    Raises:
        ModelFileError: Missing, corrupt or not a Keras model.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{p}: no such model file")
    if not zipfile.is_zipfile(p):
        raise ModelFileError(f"{p}: not a .keras model file (expected a Keras v3 zip archive)")
    k = keras()
    try:
        return k.saving.load_model(p, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises many types for a bad archive
        raise ModelFileError(f"{p}: cannot load the Keras model ({error_summary(exc)})") from None


def import_keras(model_or_path: Any, verify: bool = True) -> ModelSpec:
    """Convert a Keras model (object or ``.keras`` path) into a :class:`ModelSpec`.

    Args:
        model_or_path: A ``keras.Model`` or a path to a ``.keras`` file.
        verify: Compare the spec's float reference with Keras on random input.

    Raises:
        UnsupportedModelError: A layer or attribute cannot be represented.
        ModelFileError: The file cannot be loaded.
    """
    model = load_keras(model_or_path) if isinstance(model_or_path, (str, Path)) else model_or_path
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UnsupportedModelError(
            f"model {model.name!r} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "edge-gru supports one sequence input and one output")
    shape = tuple(model.inputs[0].shape)
    emb = [ly for ly in model.layers if type(ly).__name__ == "Embedding"]
    if emb:
        if len(shape) != 2:
            raise UnsupportedModelError(f"an Embedding model's input must be (batch, timesteps) token ids, got {shape}")
        features = int(emb[0].output_dim)
    elif len(shape) != 3 or shape[2] is None:
        raise UnsupportedModelError(f"model input must be (batch, timesteps, features), got {shape}")
    else:
        features = int(shape[2])
    timesteps = None if shape[1] is None else int(shape[1])
    spec = ModelSpec(features=features, timesteps=timesteps, grus=[], dense=[], name=str(model.name))
    for layer in model.layers:  # name unsupported layers first, then raw ops (slicing, math)
        wrapped = {"TimeDistributed": "Dense", "Bidirectional": "GRU"}.get(type(layer).__name__)
        inner = type(getattr(layer, "forward_layer", getattr(layer, "layer", None))).__name__
        if type(layer).__name__ not in SUPPORTED or (wrapped is not None and inner != wrapped):
            _add_layer(spec, layer)
    masks = any(type(ly).__name__ in ("Embedding", "Masking") for ly in model.layers)
    for layer in getattr(model, "operations", model.layers):
        if masks and type(layer).__name__ in _MASK_OPS:
            continue             # Keras records the mask computation as operations; the mask is modelled
        _add_layer(spec, layer)
    spec.stateful = _stateful(model)
    spec.check()
    _check_masked_outputs(spec, model)
    if verify:
        _verify_stateful(spec, model) if spec.stateful else _verify(spec, model)
    return spec


def _stateful(model: Any) -> bool:
    """Whether the GRUs are ``stateful=True`` (all of them, or none: a mix is refused)."""
    flags = {ly.name: bool(getattr(getattr(ly, "forward_layer", ly), "stateful", False))
             for ly in model.layers if type(ly).__name__ in ("GRU", "Bidirectional")}
    if len(set(flags.values())) > 1:
        name = next(n for n, f in flags.items() if f)
        raise UnsupportedModelError(f"layer {name!r}: GRU stateful=True while other GRU layers are not; edge-gru "
                                    "supports every GRU stateful or none")
    return any(flags.values())


def _check_masked_outputs(spec: ModelSpec, model: Any) -> None:
    """Refuse ``zero_output_for_mask=True`` where it changes the outputs: on the last GRU of a per-step model
    (its masked steps would output the head of zeros, not of the kept state; earlier layers' masked steps
    are skipped by the next GRU, so there it changes nothing)."""
    if not spec.per_step:
        return
    last = next((ly for ly in model.layers if ly.name == spec.grus[-1].name), None)
    if last is not None and getattr(last, "zero_output_for_mask", False):
        raise UnsupportedModelError(f"layer {last.name!r}: GRU zero_output_for_mask=True is not supported on the "
                                    "last GRU of a per-step model (only False: a masked step repeats the output "
                                    "of the step before)")


def _add_layer(spec: ModelSpec, layer: Any) -> None:
    kind = type(layer).__name__
    if kind == "InputLayer" or kind == "Dropout":
        return
    if kind in ("Embedding", "Masking"):
        if spec.grus or spec.embedding is not None or spec.mask_value is not None:
            raise UnsupportedModelError(f"layer {layer.name!r}: {kind} is supported only as the first layer")
        if kind == "Embedding":
            spec.embedding = _embedding(layer)
        else:
            spec.mask_value = float(layer.mask_value)
        return
    if kind in ("GRU", "Bidirectional"):
        if spec.dense:
            raise UnsupportedModelError(f"layer {layer.name!r}: a GRU after a Dense layer is not supported")
        width = spec.grus[-1].output_dim if spec.grus else spec.features
        spec.grus.append(_bidirectional(layer, width) if kind == "Bidirectional" else _gru(layer, width))
        return
    if kind == "TimeDistributed":
        inner = layer.layer
        if type(inner).__name__ != "Dense":
            raise UnsupportedModelError(f"layer {layer.name!r}: TimeDistributed({type(inner).__name__}) is not "
                                        "supported (only TimeDistributed(Dense))")
        if not spec.per_step:
            raise UnsupportedModelError(f"layer {layer.name!r}: TimeDistributed(Dense) needs the last GRU to have "
                                        "return_sequences=True")
        layer = inner
        kind = "Dense"
    if kind == "Dense":
        if not spec.grus:
            raise UnsupportedModelError(f"layer {layer.name!r}: Dense before any GRU is not supported")
        width = spec.dense[-1].units if spec.dense else spec.grus[-1].output_dim
        spec.dense.append(_dense(layer, width))
        return
    raise UnsupportedModelError(f"layer {getattr(layer, 'name', kind)!r} of type {kind} is not supported "
                                f"({_SUPPORTED_TEXT})")


def _act_name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _gru(layer: Any, input_dim: int) -> GRULayer:
    name = layer.name
    checks = {
        "return_state": (layer.return_state, False),
        "activation": (_act_name(layer.cell.activation), "tanh"),
        "recurrent_activation": (_act_name(layer.cell.recurrent_activation), "sigmoid"),
    }
    for attr, (got, want) in checks.items():
        if got != want:
            raise UnsupportedModelError(f"layer {name!r}: GRU {attr}={got!r} is not supported (only {want!r})")
    cell = layer.cell
    units = int(cell.units)
    bias = None
    if cell.use_bias:
        bias = np.asarray(cell.bias.numpy(), np.float32)
    return GRULayer(units=units, input_dim=input_dim,
                    kernel=np.asarray(cell.kernel.numpy(), np.float32),
                    recurrent_kernel=np.asarray(cell.recurrent_kernel.numpy(), np.float32),
                    bias=bias, reset_after=bool(cell.reset_after),
                    return_sequences=bool(layer.return_sequences), name=name, go_backwards=bool(layer.go_backwards))


def _bidirectional(layer: Any, input_dim: int) -> GRULayer:
    fwd, bwd = layer.forward_layer, layer.backward_layer
    if type(bwd).__name__ != "GRU":
        raise UnsupportedModelError(f"layer {layer.name!r}: Bidirectional with a {type(bwd).__name__} backward layer "
                                    "is not supported (only GRU)")
    if layer.merge_mode not in MERGE_MODES:
        raise UnsupportedModelError(f"layer {layer.name!r}: Bidirectional merge_mode={layer.merge_mode!r} is not "
                                    f"supported (supported: {', '.join(MERGE_MODES)})")
    spec = _gru(fwd, input_dim)
    spec.name = layer.name
    spec.backward = _gru(bwd, input_dim)
    spec.merge_mode = str(layer.merge_mode)
    return spec


def _embedding(layer: Any) -> EmbeddingLayer:
    if getattr(layer, "quantization_mode", None):
        raise UnsupportedModelError(f"layer {layer.name!r}: a Keras-quantized Embedding "
                                    f"({layer.quantization_mode}) is not supported; import the float model")
    table = np.asarray(layer.embeddings.numpy(), np.float32)
    return EmbeddingLayer(vocab=int(layer.input_dim), dim=int(layer.output_dim), table=table,
                          mask_zero=bool(layer.mask_zero), name=layer.name)


def _dense(layer: Any, input_dim: int) -> DenseLayer:
    act = _act_name(layer.activation)
    if act not in DENSE_ACTIVATIONS:
        raise UnsupportedModelError(
            f"layer {layer.name!r}: Dense activation {act!r} is not supported "
            f"(supported: {', '.join(DENSE_ACTIVATIONS)})")
    kernel = np.asarray(layer.kernel.numpy(), np.float32)
    if kernel.shape[0] != input_dim:
        raise UnsupportedModelError(f"layer {layer.name!r}: expects {kernel.shape[0]} inputs, gets {input_dim}")
    bias = np.asarray(layer.bias.numpy(), np.float32) if layer.use_bias else None
    return DenseLayer(units=int(layer.units), input_dim=input_dim, kernel=kernel, bias=bias,
                      activation=act, name=layer.name)


def _verify_input(spec: ModelSpec, n: int, t: int) -> np.ndarray:
    """Random model input; with masks, padding at the front and the back of some rows and an all-padding row."""
    rng = np.random.default_rng(0)
    if spec.embedding is not None:
        x = rng.integers(1 if spec.embedding.mask_zero else 0, spec.embedding.vocab, (n, t)).astype(np.int32)
        pad: Any = 0
    else:
        x = rng.normal(0, 1, (n, t, spec.features)).astype(np.float32)
        pad = spec.mask_value
    if pad is not None:
        for row, part in ((1, slice(0, t // 2)), (2, slice(t // 2, t)), (3, slice(0, t))):
            if row < n:
                x[row, part] = pad
    return x


def _refuse_mismatch(model: Any, want: np.ndarray, got: np.ndarray, tol: float) -> None:
    if want.shape != got.shape or not np.allclose(want, got, atol=tol, rtol=0):
        raise UnsupportedModelError(
            f"model {model.name!r}: its topology is not a plain GRU stack + Dense head "
            "(outputs differ from the imported layer chain); " + _SUPPORTED_TEXT)


def _verify(spec: ModelSpec, model: Any, tol: float = 1e-4) -> None:
    from edge_gru.float_ref import predict

    x = _verify_input(spec, 4, spec.timesteps or 7)
    _refuse_mismatch(model, np.asarray(model(x, training=False)), predict(spec, x), tol)


def _reset_states(model: Any) -> None:
    for ly in model.layers:
        if getattr(ly, "stateful", False):
            ly.reset_state()


def _verify_stateful(spec: ModelSpec, model: Any, tol: float = 1e-4) -> None:
    """A stateful model called on two chunks in a row (the state carried over) against
    :class:`~edge_gru.float_ref.FloatStream`; the Keras model's states are reset before and after."""
    from edge_gru.float_ref import FloatStream

    batch = int(model.inputs[0].shape[0] or 1)
    t = spec.timesteps or 5
    x = _verify_input(spec, batch, 2 * t)
    stream = FloatStream(spec, batch)
    _reset_states(model)
    try:
        for part in (slice(0, t), slice(t, 2 * t)):
            _refuse_mismatch(model, np.asarray(model(x[:, part], training=False)), stream.feed(x[:, part]), tol)
    finally:
        _reset_states(model)


__all__ = ["SUPPORTED", "import_keras", "load_keras"]
