"""The C runtime cross-compiled for Cortex-M cores and emulated is bit-exact with Numba."""


import numpy as np
import pytest
from fixed_models import emulator_model as _model

from edge_gru.fixed.model import quantize_model
from edge_gru.spec import random_spec

pytestmark = pytest.mark.needs("sim")

# (the Cortex-M55 runs on QEMU: tests/conformance/test_m55.py)
CORES = {"cortex-m0plus": "rp2040", "cortex-m3": "stm32f103", "cortex-m4": "nrf52840", "cortex-m7": "stm32h7",
         "cortex-m33": "nrf5340"}


COMPILERS = [pytest.param("zig", marks=pytest.mark.needs("zig")), pytest.param("gcc", marks=pytest.mark.needs("gcc"))]
PATHS = [(core, False) for core in CORES] + [("cortex-m0plus", True), ("cortex-m4", True), ("cortex-m7", True)]
KERNELS = {"cortex-m0plus": "armv6m", "cortex-m4": "dsp", "cortex-m7": "dsp", "cortex-m33": "dsp"}


@pytest.mark.slow
@pytest.mark.parametrize("core, portable", PATHS, ids=[f"{c}{'-portable' if p else ''}" for c, p in PATHS])
def test_emulated_matches_numba_on_random_models(core, portable, tmp_path):
    """Every code path: portable C (M3, and forced on M0+/M4/M7), the ARMv6-M assembly kernel (M0+) and the
    DSP path (M4, M7, M33); the rows layout's plain loops on the M4."""
    from firmware_sim.simulate import kernel_path, simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(list(CORES).index(core) + 10 * portable)
    target = get_target(CORES[core])
    expected = "portable" if portable else KERNELS.get(core, "portable")
    for i in range(4):
        fm, X = _model(i + 4 * list(CORES).index(core) + 2 * portable, rng)
        res = simulate(fm, target, X, work_dir=tmp_path / f"m{i}", portable=portable)
        assert res.kernel == expected                     # what eg_kernel_path() printed in the emulator
        assert kernel_path(tmp_path / f"m{i}" / "build" / "edge_gru_sim.elf") == expected   # the machine code
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(X), err_msg=f"{core} model {i}")
        assert res.cycles_per_sequence > 0 and res.cycles_per_sequence_min <= res.cycles_per_sequence_max
        assert res.stack_bytes > 0 and res.flash_bytes > fm.weight_bytes()
        assert res.padded_macs_per_sequence >= res.macs_per_sequence
        assert res.loop_cycles_per_mac is None or 0 < res.loop_cycles_per_mac < res.cycles_per_mac


@pytest.mark.parametrize("target_name", ["nrf52840", "stm32h7"])
def test_dsp_int8_assembly_on_every_group_count(target_name, tmp_path):
    """The DSP int8 assembly (M4 schedule, and the M7's with its software pipelining) on products of every shape its
    block loop distinguishes: 0 to 4 whole groups of 4 inputs (odd and even, so the loop is entered both ways), with
    and without a last half group, in stacked layers; w8a8 (written in the blocks layout: every loop copy of its
    kernel runs) and w8a16 (the pairs layout: straight-line copies, and a loop copy for a fifth K); Numba's
    integers."""
    from converters.c_paths import i8_products
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(8)
    taken: set[int] = set()
    # K (inputs padded to even) per product: x 10, 2, 6, 8 and h 2, 6, 8, 12; x 4, 16, 4, 14 and h 16, 4, 14, 2
    for i, (features, units) in enumerate(((9, [2, 5, 7, 12]), (4, [16, 3, 14, 1]))):
        spec = random_spec(rng, features, units, [(3, "softmax")], timesteps=3)
        X = rng.normal(0, 1, (6, 3, features)).astype(np.float32)
        for prec in ("w8a16", "w8a8"):
            fm = quantize_model(spec, X, prec)
            res = simulate(fm, get_target(target_name), X, work_dir=tmp_path / f"{i}{prec}")
            assert res.matrix_layout == ("blocks" if prec == "w8a8" else "pairs")
            if prec == "w8a8":
                taken |= i8_products(fm, False)[0]
            np.testing.assert_array_equal(res.outputs, fm.predict_raw(X), err_msg=f"{target_name} {units} {prec}")
    assert taken == {0, 2, 4, 6}                      # every loop copy of the blocks kernel ran


