"""Small ONNX GRU graphs built node by node with onnx.helper (no PyTorch needed), for the importer's tests.

They cover what exporters put around a ``GRU`` node: tf2onnx-style ``layout=1`` graphs and ``MatMul`` + ``Add``
heads, PyTorch-style ``Transpose`` + ``Squeeze`` + ``Gather`` / ``Gemm`` graphs, static ``sequence_lens`` and
``initial_h``, and the ops the importer must refuse.
"""

from __future__ import annotations

import numpy as np


def gru_model(rng: np.random.Generator, features: int = 3, hidden: int = 5, timesteps: int | None = 6, *,
              lbr: int | None = 1, layout: int = 0, bias: bool = True, head: str = "gemm", units: int = 4,
              activation: str | None = "Softmax", take: str = "y_h", producer: str = "edge-gru-tests",
              seq_lens: bool = False, initial_h: float | None = None, direction: str = "forward",
              op: str = "GRU", extra: str | None = None, batch: int | None = None,
              slice_from: int = -1) -> bytes:
    """One GRU layer + optional dense head, batch-first float input ``x (N, T, F)``; returns the model bytes.

    ``take``: ``y_h`` (the last state output), ``y_last`` (``Gather`` of the last step of ``Y``), ``y_slice``
    (``Slice`` of it, then ``Squeeze``), ``y_first`` (the first step, refused) or ``y`` (the whole sequence,
    refused). ``head``: ``gemm``, ``matmul`` (``MatMul`` + ``Add``) or ``none``. ``extra``: an op
    inserted on the data path before the head (``Tanh``, ``Mul``), to be refused.
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []

    def const(name, value, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    H, F = hidden, features
    gates = 4 if op == "LSTM" else 3
    dirs = 2 if direction == "bidirectional" else 1
    W = const("W", rng.normal(0, 0.5, (dirs, gates * H, F)))
    R = const("R", rng.normal(0, 0.5, (dirs, gates * H, H)))
    B = const("B", rng.normal(0, 0.5, (dirs, 2 * gates * H))) if bias else ""
    x_in = "x"
    if layout == 0:
        nodes.append(helper.make_node("Transpose", ["x"], ["x_t"], perm=[1, 0, 2], name="to_time_major"))
        x_in = "x_t"
    lens = ""
    if seq_lens:
        nodes.append(helper.make_node("Shape", [x_in], ["shape"], name="shape"))
        nodes.append(helper.make_node("Gather", ["shape", const("t_axis", layout, np.int64)], ["t_len"], axis=0,
                                      name="t_len"))
        nodes.append(helper.make_node("Shape", [x_in], ["shape2"], name="shape2"))
        nodes.append(helper.make_node("Gather", ["shape2", const("n_axis", 1 - layout, np.int64)], ["n_len"],
                                      name="n_len"))
        nodes.append(helper.make_node("Unsqueeze", ["n_len", const("ax0", [0], np.int64)], ["n_1d"], name="n_1d"))
        nodes.append(helper.make_node("Expand", ["t_len", "n_1d"], ["lens64"], name="expand_lens"))
        nodes.append(helper.make_node("Cast", ["lens64"], ["lens"], to=TensorProto.INT32, name="lens"))
        lens = "lens"
    h0 = ""
    if initial_h is not None:
        h0 = const("h0", np.full((dirs, batch or 2, H), initial_h))
    attrs = {"hidden_size": H, "direction": direction}
    if layout:
        attrs["layout"] = 1
    if lbr is not None and op == "GRU":
        attrs["linear_before_reset"] = lbr
    nodes.append(helper.make_node(op, [x_in, W, R, B, lens, h0], ["Y", "Y_h"], name="gru", **attrs))
    if dirs == 2:
        nodes.append(helper.make_node("Gather", ["Y_h", const("fw", 0, np.int64)], ["h"], axis=layout, name="fw"))
    elif take == "y_h":
        nodes.append(helper.make_node("Squeeze", ["Y_h", const("dir_axis", [layout], np.int64)], ["h"], name="sq"))
    elif take == "y_last":
        nodes.append(helper.make_node("Squeeze", ["Y", const("dir_axis", [1 + layout], np.int64)], ["ys"],
                                      name="sq"))
        nodes.append(helper.make_node("Gather", ["ys", const("last", -1, np.int64)], ["h"], axis=layout,
                                      name="last_step"))
    elif take == "y_slice":                      # Slice [-1:] of the time axis, then Squeeze it
        nodes.append(helper.make_node("Squeeze", ["Y", const("dir_axis", [1 + layout], np.int64)], ["ys"],
                                      name="sq"))
        end = slice_from + 1 if slice_from >= 0 else 2**62
        nodes.append(helper.make_node("Slice", ["ys", const("s0", [slice_from], np.int64), const("s1", [end], np.int64),
                                                const("sax", [layout], np.int64)],
                                      ["ys_last"], name="last_slice"))
        nodes.append(helper.make_node("Squeeze", ["ys_last", const("tax", [layout], np.int64)], ["h"],
                                      name="sq_time"))
    elif take == "y_first":
        nodes.append(helper.make_node("Squeeze", ["Y", const("dir_axis", [1 + layout], np.int64)], ["ys"],
                                      name="sq"))
        nodes.append(helper.make_node("Gather", ["ys", const("first", 0, np.int64)], ["h"], axis=layout,
                                      name="first_step"))
    else:
        nodes.append(helper.make_node("Squeeze", ["Y", const("dir_axis", [1 + layout], np.int64)], ["h"],
                                      name="sq"))
    cur = "h"
    if extra == "Tanh":
        nodes.append(helper.make_node("Tanh", [cur], ["h2"], name="odd_tanh"))
        cur = "h2"
    elif extra == "Mul":
        nodes.append(helper.make_node("Mul", [cur, const("two", 2.0)], ["h2"], name="odd_mul"))
        cur = "h2"
    width = H
    if head == "gemm":
        nodes.append(helper.make_node("Gemm", [cur, const("fc.weight", rng.normal(0, 0.5, (units, width))),
                                               const("fc.bias", rng.normal(0, 0.5, (units,)))], ["d"], transB=1,
                                      name="fc"))
        cur = "d"
    elif head == "matmul":
        nodes.append(helper.make_node("MatMul", [cur, const("k", rng.normal(0, 0.5, (width, units)))], ["mm"],
                                      name="dense/MatMul"))
        nodes.append(helper.make_node("Add", ["mm", const("b", rng.normal(0, 0.5, (units,)))], ["d"],
                                      name="dense/BiasAdd"))
        cur = "d"
    if activation and head != "none":
        kw = {"axis": -1} if activation == "Softmax" else {}
        nodes.append(helper.make_node(activation, [cur], ["out"], name="act", **kw))
        cur = "out"
    nodes.append(helper.make_node("Identity", [cur], ["y"], name="output"))
    n = batch if batch else "N"
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, timesteps if timesteps else "T", F])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, "T", "K"] if take == "y" else [n, "K"])
    graph = helper.make_graph(nodes, "gru_graph", [x], [y], inits)
    model = helper.make_model(graph, producer_name=producer, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def ort_run(data: bytes, x: np.ndarray) -> np.ndarray:
    """onnxruntime's output for batch-first ``x``, as ``(N, K)``."""
    import onnxruntime as ort

    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    return np.asarray(y, np.float32).reshape(len(x), -1)
