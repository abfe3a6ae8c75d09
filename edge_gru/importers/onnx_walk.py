"""Read the GRU network out of an ONNX graph: every tensor gets a *role*, every node must fit one.

The walk follows the data from the one graph input to the one output. A tensor that does not depend on
the input's values (initializers, ``Constant``, shape arithmetic) is *static*: its value is known (the
caller evaluates the graph once on a probe input, see :mod:`edge_gru.importers.onnx_import`). A tensor that
does is one of (:mod:`edge_gru.importers.onnx_values`)

* :class:`Seq`: a sequence of vectors (the input, an embedding lookup, a ``GRU`` node's ``Y``);
* :class:`Vec`: one vector per sequence (a GRU's last state, then each head layer's output);
* :class:`States`: the last states of several GRU layers stacked (PyTorch's ``h_n``);
* :class:`Ids`: token ids.

Each keeps a role per axis: ``N`` batch, ``T`` time, ``L`` time sliced down to the last step, ``C``
features, ``1`` a singleton (the ``num_directions`` axis), ``S`` stacked layers, ``a``/``b`` the input's
first two axes until the first ``GRU`` node says which one is time. Layout ops (``Transpose``,
``Squeeze``/``Unsqueeze``, size-1 ``Reshape``, ``Flatten``, ``Identity``, ``Dropout``, ``Cast``) move roles
around; ``Gather``/``Slice`` of the last step turn a ``Seq`` into a ``Vec``; ``Gemm``, ``MatMul`` + ``Add``,
``Relu``, ``Sigmoid``, ``Softmax`` build the dense head. Any other op, or one of these used in a way the
spec cannot express, is refused naming the node and the op. The caller checks the result numerically
against onnxruntime, so a reading that is wrong in a way these rules miss is refused, never used.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from edge_gru.errors import UnsupportedModelError
from edge_gru.importers.onnx_head import ACTIVATIONS, read_activation, read_add, read_matmul
from edge_gru.importers.onnx_layout import read_concat, read_gather, read_layout, read_passthrough, read_slice
from edge_gru.importers.onnx_values import Ids, Seq, Vec, Walk, attrs, fail, layer_name, put, static, value
from edge_gru.spec import GRULayer, ModelSpec

#: Ops that only move axes around (their roles follow the shapes).
LAYOUT_OPS = ("Transpose", "Squeeze", "Unsqueeze", "Reshape", "Flatten", "Identity", "Dropout", "Cast")
HEAD_OPS = ("Gemm", "MatMul", "Add", "Relu", "Sigmoid", "Softmax")
SUPPORTED_OPS = ("GRU", "Gather", "Slice", "Concat", "Shape", *LAYOUT_OPS, *HEAD_OPS)


def walk_graph(graph: Any, input_name: str, static: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]],
               batch_one: bool) -> Walk:
    """Read ``graph`` into a :class:`ModelSpec` (``w.spec``; not yet checked against onnxruntime). The recurrent
    nodes' attributes were checked by :func:`precheck` before the probe.

    Args:
        graph: The ``onnx.GraphProto``.
        input_name: Its one data input.
        static: Values of the static tensors.
        shapes: Shapes of every tensor on the probe input.
        batch_one: The input's batch size is fixed at 1.

    Raises:
        UnsupportedModelError: A node or a use of it the spec cannot represent (names the node and op).
    """
    in_shape = shapes[input_name]
    spec = ModelSpec(features=int(in_shape[-1]) if len(in_shape) == 3 else 0, timesteps=None, grus=[], dense=[],
                     name=graph.name or "onnx_model")
    w = Walk(spec, static, shapes, batch_one=batch_one)
    if len(in_shape) == 3:
        w.values[input_name] = Seq(("a", "b", "C"), -1)
    elif len(in_shape) == 2:
        w.values[input_name] = Ids(("a", "b"))
    else:
        raise UnsupportedModelError(f"graph input {input_name!r} has shape {in_shape}; edge-gru needs "
                                    "(batch, time, features) floats or (batch, time) token ids")
    for node in graph.node:
        if not any(i in w.values for i in (*node.input, *_outer_names(node)) if i):
            continue                                       # static: evaluated by onnxruntime on the probe
        if node.op_type == "Shape":
            continue                                       # only the input's shape: static
        _node(w, node)
    return w


def _outer_names(node: Any) -> set[str]:
    """Names a node's subgraphs (Loop, Scan, If bodies) read from the enclosing graph."""
    names: set[str] = set()
    for a in node.attribute:
        for g in [a.g] if a.HasField("g") else list(a.graphs):
            defined = {i.name for i in g.input} | {t.name for t in g.initializer}
            for n in g.node:
                names |= {i for i in n.input if i and i not in defined} | _outer_names(n)
                defined |= set(n.output)
            names |= {o.name for o in g.output if o.name not in defined}
    return names