@pytest.mark.slow
@pytest.mark.parametrize("core", ["cortex-m0plus", "cortex-m4"])
def test_generic_build_emulated_matches_numba(core, tmp_path):
    """The generic runtime (-DEG_GENERIC: every path, chosen at run time) on the ARMv6-M and DSP paths, every
    precision: Numba's integers, like the build specialized to the model (the test above), and larger in flash."""
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(31)
    for i in range(3):
        fm, X = _model(i + 20, rng)
        res = simulate(fm, get_target(CORES[core]), X, work_dir=tmp_path / f"g{i}", generic=True)
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(X), err_msg=f"{core} model {i}")
        spec_res = simulate(fm, get_target(CORES[core]), X[:2], work_dir=tmp_path / f"s{i}")
        assert spec_res.flash_bytes < res.flash_bytes


def test_rows_layout_runs_plain_loops_on_other_cores(tmp_path):
    """A C folder exported for the Helium kernel (rows layout) still runs on a Cortex-M4, bit-exact, and says which
    code it ran; integer inputs (quantized=True) need no lengths."""
    from converters.c_export import export_c
    from edge_gru.fixed.io import save_fixed
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(21)
    for i in range(3):
        fm, X = _model(i, rng)
        export_c(fm, tmp_path / f"c{i}", matrix="rows")
        save_fixed(fm, tmp_path / f"c{i}" / "model.egru")
        xq = fm.quantize_input(X)
        res = simulate(tmp_path / f"c{i}", get_target("nrf52840"), xq, quantized=True, work_dir=tmp_path / f"w{i}")
        assert res.kernel == "portable"
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(xq, quantized=True), err_msg=f"model {i}")


def test_unicorn_refuses_the_m55():
    from firmware_sim.emulator import EmulationError, Emulator
    from firmware_sim.targets import get_target

    with pytest.raises(EmulationError, match="QEMU|qemu"):
        Emulator(b"", get_target("alif-e3"))


@pytest.mark.slow
@pytest.mark.parametrize("target_name", ["rp2040", "nrf52840", "stm32f103"])
def test_assembly_kernels_edge_cases(target_name, tmp_path):
    """The assembly kernels without biases, with an odd and an even number of input groups, and with
    shifts outside the range of their fast requantization (which must fall back to C)."""
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(7)
    # (features, units, bias, weight scale, input scale): no bias with 2 and 3 input groups; input
    # shifts in [33, 46] (no SMMULR form) and below 17 (no 32-bit split), the latter on small inputs
    cases = [(5, 6, False, 0.5, 1.0), (9, 13, False, 0.3, 1.0), (6, 5, True, 0.02, 1e-3), (12, 4, True, 4.0, 1e3)]
    for i, (features, units, use_bias, scale, x_scale) in enumerate(cases):
        spec = random_spec(rng, features, [units], [(3, "sigmoid")], timesteps=3, reset_after=bool(i % 2),
                           use_bias=use_bias, scale=scale)
        X = (rng.normal(0, 2, (8, 3, features)) * x_scale).astype(np.float32)
        fm = quantize_model(spec, X, "w8a16")
        n = fm.grus[0]["nx"]
        assert fm.grus[0]["b_i"].dtype == np.int32 and (i < 2 or (n.min() > 32 if i == 2 else n.max() < 17))
        res = simulate(fm, get_target(target_name), X, work_dir=tmp_path / f"m{i}")
        assert res.kernel == KERNELS.get(get_target(target_name).core, "portable")
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(X), err_msg=f"model {i}")
    # 16-bit weights with 32-bit accumulators (provable when one weight dominates each column): one group
    # and a half group, a two-group loop turn and a half group
    for i, (features, units) in enumerate([(6, 4), (10, 8)]):
        spec = random_spec(rng, features, [units], [(3, "sigmoid")], timesteps=3, use_bias=False)
        for M in (spec.grus[0].kernel, spec.grus[0].recurrent_kernel):
            M *= 0.02
            M[np.arange(M.shape[1]) % M.shape[0], np.arange(M.shape[1])] = 1.0
        X = rng.normal(0, 1, (8, 3, features)).astype(np.float32)
        fm = quantize_model(spec, X, "w16a16")
        assert fm.grus[0]["b_i"].dtype == np.int32
        res = simulate(fm, get_target(target_name), X, work_dir=tmp_path / f"w16-{i}")
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(X), err_msg=f"w16 model {i}")


