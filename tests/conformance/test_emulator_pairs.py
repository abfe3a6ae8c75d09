"""The DSP kernels' pairs layout emulated: its assembly (loop copies and the straight-line copies a model gets),
other cores' plain loops over it, the blocks layout on DSP cores, and which models stay in blocks; bit-exact with
Numba."""

import numpy as np
import pytest
from fixed_models import emulator_model as _model

from edge_gru.fixed.model import quantize_model
from edge_gru.spec import random_spec

pytestmark = pytest.mark.needs("sim")


@pytest.mark.parametrize("target_name, layout, kernel", [("rp2040", "pairs", "portable"),
                                                         ("stm32f103", "pairs", "portable"),
                                                         ("nrf52840", "blocks", "dsp"),
                                                         ("nrf5340", "blocks", "dsp")])
def test_other_layout_than_the_cores_own(target_name, layout, kernel, tmp_path):
    """A C folder in the other int8 layout than the one simulate() picks for the core: the pairs layout (the DSP
    kernels') runs plain loops on the Cortex-M0+ and M3, and the blocks layout the blocks DSP kernel on the M4 and M33
    (the default layout there is pairs); every output bit-exact, on random models of every precision, the last one
    with the generic build (-DEG_GENERIC: both layouts' kernels in it, chosen at run time)."""
    from converters.c_export import export_c
    from edge_gru.fixed.io import save_fixed
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(23)
    ran = set()
    for i in range(3):
        fm, X = _model(i + 1, rng)
        export_c(fm, tmp_path / f"c{i}", matrix=layout)
        save_fixed(fm, tmp_path / f"c{i}" / "model.egru")
        xq = fm.quantize_input(X)
        res = simulate(tmp_path / f"c{i}", get_target(target_name), xq, quantized=True, work_dir=tmp_path / f"w{i}",
                       generic=i == 2)
        # a model with products the pairs kernel does not run (int16 weights, w8a8's) is written in blocks: the
        # core's own kernel
        own = "armv6m" if target_name == "rp2040" else "portable"
        assert res.kernel == (kernel if res.matrix_layout == layout else own), f"model {i}"
        ran.add(res.matrix_layout)
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(xq, quantized=True), err_msg=f"model {i}")
    assert layout in ran


