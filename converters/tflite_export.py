"""Spec -> full-integer ``.tflite``: int8 or 16x8 (int16 activations, int8 weights), two layouts.

* ``unrolled``: the whole sequence per invoke (``unroll=True``, batch 1; the form TFLite Micro runs
  and the only form TensorFlow converts for a Keras GRU). The file grows with the sequence length.
* ``step``: one timestep per invoke, GRU states as explicit inputs ``h0, h1, ...`` and outputs
  (signature keys ``x, h*`` -> ``y, h*``); the file size does not depend on the sequence length.
  Calibrated with the states the float reference produces on the calibration data.

TensorFlow's converter can crash the whole process on GRU graphs (docs/measurements.md section 2), so the
conversion runs in a child process (``python -m converters.tflite_export``); a crash becomes an
:class:`~edge_gru.errors.EdgeGruError`. The model is first rebuilt with Keras' own GRU layers (fused
kernels: fewer operators, faster under the interpreters); if that file fails the checks below, it
is rebuilt gate by gate (one Dense per gate and matrix), which TensorFlow converts cleanly.
After conversion the file is checked: no float operator may remain, and its outputs under LiteRT
must follow the float reference (a converter that silently produces a broken model is reported,
not shipped).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from edge_gru.data import Dataset
from edge_gru.errors import EdgeGruError, ToolMissingError
from edge_gru.spec import ModelSpec, load_spec, save_spec

log = logging.getLogger(__name__)

CALIBRATION_SAMPLES = 200
STEP_CALIBRATION_SEQUENCES = 40
QUANTS = ("int8", "16x8")
#: The step layout's output key: ``y`` (read after the last step) or, per-step models, ``y_steps`` (every step).
STEP_OUTPUT = {False: "y", True: "y_steps"}
LAYOUTS = ("unrolled", "step")


def export_tflite_int8(spec: ModelSpec, calibration: np.ndarray, out: str | Path, timeout: float = 900) -> int:
    """Convert ``spec`` to an int8 unrolled ``.tflite`` (see :func:`export_tflite`)."""
    return export_tflite(spec, calibration, out, "int8", "unrolled", timeout)


def export_tflite(spec: ModelSpec, calibration: np.ndarray, out: str | Path, quant: str = "int8",
                  layout: str = "unrolled", timeout: float = 900) -> int:
    """Convert ``spec`` to a full-integer ``.tflite`` at ``out`` in a child process, then check it.

    Args:
        spec: The float model.
        calibration: Calibration inputs ``(N, T, F)``.
        out: The ``.tflite`` to write.
        quant: ``int8`` or ``16x8``.
        layout: ``unrolled`` or ``step``.
        timeout: Seconds before the converter is given up.

    Returns:
        The file size in bytes.

    Raises:
        EdgeGruError: The converter failed, crashed, left float operators, or produced a model whose
            outputs do not follow the float reference.
    """
    if quant not in QUANTS or layout not in LAYOUTS:
        raise EdgeGruError(f"unknown TFLite variant {quant}/{layout}; choose {QUANTS} and {LAYOUTS}")
    if layout == "step" and spec.window:
        raise EdgeGruError("a model with a Bidirectional or go_backwards GRU needs the whole window: the step layout "
                           "(one timestep per invoke) cannot run it; use --layout unrolled")
    if layout == "unrolled" and spec.timesteps is None:
        raise EdgeGruError("the unrolled TFLite layout needs a fixed number of timesteps in the model input; "
                           "use --layout step")
    check = np.asarray(calibration[:50], np.int32 if spec.embedding is not None else np.float32)
    try:        # Keras' fused GRU graph: fewer operators, faster interpreters
        _convert_in_child(spec, calibration, out, quant, layout, timeout, "keras")
        verify_tflite(out, spec, check)
    except EdgeGruError as exc:
        log.info("fused-kernel graph refused (%s); converting the gate-by-gate graph", exc)
        _convert_in_child(spec, calibration, out, quant, layout, timeout, "gates")
        verify_tflite(out, spec, check)
    return Path(out).stat().st_size


def verify_tflite(path: str | Path, spec: ModelSpec, X: np.ndarray) -> float:
    """Refuse a ``.tflite`` with float operators or outputs that ignore the float reference.

    Returns:
        Class agreement with the float reference on ``X`` under LiteRT.
    """
    from edge_gru.data import predicted_class
    from edge_gru.float_ref import predict
    from edge_gru.tflite.inspection import inspect_tflite
    from edge_gru.tflite.runner import predict_file

    info = inspect_tflite(path)
    if info.float_ops:
        Path(path).unlink()
        raise EdgeGruError(f"the converted model still has float operators ({', '.join(info.float_ops)}); "
                           "not a full-integer model, file removed")
    got = predict_file(path, "litert", X)       # in a child process: LiteRT can abort on what the converter wrote
    ref = predict(spec, X)
    if got.shape != ref.shape:
        Path(path).unlink()
        raise EdgeGruError(f"the converted model's outputs have shape {got.shape[1:]}, the model's {ref.shape[1:]}; "
                           "file removed")
    agreement = float(np.mean(predicted_class(got) == predicted_class(ref)))
    constant = np.ptp(got, axis=0).max() == 0 and np.ptp(ref, axis=0).max() > 1e-3
    if constant or agreement < 0.5:
        Path(path).unlink()
        why = "its outputs do not depend on the input" if constant else f"class agreement {agreement:.0%}"
        raise EdgeGruError(f"the TensorFlow converter produced a broken model ({why} against the float reference "
                           "under LiteRT); file removed. Use another --format/--layout or the edge-gru fixed-point "
                           "runtime")
    return agreement


def _convert_in_child(spec: ModelSpec, calibration: np.ndarray, out: str | Path, quant: str, layout: str,
                      timeout: float, graph: str = "keras") -> None:
    n_cal = STEP_CALIBRATION_SEQUENCES if layout == "step" else CALIBRATION_SAMPLES
    with tempfile.TemporaryDirectory() as tmp:
        save_spec(spec, Path(tmp) / "m.egspec")
        Dataset(np.asarray(calibration[:n_cal], np.int32 if spec.embedding is not None else np.float32)).save(
            Path(tmp) / "cal.npz")
        cmd = [sys.executable, "-m", "converters.tflite_export", str(Path(tmp) / "m.egspec"),
               str(Path(tmp) / "cal.npz"), str(out), quant, layout, graph]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired:
            raise EdgeGruError(f"the TensorFlow converter did not finish in {timeout:.0f} s") from None
    if p.returncode != 0:
        last = [ln for ln in p.stderr.splitlines() if ln.strip()][-1:] or ["no message"]
        if p.returncode < 0:
            raise EdgeGruError(f"the TensorFlow converter crashed (signal {-p.returncode}); no .tflite written")
        if "ToolMissing" in p.stderr:
            raise ToolMissingError("TensorFlow is needed to convert to TFLite: pip install 'edge-gru[tf]'")
        raise EdgeGruError(f"the TensorFlow converter failed: {last[0][:300]}")


class _GateGraph:
    """One GRU layer as plain Keras layers (one Dense per gate and matrix, Add/Multiply/Subtract, sigmoid,
    tanh), weights shared across timesteps. It spells out the Keras GRU equations without the fused
    kernel's SPLIT, which TensorFlow 2.21 leaves in float for ``reset_after=False`` stacks."""

    def __init__(self, k, g) -> None:
        H = g.units
        self.k, self.g = k, g
        b_i = b_h = None
        if g.bias is not None:
            b_i, b_h = (g.bias[0], g.bias[1]) if g.reset_after else (g.bias, None)
        names = ("z", "r", "h")

        def dense(name, kernel, bias):
            layer = k.layers.Dense(H, use_bias=bias is not None, name=f"{g.name}_{name}")
            layer.build((None, kernel.shape[0]))
            layer.set_weights([kernel] + ([bias] if bias is not None else []))
            return layer

        def cols(a, j):
            return None if a is None else a[..., j * H:(j + 1) * H]

        self.wx = [dense(f"x{n}", cols(g.kernel, j), cols(b_i, j)) for j, n in enumerate(names)]
        self.uh = [dense(f"u{n}", cols(g.recurrent_kernel, j), cols(b_h, j)) for j, n in enumerate(names)]
        # the recurrent product of the zero state is the recurrent bias alone (first unrolled step)
        zero_k = np.zeros((g.input_dim, H), np.float32)
        self.bh0 = [dense(f"b{n}0", zero_k, cols(b_h, j)) if b_h is not None else None for j, n in enumerate(names)]

    def step(self, x, h_tm1=None):
        """New state from input ``x`` and state ``h_tm1`` (None: the zero state)."""
        L, g = self.k.layers, self.g
        x_z, x_r, x_h = (w(x) for w in self.wx)
        if h_tm1 is None:
            rec = [b(x) if b is not None else None for b in self.bh0] if g.reset_after else [None, None, None]
        else:
            rec = [self.uh[0](h_tm1), self.uh[1](h_tm1), self.uh[2](h_tm1) if g.reset_after else None]
        z = L.Activation("sigmoid")(x_z if rec[0] is None else L.Add()([x_z, rec[0]]))     # z = sigmoid(x_z + h U_z)
        r = L.Activation("sigmoid")(x_r if rec[1] is None else L.Add()([x_r, rec[1]]))     # r = sigmoid(x_r + h U_r)
        if g.reset_after:
            cand = x_h if rec[2] is None else L.Add()([x_h, L.Multiply()([r, rec[2]])])   # x_h + r * (h U_h + b_hh)
        elif h_tm1 is None:
            cand = x_h
        else:
            cand = L.Add()([x_h, self.uh[2](L.Multiply()([r, h_tm1]))])                   # x_h + (r * h) U_h
        hh = L.Activation("tanh")(cand)
        if h_tm1 is None:
            return L.Subtract()([hh, L.Multiply()([z, hh])])                               # h = hh - z * hh
        return L.Add()([hh, L.Multiply()([z, L.Subtract()([h_tm1, hh])])])                 # h = hh + z * (h_tm1 - hh)