@pytest.mark.parametrize("target_name", ["rp2040", "nrf52840", "stm32h7"])
def test_spoken_digits_emulated_bitexact(spoken_digits_model, spoken_digits, target_name, tmp_path):
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    _, spec, _, _ = spoken_digits_model
    train, test = spoken_digits
    fm = quantize_model(spec, train.X, "w8a16")
    X = test.X[:24]
    res = simulate(fm, get_target(target_name), X, work_dir=tmp_path)
    np.testing.assert_array_equal(res.outputs, fm.predict_raw(X))
    assert res.sequences == 24 and res.timesteps == 48
    assert res.macs_per_sequence == fm.macs_per_sequence(48)
    assert res.cycles_per_mac == pytest.approx(res.cycles_per_sequence / res.macs_per_sequence)
    assert res.latency_ms == pytest.approx(res.cycles_per_sequence / (res.clock_mhz * 1e3))
    assert res.flash_bytes == res.text_bytes + res.rodata_bytes + res.data_bytes
    assert res.ram_bytes == res.data_bytes + res.bss_bytes + res.stack_bytes
    assert res.fits
    # 13 features are padded to 14, 16 units stay 16: 3 * 16 * 30 MACs per step, plus the dense head
    assert res.padded_macs_per_sequence == 48 * 3 * 16 * 30 + 16 * 10
    # a turn of the innermost loops costs what its instruction schedule costs in the cycle model. M4 and M7 (pairs
    # layout, straight-line copies: the innermost loop is the block loop of the 16-input product, 64 MACs a turn):
    # M4 LDM of 4 biases 5 + 2 SUB (the inputs at fixed offsets: no pointer reload), 4 groups of 4 pipelined loads (5)
    # + 6 DSP + 2 loads (3) + 6 DSP = 80, then SUB, LDM of 4 multipliers 5, SUB, 4 SMMULR, LDR 2, 4 STR (the first
    # steps the output pointer), CMP, BNE and its refill (1 + 1: M4 TRM, immediate branch) = 20: 107; M7 (built with
    # -DEG_TUNE_M7) LDM 2 (two registers a cycle) + LDR 1, the SUBs and the first load paired, 2 loads, 4 groups of
    # 12 SXTB16/SMLAD one per cycle (DSP only from the older slot) each
    # load paired with the DSP instruction before it = 48, then LDM 2, SUB, 4 SMMULR with the LDR and 3 STR paired,
    # STR, CMP, BNE predicted = 12: 63. M0+ (blocks layout, its loop over the inputs) one group: LDM 5 + 4 x (LDM
    # 2 + 5 byte extractions: SXTB, ASRS, REV16, SXTB, ASRS + 4 MULS + 4 ADD) + CMP + BNE + refill 1 = 68 for 16 MACs
    expected = {"rp2040": 68 / 16, "nrf52840": M4_BLOCK / 64, "stm32h7": M7_BLOCK / 64}[target_name]
    assert res.loop_cycles_per_mac == pytest.approx(expected, rel=1e-9)


M4_BLOCK, M7_BLOCK = 107.0, 63.0


