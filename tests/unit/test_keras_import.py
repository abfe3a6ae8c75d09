import numpy as np
import pytest

from converters.keras_import import import_keras, load_keras
from edge_gru.errors import ModelFileError, UnsupportedModelError
from edge_gru.float_ref import predict


def _gru_model(keras, T, F, units, reset_after=True, use_bias=True, head=((3, "softmax"),), seed=0):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((T, F))
    v = inp
    for i, h in enumerate(units):
        v = keras.layers.GRU(h, reset_after=reset_after, use_bias=use_bias, return_sequences=i < len(units) - 1)(v)
    for k, act in head:
        v = keras.layers.Dense(k, activation=act, use_bias=use_bias)(v)
    m = keras.Model(inp, v)
    rng = np.random.default_rng(seed)
    for w in m.weights:  # non-zero biases so every term is exercised
        w.assign(rng.normal(0, 0.4, w.shape).astype("float32"))
    return m


CASES = [
    # T, F, units, reset_after, use_bias, head
    (10, 5, [50], True, True, ((1, "sigmoid"),)),
    (1, 13, [37], True, True, ((4, "relu"), (3, "softmax"))),
    (200, 3, [8], False, True, ((2, "linear"),)),
    (7, 13, [37, 6], False, False, ()),
    (12, 2, [5, 7, 3], True, False, ((3, "sigmoid"), (2, "softmax"))),
    (None, 4, [9], True, True, ((2, "softmax"),)),
]


@pytest.mark.parametrize("T,F,units,ra,ub,head", CASES)
def test_float_reference_matches_keras(keras, T, F, units, ra, ub, head):
    m = _gru_model(keras, T, F, units, ra, ub, head)
    spec = import_keras(m)
    assert spec.timesteps == T and len(spec.grus) == len(units)
    x = np.random.default_rng(7).normal(0, 1.5, (33, T or 23, F)).astype(np.float32)
    np.testing.assert_allclose(predict(spec, x), np.asarray(m.predict(x, verbose=0)), atol=1e-5, rtol=0)


def test_roundtrip_file_and_dropout(keras, tmp_path):
    inp = keras.Input((6, 4))
    v = keras.layers.GRU(5, dropout=0.2, recurrent_dropout=0.0)(inp)
    v = keras.layers.Dropout(0.5)(v)
    m = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(v))
    m.save(tmp_path / "m.keras")
    spec = import_keras(tmp_path / "m.keras")
    x = np.random.default_rng(0).normal(size=(5, 6, 4)).astype(np.float32)
    np.testing.assert_allclose(predict(spec, x), m.predict(x, verbose=0), atol=1e-5)


def _refuse(keras, build, match):
    inp = keras.Input((6, 4))
    m = keras.Model(inp, build(inp))
    with pytest.raises(UnsupportedModelError, match=match):
        import_keras(m)


def test_refusals(keras):
    L = keras.layers
    _refuse(keras, lambda i: L.Dense(2)(L.LSTM(4)(i)), r"'lstm.*LSTM is not supported")
    _refuse(keras, lambda i: L.Bidirectional(L.GRU(4))(i), "Bidirectional is not supported")
    _refuse(keras, lambda i: L.GRU(4)(L.Masking()(L.GRU(4, return_sequences=True)(i))),
            "Masking is supported only as the first layer")
    _refuse(keras, lambda i: L.GRU(4)(L.Conv1D(3, 2)(i)), "Conv1D is not supported")
    _refuse(keras, lambda i: L.GRU(4, go_backwards=True)(i), "go_backwards")
    _refuse(keras, lambda i: L.GRU(4, activation="relu")(i), "activation='relu'")
    _refuse(keras, lambda i: L.GRU(4, recurrent_activation="hard_sigmoid")(i), "recurrent_activation")
    _refuse(keras, lambda i: L.GRU(4, activation=lambda v: v * 2)(i), "activation=")
    _refuse(keras, lambda i: L.GRU(4)(L.Lambda(lambda v: v * 2)(i)), "Lambda is not supported")
    _refuse(keras, lambda i: L.Dense(3, activation="tanh")(L.GRU(4)(i)), "Dense activation 'tanh'")
    _refuse(keras, lambda i: L.GRU(4, return_sequences=True)(i), "the last GRU needs return_sequences=False")
    _refuse(keras, lambda i: L.GRU(4)(L.GRU(4)(i)[:, None, :]), "not supported")
    inp = keras.Input((6, 4))
    _, state = L.GRU(4, return_state=True)(inp)
    with pytest.raises(UnsupportedModelError, match="return_state"):
        import_keras(keras.Model(inp, state))


def test_refuses_stateful(keras):
    inp = keras.Input((6, 4), batch_size=2)
    m = keras.Model(inp, keras.layers.GRU(4, stateful=True)(inp))
    with pytest.raises(UnsupportedModelError, match="stateful"):
        import_keras(m)


def test_refuses_branches(keras):
    inp = keras.Input((6, 4))
    a = keras.layers.GRU(4)(inp)
    b = keras.layers.Dense(4)(a)
    m = keras.Model(inp, keras.layers.Add()([a, b]))
    with pytest.raises(UnsupportedModelError):
        import_keras(m)


@pytest.mark.needs("tf")
def test_corrupt_keras_files(tmp_path):
    (tmp_path / "junk.keras").write_bytes(b"\x00" * 100)
    with pytest.raises(ModelFileError, match="not a .keras model"):
        load_keras(tmp_path / "junk.keras")
    import zipfile

    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as z:
        z.writestr("hello.txt", "x")
    with pytest.raises(ModelFileError, match="cannot load"):
        load_keras(tmp_path / "empty.keras")
    with pytest.raises(ModelFileError, match="no such"):
        load_keras(tmp_path / "missing.keras")
