import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from edge_gru.errors import DataError, ModelFileError, QuantizationError
from edge_gru.fixed.io import load_fixed, save_fixed
from edge_gru.fixed.model import quantize_model
from edge_gru.fixed.quantize import activation_tables, quantize_multiplier
from edge_gru.float_ref import predict
from edge_gru.spec import random_spec

PRECS = ["w8a8", "w8a16", "w16a16"]
# bound on |fixed - float| of a GRU state for moderate random weights
STATE_TOL = {"w8a8": 0.15, "w8a16": 0.04, "w16a16": 0.01}


def test_multiplier_encoding():
    for real in [1e-9, 3.3e-4, 0.1, 0.5, 0.99999, 1.0, 7.25, 1000.0]:
        m, n = quantize_multiplier(real, "t")
        assert 2**14 <= m < 2**15 and 1 <= n <= 62
        assert abs(m * 2.0**-n - real) <= real * 2**-14
    assert quantize_multiplier(1e-20, "t") == (0, 1)
    with pytest.raises(QuantizationError, match="too large"):
        quantize_multiplier(2.0**20, "t")


def test_tables_monotonic_and_symmetric():
    sig, tanh = activation_tables()
    assert len(sig) == 513 and np.all(np.diff(sig.astype(int)) >= 0) and np.all(np.diff(tanh.astype(int)) >= 0)
    assert sig[256] == 16384 and tanh[256] == 0 and tanh[0] == -32767 and sig[0] == 11 and sig[-1] == 32757
    np.testing.assert_array_equal(tanh, -tanh[::-1])


@pytest.mark.parametrize("prec", PRECS)
@pytest.mark.parametrize("reset_after", [True, False])
def test_state_error_bounded(rng, prec, reset_after):
    spec = random_spec(rng, 13, [37], None, timesteps=20, reset_after=reset_after, scale=0.3)
    X = rng.normal(0, 1, (64, 20, 13)).astype(np.float32)
    fm = quantize_model(spec, X, prec)
    err = np.abs(fm.predict(X) - predict(spec, X)).max()
    assert err < STATE_TOL[prec], err


def test_streaming_equals_batch(rng):
    spec = random_spec(rng, 5, [7, 6], [(3, "relu"), (2, "softmax")], timesteps=9)
    X = rng.normal(0, 1, (5, 9, 5)).astype(np.float32)
    fm = quantize_model(spec, X, "w8a16")
    stream = fm.stream(batch=5)
    outs = list(stream.run(X))
    np.testing.assert_array_equal(outs[-1], fm.predict_raw(X))
    # prefixes match too
    fm.timesteps = None
    np.testing.assert_array_equal(outs[3], fm.predict_raw(X[:, :4]))
    one = fm.stream()
    for t in range(9):
        one.step(X[2, t])
    np.testing.assert_array_equal(one.output_raw()[0], fm.predict_raw(X)[2])


def test_state_update_never_saturates():
    """h = hh + ((z (h_tm1 - hh) + 2^14) >> 15) stays within [-32767, 32767] for every sigmoid value z the table
    interpolation can give (0..32767) and hh, h_tm1 in the state's range: the C runtime's gate assembly leaves that
    saturation out (EG_H_IN_RANGE in edge_gru_dsp_gates.h), so it must never act."""
    sig, tanh = activation_tables()
    assert sig.min() >= 0 and sig.max() <= 32767 and tanh.min() >= -32767 and tanh.max() <= 32767
    z = np.arange(0, 32768, dtype=np.int64)[:, None]
    edge = np.array([-32767, -32766, -16385, -1, 0, 1, 16384, 32766, 32767], np.int64)
    rng = np.random.default_rng(0)
    for hh in np.concatenate([edge, rng.integers(-32767, 32768, 40)]):
        h_tm1 = np.concatenate([edge, rng.integers(-32767, 32768, 200)])[None, :]
        h = hh + ((z * (h_tm1 - hh) + (1 << 14)) >> 15)
        assert ((h >= np.minimum(hh, h_tm1)) & (h <= np.maximum(hh, h_tm1))).all()
    # and the interpolation stays between its two table entries (so z and hh stay in the tables' ranges)
    t = sig.astype(np.int64)
    f = np.arange(128, dtype=np.int64)[:, None]
    v = t[None, :-1] + (((t[None, 1:] - t[None, :-1]) * f + 64) >> 7)
    assert v.min() >= 0 and v.max() <= 32767
    t = np.array([-32767, 32767, -32767, 0, 32767], np.int64)
    v = t[None, :-1] + (((t[None, 1:] - t[None, :-1]) * f + 64) >> 7)
    assert v.min() >= -32767 and v.max() <= 32767