def test_cycle_ordering_across_cores(tmp_path):
    """Same program: M0+ (no pipelining, 2-cycle loads) needs more cycles than M4, M4 more than M7."""
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(5)
    spec = random_spec(rng, 8, [24], [(4, "softmax")], timesteps=6)
    X = rng.normal(0, 1, (3, 6, 8)).astype(np.float32)
    fm = quantize_model(spec, X, "w8a16")
    cyc = {t: simulate(fm, get_target(t), X, work_dir=tmp_path / t).cycles_per_sequence
           for t in ("rp2040", "nrf52840", "stm32h7")}
    assert cyc["rp2040"] > cyc["nrf52840"] > cyc["stm32h7"]


@pytest.mark.parametrize("portable", [False, True])
def test_int16_weights_with_int32_accumulators(portable, tmp_path):
    """w16a16 with one input and one unit keeps int32 accumulators: the int16-weight matrix path."""
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(9)
    spec = random_spec(rng, 1, [1, 1], [(2, "softmax")], timesteps=5)
    X = rng.normal(0, 3, (16, 5, 1)).astype(np.float32)
    fm = quantize_model(spec, X, "w16a16")
    assert fm.grus[0]["b_i"].dtype == np.int32 and fm.grus[0]["W"].dtype == np.int16
    res = simulate(fm, get_target("nrf52840"), X, work_dir=tmp_path, portable=portable)
    np.testing.assert_array_equal(res.outputs, fm.predict_raw(X))


def _gate_tables(rng):
    """A quantized model's sigmoid and tanh tables (int16, 513 entries)."""
    fm = quantize_model(random_spec(rng, 3, [4], timesteps=2), rng.normal(0, 1, (4, 2, 3)).astype(np.float32), "w8a16")
    return fm.sig_tab.astype(np.int16), fm.tanh_tab.astype(np.int16)


def _mixed(rng, lo, hi, size):
    """int32 values, half small, half anywhere in [lo, hi]."""
    small = rng.integers(-40000, 40000, size)
    return np.where(rng.random(size) < 0.5, small, rng.integers(lo, hi, size)).astype(np.int32)


def _pack(arrays):
    """The arrays one after another from io offset 64, 16-byte aligned: (their offsets, the bytes)."""
    offsets, blob = [], b""
    for arr in arrays:
        offsets.append(64 + len(blob))
        blob += arr.tobytes() + b"\0" * (-arr.nbytes % 16)
    return offsets, blob


def _run_harness(tmp_path, harness, target, header, blob, runtime_c=False, defines=(), cc=None):
    """Build ``harness`` (C text) against the runtime's files for ``target`` (also compiling edge_gru.c on its own
    when ``runtime_c``), write ``header`` (int32) at io 0 and ``blob`` at 64, run it to its exit; the emulator."""
    from edge_gru.runtime import RUNTIME_FILES, c_source
    from firmware_sim.emulator import Emulator
    from firmware_sim.toolchain import build_elf, resolve_compiler

    src = tmp_path / "harness.c"
    src.write_text(harness)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in RUNTIME_FILES:
        (runtime / name).write_bytes(c_source(name).read_bytes())
    sources = [runtime / "edge_gru.c", src] if runtime_c else [src]
    elf = build_elf(sources, target, tmp_path, include_dirs=(runtime,), defines=defines,
                    cc=resolve_compiler(cc) if cc else None)
    emu = Emulator(elf, target, io_bytes=64 + len(blob))
    emu.write_io(0, np.array(header, np.int32).tobytes())
    emu.write_io(64, blob)
    assert emu.run(count_cycles=False).exit_code == 0
    return emu


