import numpy as np
import pytest

from edge_gru.errors import ModelFileError
from edge_gru.tflite.check import check_flatbuffer
from edge_gru.tflite.runner import TFLiteRunner


@pytest.mark.parametrize("data,match", [
    (b"", "too short"),
    (b"\x00" * 64, "not a TFLite flatbuffer"),
    (b"\xff\xff\x00\x00TFL3" + b"\x00" * 56, "root table offset"),
])
def test_flatbuffer_check_refuses_garbage(data, match):
    with pytest.raises(ModelFileError, match=match):
        check_flatbuffer(data, "x.tflite")


@pytest.mark.slow
def test_int8_export_runs_under_litert_and_tflm(tmp_path, rng):
    from converters.tflite_export import export_tflite_int8
    from edge_gru.float_ref import predict
    from edge_gru.spec import random_spec

    spec = random_spec(rng, 3, [6], [(2, "softmax")], timesteps=5, scale=0.4)
    X = rng.normal(0, 1, (64, 5, 3)).astype(np.float32)
    size = export_tflite_int8(spec, X, tmp_path / "m.tflite")
    data = (tmp_path / "m.tflite").read_bytes()
    assert size == len(data) > 1000
    check_flatbuffer(data, "m.tflite")
    ref = predict(spec, X[:16])
    for engine in ("litert", "litert-ref", "tflm"):
        r = TFLiteRunner(tmp_path / "m.tflite", engine)
        assert r.input_dtype == np.int8 and r.output_dtype == np.int8
        assert np.abs(r.predict(X[:16]) - ref).max() < 0.1
    (tmp_path / "trunc.tflite").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError):
        TFLiteRunner(tmp_path / "trunc.tflite", "tflm")


@pytest.mark.slow
@pytest.mark.needs("tf")
def test_falls_back_to_tensorflow_when_litert_is_missing(tmp_path):
    """Without ai-edge-litert and tflite_runtime, TensorFlow's interpreter and schema copy are used."""
    import subprocess
    import sys

    from converters.tflite_export import export_tflite
    from edge_gru.spec import random_spec
    from edge_gru.tflite.runner import TFLiteRunner

    rng = np.random.default_rng(2)
    spec = random_spec(rng, 3, [5], [(2, "softmax")], timesteps=4)
    X = rng.normal(size=(20, 4, 3)).astype(np.float32)
    export_tflite(spec, X, tmp_path / "m.tflite")
    np.save(tmp_path / "x.npy", X)
    ref = TFLiteRunner(tmp_path / "m.tflite", "litert").predict_raw(TFLiteRunner(tmp_path / "m.tflite").quantize(X))
    code = ("import sys, numpy as np\n"
            "for m in ('ai_edge_litert', 'ai_edge_litert.interpreter', 'ai_edge_litert.schema_py_generated',"
            " 'tflite_runtime', 'tflite_micro'): sys.modules[m] = None\n"
            "from edge_gru.tflite.runner import TFLiteRunner\n"
            f"r = TFLiteRunner({str(tmp_path / 'm.tflite')!r}, 'litert')\n"
            f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
            f"np.save({str(tmp_path / 'out.npy')!r}, r.predict_raw(r.quantize(x)))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), ref)