@pytest.mark.parametrize("table, value", [("sig_tab", -1), ("tanh_tab", -32768)])
def test_tables_out_of_range_refused(rng, tmp_path, table, value):
    spec = random_spec(rng, 3, [4], timesteps=4)
    fm = quantize_model(spec, rng.normal(0, 1, (8, 4, 3)).astype(np.float32), "w8a16")
    save_fixed(fm, tmp_path / "m.egru")
    arrays = dict(np.load(tmp_path / "m.egru"))
    arrays[table] = arrays[table].copy()
    arrays[table][3] = value
    np.savez((tmp_path / "bad.egru").open("wb"), **arrays)
    with pytest.raises(ModelFileError, match="activation tables outside their range"):
        load_fixed(tmp_path / "bad.egru")


def test_save_load_roundtrip_and_corruption(rng, tmp_path):
    spec = random_spec(rng, 4, [6, 5], [(3, "sigmoid"), (1, "sigmoid")], timesteps=5, reset_after=False)
    X = rng.normal(0, 1, (20, 5, 4)).astype(np.float32)
    for prec in PRECS:
        fm = quantize_model(spec, X, prec)
        save_fixed(fm, tmp_path / "m.egru")
        back = load_fixed(tmp_path / "m.egru")
        np.testing.assert_array_equal(back.predict_raw(X), fm.predict_raw(X))
    (tmp_path / "trunc.egru").write_bytes((tmp_path / "m.egru").read_bytes()[:300])
    with pytest.raises(ModelFileError):
        load_fixed(tmp_path / "trunc.egru")
    # a tampered array shape is refused, not run
    import zipfile

    with zipfile.ZipFile(tmp_path / "m.egru") as z:
        members = {n: z.read(n) for n in z.namelist()}
    arrays = {n[:-4]: np.load(tmp_path / "m.egru")[n[:-4]] for n in members}
    arrays["gru0.W"] = arrays["gru0.W"][:2]
    np.savez((tmp_path / "bad.egru").open("wb"), **arrays)
    with pytest.raises(ModelFileError, match="inconsistent"):
        load_fixed(tmp_path / "bad.egru")
    header = json.loads(bytes(arrays["__header__"]).decode())
    header["format_version"] = 99
    arrays["gru0.W"] = np.load(tmp_path / "m.egru")["gru0.W"]
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez((tmp_path / "new.egru").open("wb"), **arrays)
    with pytest.raises(ModelFileError, match="format version 99"):
        load_fixed(tmp_path / "new.egru")


def test_bad_inputs_refused(rng):
    spec = random_spec(rng, 3, [4], timesteps=6)
    X = rng.normal(0, 1, (4, 6, 3)).astype(np.float32)
    fm = quantize_model(spec, X)
    with pytest.raises(DataError, match="shape"):
        fm.predict(X[:, :, :2])
    with pytest.raises(DataError, match="timesteps"):
        fm.predict(X[:, :5])
    X2 = X.copy()
    X2[0, 0, 0] = np.inf
    with pytest.raises(DataError, match="NaN"):
        fm.predict(X2)
    with pytest.raises(QuantizationError, match="NaN"):
        quantize_model(spec, X2)
    with pytest.raises(QuantizationError, match="unknown precision"):
        quantize_model(spec, X, "w4a4")


def test_overflow_refused_or_widened(rng):
    spec = random_spec(rng, 600, [4], timesteps=2)
    spec.grus[0].kernel[:] = np.sign(spec.grus[0].kernel) * 0.5
    X = rng.normal(0, 1, (4, 2, 600)).astype(np.float32)
    fm = quantize_model(spec, X, "w8a16")   # 600 * 127 * 32767 > 2^31: needs int64 accumulators
    assert fm.grus[0]["acc_bits"] == 64
    assert quantize_model(spec, X, "w8a8").grus[0]["acc_bits"] == 32
    spec.grus[0].bias[:] = 1e12
    with pytest.raises(QuantizationError, match="too large"):
        quantize_model(spec, X, "w16a16")


