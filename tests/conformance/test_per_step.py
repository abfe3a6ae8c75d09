"""Per-step models (the last GRU returns sequences: an output after every timestep) are bit-exact on every integer
path: Numba, pure Python (NUMBA_DISABLE_JIT=1), host C (eg_run_seq / eg_run_tokens_seq) and emulated cores, with
masked steps (Masking, padding ids, lengths) placed where the reference puts them."""

import numpy as np
import pytest

from converters.c_export import export_c
from edge_gru.fixed.model import quantize_model
from edge_gru.runtime.c_host import HostProgram
from edge_gru.spec import random_spec

STRICT = ("-Wall", "-Wextra", "-Werror", "-pedantic")
PRECISIONS = ("w8a8", "w8a16", "w16a16")


def per_step_model(i: int, rng: np.random.Generator, n: int = 10):
    """Random per-step model ``i``: features or tokens (every third), masked or not, 1-3 layers, heads of 0-2
    layers; returns the fixed model, its input and lengths (or ``None``)."""
    tokens, masked = i % 3 == 2, i % 2 == 0
    t = 2 + i % 7
    spec = random_spec(rng, 1 + (i * 5) % 9, [1 + (i * 7) % 19] * (1 + i % 3),
                       [(3, "sigmoid"), (4, "relu"), (2, "softmax")][: i % 3] if i % 4 else [(5, "linear")],
                       timesteps=t, reset_after=bool(i % 2), use_bias=i % 5 != 4, scale=0.3 + 0.2 * (i % 4),
                       vocab=13 if tokens else None, mask_zero=tokens and masked,
                       mask_value=0.0 if masked and not tokens else None, per_step=True)
    if tokens:
        X = rng.integers(0, 13, (n, t)).astype(np.int32)
        X[0] = 0
    else:
        X = rng.normal(0, 2, (n, t, spec.features)).astype(np.float32)
        X[1] *= 40                                           # saturated inputs
        if masked:
            X[rng.random((n, t)) < 0.3] = 0.0
            X[0, : t // 2 + 1] = 0.0                         # leading masked steps: the head of the zero state
    lengths = rng.integers(0, t + 1, n) if i % 4 == 1 else None
    return quantize_model(spec, X, PRECISIONS[i % 3]), X, lengths


def test_reference_shapes_and_float_agreement():
    """(N, T, K) outputs; a masked step repeats the step before; the integers follow the float reference."""
    from edge_gru.float_ref import predict

    rng = np.random.default_rng(3)
    spec = random_spec(rng, 4, [12, 9], [(3, "softmax")], timesteps=11, mask_value=0.0, per_step=True, scale=0.4)
    X = rng.normal(0, 1, (50, 11, 4)).astype(np.float32)
    X[:, 5] = 0.0
    fm = quantize_model(spec, X, "w8a16")
    raw = fm.predict_raw(X)
    assert raw.shape == (50, 11, 3)
    np.testing.assert_array_equal(raw[:, 5], raw[:, 4])             # the masked step keeps the state
    assert np.abs(fm.predict(X) - predict(spec, X)).max() < 0.02
    assert fm.macs_per_sequence() == 11 * (fm.macs_per_step + 9 * 3)
    stream = fm.stream(batch=50)                                     # streaming = batch, step by step
    outs = []
    for t in range(11):
        stream.step(X[:, t])
        outs.append(stream.output_raw())
    np.testing.assert_array_equal(np.stack(outs, 1), raw)


def test_per_step_kernels_identical_without_jit(jit_and_nojit):
    here = str(__import__("pathlib").Path(__file__).parent)
    script = f"""
import sys
import numpy as np
sys.path.insert(0, {here!r})
from test_per_step import per_step_model
rng = np.random.default_rng(5)
out = []
for i in range(9):
    fm, X, lengths = per_step_model(i, rng)
    out.append(fm.predict_raw(X, lengths=lengths).ravel())
np.save(sys.argv[1], np.concatenate(out))
"""
    a, b = jit_and_nojit(script)
    assert a.size > 500 and np.abs(a).max() > 0
    np.testing.assert_array_equal(a, b)


def test_host_c_matches_numba_per_step(tmp_path):
    """eg_run_seq / eg_run_tokens_seq on 24 random per-step models (every precision, tokens and features, masks,
    lengths, both reset_after, stacked): the outputs at every step equal Numba's."""
    rng = np.random.default_rng(11)
    steps = 0
    for i in range(24):
        fm, X, lengths = per_step_model(i, rng)
        export_c(fm, tmp_path / f"m{i}")
        with HostProgram(tmp_path / f"m{i}", STRICT) as prog:
            raw = prog.run(*fm.device_input(X, lengths))
            got = fm.expand_device_outputs(raw, prog.zero_output, fm.device_step_index(X, lengths))
        np.testing.assert_array_equal(got, fm.predict_raw(X, lengths=lengths), err_msg=f"model {i}")
        steps += got.shape[0] * got.shape[1]
    assert steps > 1000


def test_eg_run_seq_is_step_then_output(tmp_path):
    """eg_run_seq's row t equals eg_step + eg_output after step t through the C streaming API (a firmware's loop)."""
    from edge_gru.runtime.c_host import CStream

    rng = np.random.default_rng(2)
    fm, X, _ = per_step_model(3, rng)
    export_c(fm, tmp_path)
    xq = fm.quantize_input(X)
    with HostProgram(tmp_path) as prog:
        batch = prog.run(xq)
    stream = CStream(tmp_path, fm.features)
    try:
        for n in range(len(xq)):
            stream.reset()
            for t in range(xq.shape[1]):
                stream.step(xq[n, t])
                np.testing.assert_array_equal(stream.output_raw(), batch[n, t])
    finally:
        stream.close()


@pytest.mark.needs("sim")
@pytest.mark.parametrize("target_name", ["rp2040", "nrf52840", "stm32h7"])
def test_emulated_per_step_matches_numba(target_name, tmp_path):
    """Cortex-M0+ (ARMv6-M assembly), M4 and M7 (DSP): every step's outputs equal Numba's; cycles are per step."""
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(len(target_name))
    for i in range(3):
        fm, X, lengths = per_step_model(i * 3 + len(target_name) % 3, rng, n=6)
        res = simulate(fm, get_target(target_name), X, work_dir=tmp_path / f"m{i}", lengths=lengths)
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(X, lengths=lengths), err_msg=f"model {i}")
        assert res.cycles_per_step > 0 and res.cycles_per_sequence >= res.cycles_per_step
