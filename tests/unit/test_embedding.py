"""Embedding and Masking models: Keras import, float reference (mask semantics), fixed point, refusals."""

import math

import numpy as np
import pytest

from edge_gru.errors import DataError, QuantizationError
from edge_gru.fixed.io import load_fixed, save_fixed
from edge_gru.fixed.model import quantize_model
from edge_gru.float_ref import predict
from edge_gru.sequence import compact, valid_steps
from edge_gru.spec import load_spec, random_spec, save_spec


def _padded_ids(rng, n, t, vocab, zero_is_pad=True):
    """Ids with back padding, front padding, padding in the middle, full rows and an all-padding row."""
    X = rng.integers(1 if zero_is_pad else 0, vocab, (n, t)).astype(np.int32)
    lengths = rng.integers(0, t + 1, n)
    for i in range(n):
        if i % 3 == 0:
            X[i, lengths[i]:] = 0                 # back padding
        elif i % 3 == 1:
            X[i, : t - lengths[i]] = 0            # front padding
    X[2, t // 3: t // 2] = 0                      # holes in the middle
    X[3] = 0                                      # all padding
    return X


def _keras_text_model(keras, vocab, dim, units, mask_zero, reset_after=True, stacked=False, rng=None):
    L = keras.layers
    inp = keras.Input((None,), dtype="int32")
    v = L.Embedding(vocab, dim, mask_zero=mask_zero)(inp)
    if stacked:
        v = L.GRU(units, return_sequences=True, reset_after=reset_after)(v)
    v = L.GRU(units, reset_after=reset_after)(v)
    model = keras.Model(inp, L.Dense(3, activation="softmax")(L.Dropout(0.1)(v)))
    for w in model.weights:
        w.assign(rng.normal(0, 0.6, w.shape).astype(np.float32))
    return model


@pytest.mark.parametrize("mask_zero, reset_after, stacked", [(True, True, False), (True, False, True),
                                                              (False, True, True), (True, True, True)])
def test_float_reference_equals_keras_on_padded_token_batches(keras, mask_zero, reset_after, stacked):
    from converters.keras_import import import_keras

    rng = np.random.default_rng(7 + 2 * mask_zero + reset_after + 4 * stacked)
    model = _keras_text_model(keras, 53, 7, 9, mask_zero, reset_after, stacked, rng)
    spec = import_keras(model)
    assert spec.tokens and spec.embedding.mask_zero == mask_zero and spec.embedding.vocab == 53
    X = _padded_ids(rng, 48, 15, 53)
    want = np.asarray(model(X, training=False))
    np.testing.assert_allclose(predict(spec, X), want, atol=1e-5, rtol=0)
    if mask_zero:   # all-padding row: the state never moves, the head sees h = 0
        zero_out = predict(spec, np.zeros((1, 15), np.int32))
        np.testing.assert_allclose(zero_out, predict(spec, np.zeros((1, 1), np.int32)), atol=0)


@pytest.mark.parametrize("mask_value", [0.0, -1.5])
def test_float_reference_equals_keras_with_masking(keras, mask_value):
    from converters.keras_import import import_keras

    L = keras.layers
    rng = np.random.default_rng(3)
    inp = keras.Input((None, 4))
    v = L.GRU(6, return_sequences=True)(L.Masking(mask_value)(inp))
    model = keras.Model(inp, L.Dense(1, activation="sigmoid")(L.GRU(5, reset_after=False)(v)))
    for w in model.weights:
        w.assign(rng.normal(0, 0.6, w.shape).astype(np.float32))
    spec = import_keras(model)
    assert spec.mask_value == mask_value and spec.masked
    X = rng.normal(0, 1, (40, 11, 4)).astype(np.float32)
    X[:10, :4] = mask_value
    X[10:20, 7:] = mask_value
    X[20] = mask_value
    X[21, 5, 0] = mask_value               # one feature equal is not a masked step
    np.testing.assert_allclose(predict(spec, X), np.asarray(model(X, training=False)), atol=1e-5, rtol=0)


def test_lengths_equal_padding_ids_and_compaction():
    rng = np.random.default_rng(5)
    spec = random_spec(rng, 5, [8], [(2, "softmax")], vocab=30, mask_zero=True)
    X = rng.integers(1, 30, (20, 12)).astype(np.int32)
    lengths = rng.integers(0, 13, 20)
    padded = np.where(np.arange(12)[None, :] < lengths[:, None], X, 0)
    np.testing.assert_array_equal(predict(spec, X, lengths=lengths), predict(spec, padded))
    valid = valid_steps(padded, mask_zero=True)
    moved, lens = compact(padded[:, :, None], valid)
    np.testing.assert_array_equal(lens, lengths)
    np.testing.assert_array_equal(moved[:, :, 0], padded)          # already at the front: unchanged


def test_spec_and_fixed_files_round_trip(tmp_path):
    rng = np.random.default_rng(11)
    spec = random_spec(rng, 6, [10, 4], [(1, "sigmoid")], timesteps=9, vocab=25, mask_zero=True)
    save_spec(spec, tmp_path / "m.egspec")
    back = load_spec(tmp_path / "m.egspec")
    assert back.embedding.vocab == 25 and back.embedding.mask_zero
    np.testing.assert_array_equal(back.embedding.table, spec.embedding.table)
    X = _padded_ids(rng, 30, 9, 25)
    for prec in ("w8a8", "w8a16", "w16a16"):
        fm = quantize_model(back, X, prec)
        assert fm.embedding["table"].dtype == (np.int8 if prec == "w8a8" else np.int16)
        save_fixed(fm, tmp_path / f"{prec}.egru")
        fm2 = load_fixed(tmp_path / f"{prec}.egru")
        np.testing.assert_array_equal(fm2.predict_raw(X), fm.predict_raw(X))
        agree = np.mean((fm2.predict(X) > 0.5) == (predict(spec, X) > 0.5))
        assert agree >= 0.9, prec
        # the table is the input rule applied to the float table, computed here element by element: round half
        # away from zero of x / s_x, clamped to +-qmax, in the activation width
        qmax = 127 if prec == "w8a8" else 32767
        want = [max(-qmax, min(qmax, int(math.copysign(math.floor(abs(float(x)) / fm.input_scale + 0.5), x))))
                for x in spec.embedding.table.ravel()]
        assert fm.embedding["table"].ravel().tolist() == want
        assert fm.input_scale == pytest.approx(float(np.abs(spec.embedding.table).max()) / qmax)  # the table's range


def test_stream_skips_padding_and_equals_batch():
    rng = np.random.default_rng(12)
    spec = random_spec(rng, 4, [7, 5], [(3, "softmax")], vocab=20, mask_zero=True)
    X = _padded_ids(rng, 16, 10, 20)
    fm = quantize_model(spec, X, "w8a16")
    st = fm.stream(batch=16)
    for t in range(10):
        st.step(X[:, t])
    np.testing.assert_array_equal(st.output_raw(), fm.predict_raw(X))


def test_feature_masking_fixed_point_skips_masked_steps():
    rng = np.random.default_rng(13)
    spec = random_spec(rng, 3, [6], [(1, "sigmoid")], mask_value=0.0)
    X = rng.normal(0, 1, (30, 8, 3)).astype(np.float32)
    X[:10, 5:] = 0.0
    fm = quantize_model(spec, X, "w8a16")
    short = fm.predict_raw(X[:10, :5])
    np.testing.assert_array_equal(fm.predict_raw(X)[:10], short)        # padding changed nothing
    xq, lens = fm.device_input(X)
    assert (lens[:10] == 5).all() and (lens[10:] == 8).all()
    # integer input with lengths: the compacted device input gives the same integers
    np.testing.assert_array_equal(fm.predict_raw(xq, quantized=True, lengths=lens), fm.predict_raw(X))


def test_token_refusals():
    rng = np.random.default_rng(14)
    spec = random_spec(rng, 4, [5], [(1, "sigmoid")], vocab=10, mask_zero=True)
    fm = quantize_model(spec, rng.integers(0, 10, (5, 6)), "w8a8")
    with pytest.raises(DataError, match="token id 10 is outside the vocabulary 0..9"):
        predict(spec, np.array([[1, 2, 10]]))
    with pytest.raises(DataError, match="outside the vocabulary"):
        fm.predict(np.array([[-1, 2]]))
    with pytest.raises(DataError, match="must be integers"):
        fm.predict(np.array([[1.5, 2.0]]))
    with pytest.raises(DataError, match=r"token ids of shape \(N, T\)"):
        fm.predict(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(DataError, match="lengths must lie in 0..2"):
        fm.predict(np.array([[1, 2]]), lengths=np.array([3]))
    with pytest.raises(QuantizationError, match="outside the vocabulary"):
        quantize_model(spec, np.array([[11, 1]]), "w8a8")


def test_data_files_with_tokens_and_lengths(tmp_path):
    from edge_gru.data import DataFile, Dataset, load_data

    X = np.array([[3, 4, 0], [5, 0, 0]], np.int64)
    Dataset(X, np.array([1, 0]), np.array([2, 1], np.int32)).save(tmp_path / "d.npz")
    ds = load_data(tmp_path / "d.npz", vocab=6)
    assert ds.tokens and ds.X.dtype == np.int32 and ds.lengths.tolist() == [2, 1]
    with pytest.raises(DataError, match="outside the vocabulary 0..4"):
        load_data(tmp_path / "d.npz", vocab=5)
    with pytest.raises(DataError, match=r"holds token ids \(N, T\) but the model takes 4 features"):
        DataFile(tmp_path / "d.npz", features=4)
    with open(tmp_path / "bad.npz", "wb") as fh:
        np.savez(fh, X=X.astype(np.float32))
    with pytest.raises(DataError, match="token ids must be integers"):
        load_data(tmp_path / "bad.npz", vocab=6)
    with open(tmp_path / "len.npz", "wb") as fh:
        np.savez(fh, X=X, lengths=np.array([4, 1]))
    with pytest.raises(DataError, match="lengths must lie in 0..3"):
        load_data(tmp_path / "len.npz", vocab=6)


def test_token_kernels_identical_without_jit(jit_and_nojit):
    """Numba and the pure-Python fallback (NUMBA_DISABLE_JIT=1) give the same integers on masked token models."""
    script = """
import sys
import numpy as np
from edge_gru.spec import random_spec
from edge_gru.fixed.model import quantize_model
rng = np.random.default_rng(4)
out = []
for i in range(6):
    spec = random_spec(rng, 2 + i, [3 + i] * (1 + i % 2), [(2, "softmax")], vocab=17, mask_zero=bool(i % 2 == 0),
                       reset_after=bool(i % 3), scale=0.4 + 0.2 * i)
    X = rng.integers(0, 17, (8, 7))
    X[0, 3:] = 0
    fm = quantize_model(spec, X, ["w8a8", "w8a16", "w16a16"][i % 3])
    out.append(fm.predict_raw(X).ravel())
np.save(sys.argv[1], np.concatenate(out))
"""
    a, b = jit_and_nojit(script)
    assert a.size > 40 and np.abs(a).max() > 0
    np.testing.assert_array_equal(a, b)


def test_sentiment_vocabulary_round_trip(tmp_path):
    from edge_gru.text import UNKNOWN, Vocabulary

    v = Vocabulary.build(["好好的书", "差的书"], 5)
    assert v.size == 5 and v.chars == ["书", "好", "的"]     # all counted twice: code-point order
    ids = v.encode("好书棒", 5)
    assert ids.tolist() == [3, 2, UNKNOWN, 0, 0]
    v.save(tmp_path / "v.json")
    assert Vocabulary.load(tmp_path / "v.json").decode(ids) == "好书\ufffd"
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DataError, match="cannot read the vocabulary"):
        Vocabulary.load(tmp_path / "bad.json")


def _rewrite(src, dst, meta_changes=None, arrays_changes=None):
    import json

    with np.load(src) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(bytes(arrays["__header__"]).decode())
    for k, v in (meta_changes or {}).items():
        if isinstance(v, dict) and isinstance(header["meta"].get(k), dict):
            header["meta"][k].update(v)
        else:
            header["meta"][k] = v
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    arrays.update(arrays_changes or {})
    with open(dst, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("meta, arrays, message", [
    ({"embedding": {"vocab": 11}}, None, "embedding table"),
    ({"embedding": {"vocab": 10**9}}, None, "vocabulary 1000000000 outside"),
    ({"mask_value": float("nan")}, None, "mask_value"),
    (None, {"embedding.table": np.zeros((10, 4), np.int32)}, "embedding table"),
    (None, {"embedding.table": np.full((10, 4), 127, np.int8)}, None),
    (None, {"embedding.table": np.full((10, 4), -128, np.int8)}, "beyond the input range"),
])
def test_corrupt_embedding_egru_is_refused(tmp_path, meta, arrays, message):
    from edge_gru.errors import ModelFileError

    rng = np.random.default_rng(21)
    spec = random_spec(rng, 4, [5], [(1, "sigmoid")], vocab=10, mask_zero=True)
    save_fixed(quantize_model(spec, rng.integers(0, 10, (8, 5)), "w8a8"), tmp_path / "m.egru")
    _rewrite(tmp_path / "m.egru", tmp_path / "bad.egru", meta, arrays)
    if message is None:              # the extreme valid value loads and runs
        assert np.isfinite(load_fixed(tmp_path / "bad.egru").predict(np.array([[1, 2, 0]]))).all()
        return
    with pytest.raises(ModelFileError, match=message):
        load_fixed(tmp_path / "bad.egru")
