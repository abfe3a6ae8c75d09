"""A per-step model (an output at every timestep) through the CLI as a user runs it: quantize, run on every
integer engine, convert to C, simulate; labels per step give the frame accuracy; wrong labels are one line."""

import numpy as np
import pytest
from cli_run import run

from edge_gru.data import Dataset
from edge_gru.fixed.model import quantize_model
from edge_gru.float_ref import predict
from edge_gru.spec import random_spec, save_spec


@pytest.fixture
def per_step_files(tmp_path):
    rng = np.random.default_rng(9)
    spec = random_spec(rng, 3, [8], [(1, "sigmoid")], timesteps=12, per_step=True, scale=0.6)
    save_spec(spec, tmp_path / "m.egspec")
    X = rng.normal(0, 1, (30, 12, 3)).astype(np.float32)
    y = (predict(spec, X)[..., 0] > 0.5).astype(np.int64)           # the float model is right on every frame
    y[:, 0] = 1 - y[:, 0]                                            # ... but the first frame of each is flipped
    Dataset(X, y).save(tmp_path / "d.npz")
    Dataset(X, y[:, 0]).save(tmp_path / "per_seq.npz")
    return spec, X, y, tmp_path


def test_per_step_model_through_the_cli(per_step_files):
    spec, X, y, tmp = per_step_files
    want = 100 * 11 / 12                                             # every frame right but the first
    p = run("run", tmp / "m.egspec", tmp / "d.npz", check_rc=0)
    assert "an output of width 1 at each of 12 steps" in p.stdout
    assert f"frame accuracy (every step of every sequence): {want:.2f}%" in p.stdout
    run("quantize", tmp / "m.egspec", "--calibration", tmp / "d.npz", "-o", tmp / "m.egru", check_rc=0)
    run("convert", tmp / "m.egru", "--format", "c", "-o", tmp / "c", check_rc=0)
    assert "#define EG_MODEL_PER_STEP 1" in (tmp / "c" / "model.h").read_text()
    fm = quantize_model(spec, X, "w8a16")
    outs = {}
    for engine, art in (("fixed", "m.egru"), ("c", "c")):
        run("run", tmp / art, tmp / "d.npz", "--engine", engine, "--raw", "-o", tmp / f"{engine}.npy", check_rc=0)
        outs[engine] = np.load(tmp / f"{engine}.npy")
    assert outs["fixed"].shape == (30, 12, 1)
    np.testing.assert_array_equal(outs["fixed"], fm.predict_raw(X))
    np.testing.assert_array_equal(outs["c"], outs["fixed"])
    target = (predict(spec, X) + 0.1).astype(np.float32)          # a regression target per step, 0.1 off
    Dataset(X, target).save(tmp / "reg.npz")
    p = run("run", tmp / "m.egspec", tmp / "reg.npz", check_rc=0)
    assert "per-step RMSE against y: 0.1\n" in p.stdout
    p = run("run", tmp / "m.egspec", tmp / "per_seq.npz", check_rc=2)
    assert p.stderr.count("\n") == 1 and "a per-step model needs y of shape (N, 12)" in p.stderr


@pytest.mark.needs("sim")
def test_per_step_simulate(per_step_files):
    spec, X, y, tmp = per_step_files
    run("quantize", tmp / "m.egspec", "--calibration", tmp / "d.npz", "-o", tmp / "m.egru", check_rc=0)
    p = run("simulate", tmp / "m.egru", "--target", "rp2040", "--data", tmp / "d.npz", "--sequences", "5",
            check_rc=0)
    assert "bit-exact vs Numba   5/5 sequences (every step's outputs)" in p.stdout
    assert "us per step (an output after every step)" in p.stdout


@pytest.mark.needs("tf")
def test_sequence_shape_refusals_are_one_line(tmp_path, keras):
    """What is left of the sequence shapes is refused by every command in one line naming the layer and attribute,
    exit 2."""
    L = keras.layers
    inp = keras.Input((6, 3))
    models = {
        "backwards_seq": (keras.Model(inp, L.GRU(2)(L.GRU(4, go_backwards=True, return_sequences=True,
                                                          name="rev")(inp))),
                          "layer 'rev': GRU go_backwards=True with return_sequences=True"),
        "bi_lstm": (keras.Model(inp, L.Bidirectional(L.LSTM(3), name="bi")(inp)),
                    "layer 'bi': Bidirectional with a LSTM backward layer is not supported"),
        "zero_out": (keras.Model(inp, L.GRU(3, return_sequences=True, zero_output_for_mask=True, name="z")(
            L.Masking()(inp))), "layer 'z': GRU zero_output_for_mask=True"),
    }
    for name, (model, message) in models.items():
        model.save(tmp_path / f"{name}.keras")
        p = run("inspect", tmp_path / f"{name}.keras", check_rc=2)
        assert p.stderr.count("\n") == 1 and message in p.stderr, p.stderr