def _gated_state(sig, tanh, x_z, h_z, x_r, h_r, x_h, h_h, h_tm1):
    """kernels.py's state after one unit's gates (reset_after, Q0.15 state)."""
    from edge_gru.fixed.kernels import act, rshift_round, sat

    z = act(sig, sat(int(x_z) + int(h_z), -32768, 32767))
    r = act(sig, sat(int(x_r) + int(h_r), -32768, 32767))
    r_hu = rshift_round(r * sat(int(h_h), -32768, 32767), 15)
    hh = act(tanh, sat(sat(int(x_h), -2**20, 2**20 - 1) + r_hu, -32768, 32767))
    return sat(hh + rshift_round(z * (int(h_tm1) - hh), 15), -32767, 32767)


ARMV6M_GATES_HARNESS = r"""
#include <stdint.h>
void eg_gates_v6m_sig(int32_t *out, const int32_t *a, const int32_t *b, int32_t n, const int16_t *tab);
void eg_gates_v6m_cand(int32_t *gxh, const int32_t *gxr, const int32_t *ghr, const int32_t *ghh, int32_t n,
                       const int16_t *tab);
void eg_update_v6m16(int16_t *h, const int32_t *gxh, const int32_t *z, int32_t n, const int16_t *tab);
int main(void)
{
    volatile int32_t *io = (volatile int32_t *)0x60000000u;
    char *base = (char *)0x60000000u;
    int32_t n = io[0];
#define P(i, T) ((T *)(base + io[i]))
    eg_gates_v6m_sig(P(1, int32_t), P(2, int32_t), P(3, int32_t), n, P(4, int16_t));
    eg_gates_v6m_cand(P(5, int32_t), P(6, int32_t), P(7, int32_t), P(8, int32_t), n, P(4, int16_t));
    eg_update_v6m16(P(9, int16_t), P(10, int32_t), P(11, int32_t), n, P(12, int16_t));
    return 0;
}
"""


def test_armv6m_gate_kernels_at_the_extremes(tmp_path):
    """The Thumb-1 gate and update loops against kernels.py on values that take every saturation path; the update's
    inputs span their whole domain (state in [-32767, 32767], z in [0, 32767]: sigmoid table values), whose h needs
    no clamp (EG_H_IN_RANGE, edge_gru_dsp_gates.h: the loop has none) and still reaches +-32767."""
    from edge_gru.fixed.kernels import act, rshift_round, sat
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(11)
    n = 400
    sig, tanh = _gate_tables(rng)

    def mixed(lo, hi):
        return _mixed(rng, lo, hi, n)

    a, b = mixed(-2**30, 2**30), mixed(-2**30, 2**30)
    gxh, gxr, ghr, ghh = mixed(-2**31, 2**31 - 1), mixed(-2**30, 2**30), mixed(-2**30, 2**30), mixed(-2**31, 2**31 - 1)
    h = rng.integers(-32767, 32768, n).astype(np.int16)
    ugx = rng.integers(-32768, 32768, n).astype(np.int32)
    z = rng.integers(0, 32768, n).astype(np.int32)
    h[:4], ugx[:4], z[:4] = [-32767, 32767, -32767, 32767], [32767, -32768, -32768, 32767], [0, 0, 32767, 32767]

    offsets, blob = _pack([np.zeros(n, np.int32), a, b, sig, gxh, gxr, ghr, ghh, h, ugx, z, tanh])
    emu = _run_harness(tmp_path, ARMV6M_GATES_HARNESS, get_target("rp2040"), [n, *offsets], blob, runtime_c=True)

    def read(i, dtype):
        return np.frombuffer(emu.read_io(offsets[i], n * np.dtype(dtype).itemsize), dtype)

    exp_z = [act(sig, sat(int(x) + int(y), -32768, 32767)) for x, y in zip(a, b, strict=True)]
    exp_c = []
    for x_h, x_r, h_r, h_h in zip(gxh, gxr, ghr, ghh, strict=True):
        r = act(sig, sat(int(x_r) + int(h_r), -32768, 32767))
        r_hu = rshift_round(r * sat(int(h_h), -32768, 32767), 15)
        exp_c.append(sat(sat(int(x_h), -2**20, 2**20 - 1) + r_hu, -32768, 32767))
    exp_h = []
    for h_tm1, v, zz in zip(h, ugx, z, strict=True):
        hh = act(tanh, int(v))
        h16 = hh + rshift_round(int(zz) * (int(h_tm1) - hh), 15)
        assert sat(h16, -32767, 32767) == h16            # the reference's clamp does not act on this domain
        exp_h.append(h16)
    np.testing.assert_array_equal(read(0, np.int32), exp_z)
    np.testing.assert_array_equal(read(4, np.int32), exp_c)
    np.testing.assert_array_equal(read(8, np.int16), exp_h)
    # every slow path was taken
    assert (np.abs(a.astype(np.int64) + b) > 32767).any() and (np.abs(gxh.astype(np.int64)) >= 2**20).any()
    assert (np.abs(np.array(exp_h)) == 32767).any()