def _head(k, spec: ModelSpec, v):
    for d in spec.dense:
        layer = k.layers.Dense(d.units, activation=d.activation, use_bias=d.bias is not None, name=d.name)
        v = layer(v)
        layer.set_weights([d.kernel] + ([d.bias] if d.bias is not None else []))
    return v


def input_name(spec: ModelSpec) -> str:
    """The input tensor's name: ``x`` (features), ``ids`` (token ids) or ``ids_pad0`` (token ids, 0 = padding).

    A runner skips padding ids of a step-layout file named ``ids_pad0`` (the state is kept, as Keras does);
    the unrolled file processes every step it is given (TensorFlow's converter drops Keras masks).
    """
    if spec.embedding is None:
        return "x"
    return "ids_pad0" if spec.embedding.mask_zero else "ids"


def _model_input(k, spec: ModelSpec, steps: int | None):
    """The graph input and the GRU input: features, or token ids through the embedding table (a GATHER)."""
    if spec.embedding is None:
        shape = (spec.features,) if steps is None else (steps, spec.features)
        inp = k.Input(shape, batch_size=1, name="x")
        return inp, inp
    e = spec.embedding
    inp = k.Input((1,) if steps is None else (steps,), batch_size=1, dtype="int32", name=input_name(spec))
    v = _gather_layer(k, e.table, e.name)(inp)          # no mask in the graph: see input_name
    return inp, (k.layers.Reshape((e.dim,))(v) if steps is None else v)