def test_extreme_inputs_saturate_not_wrap(rng):
    # every weight at full scale, inputs far beyond calibration: a wrapped accumulator would flip signs
    spec = random_spec(rng, 9, [8], None, timesteps=12)
    spec.grus[0].kernel[:] = np.sign(spec.grus[0].kernel) * 2.0
    X = rng.normal(0, 1, (16, 12, 9)).astype(np.float32)
    for prec in PRECS:
        fm = quantize_model(spec, X, prec)
        big = X * 1e6
        lim = fm.input_scale * fm.precision.a_qmax
        clipped = np.clip(big, -lim, lim)
        np.testing.assert_array_equal(fm.predict_raw(big), fm.predict_raw(clipped))
        assert np.abs(fm.predict(big) - predict(spec, clipped)).max() < 0.05


def test_candidate_term_saturation_is_reported(recwarn):
    """A known limit of the format, as an explicit case (found by the property test below: seed=119969, F=1, H=12,
    T=6, w8a16, scale=1.5, xscale=1.5). With reset_after=True the kernels hold the recurrent candidate term
    h_tm1 U_h + b_hh in Q3.12 (+-8) before the reset gate scales it; weights this large (|U| up to 4.6, |b| 5.3)
    push it to 10.6 on the calibration data, it saturates, and the outputs move far from float. The quantizer
    says so; halving the recurrent weights brings the term back in range, without a warning and within tolerance."""
    from edge_gru.errors import QuantizationWarning
    from edge_gru.fixed.quantize import GATE_LIMIT

    r = np.random.default_rng(119969)
    spec = random_spec(r, 1, [12], None, timesteps=6, reset_after=True, use_bias=True, scale=1.5)
    X = (r.normal(0, 1, (8, 6, 1)) * 1.5).astype(np.float32)
    tol = 0.25 * 1.5 * np.sqrt(1 + 12)
    with pytest.warns(QuantizationWarning, match=r"recurrent candidate term .* reaches 10\.6"):
        fm = quantize_model(spec, X, "w8a16")
    assert np.abs(fm.predict(X) - predict(spec, X)).max() > tol          # the limit is real
    spec.grus[0].recurrent_kernel[:] *= 0.5
    spec.grus[0].bias[:] *= 0.5
    recwarn.clear()
    fm = quantize_model(spec, X, "w8a16")
    assert not [w for w in recwarn if issubclass(w.category, QuantizationWarning)]
    stats: dict = {}
    from edge_gru.float_ref import gru_layer

    gru_layer(spec.grus[0], X, stats=stats)
    assert stats["candidate_recurrent_max"] < GATE_LIMIT
    assert np.abs(fm.predict(X) - predict(spec, X)).max() < tol


# derandomize: the same 25 examples on every run (a property test that must not flake in CI). Models the quantizer
# reports as saturating (test_candidate_term_saturation_is_reported) are outside the property.
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), F=st.integers(1, 9), H=st.integers(1, 12), T=st.integers(1, 12),
       layers=st.integers(1, 2), reset_after=st.booleans(), use_bias=st.booleans(),
       prec=st.sampled_from(PRECS), scale=st.floats(0.05, 1.5), xscale=st.floats(0.01, 100.0))
@pytest.mark.slow
def test_property_fixed_close_to_float(seed, F, H, T, layers, reset_after, use_bias, prec, scale, xscale):
    r = np.random.default_rng(seed)
    spec = random_spec(r, F, [H] * layers, None, timesteps=T, reset_after=reset_after, use_bias=use_bias,
                       scale=scale)
    X = (r.normal(0, 1, (8, T, F)) * xscale).astype(np.float32)
    import warnings

    from edge_gru.errors import QuantizationWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QuantizationWarning)
        fm = quantize_model(spec, X, prec)
    assume(not caught)
    got = fm.predict(X)
    assert np.all(np.abs(got) < 1.0)
    # compared on the inputs the fixed-point model can represent (the input rounding is the precision the user
    # chose: test_input_rounding_is_the_input_precision); the error grows with the weight scale (Q3.12 gates,
    # 8-bit weights); generous but catches any wrap
    X_repr = (fm.quantize_input(X).astype(np.float64) * fm.input_scale).astype(np.float32)
    tol = {"w8a8": 0.35, "w8a16": 0.25, "w16a16": 0.05}[prec] * max(1.0, scale * np.sqrt(F + H))
    assert np.abs(got - predict(spec, X_repr)).max() < tol


