"""ONNX import on hand-built graphs: each GRU attribute and each exporter pattern read right (checked here against
onnxruntime, apart from the importer's own check), and everything else refused naming the node and op."""

import numpy as np
import pytest
from onnx_graphs import gru_model, ort_run

from edge_gru.errors import ModelFileError, UnsupportedModelError
from edge_gru.float_ref import predict

pytestmark = pytest.mark.needs("onnx")


def _import(data, **kw):
    from edge_gru.importers.onnx_import import from_onnx

    return from_onnx(data, **kw)


def _agrees(data, spec, t=6, n=7, seed=0):
    """Largest difference between the spec's float reference and onnxruntime running ``data``."""
    x = np.random.default_rng(seed).normal(0, 1.5, (n, t, spec.features)).astype(np.float32)
    want, got = ort_run(data, x), predict(spec, x)
    assert want.shape == got.shape
    return float(np.abs(want - got).max())


CASES = {
    "pytorch-style": {},
    "reset-before (lbr=0)": {"lbr": 0},
    "lbr attribute absent": {"lbr": None},
    "layout=1": {"layout": 1},
    "no bias": {"bias": False},
    "matmul+add head": {"head": "matmul", "activation": "Sigmoid"},
    "no head": {"head": "none"},
    "last step of Y": {"take": "y_last", "activation": "Relu"},
    "last step of Y, layout=1": {"take": "y_last", "layout": 1},
    "Slice of the last step": {"take": "y_slice"},
    "Slice of the last step, free length": {"take": "y_slice", "timesteps": None},
    "static sequence_lens": {"seq_lens": True},
    "static sequence_lens, layout=1": {"seq_lens": True, "layout": 1},
    "zero initial_h": {"initial_h": 0.0, "batch": 7},
    "free length": {"timesteps": None},
    "fixed batch of 7": {"batch": 7},
}


@pytest.mark.parametrize("case", list(CASES))
def test_graph_reads_as_onnxruntime_runs_it(case):
    """onnxruntime's CPU GRU refuses layout=1 (batch first): those files are checked against the same weights written
    with layout=0, which onnxruntime runs."""
    kw = CASES[case]
    spec = _import(gru_model(np.random.default_rng(len(case)), **kw))
    data = gru_model(np.random.default_rng(len(case)), **dict(kw, layout=0))
    g = spec.grus[0]
    assert g.reset_after == (kw.get("lbr", 1) == 1) and (g.bias is None) == (kw.get("bias", True) is False)
    assert spec.timesteps == kw.get("timesteps", 6) and spec.features == 3 and g.units == 5
    assert len(spec.dense) == (0 if kw.get("head") == "none" else 1)
    assert _agrees(data, spec) < 1e-5
    if kw.get("timesteps", 6) is None:
        assert _agrees(data, spec, t=11, seed=1) < 1e-5


def test_gate_order_and_both_biases_are_kept():
    """ONNX packs z, r, h like Keras; with linear_before_reset both bias halves stay apart (row 0 input, row 1
    recurrent), without they are summed. A swapped gate block or a dropped bias half would change the outputs."""
    from onnx import load_from_string, numpy_helper

    data = gru_model(np.random.default_rng(3), lbr=1)
    inits = {t.name: numpy_helper.to_array(t) for t in load_from_string(data).graph.initializer}
    g = _import(data).grus[0]
    np.testing.assert_array_equal(g.kernel, inits["W"][0].T)
    np.testing.assert_array_equal(g.recurrent_kernel, inits["R"][0].T)
    np.testing.assert_array_equal(g.bias, inits["B"].reshape(2, 15))
    g0 = _import(gru_model(np.random.default_rng(3), lbr=0)).grus[0]
    np.testing.assert_allclose(g0.bias, inits["B"].reshape(2, 15).sum(axis=0), rtol=0, atol=1e-7)


