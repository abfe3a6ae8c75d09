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


PER_STEP = [
    # T, F, units, reset_after, use_bias, head, front (None | "masking" | "embedding"), TimeDistributed
    (10, 5, [16], True, True, ((1, "sigmoid"),), None, False),
    (9, 3, [7, 11], False, True, ((4, "relu"), (3, "softmax")), "masking", True),
    (None, 4, [5], True, False, (), None, False),
    (8, 6, [9, 4, 6], True, True, ((2, "linear"),), "embedding", True),
    (12, 2, [3], False, False, ((2, "softmax"),), "masking", False),
]


@pytest.mark.parametrize("T,F,units,ra,ub,head,front,td", PER_STEP)
def test_per_step_float_reference_matches_keras(keras, T, F, units, ra, ub, head, front, td):
    """A last GRU with return_sequences=True: an output per step, masked steps repeating the step before."""
    keras.utils.set_random_seed(len(units))
    L = keras.layers
    inp = keras.Input((T,), dtype="int32") if front == "embedding" else keras.Input((T, F))
    v = L.Embedding(20, F, mask_zero=True)(inp) if front == "embedding" else inp
    v = L.Masking(0.0)(v) if front == "masking" else v
    for h in units:
        v = L.GRU(h, reset_after=ra, use_bias=ub, return_sequences=True)(v)
    for k, act in head:
        dense = L.Dense(k, activation=act, use_bias=ub)
        v = L.TimeDistributed(dense)(v) if td else dense(v)
    m = keras.Model(inp, v)
    rng = np.random.default_rng(len(units))
    for w in m.weights:
        w.assign(rng.normal(0, 0.5, w.shape).astype("float32"))
    spec = import_keras(m)
    assert spec.per_step and spec.output_dim == (head[-1][0] if head else units[-1])
    t = T or 17
    if front == "embedding":
        x = rng.integers(0, 20, (21, t)).astype(np.int32)       # id 0 = padding anywhere, leading included
        x[0] = 0
    else:
        x = rng.normal(0, 1.5, (21, t, F)).astype(np.float32)
        if front == "masking":
            x[rng.random((21, t)) < 0.3] = 0.0                    # masked steps, leading ones too
            x[0] = 0.0
    want = np.asarray(m.predict(x, verbose=0))
    got = predict(spec, x)
    assert got.shape == want.shape == (21, t, spec.output_dim)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


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
    _refuse(keras, lambda i: L.Bidirectional(L.LSTM(4))(i), r"'bidirectional.*Bidirectional with a LSTM")
    _refuse(keras, lambda i: L.Bidirectional(L.GRU(4), merge_mode=None)(i)[0], "merge_mode=None")
    _refuse(keras, lambda i: L.GRU(4)(L.GRU(4, go_backwards=True, return_sequences=True)(i)),
            "go_backwards=True with return_sequences=True")
    _refuse(keras, lambda i: L.GRU(4)(L.Masking()(L.GRU(4, return_sequences=True)(i))),
            "Masking is supported only as the first layer")
    _refuse(keras, lambda i: L.GRU(4)(L.Conv1D(3, 2)(i)), "Conv1D is not supported")
    _refuse(keras, lambda i: L.GRU(4, activation="relu")(i), "activation='relu'")
    _refuse(keras, lambda i: L.GRU(4, recurrent_activation="hard_sigmoid")(i), "recurrent_activation")
    _refuse(keras, lambda i: L.GRU(4, activation=lambda v: v * 2)(i), "activation=")
    _refuse(keras, lambda i: L.GRU(4)(L.Lambda(lambda v: v * 2)(i)), "Lambda is not supported")
    _refuse(keras, lambda i: L.Dense(3, activation="tanh")(L.GRU(4)(i)), "Dense activation 'tanh'")
    _refuse(keras, lambda i: L.TimeDistributed(L.Dense(2))(L.GRU(4)(i)[:, None, :]), "not supported")
    _refuse(keras, lambda i: L.TimeDistributed(L.BatchNormalization())(L.GRU(4, return_sequences=True)(i)),
            r"TimeDistributed\(BatchNormalization\) is not supported")
    _refuse(keras, lambda i: L.Dense(2)(L.GRU(4, return_sequences=True, zero_output_for_mask=True)(L.Masking()(i))),
            "zero_output_for_mask=True")
    _refuse(keras, lambda i: L.GRU(4)(L.GRU(4)(i)[:, None, :]), "not supported")
    inp = keras.Input((6, 4))
    _, state = L.GRU(4, return_state=True)(inp)
    with pytest.raises(UnsupportedModelError, match="return_state"):
        import_keras(keras.Model(inp, state))
    _, state = L.GRU(4, return_state=True, name="encoder")(inp)           # encoder-decoder: the state feeds a GRU
    with pytest.raises(UnsupportedModelError, match="'encoder': GRU return_state=True is not supported"):
        import_keras(keras.Model(inp, L.GRU(4, name="decoder")(inp, initial_state=state)))
    h0 = keras.Input((4,))                                                  # initial_state from an input
    with pytest.raises(UnsupportedModelError, match="2 inputs"):
        import_keras(keras.Model([inp, h0], L.GRU(4)(inp, initial_state=h0)))


