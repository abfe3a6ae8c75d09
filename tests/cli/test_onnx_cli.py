""".onnx files on the command line: every command that takes a model reads them, and bad ones exit 2 with one line."""


import numpy as np
import pytest
from cli_run import run
from onnx_graphs import gru_model, ort_run

pytestmark = pytest.mark.needs("onnx")




@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx")
    rng = np.random.default_rng(4)
    (d / "m.onnx").write_bytes(gru_model(rng, features=3, hidden=6, timesteps=5, units=3))
    X = rng.normal(0, 1, (40, 5, 3)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    np.savez(d / "d.npz", X=X, y=y)
    return d, X


def test_inspect_quantize_run_convert_read_onnx(onnx_files, tmp_path):
    d, X = onnx_files
    p = run("inspect", d / "m.onnx", check_rc=0)
    assert "GRU 'gru': units=6 reset_after=True" in p.stdout and "Dense 'fc': units=3 activation=softmax" in p.stdout
    assert "ONNX file from edge-gru-tests, opset 17: float reference = onnxruntime within" in p.stdout
    ort = run("run", d / "m.onnx", d / "d.npz", "-o", tmp_path / "ort.npy", check_rc=0)
    assert "engine onnxruntime: 40 sequences" in ort.stdout
    np.testing.assert_allclose(np.load(tmp_path / "ort.npy"), ort_run((d / "m.onnx").read_bytes(), X), atol=0)
    run("run", d / "m.onnx", d / "d.npz", "--engine", "float", "-o", tmp_path / "float.npy", check_rc=0)
    assert np.abs(np.load(tmp_path / "float.npy") - np.load(tmp_path / "ort.npy")).max() < 1e-5
    run("quantize", d / "m.onnx", "--calibration", d / "d.npz", "-o", tmp_path / "m.egru", check_rc=0)
    fixed = run("run", tmp_path / "m.egru", d / "d.npz", "-o", tmp_path / "fixed.npy", check_rc=0)
    assert "accuracy" in fixed.stdout
    assert np.abs(np.load(tmp_path / "fixed.npy") - np.load(tmp_path / "ort.npy")).max() < 0.05
    run("convert", d / "m.onnx", "--calibration", d / "d.npz", "--format", "c", "-o", tmp_path / "c", check_rc=0)
    assert (tmp_path / "c" / "model.c").is_file() and (tmp_path / "c" / "model.egru").is_file()


@pytest.mark.needs("sim")
def test_simulate_quantizes_an_onnx_model(onnx_files):
    d, _ = onnx_files
    p = run("simulate", d / "m.onnx", "--calibration", d / "d.npz", "--target", "nrf52840", "--data", d / "d.npz",
            "--sequences", "2", check_rc=0)
    assert "bit-exact vs Numba   2/2 sequences" in p.stdout


def test_bad_onnx_files_exit_2_with_one_line(tmp_path):
    rng = np.random.default_rng(0)
    good = gru_model(rng)
    files = {
        "lstm.onnx": (gru_model(rng, op="LSTM"), "an LSTM layer is not supported"),
        "bi.onnx": (gru_model(rng, direction="bidirectional"), "a bidirectional GRU is not supported yet"),
        "op.onnx": (gru_model(rng, extra="Tanh"), "op Tanh is not supported"),
        "text.onnx": (b"not a model at all", "not an ONNX model"),
        "cut.onnx": (good[: len(good) - 40], "cut.onnx: "),
        "model.pt": (b"\x80\x02pickle", "a PyTorch checkpoint is a pickle"),
    }
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 6, 3), np.float32))
    for name, (data, message) in files.items():
        (tmp_path / name).write_bytes(data)
        for args in (("inspect", tmp_path / name),
                     ("quantize", tmp_path / name, "--calibration", tmp_path / "d.npz", "-o", tmp_path / "q.egru"),
                     ("run", tmp_path / name, tmp_path / "d.npz")):
            p = run(*args)
            assert p.returncode == 2, (name, args[0], p.stdout, p.stderr)
            lines = p.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("edge-gru: error: ") and message in lines[0], (name, lines)
    assert not (tmp_path / "q.egru").exists()


@pytest.mark.slow
@pytest.mark.needs("sim", "tf")
def test_demo_takes_an_onnx_model(tmp_path):
    """`demo --model` skips training: the user's file runs through the report on the built-in dataset; a model
    that does not take the dataset's input is refused before anything is written."""
    rng = np.random.default_rng(6)
    (tmp_path / "kws.onnx").write_bytes(gru_model(rng, features=13, hidden=8, timesteps=48, units=10))
    (tmp_path / "small.onnx").write_bytes(gru_model(rng, features=3, hidden=8, timesteps=48, units=10))
    bad = run("demo", "--model", tmp_path / "small.onnx", "-o", tmp_path / "no", "--targets", "nrf52840")
    assert bad.returncode == 2 and "X has 13 features per timestep, the model expects 3" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "no").exists()
    p = run("demo", "--model", tmp_path / "kws.onnx", "-o", tmp_path / "demo", "--targets", "nrf52840",
            "--emulate-sequences", "2", check_rc=0)
    assert "report.html" in p.stdout and "training" not in p.stdout + p.stderr
    import json

    rep = json.loads((tmp_path / "demo" / "report.json").read_text())
    assert rep["model"]["name"] == "kws" and rep["model"]["parameters"] == 3 * 8 * (13 + 8 + 2) + 8 * 10 + 10
    emulated = [r for r in rep["rows"] if r["method"] == "emulated"]
    assert emulated and all(r["bitexact_vs_numba"] == 1.0 for r in emulated)
    assert (tmp_path / "demo" / "model-int8.tflite").is_file() and (tmp_path / "demo" / "model.egspec").is_file()


@pytest.mark.slow
@pytest.mark.needs("tf", "tflm")
def test_convert_onnx_to_step_layout_tflite(onnx_files, tmp_path):
    """The step layout from an .onnx file: one timestep per invoke, run by TFLite Micro on the whole data."""
    d, X = onnx_files
    p = run("convert", d / "m.onnx", "--calibration", d / "d.npz", "--format", "tflite-int8", "--layout", "step",
            "-o", tmp_path, check_rc=0)
    assert "one timestep per invoke" in p.stdout and "no float operators" in p.stdout
    run("run", tmp_path / "m-int8-step.tflite", d / "d.npz", "--engine", "tflm", "-o", tmp_path / "tflm.npy",
        check_rc=0)
    err = np.abs(np.load(tmp_path / "tflm.npy") - ort_run((d / "m.onnx").read_bytes(), X))
    assert err.mean() < 0.03 and err.max() < 0.2
