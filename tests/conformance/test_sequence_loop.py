"""eg_run's loop for a one-layer model (edge_gru_run.h): its kernels' arguments built once per sequence, in the
scratch the step leaves unused, on the DSP cores (pairs layout: both products and the gates in one call of the pairs
kernel) and the ARMv6-M ones (blocks layout); taken when the model is that one and its arguments fit, eg_step's
per-step path otherwise; bit-exact with Numba either way, specialized and generic builds."""

import numpy as np
import pytest

from edge_gru.fixed.model import quantize_model
from edge_gru.spec import random_spec

pytestmark = pytest.mark.needs("sim")


def _run(target_name, H, F, generic, rng, tmp_path):
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    spec = random_spec(rng, F, [H], [(3, "softmax")], timesteps=7, reset_after=True, use_bias=True, scale=0.5)
    X = rng.normal(0, 2, (6, 7, F)).astype(np.float32)
    fm = quantize_model(spec, X, "w8a16")
    X[0] *= 50                          # clamped at quantization: the gates and the state saturate
    res = simulate(fm, get_target(target_name).ideal(), X, work_dir=tmp_path, generic=generic)
    np.testing.assert_array_equal(res.outputs, fm.predict_raw(X), err_msg=f"GRU({H}), {F} features")
    return res


@pytest.mark.parametrize("target_name", ["nrf52840", "stm32h7", "nrf5340"])
def test_dsp_sequence_loop(target_name, tmp_path):
    """From 12 units (the 23 words of arguments fit the 2 H the step leaves unused); the generic build too."""
    rng = np.random.default_rng(41)
    for i, (H, F, generic) in enumerate([(12, 5, False), (11, 13, False), (30, 13, False), (16, 6, True)]):
        res = _run(target_name, H, F, generic, rng, tmp_path / f"w{i}")
        assert res.matrix_layout == "pairs" and res.kernel == "dsp"
        planned = H >= 12
        assert ("eg_dsp_run" in res.breakdown) and (("eg_step" in res.breakdown) != planned), \
            f"GRU({H}): {sorted(res.breakdown)}"


def test_armv6m_sequence_loop(tmp_path):
    """From 16 units (the 16 words of arguments fit z's H), an odd count included (its operand padded); the kernel
    advances its arguments as it runs, so they are reset every step; the state's operand unpacked two words a turn
    (eg_v6m_unpack16: an even and an odd number of pairs, and a last odd unit); the generic build too."""
    rng = np.random.default_rng(43)
    for i, (H, F, generic) in enumerate([(16, 13, False), (15, 5, False), (17, 4, False), (18, 3, False),
                                         (20, 7, True)]):
        res = _run("rp2040", H, F, generic, rng, tmp_path / f"w{i}")
        assert res.matrix_layout == "blocks" and res.kernel == "armv6m"
        planned = H >= 16
        assert ("eg_v6m_run" in res.breakdown) and (("eg_step" in res.breakdown) != planned), \
            f"GRU({H}): {sorted(res.breakdown)}"


@pytest.mark.parametrize("target_name, loop", [("nrf52840", "eg_dsp_run"), ("rp2040", "eg_v6m_run")])
def test_streaming_step_takes_the_loop(target_name, loop, tmp_path):
    """eg_step (streaming; a per-step model's eg_run_seq calls it every step) runs one step of the same loop when the
    model is that one: bit-exact, and the loop does the step's work (its cycles above eg_step's own call)."""
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(47)
    spec = random_spec(rng, 13, [16], [(4, "softmax")], timesteps=9, per_step=True, scale=0.5)
    X = rng.normal(0, 1, (4, 9, 13)).astype(np.float32)
    fm = quantize_model(spec, X, "w8a16")
    res = simulate(fm, get_target(target_name).ideal(), X, work_dir=tmp_path)
    np.testing.assert_array_equal(res.outputs, fm.predict_raw(X))
    assert res.breakdown[loop] > 2 * res.breakdown["eg_step"], sorted(res.breakdown.items())