@pytest.mark.parametrize("per_step, front", [(False, None), (True, "masking"), (False, "masking"),
                                             (False, "embedding"), (True, "embedding")])
def test_stateful_model_streams_like_keras(keras, tmp_path, per_step, front):
    """stateful=True (batch 2, stacked): the float stream fed chunk after chunk equals the Keras model called on the
    same chunks (its state carried over), reset included; the flag survives the .egspec file; Keras' own states
    are left reset."""
    from edge_gru.float_ref import FloatStream
    from edge_gru.spec import load_spec, save_spec

    keras.utils.set_random_seed(1)
    L = keras.layers
    inp = keras.Input((6,), batch_size=2, dtype="int32") if front == "embedding" else keras.Input((6, 3), batch_size=2)
    v = L.Embedding(9, 3, mask_zero=True)(inp) if front == "embedding" else inp
    v = L.Masking(0.0)(v) if front == "masking" else v
    v = L.GRU(5, stateful=True, return_sequences=True)(v)
    v = L.GRU(4, stateful=True, return_sequences=per_step)(v)
    m = keras.Model(inp, L.Dense(2, activation="softmax")(v))
    spec = import_keras(m)
    assert spec.stateful and spec.per_step == per_step
    save_spec(spec, tmp_path / "s.egspec")
    assert load_spec(tmp_path / "s.egspec").stateful
    rng = np.random.default_rng(4)
    x = rng.integers(0, 9, (2, 18)).astype(np.int32) if front == "embedding" else \
        rng.normal(0, 1.5, (2, 18, 3)).astype(np.float32)
    if front == "masking":
        x[0, 4:9] = 0.0                 # masked steps across a chunk boundary: Keras outputs zeros at a call's
        x[1, 6:12] = 0.0    # leading masked steps (a fully masked chunk too), the state carried
    elif front == "embedding":
        x[0, 4:9] = 0
        x[1, 6:12] = 0
    stream = FloatStream(spec, 2)
    for rnd in range(2):                                      # the second round after a reset on both sides
        for part in (slice(0, 6), slice(6, 12), slice(12, 18)):
            want = np.asarray(m(x[:, part], training=False))
            np.testing.assert_allclose(stream.feed(x[:, part]), want, atol=1e-5, rtol=0, err_msg=(rnd, part))
        stream.reset()
        for ly in m.layers:
            if getattr(ly, "stateful", False):
                ly.reset_state()


BIDIRECTIONAL = [
    # merge modes of the stacked layers, per step, front, the last GRU alone with go_backwards
    (("concat",), False, None, False),
    (("sum", "ave"), True, "masking", False),
    (("mul", None), False, "embedding", True),
    ((None, "concat"), True, "embedding", False),
    (("ave", "mul"), False, "masking", False),
]


@pytest.mark.parametrize("modes, per_step, front, backwards", BIDIRECTIONAL)
def test_bidirectional_float_reference_matches_keras(keras, modes, per_step, front, backwards):
    """Bidirectional(GRU) with every merge mode, stacked, per step or not, masks (Keras zeroes a Bidirectional
    layer's masked outputs) and a lone go_backwards last GRU: float = Keras within 1e-5."""
    keras.utils.set_random_seed(len(modes))
    L = keras.layers
    inp = keras.Input((9,), dtype="int32") if front == "embedding" else keras.Input((9, 3))
    v = L.Embedding(12, 3, mask_zero=True)(inp) if front == "embedding" else inp
    v = L.Masking(0.0)(v) if front == "masking" else v
    for k, mode in enumerate(modes):
        last = k == len(modes) - 1
        seq = per_step or not last
        gru = L.GRU(4 + k, return_sequences=seq, reset_after=k % 2 == 0, go_backwards=backwards and last)
        v = L.Bidirectional(gru, merge_mode=mode)(v) if mode else gru(v)
    m = keras.Model(inp, L.Dense(2, activation="softmax")(v))
    rng = np.random.default_rng(len(modes))
    for w in m.weights:
        w.assign(rng.normal(0, 0.5, w.shape).astype("float32"))
    spec = import_keras(m)
    assert spec.window and sum(g.bidirectional for g in spec.grus) == sum(md is not None for md in modes)
    if front == "embedding":
        x = rng.integers(0, 12, (17, 9)).astype(np.int32)
        x[0] = 0
    else:
        x = rng.normal(0, 1.5, (17, 9, 3)).astype(np.float32)
        if front == "masking":
            x[rng.random((17, 9)) < 0.3] = 0.0
    np.testing.assert_allclose(predict(spec, x), np.asarray(m.predict(x, verbose=0)), atol=1e-5, rtol=0)


def test_refuses_mixed_stateful(keras):
    inp = keras.Input((6, 4), batch_size=2)
    v = keras.layers.GRU(4, stateful=True, return_sequences=True)(inp)
    m = keras.Model(inp, keras.layers.GRU(4)(v))
    with pytest.raises(UnsupportedModelError, match="stateful=True while other GRU layers are not"):
        import_keras(m)
    m = keras.Model(inp, keras.layers.Bidirectional(keras.layers.GRU(4, stateful=True))(inp))
    with pytest.raises(UnsupportedModelError, match="'bidirectional.*stateful=True with a Bidirectional"):
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