def _gather_layer(k, table: np.ndarray, name: str):
    """The embedding lookup as one GATHER (Keras' Embedding adds LESS/ADD/SELECT for negative ids, and
    TFLite Micro has no SELECT kernel); ids are checked on the host before they reach the model."""
    from converters._tf import tensorflow

    tf = tensorflow()

    class Gather(k.layers.Layer):
        def build(self, input_shape):
            self.table = self.add_weight(shape=table.shape, initializer="zeros", trainable=False, name="table")

        def call(self, ids):
            return tf.gather(self.table, ids)

        def compute_output_shape(self, input_shape):
            return (*input_shape, table.shape[1])

    layer = Gather(name=name)
    layer.build(None)
    layer.table.assign(table)
    return layer


def _build_unrolled_keras(spec: ModelSpec):
    """Keras' own GRU layers with ``unroll=True`` (fused kernels: fewer, larger operators)."""
    from converters._tf import keras

    k = keras()
    inp, v = _model_input(k, spec, spec.timesteps)
    def weights(g):
        return [g.kernel, g.recurrent_kernel] + ([g.bias] if g.bias is not None else [])

    for g in spec.grus:
        layer = k.layers.GRU(g.units, reset_after=g.reset_after, use_bias=g.bias is not None,
                             return_sequences=g.return_sequences, unroll=True, go_backwards=g.go_backwards,
                             name=g.name)
        if g.backward is not None:
            layer = k.layers.Bidirectional(layer, merge_mode=g.merge_mode, name=f"{g.name}_bidirectional")
        v = layer(v)
        layer.set_weights(weights(g) + (weights(g.backward) if g.backward is not None else []))
    return k.Model(inp, _head(k, spec, v))


