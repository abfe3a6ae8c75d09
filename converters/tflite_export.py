"""Spec -> full-integer int8 ``.tflite`` (unrolled layout, batch 1).

TensorFlow's converter can crash the whole process on GRU graphs (DESIGN.md section 2), so
the conversion runs in a child process (``python -m converters.tflite_export``); a crash
becomes a :class:`~edge_gru.errors.EdgeGruError`. The Keras model is rebuilt from the
spec's weights with ``unroll=True`` and a fixed batch of 1, the form that converts.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from edge_gru.data import Dataset
from edge_gru.errors import EdgeGruError, ToolMissingError
from edge_gru.spec import ModelSpec, load_spec, save_spec

CALIBRATION_SAMPLES = 200


def export_tflite_int8(spec: ModelSpec, calibration: np.ndarray, out: str | Path, timeout: float = 900) -> int:
    """Convert ``spec`` to an int8 ``.tflite`` at ``out`` in a child process; returns its size in bytes.

    Raises:
        EdgeGruError: The converter failed or crashed.
    """
    if spec.timesteps is None:
        raise EdgeGruError("the unrolled TFLite layout needs a fixed number of timesteps in the model input")
    with tempfile.TemporaryDirectory() as tmp:
        save_spec(spec, Path(tmp) / "m.egspec")
        Dataset(np.asarray(calibration[:CALIBRATION_SAMPLES], np.float32)).save(Path(tmp) / "cal.npz")
        cmd = [sys.executable, "-m", "converters.tflite_export", str(Path(tmp) / "m.egspec"),
               str(Path(tmp) / "cal.npz"), str(out)]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise EdgeGruError(f"the TensorFlow converter did not finish in {timeout:.0f} s") from None
    if p.returncode != 0:
        last = [ln for ln in p.stderr.splitlines() if ln.strip()][-1:] or ["no message"]
        if p.returncode < 0:
            raise EdgeGruError(f"the TensorFlow converter crashed (signal {-p.returncode}); no .tflite written")
        if "ToolMissing" in p.stderr:
            raise ToolMissingError("TensorFlow is needed to convert to TFLite: pip install 'edge-gru[tf]'")
        raise EdgeGruError(f"the TensorFlow converter failed: {last[0][:300]}")
    return Path(out).stat().st_size


def _build_unrolled(spec: ModelSpec):
    from converters._tf import keras

    k = keras()
    inp = k.Input((spec.timesteps, spec.features), batch_size=1, name="x")
    v = inp
    for g in spec.grus:
        layer = k.layers.GRU(g.units, reset_after=g.reset_after, use_bias=g.bias is not None,
                             return_sequences=g.return_sequences, unroll=True, name=g.name)
        v = layer(v)
        layer.set_weights([g.kernel, g.recurrent_kernel] + ([g.bias] if g.bias is not None else []))
    for d in spec.dense:
        layer = k.layers.Dense(d.units, activation=d.activation, use_bias=d.bias is not None, name=d.name)
        v = layer(v)
        layer.set_weights([d.kernel] + ([d.bias] if d.bias is not None else []))
    return k.Model(inp, v)


def _child(spec_path: str, cal_path: str, out: str) -> None:
    import tensorflow as tf

    spec = load_spec(spec_path)
    cal = np.load(cal_path)["X"]
    model = _build_unrolled(spec)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([cal[i:i + 1]] for i in range(len(cal)))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    Path(out).write_bytes(conv.convert())


if __name__ == "__main__":
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _child(*sys.argv[1:4])