ARMV6M_FUSED_HARNESS = r"""
#include "edge_gru.c"
int main(void)
{
    volatile int32_t *io = (volatile int32_t *)0x60000000u;
    char *base = (char *)0x60000000u;
    int32_t c;
    /* io[0] cases, then per case: units, the offset of gx (x W: z, r, candidate; then h U the same), of the state */
    for (c = 0; c < io[0]; ++c) {
        eg_gru_t g = {0};
        eg_model_t m = {0};
        g.units = io[1 + 3 * c];
        g.cols = 3 * g.units;
        g.hoff = 2 * g.units;
        m.sig_tab = (const int16_t *)(base + io[10]);
        m.tanh_tab = (const int16_t *)(base + io[11]);
        eg_gates_v6m16((const int32_t *)(base + io[2 + 3 * c]), (int16_t *)(base + io[3 + 3 * c]), &g, &m);
    }
    return 0;
}
"""


@pytest.mark.parametrize("cc", COMPILERS)
def test_armv6m_fused_gate_kernel_at_the_extremes(cc, tmp_path):
    """The Thumb-1 one-pass gates and update (w8a16 reset_after layers) against kernels.py on values that take
    every saturation path, a lone unit and many."""
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(13)
    sig, tanh = _gate_tables(rng)

    cases = []
    for n in (1, 301):   # gx then gh, each z's columns, r's, the candidate's (hoff = 2 n, cols = 3 n)
        g = np.concatenate([_mixed(rng, -2**30, 2**30, n), _mixed(rng, -2**30, 2**30, n),
                            _mixed(rng, -2**31, 2**31 - 1, n), _mixed(rng, -2**30, 2**30, n),
                            _mixed(rng, -2**30, 2**30, n), _mixed(rng, -2**31, 2**31 - 1, n)])
        h = rng.integers(-32768, 32768, n).astype(np.int16)
        h[:4] = [-32768, 32767, -32767, 32767][:n]
        cases.append((n, g, h))
    offsets, blob = _pack([a for _, g, h in cases for a in (g, h)] + [sig, tanh])
    header = [len(cases)]
    for i, (n, _, _) in enumerate(cases):
        header += [n, offsets[2 * i], offsets[2 * i + 1]]
    header += [0] * (10 - len(header)) + offsets[-2:]
    emu = _run_harness(tmp_path, ARMV6M_FUSED_HARNESS, get_target("rp2040"), header, blob, defines=("EG_GENERIC",),
                       cc=cc)

    bounds = 0
    for i, (n, g, h) in enumerate(cases):
        gx, gh = g[:3 * n], g[3 * n:]
        expected = [_gated_state(sig, tanh, gx[k], gh[k], gx[n + k], gh[n + k], gx[2 * n + k], gh[2 * n + k], h[k])
                    for k in range(n)]
        np.testing.assert_array_equal(np.frombuffer(emu.read_io(offsets[2 * i + 1], 2 * n), np.int16), expected)
        bounds += sum(abs(v) == 32767 for v in expected)
    assert bounds > 0                                  # the state's bounds were reached
    n, g, _ = cases[1]
    assert (np.abs(g[:n].astype(np.int64) + g[3 * n:4 * n]) > 32767).any() and (np.abs(g[2 * n:3 * n]) >= 2**20).any()


