"""The Cortex-M55 path end to end: the Helium runtime built by both compilers, run on QEMU's mps3-an547, is
bit-exact with Numba on random models of every precision and shape; its cycles come from the M55 model."""

import numpy as np
import pytest

from edge_gru.fixed.model import quantize_model
from edge_gru.spec import random_spec

pytestmark = [pytest.mark.needs("sim", "qemu"), pytest.mark.slow]

# (features, units per layer, head, reset_after, bias, precision): K <= 32 (inputs kept in registers) and > 32
# (the loop), units not a multiple of 4 (predicated tails), stacked layers, no bias, every precision
CASES = [(5, [16], [(3, "softmax")], True, True, "w8a16"), (13, [9], [], True, True, "w8a8"),
         (40, [37], [(2, "sigmoid")], True, True, "w16a16"), (3, [6, 11], [(4, "relu")], False, True, "w8a16"),
         (7, [50], [], True, False, "w8a16"), (33, [5], [(3, "sigmoid")], False, False, "w8a8"),
         (2, [70], [], True, True, "w8a16"), (11, [20, 3], [(2, "softmax")], True, True, "w16a16")]


def _case(i, rng):
    features, units, head, ra, bias, prec = CASES[i]
    spec = random_spec(rng, features, units, head, timesteps=3 + i % 4, reset_after=ra, use_bias=bias,
                       scale=0.2 + 0.2 * (i % 3))
    X = rng.normal(0, 2, (10, spec.timesteps, features)).astype(np.float32)
    X[0] *= 50                                               # saturated inputs
    return quantize_model(spec, X[:6], prec), X


@pytest.mark.parametrize("cc", ["zig", pytest.param("gcc", marks=pytest.mark.needs("gcc"))])
def test_m55_matches_numba_on_random_models(cc, tmp_path):
    from firmware_sim.simulate import kernel_path, simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(55 + (cc == "gcc"))
    target = get_target("alif-e3")
    for i in range(len(CASES)):
        fm, X = _case(i, rng)
        res = simulate(fm, target, X, work_dir=tmp_path / f"m{i}", cc=cc)
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(X), err_msg=f"{cc} case {i}")
        assert res.kernel == "mve" and kernel_path(tmp_path / f"m{i}" / "build" / "edge_gru_sim.elf") == "mve"
        assert res.emulator.startswith("QEMU") and "Cortex-M55" in res.cycle_model
        assert 0 < res.cycles_per_sequence_min <= res.cycles_per_sequence <= res.cycles_per_sequence_max
        assert res.stack_bytes > 0 and res.flash_bytes > fm.weight_bytes() and res.compiler["kind"] == cc


def test_m55_token_models_both_embedding_layouts(tmp_path):
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(3)
    for i, (prec, layout) in enumerate([("w8a16", "table"), ("w8a8", "folded"), ("w16a16", "folded")]):
        spec = random_spec(rng, 6, [12], [(3, "softmax")], timesteps=7, vocab=40, mask_zero=bool(i % 2))
        ids = rng.integers(0, 40, (8, 7)).astype(np.int32)
        fm = quantize_model(spec, ids, prec)
        res = simulate(fm, get_target("stm32n6"), ids, work_dir=tmp_path / f"t{i}", embedding=layout)
        assert res.embedding == layout and res.kernel == "mve"
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(ids), err_msg=f"token model {i}")


@pytest.mark.parametrize("layout", ["blocks", "pairs"])
def test_m55_blocks_folder_runs_the_dsp_kernels(layout, tmp_path):
    """A C folder exported for the other cores (blocks layout, or pairs for the M4/M7/M33) runs on the M55 on the DSP
    kernels, and says so."""
    from converters.c_export import export_c
    from edge_gru.fixed.io import save_fixed
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    fm, X = _case(0, np.random.default_rng(1))
    export_c(fm, tmp_path / "c", matrix=layout)
    save_fixed(fm, tmp_path / "c" / "model.egru")
    res = simulate(tmp_path / "c", get_target("alif-e3-hp"), X[:3], work_dir=tmp_path / "w")
    assert res.kernel == "dsp"
    np.testing.assert_array_equal(res.outputs, fm.predict_raw(X[:3]))


def test_m55_matrix_loop_reaches_its_floor(tmp_path):
    """The inner loop of the Helium matrix kernel runs at the floor the model gives it (K > 32: the loop path)."""
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(9)
    spec = random_spec(rng, 4, [120], [(2, "softmax")], timesteps=4)     # K = 120: 11 loop turns per block
    X = rng.normal(0, 1, (3, 4, 4)).astype(np.float32)
    fm = quantize_model(spec, X, "w8a16")
    res = simulate(fm, get_target("alif-e3"), X, work_dir=tmp_path)
    assert res.loop_floor_cycles_per_mac == pytest.approx(10 / 32)        # 5 loads x 2 beats per 32 MACs
    assert res.loop_cycles_per_mac == pytest.approx(res.loop_floor_cycles_per_mac)