def _keras_cell_step(k, g, v, h):
    """One step of Keras' own GRUCell (fused kernels) with the layer's weights."""
    cell = k.layers.GRUCell(g.units, reset_after=g.reset_after, use_bias=g.bias is not None, name=g.name)
    out, _ = cell(v, [h])
    cell.set_weights([g.kernel, g.recurrent_kernel] + ([g.bias] if g.bias is not None else []))
    return out


def _build_step_keras(spec: ModelSpec):
    """One timestep with Keras' GRUCell (see :func:`_build_step`)."""
    return _build_step(spec, _keras_cell_step)


def _merge_layer(k, mode: str):
    return {"concat": k.layers.Concatenate, "sum": k.layers.Add, "ave": k.layers.Average,
            "mul": k.layers.Multiply}[mode]()


def _build_unrolled_window(spec: ModelSpec):
    """The whole sequence layer by layer (a Bidirectional or go_backwards layer needs every step of its input):
    each direction unrolled over the steps in its order, the two merged step by step, batch 1."""
    from converters._tf import keras

    k = keras()
    inp, seq = _model_input(k, spec, spec.timesteps)
    T = spec.timesteps
    v = [k.layers.Reshape((spec.features,))(k.layers.Cropping1D((t, T - t - 1))(seq)) for t in range(T)]

    def run(g):
        cell, h, out = _GateGraph(k, g), None, [None] * T
        for t in (reversed(range(T)) if g.go_backwards else range(T)):
            h = out[t] = cell.step(v[t], h)
        return out

    for g in spec.grus:
        fwd = run(g)
        if g.backward is None:
            last = fwd[0] if g.go_backwards else fwd[-1]
            v = fwd
            continue
        bwd = run(g.backward)
        v = [_merge_layer(k, g.merge_mode)([f, b]) for f, b in zip(fwd, bwd, strict=True)]
        last = _merge_layer(k, g.merge_mode)([fwd[-1], bwd[0]])
    if spec.per_step:
        rows = [k.layers.Reshape((1, spec.grus[-1].output_dim))(r) for r in v]
        out = rows[0] if T == 1 else k.layers.Concatenate(axis=1)(rows)
    else:
        out = last
    return k.Model(inp, _head(k, spec, out))


def _build_unrolled(spec: ModelSpec):
    """The whole sequence, unrolled over the timesteps, batch 1."""
    from converters._tf import keras

    if spec.window:
        return _build_unrolled_window(spec)
    k = keras()
    inp, seq = _model_input(k, spec, spec.timesteps)
    layers = [_GateGraph(k, g) for g in spec.grus]
    hs: list = [None] * len(layers)
    v = inp
    states = []
    for t in range(spec.timesteps):
        v = k.layers.Reshape((spec.features,))(k.layers.Cropping1D((t, spec.timesteps - t - 1))(seq))
        for i, layer in enumerate(layers):
            hs[i] = v = layer.step(v, hs[i])
        if spec.per_step:
            states.append(k.layers.Reshape((1, spec.grus[-1].units))(v))
    if spec.per_step:                  # every step's state (1, T, H); the head then runs on each
        v = states[0] if len(states) == 1 else k.layers.Concatenate(axis=1)(states)
    return k.Model(inp, _head(k, spec, v))


