"""Stateful models (Keras stateful=True): a stream fed a long input in chunks, the state carried over, gives the
outputs of one call over the whole input, in Python (float and Numba) and in C; after a reset, those of a fresh
start. The C export says how to keep the state."""

import numpy as np
import pytest

from converters.c_export import export_c
from edge_gru.fixed.model import quantize_model
from edge_gru.float_ref import FloatStream, predict
from edge_gru.runtime.c_host import CStream
from edge_gru.spec import random_spec

PRECISIONS = ("w8a8", "w8a16", "w16a16")


def _model(i, rng):
    spec = random_spec(rng, 2 + i % 4, [3 + (i * 5) % 11] * (1 + i % 2), [(2, "softmax")] if i % 3 else [],
                       per_step=i % 2 == 1, reset_after=bool(i % 3), scale=0.5)
    spec.stateful = True
    X = rng.normal(0, 1.5, (3, 40, spec.features)).astype(np.float32)
    return spec, quantize_model(spec, X, PRECISIONS[i % 3]), X


def _chunks(rng, t):
    cuts = np.sort(rng.choice(np.arange(1, t), 4, replace=False))
    return [slice(a, b) for a, b in zip([0, *cuts], [*cuts, t], strict=True)]


def _joined(parts, per_step):
    return np.concatenate(parts, 1) if per_step else parts[-1]


@pytest.mark.parametrize("i", range(6))
def test_chunks_equal_one_call_in_python(i):
    rng = np.random.default_rng(i)
    spec, fm, X = _model(i, rng)
    chunks = _chunks(rng, X.shape[1])
    fs, xs = FloatStream(spec, 3), fm.stream(3)
    got_f = [fs.feed(X[:, c]) for c in chunks]
    got_q = [xs.feed(X[:, c]) for c in chunks]
    np.testing.assert_allclose(_joined(got_f, spec.per_step), predict(spec, X), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(_joined(got_q, spec.per_step), fm.predict_raw(X))
    fs.reset()
    xs.reset()                                                # after a reset: a fresh start on the last chunk
    np.testing.assert_allclose(fs.feed(X[:, chunks[-1]]), predict(spec, X[:, chunks[-1]]), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(xs.feed(X[:, chunks[-1]]), fm.predict_raw(X[:, chunks[-1]]))


def test_chunks_equal_one_call_in_c(tmp_path):
    """The C runtime streaming without eg_reset between chunks: at every chunk's end (every step for per-step
    models) the outputs equal Numba's over the whole input up to there; eg_reset then equals a fresh start."""
    for i in range(6):
        rng = np.random.default_rng(10 + i)
        spec, fm, X = _model(i, rng)
        export_c(fm, tmp_path / f"m{i}")
        text = (tmp_path / f"m{i}" / "model.h").read_text()
        assert "#define EG_MODEL_STATEFUL 1" in text
        assert "call `eg_reset` only where the stream restarts" in (tmp_path / f"m{i}" / "README.md").read_text()
        xq = fm.quantize_input(X)
        want = fm.predict_raw(xq, quantized=True)
        c = CStream(tmp_path / f"m{i}", fm.features)
        try:
            for n in range(len(xq)):
                c.reset()
                for chunk in _chunks(rng, xq.shape[1]):
                    for t in range(chunk.start, chunk.stop):
                        c.step(xq[n, t])
                        if spec.per_step:
                            np.testing.assert_array_equal(c.output_raw(), want[n, t], err_msg=(i, n, t))
                    if not spec.per_step and chunk.stop == xq.shape[1]:
                        np.testing.assert_array_equal(c.output_raw(), want[n], err_msg=(i, n))
                c.reset()
                last = xq[n:n + 1, -7:]
                for x_t in last[0]:
                    c.step(x_t)
                fresh = fm.predict_raw(last, quantized=True)[0]
                np.testing.assert_array_equal(c.output_raw(), fresh[-1] if spec.per_step else fresh)
        finally:
            c.close()


@pytest.mark.needs("sim")
@pytest.mark.parametrize("target_name", ["rp2040", "nrf52840", "stm32h7"])
def test_emulated_stream_of_chunks_equals_one_call(target_name, tmp_path):
    """The firmware feeds the chunks of one stream without a reset (eg_step, then eg_output): every chunk's outputs
    equal Numba's over the whole stream up to there (per-step: every step's), on Cortex-M0+, M4 and M7."""
    from firmware_sim.simulate import simulate
    from firmware_sim.targets import get_target

    for i in (1, 2):                                         # per-step (w8a16) and per-chunk (w16a16) models
        rng = np.random.default_rng(30 + i)
        spec, fm, X = _model(i, rng)
        stream = X[:1]                                       # one stream of 40 steps, in 5 chunks of 8
        chunks = stream.reshape(5, 8, spec.features)
        res = simulate(fm, get_target(target_name), chunks, work_dir=tmp_path / f"m{i}", stream=True)
        whole = fm.stream(1)
        want = np.concatenate([whole.feed(c[None]) for c in chunks])
        np.testing.assert_array_equal(res.outputs, want, err_msg=f"{target_name} model {i}")
        assert not np.array_equal(want[1:], np.stack([fm.predict_raw(c[None])[0] for c in chunks])[1:])


def test_stream_kernels_identical_without_jit(jit_and_nojit):
    """A stateful model streamed in chunks (per-step and per-chunk outputs, every precision): Numba and the
    pure-Python fallback give the same integers."""
    here = str(__import__("pathlib").Path(__file__).parent)
    script = f"""
import sys
import numpy as np
sys.path.insert(0, {here!r})
from test_stateful import _chunks, _model
out = []
for i in range(4):
    rng = np.random.default_rng(50 + i)
    spec, fm, X = _model(i, rng)
    s = fm.stream(3)
    out += [s.feed(X[:, c]).ravel() for c in _chunks(rng, X.shape[1])]
np.save(sys.argv[1], np.concatenate(out))
"""
    a, b = jit_and_nojit(script)
    assert a.size > 200 and np.abs(a).max() > 0
    np.testing.assert_array_equal(a, b)