def precheck(graph: Any) -> None:
    """Refuse recurrent nodes edge-gru cannot run (LSTM, RNN, a GRU's direction, activations, clip) by attributes
    alone, before anything evaluates the graph."""
    for node in graph.node:
        if node.op_type in ("LSTM", "RNN"):
            raise fail(node, f"an {node.op_type} layer is not supported (edge-gru runs GRU networks)")
        if node.op_type == "GRU":
            _gru_attributes(node, attrs(node))


def finish(w: Walk, output_name: str) -> ModelSpec:
    """Check that ``output_name`` is the end of the head on the last GRU; returns the spec."""
    out = w.values.get(output_name)
    spec = w.spec
    if isinstance(out, Seq):
        raise UnsupportedModelError(f"the model output {output_name!r} is a sequence (an output per timestep), "
                                    "which edge-gru does not support yet: take the last step or h_n[-1]")
    if not isinstance(out, Vec) or not spec.grus:
        raise UnsupportedModelError(f"the model output {output_name!r} does not come from a GRU's last state")
    if out.gru != len(spec.grus) - 1:
        raise UnsupportedModelError(f"the model output is computed from GRU layer {out.gru} of {len(spec.grus)}; "
                                    "edge-gru's head reads the last GRU layer's state")
    if out.dense != len(spec.dense):
        raise UnsupportedModelError(f"the model output {output_name!r} skips the head layer "
                                    f"{spec.dense[out.dense].name!r} (a branch edge-gru cannot represent)")
    if spec.embedding is not None:
        spec.features = spec.embedding.dim
    return spec


def _node(w: Walk, node: Any) -> None:
    op = node.op_type
    if op == "GRU":
        _gru(w, node)
    elif op in ("Identity", "Dropout", "Cast"):
        read_passthrough(w, node)
    elif op in ("Transpose", "Squeeze", "Unsqueeze", "Reshape", "Flatten"):
        read_layout(w, node)
    elif op == "Gather":
        read_gather(w, node)
    elif op == "Slice":
        read_slice(w, node)
    elif op == "Concat":
        read_concat(w, node)
    elif op in ("Gemm", "MatMul"):
        read_matmul(w, node)
    elif op == "Add":
        read_add(w, node)
    elif op in ACTIVATIONS:
        read_activation(w, node)
    elif op in ("Loop", "Scan"):
        raise fail(node, "a recurrence written as an ONNX loop (tf2onnx writes Keras 3 GRUs so) is not read: "
                          "edge-gru reads GRU nodes; import the .keras model itself")
    else:
        raise fail(node, f"op {op} is not supported on the data path (supported: {', '.join(SUPPORTED_OPS)})")