def _gate_graph_step(k, g, v, h):
    return _GateGraph(k, g).step(v, h)


def _build_step(spec: ModelSpec, cell_step=_gate_graph_step):
    """One timestep: inputs ``x (1, F)`` and ``h<i> (1, H_i)``; outputs ``h<i>`` and ``y`` (head of the last).

    A per-step model names the head's output ``y_steps`` (the same graph; a runner reads it after every step).
    """
    from converters._tf import keras

    k = keras()
    x, v = _model_input(k, spec, None)
    hs = [k.Input((g.units,), batch_size=1, name=f"h{i}") for i, g in enumerate(spec.grus)]
    outs = {}
    for i, g in enumerate(spec.grus):
        v = cell_step(k, g, v, hs[i])
        outs[f"h{i}"] = v
    outs[STEP_OUTPUT[spec.per_step]] = _head(k, spec, v)
    return k.Model([x, *hs], outs)


def step_calibration(spec: ModelSpec, cal: np.ndarray):
    """Representative samples for the step layout: ``{x, h0, h1, ...}`` with the float reference's states.

    Masked steps are not fed on the device, so they are not calibration samples either.
    """
    from edge_gru.float_ref import embed_and_mask, gru_step

    name = input_name(spec)
    for seq in cal:
        xs, valid = embed_and_mask(spec, seq[None])
        xs = xs[0]
        hs = [np.zeros((1, g.units), np.float32) for g in spec.grus]
        for t in range(xs.shape[0]):
            if valid is not None and not valid[0, t]:
                continue
            x_in = seq[t:t + 1].reshape(1, 1).astype(np.int32) if spec.embedding is not None \
                else xs[t:t + 1].astype(np.float32)
            yield {name: x_in, **{f"h{i}": h for i, h in enumerate(hs)}}
            v = xs[t:t + 1]
            for i, g in enumerate(spec.grus):
                hs[i] = gru_step(g, v, hs[i]).astype(np.float32)
                v = hs[i]


def unrolled_calibration(cal: np.ndarray) -> np.ndarray:
    """Calibration sequences for the unrolled graph, where every timestep gets its own quantization range.

    A timestep that is zero in every calibration sequence (e.g. front padding) would get an empty range,
    which breaks 16x8 models; time-rolled copies of some sequences give such steps realistic values.
    """
    if cal.ndim != 3:               # token ids: every step is a table row, never an empty range
        return cal
    dead = [t for t in range(cal.shape[1]) if not np.any(cal[:, t, :])]
    if not dead:
        return cal
    n = min(len(cal), 50)
    rolled = np.stack([np.roll(cal[i], -(dead[-1] + 1 + 3 * i) % cal.shape[1], axis=0) for i in range(n)])
    return np.concatenate([cal, rolled]).astype(np.float32)


def _child(spec_path: str, cal_path: str, out: str, quant: str = "int8", layout: str = "unrolled",
           graph: str = "keras") -> None:
    from converters._tf import tensorflow

    tf = tensorflow()

    spec = load_spec(spec_path)
    cal = np.load(cal_path)["X"]
    if spec.embedding is not None:
        cal = cal.astype(np.int32)
    builders = {("keras", "unrolled"): _build_unrolled_keras, ("keras", "step"): _build_step_keras,
                ("gates", "unrolled"): _build_unrolled, ("gates", "step"): _build_step}
    model = builders[graph, layout](spec)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if layout == "step":
        conv.representative_dataset = lambda: step_calibration(spec, cal)
    else:
        cal = unrolled_calibration(cal)
        conv.representative_dataset = lambda: ([cal[i:i + 1]] for i in range(len(cal)))
    if quant == "16x8":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int16
    else:
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    Path(out).write_bytes(conv.convert())


if __name__ == "__main__":
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _child(*sys.argv[1:7])