DSP_GATES_HARNESS = r"""
#include "edge_gru.c"
int main(void)
{
    volatile int32_t *io = (volatile int32_t *)0x60000000u;
    char *base = (char *)0x60000000u;
    int32_t n = io[0], at = 0, part, len;
    /* three calls over consecutive units: 1, 2 and the rest (odd and even counts, a lone unit) */
    for (part = 0; part < 3; ++part, at += len) {
        eg_gates_args_t a;
        len = part == 0 ? 1 : part == 1 ? 2 : n - 3;
        a.pz = (const int32_t *)(base + io[1]) + 2 * at;
        a.pr = (const int32_t *)(base + io[2]) + 2 * at;
        a.ph = (const int32_t *)(base + io[3]) + 2 * at;
        a.h = (int16_t *)(base + io[4]) + at;
        a.h_end = a.h + len;
        a.sig = (const int16_t *)(base + io[5]) + 256;
        a.tanh = (const int16_t *)(base + io[6]) + 256;
        eg_gates_dsp16(&a);
    }
    return 0;
}
"""


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("target_name", ["nrf52840", "stm32h7"])
def test_dsp_gate_kernel_at_the_extremes(target_name, cc, tmp_path):
    """The DSP gate and state-update assembly (one loop on the M4; two loops, the second two units a turn, with the
    M7 schedule) against kernels.py on values that take every saturation, on 1, 2 and an odd number of units."""
    from firmware_sim.targets import get_target
    from firmware_sim.toolchain import runtime_defines

    rng = np.random.default_rng(12)
    n = 203
    sig, tanh = _gate_tables(rng)
    pz, pr = _mixed(rng, -2**30, 2**30, (n, 2)), _mixed(rng, -2**30, 2**30, (n, 2))
    ph = np.stack([_mixed(rng, -2**31, 2**31 - 1, n), _mixed(rng, -2**31, 2**31 - 1, n)], 1)
    h = rng.integers(-32768, 32768, n).astype(np.int16)
    h[:6] = [-32768, 32767, -32767, 0, -32768, 32767]
    offsets, blob = _pack([pz, pr, ph, h, sig, tanh])
    target = get_target(target_name)
    emu = _run_harness(tmp_path, DSP_GATES_HARNESS, target, [n, *offsets], blob,
                       defines=("EG_GENERIC", *runtime_defines(target.core)), cc=cc)

    expected = [_gated_state(sig, tanh, x_z, h_z, x_r, h_r, x_h, h_h, h_tm1)
                for (x_z, h_z), (x_r, h_r), (x_h, h_h), h_tm1 in zip(pz, pr, ph, h, strict=True)]
    got = np.frombuffer(emu.read_io(offsets[3], 2 * n), np.int16)
    np.testing.assert_array_equal(got, expected)
    # the saturations were taken: sums beyond int16, x_h beyond 2^20, the state at its bounds
    assert (np.abs(pz[:, 0].astype(np.int64) + pz[:, 1]) > 32767).any() and (np.abs(ph[:, 0]) >= 2**20).any()
    assert (np.abs(np.array(expected)) == 32767).any()


@pytest.mark.slow
@pytest.mark.parametrize("cc", COMPILERS)
def test_each_compiler_builds_bit_exact_and_is_named(cc, tmp_path):
    """`--cc gcc` and `--cc zig` both build firmware that is bit-exact with Numba, and every result names the
    compiler that built it (the ELF's .comment agrees)."""
    from firmware_sim.elf import read_elf
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(99)
    for i, name in enumerate(("rp2040", "nrf52840", "stm32h7")):
        fm, X = _model(5 + i, rng)
        res = simulate(fm, get_target(name), X, work_dir=tmp_path / name, cc=cc)
        np.testing.assert_array_equal(res.outputs, fm.predict_raw(X), err_msg=f"{cc} on {name}")
        assert res.compiler["kind"] == cc and res.compiler["source"] == "--cc"
        assert ("gcc" in res.compiler["version"]) == (cc == "gcc") and "-O2" in res.compiler["flags"]
        comment = read_elf(tmp_path / name / "build" / "edge_gru_sim.elf").comment
        assert ("GCC" in comment) if cc == "gcc" else ("clang" in comment), comment


