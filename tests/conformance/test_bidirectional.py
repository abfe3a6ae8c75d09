"""Bidirectional and go_backwards models (the whole window before any output): bit-exact on every integer path --
Numba, pure Python (NUMBA_DISABLE_JIT=1), host C (the runtime's window path) and emulated cores -- with every merge
mode, per-step or not, masks, token input and stacked layers; the window's RAM is what model.h and the README say."""

import re
import subprocess

import numpy as np
import pytest

from converters.c_export import export_c
from converters.c_layout import memory_figures
from edge_gru.fixed.model import quantize_model
from edge_gru.runtime.c_host import HostProgram, host_cc
from edge_gru.spec import MERGE_MODES, random_spec

STRICT = ("-Wall", "-Wextra", "-Werror", "-pedantic")
PRECISIONS = ("w8a8", "w8a16", "w16a16")


def window_model(i: int, rng: np.random.Generator, n: int = 8):
    """Random window model ``i``: merge modes in turn, every second per-step, every fifth token input, masks on
    every third, 1-2 layers (the first or the second bidirectional), a lone go_backwards last layer on some."""
    mode, per_step, tokens, masked = MERGE_MODES[i % 4], i % 2 == 1, i % 5 == 2, i % 3 == 0
    layers = 1 + i % 2
    backwards = i % 7 == 3 and not per_step
    bidir = [None if backwards else (mode if (i + k) % 2 == 0 or k == 1 else None) for k in range(layers)]
    spec = random_spec(rng, 2 + i % 4, [3 + (i * 5) % 9] * layers, [(2, "softmax")] if i % 3 else [],
                       timesteps=6 + i % 4, per_step=per_step, bidirectional=bidir, go_backwards=backwards,
                       reset_after=bool(i % 2), vocab=11 if tokens else None, mask_zero=tokens and masked,
                       mask_value=0.0 if masked and not tokens else None, scale=0.5)
    t = spec.timesteps
    if tokens:
        X = rng.integers(0, 11, (n, t)).astype(np.int32)
        X[0] = 0
    else:
        X = rng.normal(0, 1.5, (n, t, spec.features)).astype(np.float32)
        X[1] *= 30                                                   # saturated inputs
        if masked:
            X[rng.random((n, t)) < 0.3] = 0.0
            X[0, :2] = 0.0
    return quantize_model(spec, X, PRECISIONS[i % 3]), X


def device_outputs(fm, X, raw, zero):
    return fm.expand_device_outputs(raw, zero, fm.device_step_index(X)) if fm.per_step else raw


def test_window_kernels_identical_without_jit(jit_and_nojit):
    here = str(__import__("pathlib").Path(__file__).parent)
    script = f"""
import sys
import numpy as np
sys.path.insert(0, {here!r})
from test_bidirectional import window_model
rng = np.random.default_rng(8)
out = []
for i in range(8):
    fm, X = window_model(i, rng)
    out.append(fm.predict_raw(X).ravel())
np.save(sys.argv[1], np.concatenate(out))
"""
    a, b = jit_and_nojit(script)
    assert a.size > 300 and np.abs(a).max() > 0
    np.testing.assert_array_equal(a, b)


def test_host_c_window_path_matches_numba(tmp_path):
    """24 random window models on the host: eg_run / eg_run_seq / eg_run_tokens(_seq) equal Numba; the generated
    example compiles at -O0 and runs; the scratch the export reports holds the window buffers."""
    rng = np.random.default_rng(21)
    for i in range(24):
        fm, X = window_model(i, rng)
        folder = tmp_path / f"m{i}"
        export_c(fm, folder)
        with HostProgram(folder, STRICT) as prog:
            raw = prog.run(*fm.device_input(X))
            np.testing.assert_array_equal(device_outputs(fm, X, raw, prog.zero_output), fm.predict_raw(X),
                                          err_msg=f"model {i}")
        head = (folder / "model.h").read_text()
        window = int(re.search(r"#define EG_MODEL_WINDOW (\d+)", head).group(1))
        width = max([fm.features] + [2 * g["units"] if g.get("merge") == "concat" else g["units"] for g in fm.grus])
        assert window == fm.timesteps and "EG_REFUSED_eg_step_on_a_window_model" in head
        scratch = int(re.search(r"#define EG_MODEL_SCRATCH_LEN (\d+)", head).group(1))
        assert memory_figures(fm)["scratch_bytes"] == 4 * scratch and scratch >= window * width
        readme = (folder / "README.md").read_text()
        assert f"| of which the two window buffers (int16, 2 x {window} steps x {width} values) | " \
               f"{4 * window * width:,} |" in readme and "cannot stream" in readme
        if i < 6:
            exe = tmp_path / f"ex{i}"
            subprocess.run([host_cc(), "-std=c99", "-O0", *STRICT, str(folder / "example_main.c"),
                            str(folder / "edge_gru.c"), str(folder / "model.c"), "-o", str(exe)], check=True)
            assert "argmax" in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout


def test_window_model_refuses_streaming(tmp_path):
    """eg_step on a window model does not compile (model.h), FixedStream refuses, T beyond the window is refused."""
    from edge_gru.errors import DataError

    rng = np.random.default_rng(3)
    fm, X = window_model(0, rng)
    with pytest.raises(DataError, match="cannot be streamed"):
        fm.stream()
    longer = np.concatenate([X, X], axis=1)
    with pytest.raises(DataError, match=f"holds windows of at most {fm.timesteps}"):
        fm.device_input(longer)
    export_c(fm, tmp_path)
    (tmp_path / "bad.c").write_text('#include "model.h"\nvoid f(int16_t *s, const int16_t *x, int32_t *w) '
                                    "{ eg_step(&EG_MODEL, s, x, w); }\n")
    p = subprocess.run([host_cc(), "-std=c99", "-c", str(tmp_path / "bad.c"), "-I", str(tmp_path), "-o",
                        str(tmp_path / "bad.o")], capture_output=True, text=True)
    assert p.returncode != 0 and "EG_REFUSED_eg_step_on_a_window_model_use_eg_run" in p.stderr


@pytest.mark.needs("sim")
@pytest.mark.parametrize("target_name", ["rp2040", "nrf52840", "stm32h7"])
def test_emulated_window_models_match_numba(target_name, tmp_path):
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(len(target_name) + 40)
    for i in range(4):
        fm, X = window_model(i * 5 + len(target_name) % 5, rng, n=5)
        res = simulate(fm, get_target(target_name), X, work_dir=tmp_path / f"m{i}")
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(X), err_msg=f"model {i}")
        assert res.cycles_per_sequence > 0 and res.ram_bytes > memory_figures(fm)["ram_bytes"]