REFUSED = {
    "LSTM node": ({"op": "LSTM"}, r"gru.*\(LSTM\): an LSTM layer is not supported"),
    "bidirectional": ({"direction": "bidirectional"}, r"\(GRU\): a bidirectional GRU is not supported yet"),
    "reverse": ({"direction": "reverse"}, r"direction='reverse' is not supported"),
    "direction not text": ({"direction": b"\xff\xfe"}, r"direction='\ufffd\ufffd' is not supported"),
    "unsupported op": ({"extra": "Tanh"}, r"'odd_tanh' \(Tanh\): op Tanh is not supported"),
    "scaling op": ({"extra": "Mul"}, r"'odd_mul' \(Mul\): op Mul is not supported"),
    "per-step output": ({"take": "y", "head": "none"}, r"is a sequence \(an output per timestep\)"),
    "per-step head": ({"take": "y", "head": "matmul"}, r"'dense/MatMul' \(MatMul\): is applied to every timestep"),
    "first step": ({"take": "y_first"}, r"'first_step' \(Gather\): selects step \[0\] of 6"),
    "non-zero initial_h": ({"initial_h": 0.5, "batch": 7}, r"non-zero initial_h is not supported"),
    "huge fixed batch": ({"batch": 2**31}, r"has the fixed shape \(2147483648, 6, 3\).*more than 67,108,864 elements"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refusals_name_the_node_and_op(case):
    kw, message = REFUSED[case]
    with pytest.raises(UnsupportedModelError, match=message):
        _import(gru_model(np.random.default_rng(0), **kw))


def test_not_onnx_and_truncated_files_are_refused(tmp_path):
    good = gru_model(np.random.default_rng(0))
    for name, data in {"text.onnx": b"hello, not a model", "truncated.onnx": good[: len(good) // 2],
                       "empty.onnx": b""}.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelFileError, match=name):
            _import(tmp_path / name)
    with pytest.raises(ModelFileError, match="no such model file"):
        _import(tmp_path / "missing.onnx")


def test_pytorch_file_without_linear_before_reset_is_named_and_can_be_taken_as_pytorch_math():
    """A file whose producer is PyTorch but whose GRU lost linear_before_reset (a dropped attribute): onnxruntime
    runs the reset-before GRU, which nn.GRU never computed. Refused with the size of the difference; with
    linear_before_reset=1 the import reads nn.GRU's math and checks it against the file patched the same way."""
    rng = np.random.default_rng(9)
    lost = gru_model(rng, lbr=None, producer="pytorch")
    with pytest.raises(UnsupportedModelError, match=r"GRU node 'gru' has no linear_before_reset=1 but the file was "
                                                    r"written by PyTorch .* differ by up to \d"):
        _import(lost)
    spec = _import(lost, linear_before_reset=1)
    assert spec.grus[0].reset_after
    intact = gru_model(np.random.default_rng(9), lbr=1, producer="pytorch")
    assert _agrees(intact, spec) < 1e-5                      # = the file as PyTorch would have written it
    assert _agrees(lost, spec) > 1e-3                        # != what onnxruntime runs from the damaged file
    other = _import(gru_model(np.random.default_rng(9), lbr=None, producer="tf2onnx"))   # not PyTorch: lbr=0 is real
    assert not other.grus[0].reset_after


def test_a_step_that_is_last_only_at_the_probe_length_is_caught():
    """Slice [4:5] is the last step of the probe's 5 steps but not of 7 (and nothing of 2): the check at other
    lengths refuses it (the file itself cannot run on 2 steps, which its free time axis admits)."""
    with pytest.raises(ModelFileError, match=r"onnxruntime cannot run the model on an input of shape \(6, 2, 3\)"):
        _import(gru_model(np.random.default_rng(2), take="y_slice", slice_from=4, timesteps=None))
    assert _import(gru_model(np.random.default_rng(2), take="y_slice", slice_from=5, timesteps=6)).timesteps == 6


def test_a_wrong_reading_is_caught_by_the_float_check(monkeypatch):
    """The comparison with onnxruntime is what makes a mis-read graph fail: swap two gate blocks in the reading."""
    from edge_gru.importers import onnx_walk

    real = onnx_walk.GRULayer

    def swapped(**kw):
        k = kw["kernel"]
        kw["kernel"] = np.concatenate([k[:, 5:10], k[:, :5], k[:, 10:]], axis=1)
        return real(**kw)

    monkeypatch.setattr(onnx_walk, "GRULayer", swapped)
    with pytest.raises(UnsupportedModelError, match="differs from onnxruntime by"):
        _import(gru_model(np.random.default_rng(1)))


def test_damaged_files_give_a_named_error_never_another_exception():
    """150 byte-level mutations of a valid file (found before: names that are not UTF-8 came back from protobuf as
    bytes and raised TypeError deep in the walk): each one imports or raises an EdgeGruError."""
    from edge_gru.errors import EdgeGruError

    rng = np.random.default_rng(2)
    good = gru_model(np.random.default_rng(0))
    outcomes = {"imported": 0, "refused": 0}
    for _ in range(150):
        b = bytearray(good)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(len(b)))] = int(rng.integers(256))
        try:
            _import(bytes(b))
            outcomes["imported"] += 1
        except EdgeGruError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 50 and outcomes["imported"] > 10     # weight bytes change values, not validity


def test_names_that_are_not_text_are_a_corrupt_file():
    """The GRU node's name with a byte that is not UTF-8 (NodeProto field 3, length 3, "gru"): protobuf returns it as
    bytes, which raised TypeError where the layer is named."""
    good = gru_model(np.random.default_rng(0))
    field = b"\x1a\x03gru"
    assert good.count(field) == 1
    with pytest.raises(ModelFileError, match="not valid UTF-8"):
        _import(good.replace(field, b"\x1a\x03\xa0ru"))


def test_a_recurrence_written_as_a_loop_is_refused_by_name():
    """tf2onnx writes a Keras 3 GRU as a Loop whose body reads the input from the enclosing graph (seen with
    tf2onnx 1.17 on Keras 3.15): the data reaches the node only through the body, and must still be seen."""
    from onnx import TensorProto, helper, numpy_helper

    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("ReduceSum", ["x", "axes"], ["s"], keepdims=0),      # reads the outer input x
         helper.make_node("Add", ["acc_in", "s"], ["acc_out"])],
        "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                 helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(np.array([1], np.int64), "axes")])
    graph = helper.make_graph(
        [helper.make_node("Loop", ["trips", "", "acc0"], ["acc"], body=body, name="while_gru")],
        "loop", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6, 3])],
        [helper.make_tensor_value_info("acc", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(np.array(6, np.int64), "trips"),
         numpy_helper.from_array(np.zeros((1, 3), np.float32), "acc0")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with pytest.raises(UnsupportedModelError, match=r"'while_gru' \(Loop\): a recurrence written as an ONNX loop"):
        _import(model.SerializeToString())