def _gru(w: Walk, node: Any) -> None:
    a = attrs(node)
    x = value(w, node)
    k = len(w.spec.grus)
    if w.spec.dense:
        raise fail(node, "a GRU after a head layer is not supported")
    if not isinstance(x, Seq) or x.layer != k - 1:
        raise fail(node, f"its input is not the {'model input' if k == 0 else f'output sequence of GRU {k - 1}'}")
    layout = int(a.get("layout", 0))
    _bind_input_roles(w, node, x, layout)
    W, R, B = (static(w, node, i, what) for i, what in ((1, "W"), (2, "R"), (3, "B")))
    hidden = int(a.get("hidden_size", R.shape[-1]))
    if W.shape[0] != 1 or W.shape[1] != 3 * hidden or R.shape != (1, 3 * hidden, hidden):
        raise fail(node, f"weights W {W.shape} / R {R.shape} do not fit hidden_size={hidden}")
    _zero_initial_state(w, node)
    _full_lengths(w, node, layout)
    lbr = int(a.get("linear_before_reset", 0))
    bias = None
    if B is not None:
        b = np.asarray(B, np.float32).reshape(2, 3 * hidden)           # W_b (z, r, h), R_b (z, r, h)
        bias = b if lbr else b[0] + b[1]
    w.spec.grus.append(GRULayer(units=hidden, input_dim=int(W.shape[2]), kernel=np.asarray(W[0].T, np.float32),
                                recurrent_kernel=np.asarray(R[0].T, np.float32), bias=bias, reset_after=bool(lbr),
                                return_sequences=False, name=layer_name(node, None)))
    if k > 0:
        w.spec.grus[k - 1].return_sequences = True
    if len(node.output) > 0 and node.output[0]:
        put(w, node, Seq(("N", "T", "1", "C") if layout else ("T", "1", "N", "C"), k), 0)
    if len(node.output) > 1 and node.output[1]:
        put(w, node, Vec(("N", "1", "C") if layout else ("1", "N", "C"), k), 1)


def _gru_attributes(node: Any, a: dict[str, Any]) -> None:
    direction = a.get("direction", b"forward")
    direction = direction.decode(errors="replace") if isinstance(direction, bytes) else str(direction)
    if direction == "bidirectional":
        raise fail(node, "a bidirectional GRU is not supported yet (direction=bidirectional)")
    if direction != "forward":
        raise fail(node, f"GRU direction={direction!r} is not supported (only 'forward')")
    acts = [x.decode(errors="replace") if isinstance(x, bytes) else str(x) for x in a.get("activations", [])]
    if acts and [s.lower() for s in acts] != ["sigmoid", "tanh"]:
        raise fail(node, f"GRU activations={acts} are not supported (only the default Sigmoid, Tanh)")
    for attr in ("clip", "activation_alpha", "activation_beta"):
        if attr in a:
            raise fail(node, f"GRU attribute {attr} is not supported")


def _bind_input_roles(w: Walk, node: Any, x: Seq, layout: int) -> None:
    """The first GRU says which input axis is time; ``x`` must have the axes the node's layout reads."""
    want = ("N", "T", "C") if layout else ("T", "N", "C")
    roles = tuple("N" if (r == "1" and w.batch_one) else r for r in x.roles)
    if any(r in ("a", "b") for r in roles):
        if sorted(r for r in roles if r != "C") != ["a", "b"] or roles[2] != "C":
            raise fail(node, f"its input has axes {x.roles}; expected (time, batch, features) or (batch, time, "
                              "features)")
        mapping = {roles[0]: want[0], roles[1]: want[1]}
        w.time_axis = 0 if mapping["a"] == "T" else 1
        _rename_input_roles(w, mapping)
        roles = tuple(mapping.get(r, r) for r in roles)
    if roles != want:
        raise fail(node, f"its input axes are {roles}, but layout={layout} reads {want}")


def _rename_input_roles(w: Walk, mapping: dict[str, str]) -> None:
    for name, v in list(w.values.items()):
        if any(r in mapping for r in v.roles):
            w.values[name] = replace(v, roles=tuple(mapping.get(r, r) for r in v.roles))


def _zero_initial_state(w: Walk, node: Any) -> None:
    h0 = static(w, node, 5, "initial_h")
    if h0 is not None and np.any(np.asarray(h0) != 0):
        raise fail(node, "a non-zero initial_h is not supported (the runtime starts every sequence from zeros)")


def _full_lengths(w: Walk, node: Any, layout: int) -> None:
    lens = static(w, node, 4, "sequence_lens")
    if lens is None:
        return
    t = w.shapes[node.input[0]][1 if layout else 0]
    if np.any(np.asarray(lens) != t):
        raise fail(node, "sequence_lens shorter than the input is not supported (pass lengths to edge-gru "
                          "instead: `run --lengths` / the data file's `lengths` array)")


__all__ = ["SUPPORTED_OPS", "finish", "precheck", "walk_graph"]