@pytest.mark.parametrize("target_name", ["nrf52840", "stm32h7"])
def test_pairs_kernel_with_biases_that_wrap(target_name, tmp_path):
    """The DSP pairs kernel (M4 schedule, M7 schedule) starts a pair's low accumulator at the stored b_c + 256 b_(c+1):
    with odd columns' biases at +-2^28 that wraps modulo 2^32, and the outputs are still Numba's, from the model's
    straight-line copies and from the generic build's loop copies; simulate() exports these models (every product with
    a bias and fast requantization) in the pairs layout."""
    from fixed_models import big_odd_biases

    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(29)
    ks = set()
    for i in (1, 31, 13):                   # w8a16 reset_after models with biases
        fm, X = _model(i, rng)
        ks |= {(g["input_dim"] + 1) // 2 * 2 & 6 for g in fm.grus} | {(g["units"] + 1) // 2 * 2 & 6 for g in fm.grus}
        big_odd_biases(fm)
        for generic in (False, True):       # the model's straight-line copies; the generic build's loop copies
            res = simulate(fm, get_target(target_name), X[:4], work_dir=tmp_path / f"m{i}{generic}", generic=generic)
            assert res.kernel == "dsp" and res.matrix_layout == "pairs", f"model {i}"
            np.testing.assert_array_equal(res.outputs, fm.predict_raw(X[:4]), err_msg=f"model {i} {generic}")
    assert ks == {0, 2, 4, 6}               # every loop copy of the kernel's block loop ran


#: (features, units of each stacked layer) -> the inputs K of their products (features and units padded to even) and the
#: copies export_c writes for them (at most 4: straight-line up to K = 24, rolled above; the rest: loop copies). The
#: rolled ones: 6 groups a loop turn on the M4/M33, 4 on the M7 (after its first group), the remainder before the loop,
#: all in a line when the loop would turn once: on the M4 K = 26-46 in a line; 50, 98 no remainder (2, 4 turns); 54
#: (and a half group), 64, 66 remainders 1, 4, 4; on the M7 28 in a line, 36 and 54 no remainder, 40 remainder 1,
#: 50, 64, 98 remainder 3 (2, 3, 5 turns)
STRAIGHT_MODELS = [((1, [3, 5, 9]), [2, 4, 6, 10]), ((7, [11, 13, 15]), [8, 12, 14, 16]), ((17, [19]), [18, 20]),
                   ((3, [50]), [4, 50]), ((2, [64]), [2, 64]), ((20, [66]), [20, 66]),
                   ((1, [3, 5, 9, 13]), [2, 4, 6, 10]), ((27, [29]), [28, 30]), ((35, [97]), [36, 98]),
                   ((39, [53]), [40, 54])]


STRAIGHT_RUNS = [("nrf52840", "zig"), ("stm32h7", "zig"), ("nrf5340", "zig"),
                 pytest.param("nrf52840", "gcc", marks=pytest.mark.needs("gcc"))]


@pytest.mark.slow
@pytest.mark.parametrize("target_name, cc", STRAIGHT_RUNS)
def test_pairs_straight_line_copies_on_every_k(target_name, cc, tmp_path):
    """The pairs kernel's copies, one per exact K of the model's products (model.h EG_MODEL_PAIRS_K*): straight-line
    ones (no loop turn; on the M4 and M33 the inputs of a K <= 6 product stay in registers, the M7 runs its software-
    pipelined schedule) for K = 2 to 20, rolled ones for K = 28 to 98 (groups in a line, remainders before the loop,
    2 to 5 turns, with and without a half group), and in the same builds the loop copy of a fifth K; w8a16 models
    with biases (every product fast), Numba's integers; built by zig, and by gcc (GNU as expands the .rept/.if
    directives) for the M4."""
    from converters.c_paths import fast_products, pairs_exact_ks
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(57)
    straight: set[int] = set()
    for i, ((features, units), ks) in enumerate(STRAIGHT_MODELS):
        spec = random_spec(rng, features, units, [(3, "softmax")], timesteps=3)
        X = rng.normal(0, 1, (5, 3, features)).astype(np.float32)
        fm = quantize_model(spec, X, "w8a16")
        assert pairs_exact_ks(fm, False) == ks, f"model {i}"
        assert not fast_products(fm, False, "pairs")[1], f"model {i}"     # no product outside the assembly
        straight |= set(ks)
        res = simulate(fm, get_target(target_name), X, work_dir=tmp_path / f"m{i}", cc=cc)
        assert res.matrix_layout == "pairs" and res.kernel == "dsp", f"model {i}"
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(X), err_msg=f"{target_name} {units}")
        # the innermost loops' turns (here whole blocks, split by the emulator into several blocks, the first turn
        # differently) are part of the matrix kernel's cycles, never more (the M7's K = 50 turn once counted a
        # block of the first turn twice)
        assert 0 < res.matrix_loop_cycles_per_sequence <= res.breakdown_total("eg_matrix"), f"model {i}"
    assert straight >= set(range(2, 21, 2)) | {28, 30, 36, 40, 50, 54, 64, 66, 98}


def test_models_the_pairs_kernel_cannot_run_stay_in_blocks(tmp_path):
    """simulate() asks for the pairs layout on a Cortex-M4, but a model with products its kernel does not run (w8a8's
    recurrent product, no bias) is written in blocks and runs the blocks DSP kernels, never the pairs layout's plain
    C loop (which made w8a8 4x slower before this was caught)."""
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(41)
    for i in (3, 4):                        # w8a8; w8a16 without biases (i % 5 == 4)
        fm, X = _model(i, rng)
        res = simulate(fm, get_target("nrf52840"), X[:3], work_dir=tmp_path / f"m{i}")
        assert res.matrix_layout == "blocks" and res.kernel == "dsp", f"model {i}"
        assert "eg_matrix_pairs_c" not in res.breakdown and "eg_matrix_p8_asm" not in res.breakdown
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(X[:3]), err_msg=f"model {i}")