MEM_TEST_C = r"""
#include <stddef.h>
#include <stdint.h>
void *memcpy(void *, const void *, size_t);
void *memset(void *, int, size_t);
void *memmove(void *, const void *, size_t);
void eg_mark(uint32_t id);
static unsigned char a[160], b[160], ref[160];
static uint32_t big_src[256], big_dst[256];
volatile size_t big_n = 1024;
static void fill(unsigned char *p, unsigned seed)
{
    for (int i = 0; i < 160; ++i) p[i] = (unsigned char)(seed + 7u * i);
}
int main(void)
{
    int bad = 0;
    for (int n = 0; n < 48; ++n)
        for (int da = 0; da < 4; ++da)
            for (int sa = 0; sa < 4; ++sa) {
                fill(a, 1); fill(b, 2); fill(ref, 1);
                for (int i = 0; i < n; ++i) ref[8 + da + i] = b[8 + sa + i];
                memcpy(a + 8 + da, b + 8 + sa, (size_t)n);
                for (int i = 0; i < 160; ++i) bad += a[i] != ref[i];
                fill(a, 3); fill(ref, 3);
                for (int i = 0; i < n; ++i) ref[8 + da + i] = (unsigned char)(0x5A + sa);
                memset(a + 8 + da, 0x5A + sa, (size_t)n);
                for (int i = 0; i < 160; ++i) bad += a[i] != ref[i];
                for (int shift = -9; shift <= 9; shift += 3) {      /* overlapping both ways */
                    fill(a, 4); fill(ref, 4);
                    unsigned char tmp[64];
                    for (int i = 0; i < n; ++i) tmp[i] = ref[40 + sa + i];
                    for (int i = 0; i < n; ++i) ref[40 + sa + shift + da + i] = tmp[i];
                    memmove(a + 40 + sa + shift + da, a + 40 + sa, (size_t)n);
                    for (int i = 0; i < 160; ++i) bad += a[i] != ref[i];
                }
            }
    for (int i = 0; i < 256; ++i) big_src[i] = (uint32_t)i * 2654435761u;
    eg_mark(1);
    memcpy(big_dst, big_src, big_n);
    eg_mark(2);
    for (int i = 0; i < 256; ++i) bad += big_dst[i] != big_src[i];
    return bad ? 1 : 0;
}
"""


@pytest.mark.slow
@pytest.mark.parametrize("cc", COMPILERS)
def test_startup_memory_functions_are_correct_and_word_wise(cc, tmp_path):
    """memcpy/memset/memmove of the startup code: every length 0..47 at every alignment pair, overlaps
    both ways; a 1 KB aligned memcpy timed between two marks runs word-wise (under 1.5 cycles per byte on
    M4; a byte loop takes 4 or more)."""
    from firmware_sim.emulator import Emulator
    from firmware_sim.targets import get_target
    from firmware_sim.toolchain import build_elf, resolve_compiler

    (tmp_path / "mem.c").write_text(MEM_TEST_C)
    for name in ("rp2040", "nrf52840"):
        t = get_target(name)
        res = Emulator(build_elf([tmp_path / "mem.c"], t, tmp_path / name, cc=resolve_compiler(cc)), t).run()
        assert res.exit_code == 0, f"{cc} on {name}: memory functions gave wrong bytes"
        assert res.mark_values == [1, 2]
        per_byte = (res.marks[1] - res.marks[0]) / 1024
        assert per_byte < (1.5 if name == "nrf52840" else 3.0), (name, per_byte)