def test_input_rounding_is_the_input_precision():
    """Found by the property test above when it compared with float on the raw inputs: w8a8 with inputs 32x larger
    than the weights (seed=7, F=7, H=6, T=4, reset_after=False, no bias, scale=0.375, xscale=32). int8 inputs
    step by max|x| / 127 = 0.82 here; rounding moves each gate pre-activation by up to half a step times the
    column's weights, and z near 0.5 carries that into the state: 0.49 from float on the raw inputs, 0.11 on the
    inputs int8 can represent, 0.13 for w8a16 on the raw inputs. Not an arithmetic error of the GRU: the cost of
    8-bit inputs."""
    r = np.random.default_rng(7)
    spec = random_spec(r, 7, [6], None, timesteps=4, reset_after=False, use_bias=False, scale=0.375)
    X = (r.normal(0, 1, (8, 4, 7)) * 32.0).astype(np.float32)
    fm8, fm16 = quantize_model(spec, X, "w8a8"), quantize_model(spec, X, "w8a16")
    X_repr = (fm8.quantize_input(X).astype(np.float64) * fm8.input_scale).astype(np.float32)
    assert fm8.input_scale == pytest.approx(np.abs(X).max() / 127)
    raw, repr_ = np.abs(fm8.predict(X) - predict(spec, X)).max(), np.abs(fm8.predict(X) - predict(spec, X_repr)).max()
    assert raw > 0.45 and repr_ < 0.15                     # the input rounding is where the difference comes from
    # 16-bit inputs have no such step: w8a16 is as close on the raw inputs as w8a8 on representable ones (what
    # remains is the 8-bit weights' rounding, common to both)
    assert np.abs(fm16.predict(X) - predict(spec, X)).max() < raw / 2


def test_jit_and_nojit_identical(jit_and_nojit):
    script = r"""
import sys, numpy as np
from edge_gru.spec import random_spec
from edge_gru.fixed.model import quantize_model
rng = np.random.default_rng(3)
out = []
for i in range(12):
    prec = ["w8a8", "w8a16", "w16a16"][i % 3]
    spec = random_spec(rng, 1 + i % 4, [2 + i % 5] * (1 + i % 2), [(3, "sigmoid"), (2, "relu")][: i % 3],
                       timesteps=3 + i % 4, reset_after=bool(i % 2), use_bias=i % 4 != 3, scale=0.3 + 0.2 * (i % 5))
    X = rng.normal(0, 2, (6, spec.timesteps, spec.features)).astype(np.float32)
    fm = quantize_model(spec, X[:3], prec)
    out.append(fm.predict_raw(X * (1 + 20 * (i % 2))).ravel())
np.save(sys.argv[1], np.concatenate(out))
"""
    a, b = jit_and_nojit(script)
    assert a.size > 100 and np.abs(a).max() > 0
    np.testing.assert_array_equal(a, b)


def _rewrite_header(src, dst, **changes):
    """Copy a .egru with some header fields replaced (what a hand edit or another tool could leave)."""
    with np.load(src) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(bytes(arrays["__header__"]).decode())
    header["meta"].update(changes)
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with open(dst, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("changes, message", [
    ({"input_scale": float("nan")}, "input_scale = nan"),
    ({"input_scale": 0.0}, "input_scale = 0.0"),
    ({"input_scale": -1e-3}, "input_scale = -0.001"),
    ({"output_scale": float("nan")}, "output_scale = nan"),
    ({"output_scale": float("inf")}, "output_scale = inf"),
    ({"output_activation": "gelu"}, "output_activation 'gelu'"),
    ({"timesteps": -5}, "timesteps = -5"),
    ({"timesteps": 10**12}, "timesteps = 1000000000000"),
    ({"timesteps": True}, "timesteps = True"),
])
def test_egru_header_numbers_are_checked(tmp_path, changes, message):
    """Header numbers that would run with exit 0 and garbage (or ask for 38 GiB) are refused, naming the field."""
    rng = np.random.default_rng(3)
    spec = random_spec(rng, 3, [4], None, timesteps=5)
    save_fixed(quantize_model(spec, rng.normal(size=(6, 5, 3)).astype(np.float32), "w8a16"), tmp_path / "ok.egru")
    load_fixed(tmp_path / "ok.egru")
    _rewrite_header(tmp_path / "ok.egru", tmp_path / "bad.egru", **changes)
    with pytest.raises(ModelFileError, match=re.escape(message)):
        load_fixed(tmp_path / "bad.egru")
