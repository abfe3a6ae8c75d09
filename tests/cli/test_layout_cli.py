"""The pairs layout from the command line: convert writes it (int8 weights) and says so, or picks it for a --target
with a DSP core; a DSP core runs its kernel and other cores plain loops, bit-exact; int16 weights are written in the
blocks layout with a line saying so."""

import json

import numpy as np
import pytest
from cli_run import run


@pytest.fixture
def model(tmp_path):
    from edge_gru.fixed.io import save_fixed
    from edge_gru.fixed.model import quantize_model
    from edge_gru.spec import random_spec

    rng = np.random.default_rng(12)
    spec = random_spec(rng, 7, [10], [(3, "softmax")], timesteps=4)
    X = rng.normal(size=(5, 4, 7)).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=X, y=rng.integers(0, 3, 5))
    save_fixed(quantize_model(spec, X, "w8a16"), tmp_path / "m.egru")
    save_fixed(quantize_model(spec, X, "w16a16"), tmp_path / "w16.egru")
    return X


@pytest.mark.needs("sim")
def test_convert_pairs_layout_and_simulate_it(model, tmp_path):
    p = run("convert", tmp_path / "m.egru", "--format", "c", "--matrix-layout", "pairs", "-o", tmp_path / "c")
    assert p.returncode == 0, p.stderr
    assert "matrix layout pairs" in p.stdout and "Cortex-M4/M7/M33" in p.stdout
    head = (tmp_path / "c" / "model.h").read_text()
    assert '#define EG_MODEL_MATRIX_LAYOUT "pairs"' in head and "#define EG_MODEL_USES_PAIRS 1" in head
    assert "EG_LAYOUT_PAIRS" in (tmp_path / "c" / "model.c").read_text()
    for target, kernel in (("nrf52840", "dsp"), ("rp2040", "portable")):
        out = tmp_path / f"{target}.json"
        p = run("simulate", tmp_path / "c", "--target", target, "--data", tmp_path / "d.npz", "--json", out)
        assert p.returncode == 0, p.stderr
        d = json.loads(out.read_text())
        assert d["kernel"] == kernel and d["bitexact_sequences"] == len(model), target
        assert d["matrix_layout"] == "pairs" and f"{kernel}, pairs layout" in p.stdout and "writes it" not in p.stdout
    # simulating the model itself on a DSP core exports it in pairs and says how to get that folder
    p = run("simulate", tmp_path / "m.egru", "--target", "nrf5340", "--data", tmp_path / "d.npz")
    assert p.returncode == 0, p.stderr
    assert "dsp, pairs layout (`convert --format c --target nrf5340` writes it)" in p.stdout
    # --target picks the layout its core's kernel reads (pairs on the M33, blocks on the M0+); one line for a bad name
    for target, layout in (("nrf5340", "pairs"), ("rp2040", "blocks")):
        p = run("convert", tmp_path / "m.egru", "--format", "c", "--target", target, "-o", tmp_path / target)
        assert p.returncode == 0 and f"matrix layout {layout}" in p.stdout, p.stderr
        assert f'#define EG_MODEL_MATRIX_LAYOUT "{layout}"' in (tmp_path / target / "model.h").read_text()
    # a part with a small instruction cache gets straight-line kernel copies only for products that fit it
    p = run("convert", tmp_path / "m.egru", "--format", "c", "--target", "stm32l4r5", "-o", tmp_path / "l4")
    assert p.returncode == 0 and "straight-line kernel copies up to 24 inputs" in p.stdout, p.stderr
    head = (tmp_path / "l4" / "model.h").read_text()
    assert "#define EG_MODEL_PAIRS_MAX_K 24\n" in head and "#define EG_MODEL_PAIRS_K1 8\n" in head
    assert "#define EG_MODEL_PAIRS_MAX_K 64\n" in (tmp_path / "nrf5340" / "model.h").read_text()
    bad = run("convert", tmp_path / "m.egru", "--format", "c", "--target", "no-such-part", "-o", tmp_path / "x")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unknown target" in bad.stderr
    assert not (tmp_path / "x").exists()
    p = run("convert", tmp_path / "w16.egru", "--format", "c", "--matrix-layout", "pairs", "-o", tmp_path / "c16")
    assert p.returncode == 0, p.stderr
    assert "wrote blocks, whose DSP kernels run them all" in p.stdout
    assert '#define EG_MODEL_MATRIX_LAYOUT "blocks"' in (tmp_path / "c16" / "model.h").read_text()
