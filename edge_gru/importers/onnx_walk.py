"""Read the GRU network out of an ONNX graph: every tensor gets a *role*, every node must fit one.

The walk follows the data from the one graph input to the one output. A tensor that does not depend on
the input's values (initializers, ``Constant``, shape arithmetic) is *static*: its value is known (the
caller evaluates the graph once on a probe input, see :mod:`edge_gru.importers.onnx_import`). A tensor that
does is one of

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

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from edge_gru.errors import UnsupportedModelError
from edge_gru.spec import DenseLayer, EmbeddingLayer, GRULayer, ModelSpec

#: Ops that only move axes around (their roles follow the shapes).
LAYOUT_OPS = ("Transpose", "Squeeze", "Unsqueeze", "Reshape", "Flatten", "Identity", "Dropout", "Cast")
HEAD_OPS = ("Gemm", "MatMul", "Add", "Relu", "Sigmoid", "Softmax")
SUPPORTED_OPS = ("GRU", "Gather", "Slice", "Concat", "Shape", *LAYOUT_OPS, *HEAD_OPS)
_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Softmax": "softmax"}


@dataclass(frozen=True)
class Seq:
    """A sequence tensor. ``layer``: -1 for the model input (or its embedding), k for GRU k's output."""

    roles: tuple[str, ...]
    layer: int


@dataclass(frozen=True)
class Vec:
    """One vector per sequence: GRU ``gru``'s last state after ``dense`` head layers (``act``: activation applied;
    ``addable``: the last layer is a bias-less ``MatMul``, whose bias a following ``Add`` may bring)."""

    roles: tuple[str, ...]
    gru: int
    dense: int = 0
    act: bool = False
    addable: bool = False


@dataclass(frozen=True)
class States:
    """``Concat`` of GRU last states along their direction axis (PyTorch's ``h_n``); ``layers`` in order."""

    roles: tuple[str, ...]
    layers: tuple[int, ...]


@dataclass(frozen=True)
class Ids:
    """Token ids (an integer graph input)."""

    roles: tuple[str, ...]


Value = Seq | Vec | States | Ids


@dataclass
class Walk:
    """State of one walk over a graph (see :func:`walk_graph`)."""

    spec: ModelSpec
    static: dict[str, np.ndarray]          # name -> value (initializers, constants, shape arithmetic)
    shapes: dict[str, tuple[int, ...]]     # name -> shape of every tensor on the probe input
    values: dict[str, Value] = field(default_factory=dict)
    batch_one: bool = False                # the batch axis is fixed at 1 (it may vanish in a reshape)
    time_axis: int | None = None           # axis of the graph input that is time (found at the first GRU)
    gru_nodes: list[Any] = field(default_factory=list)


def walk_graph(graph: Any, input_name: str, static: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]],
               batch_one: bool, linear_before_reset: dict[str, int] | None = None) -> Walk:
    """Read ``graph`` into a :class:`ModelSpec` (``w.spec``; not yet checked against onnxruntime).

    Args:
        graph: The ``onnx.GraphProto``.
        input_name: Its one data input.
        static: Values of the static tensors.
        shapes: Shapes of every tensor on the probe input.
        batch_one: The input's batch size is fixed at 1.
        linear_before_reset: Node name -> value to use instead of the node's attribute.

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
        _node(w, node, linear_before_reset or {})
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
            raise _fail(node, f"an {node.op_type} layer is not supported (edge-gru runs GRU networks)")
        if node.op_type == "GRU":
            _gru_attributes(node, _attrs(node))


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


def _fail(node: Any, what: str) -> UnsupportedModelError:
    return UnsupportedModelError(f"ONNX node {node.name or node.output[0]!r} ({node.op_type}): {what}")


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _static(w: Walk, node: Any, i: int, what: str) -> np.ndarray | None:
    """Input ``i`` of ``node`` as a constant (``None`` when absent); data there is refused."""
    if i >= len(node.input) or not node.input[i]:
        return None
    name = node.input[i]
    if name in w.values:
        raise _fail(node, f"its {what} depends on the model input; edge-gru needs it constant")
    return w.static[name]


def _node(w: Walk, node: Any, lbr: dict[str, int]) -> None:
    op = node.op_type
    if op == "GRU":
        _gru(w, node, lbr)
    elif op in ("Identity", "Dropout", "Cast"):
        _passthrough(w, node)
    elif op in ("Transpose", "Squeeze", "Unsqueeze", "Reshape", "Flatten"):
        _layout(w, node)
    elif op == "Gather":
        _gather(w, node)
    elif op == "Slice":
        _slice(w, node)
    elif op == "Concat":
        _concat(w, node)
    elif op in ("Gemm", "MatMul"):
        _matmul(w, node)
    elif op == "Add":
        _add(w, node)
    elif op in _ACTIVATIONS:
        _activation(w, node)
    elif op in ("LSTM", "RNN"):
        raise _fail(node, f"an {op} layer is not supported (edge-gru runs GRU networks)")
    elif op in ("Loop", "Scan"):
        raise _fail(node, "a recurrence written as an ONNX loop (tf2onnx writes Keras 3 GRUs so) is not read: "
                          "edge-gru reads GRU nodes; import the .keras model itself")
    else:
        raise _fail(node, f"op {op} is not supported on the data path (supported: {', '.join(SUPPORTED_OPS)})")


def _value(w: Walk, node: Any, i: int = 0) -> Value:
    name = node.input[i] if i < len(node.input) else ""
    if name not in w.values:
        raise _fail(node, f"input {i} is constant where edge-gru expects the model's data")
    return w.values[name]


def _set(w: Walk, node: Any, value: Value, i: int = 0) -> None:
    w.values[node.output[i]] = value


# -- layout ---------------------------------------------------------------------------------------------------------

def _passthrough(w: Walk, node: Any) -> None:
    v = _value(w, node)
    if node.op_type == "Cast":
        from onnx import TensorProto

        to = _attrs(node).get("to")
        ok = (TensorProto.INT32, TensorProto.INT64) if isinstance(v, Ids) else (TensorProto.FLOAT,)
        if to not in ok:
            raise _fail(node, f"a cast to ONNX type {to} on the data path is not supported")
    if node.op_type == "Dropout" and len(node.input) > 2 and node.input[2]:
        mode = _static(w, node, 2, "training_mode")
        if mode is not None and bool(np.asarray(mode).reshape(-1)[0]):
            raise _fail(node, "Dropout in training mode (export the model after model.eval())")
    _set(w, node, v)


def _layout(w: Walk, node: Any) -> None:
    v = _value(w, node)
    src, dst = w.shapes[node.input[0]], w.shapes[node.output[0]]
    op = node.op_type
    if op == "Transpose":
        perm = _attrs(node).get("perm", list(range(len(src)))[::-1])
        _set(w, node, _with_roles(w, node, v, tuple(v.roles[p] for p in perm)))
        return
    if op == "Unsqueeze":
        axes = _attrs(node).get("axes")
        axes = list(axes) if axes is not None else [int(a) for a in np.asarray(_static(w, node, 1, "axes")).ravel()]
        roles = list(v.roles)
        for a in sorted(a % len(dst) for a in axes):
            roles.insert(a, "1")
        _set(w, node, _with_roles(w, node, v, tuple(roles)))
        return
    if op == "Squeeze":
        axes = _attrs(node).get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = [int(a) for a in np.asarray(_static(w, node, 1, "axes")).ravel()]
        drop = {a % len(src) for a in axes} if axes is not None else {i for i, s in enumerate(src) if s == 1}
        if any(src[a] != 1 for a in drop):
            raise _fail(node, "squeezes an axis longer than 1")
        _set(w, node, _drop_axes(w, node, v, drop))
        return
    _set(w, node, _reshape(w, node, v, src, dst))                 # Reshape, Flatten


def _reshape(w: Walk, node: Any, v: Value, src: tuple[int, ...], dst: tuple[int, ...]) -> Value:
    """A reshape that only adds or removes size-1 axes (anything that merges or splits axes is refused)."""
    if [s for s in src if s != 1] != [s for s in dst if s != 1]:
        raise _fail(node, f"reshapes {src} to {dst}, which merges or splits axes (only size-1 axes may come or go)")
    long_roles = [r for r, s in zip(v.roles, src, strict=True) if s != 1]
    short = [r for r, s in zip(v.roles, src, strict=True) if s == 1 and r not in ("1", "S")]
    ones = [i for i, s in enumerate(dst) if s == 1]
    for gone in ("L", "T", "N", "b", "a", "C"):                     # fewer size-1 axes out: these go first
        while len(short) > len(ones) and gone in short:
            short.remove(gone)
    if len(short) > len(ones):
        raise _fail(node, f"reshapes {src} to {dst}, dropping an axis edge-gru needs")
    roles = ["1"] * len(dst)
    it = iter(long_roles)
    for i, s in enumerate(dst):
        if s != 1:
            roles[i] = next(it)
    for i, r in zip(ones[len(ones) - len(short):], short, strict=True):
        roles[i] = r
    dropped = {r for r, s in zip(v.roles, src, strict=True) if s == 1} - set(roles)
    return _after_drop(w, node, v, tuple(roles), dropped)


def _drop_axes(w: Walk, node: Any, v: Value, drop: set[int]) -> Value:
    roles = tuple(r for i, r in enumerate(v.roles) if i not in drop)
    return _after_drop(w, node, v, roles, {v.roles[i] for i in drop})


def _after_drop(w: Walk, node: Any, v: Value, roles: tuple[str, ...], dropped: set[str]) -> Value:
    """The value with axes ``dropped``: dropping the (last) time step of a GRU output gives its last state."""
    if "S" in dropped:
        raise _fail(node, "drops the stacked-layers axis of h_n without choosing a layer")
    if isinstance(v, Seq) and dropped & {"L", "T"}:
        if v.layer < 0:
            raise _fail(node, "takes the last step of the model input, not of a GRU output")
        return Vec(roles, v.layer)
    return _with_roles(w, node, v, roles)


def _with_roles(w: Walk, node: Any, v: Value, roles: tuple[str, ...]) -> Value:
    return replace(v, roles=roles)


# -- selection of the last step, stacked states, embeddings ----------------------------------------------------------

def _gather(w: Walk, node: Any) -> None:
    axis = int(_attrs(node).get("axis", 0))
    if node.input[0] not in w.values:                               # a table indexed by the data: an embedding
        _embedding(w, node, axis)
        return
    v = _value(w, node)
    idx = _static(w, node, 1, "indices")
    axis %= len(v.roles)
    role = v.roles[axis]
    size = w.shapes[node.input[0]][axis]
    picks = sorted({int(i) % size for i in np.asarray(idx).ravel()})
    if isinstance(v, States) and role == "S":
        if len(picks) != 1:
            raise _fail(node, "selects several layers' states of h_n")
        layer = v.layers[picks[0]]
        roles = v.roles[:axis] + v.roles[axis + 1:] if np.ndim(idx) == 0 else _replace_role(v.roles, axis, "1")
        _set(w, node, Vec(roles, layer))
        return
    if role in ("T", "L") and isinstance(v, Seq):
        if picks != [size - 1]:
            raise _fail(node, f"selects step {picks} of {size}; edge-gru's head reads the last step")
        if np.ndim(idx) == 0:
            _set(w, node, _drop_axes(w, node, v, {axis}))
        else:
            _set(w, node, replace(v, roles=_replace_role(v.roles, axis, "L")))
        return
    if size == 1 and role in ("1", "N"):
        _set(w, node, _drop_axes(w, node, v, {axis}) if np.ndim(idx) == 0 else v)
        return
    raise _fail(node, f"a Gather along the {_ROLE_NAMES.get(role, role)} axis is not supported")


_ROLE_NAMES = {"N": "batch", "T": "time", "C": "feature", "a": "first input", "b": "second input"}


def _replace_role(roles: tuple[str, ...], axis: int, role: str) -> tuple[str, ...]:
    return roles[:axis] + (role,) + roles[axis + 1:]


def _embedding(w: Walk, node: Any, axis: int) -> None:
    ids = _value(w, node, 1)
    table = w.static[node.input[0]]
    if not isinstance(ids, Ids) or axis != 0 or table.ndim != 2:
        raise _fail(node, "a Gather from a constant is supported as an embedding lookup only (table[ids])")
    if w.spec.embedding is not None or w.spec.grus:
        raise _fail(node, "an embedding is supported only in front of the first GRU")
    w.spec.embedding = EmbeddingLayer(vocab=int(table.shape[0]), dim=int(table.shape[1]),
                                      table=np.asarray(table, np.float32), mask_zero=False,
                                      name=_layer_name(node, node.input[0]))
    w.spec.features = int(table.shape[1])
    _set(w, node, Seq((*ids.roles, "C"), -1))


def _slice(w: Walk, node: Any) -> None:
    v = _value(w, node)
    src = w.shapes[node.input[0]]
    starts, ends = _static(w, node, 1, "starts"), _static(w, node, 2, "ends")
    axes, steps = _static(w, node, 3, "axes"), _static(w, node, 4, "steps")
    if starts is None:                                                 # opset < 10: attributes
        a = _attrs(node)
        starts, ends, axes = np.asarray(a["starts"]), np.asarray(a["ends"]), a.get("axes")
    axes = range(len(starts)) if axes is None else [int(x) % len(src) for x in np.asarray(axes).ravel()]
    steps = [1] * len(starts) if steps is None else np.asarray(steps).ravel()
    roles = list(v.roles)
    out = v
    for ax, s, e, st in zip(axes, np.asarray(starts).ravel(), np.asarray(ends).ravel(), steps, strict=True):
        kept = list(range(*slice(int(s), int(e), int(st)).indices(src[ax])))
        if kept == list(range(src[ax])):
            continue
        if roles[ax] in ("T", "L") and isinstance(v, Seq) and kept == [src[ax] - 1]:
            roles[ax] = "L"
        elif roles[ax] == "S" and isinstance(v, States) and len(kept) == 1:
            out = Vec(tuple(_replace_role(tuple(roles), ax, "1")), v.layers[kept[0]])
            roles = list(out.roles)
        else:
            raise _fail(node, f"slices steps {kept[:4]}{'...' if len(kept) > 4 else ''} of the "
                              f"{_ROLE_NAMES.get(roles[ax], roles[ax])} axis; edge-gru's head reads the last step")
    _set(w, node, replace(out, roles=tuple(roles)))


def _concat(w: Walk, node: Any) -> None:
    parts = [_value(w, node, i) for i in range(len(node.input))]
    axis = int(_attrs(node)["axis"]) % len(parts[0].roles)
    if not all(isinstance(p, Vec) and p.dense == 0 and p.roles == parts[0].roles for p in parts) \
            or parts[0].roles[axis] != "1":
        raise _fail(node, "a Concat on the data path is supported only to stack GRU states (h_n)")
    _set(w, node, States(_replace_role(parts[0].roles, axis, "S"), tuple(p.gru for p in parts)))


# -- the GRU node ------------------------------------------------------------------------------------------------------

def _gru(w: Walk, node: Any, lbr_override: dict[str, int]) -> None:
    a = _attrs(node)
    x = _value(w, node)
    k = len(w.spec.grus)
    _gru_attributes(node, a)
    if w.spec.dense:
        raise _fail(node, "a GRU after a head layer is not supported")
    if not isinstance(x, Seq) or x.layer != k - 1:
        raise _fail(node, f"its input is not the {'model input' if k == 0 else f'output sequence of GRU {k - 1}'}")
    layout = int(a.get("layout", 0))
    x_roles = _bind_input_roles(w, node, x, layout)
    W, R, B = (_static(w, node, i, what) for i, what in ((1, "W"), (2, "R"), (3, "B")))
    hidden = int(a.get("hidden_size", R.shape[-1]))
    if W.shape[0] != 1 or W.shape[1] != 3 * hidden or R.shape != (1, 3 * hidden, hidden):
        raise _fail(node, f"weights W {W.shape} / R {R.shape} do not fit hidden_size={hidden}")
    _zero_initial_state(w, node)
    _full_lengths(w, node, x_roles, layout)
    name = node.name or node.output[0]
    lbr = int(lbr_override.get(name, a.get("linear_before_reset", 0)))
    bias = None
    if B is not None:
        b = np.asarray(B, np.float32).reshape(2, 3 * hidden)           # W_b (z, r, h), R_b (z, r, h)
        bias = b if lbr else b[0] + b[1]
    w.spec.grus.append(GRULayer(units=hidden, input_dim=int(W.shape[2]), kernel=np.asarray(W[0].T, np.float32),
                                recurrent_kernel=np.asarray(R[0].T, np.float32), bias=bias, reset_after=bool(lbr),
                                return_sequences=False, name=_layer_name(node, None)))
    if k > 0:
        w.spec.grus[k - 1].return_sequences = True
    w.gru_nodes.append(node)
    if len(node.output) > 0 and node.output[0]:
        _set(w, node, Seq(("N", "T", "1", "C") if layout else ("T", "1", "N", "C"), k), 0)
    if len(node.output) > 1 and node.output[1]:
        _set(w, node, Vec(("N", "1", "C") if layout else ("1", "N", "C"), k), 1)


def _gru_attributes(node: Any, a: dict[str, Any]) -> None:
    direction = a.get("direction", b"forward")
    direction = direction.decode(errors="replace") if isinstance(direction, bytes) else str(direction)
    if direction == "bidirectional":
        raise _fail(node, "a bidirectional GRU is not supported yet (direction=bidirectional)")
    if direction != "forward":
        raise _fail(node, f"GRU direction={direction!r} is not supported (only 'forward')")
    acts = [x.decode(errors="replace") if isinstance(x, bytes) else str(x) for x in a.get("activations", [])]
    if acts and [s.lower() for s in acts] != ["sigmoid", "tanh"]:
        raise _fail(node, f"GRU activations={acts} are not supported (only the default Sigmoid, Tanh)")
    for attr in ("clip", "activation_alpha", "activation_beta"):
        if attr in a:
            raise _fail(node, f"GRU attribute {attr} is not supported")


def _bind_input_roles(w: Walk, node: Any, x: Seq, layout: int) -> tuple[str, ...]:
    """The first GRU says which input axis is time; returns the roles of ``x`` as the node reads them."""
    want = ("N", "T", "C") if layout else ("T", "N", "C")
    roles = tuple("N" if (r == "1" and w.batch_one) else r for r in x.roles)
    if any(r in ("a", "b") for r in roles):
        if sorted(r for r in roles if r != "C") != ["a", "b"] or roles[2] != "C":
            raise _fail(node, f"its input has axes {x.roles}; expected (time, batch, features) or (batch, time, "
                              "features)")
        mapping = {roles[0]: want[0], roles[1]: want[1]}
        w.time_axis = 0 if mapping["a"] == "T" else 1
        _rename_input_roles(w, mapping)
        roles = tuple(mapping.get(r, r) for r in roles)
    if roles != want:
        raise _fail(node, f"its input axes are {roles}, but layout={layout} reads {want}")
    return roles


def _rename_input_roles(w: Walk, mapping: dict[str, str]) -> None:
    for name, v in list(w.values.items()):
        if any(r in mapping for r in v.roles):
            w.values[name] = replace(v, roles=tuple(mapping.get(r, r) for r in v.roles))


def _zero_initial_state(w: Walk, node: Any) -> None:
    h0 = _static(w, node, 5, "initial_h")
    if h0 is not None and np.any(np.asarray(h0) != 0):
        raise _fail(node, "a non-zero initial_h is not supported (the runtime starts every sequence from zeros)")


def _full_lengths(w: Walk, node: Any, roles: tuple[str, ...], layout: int) -> None:
    lens = _static(w, node, 4, "sequence_lens")
    if lens is None:
        return
    t = w.shapes[node.input[0]][1 if layout else 0]
    if np.any(np.asarray(lens) != t):
        raise _fail(node, "sequence_lens shorter than the input is not supported (pass lengths to edge-gru "
                          "instead: `run --lengths` / the data file's `lengths` array)")


# -- the dense head --------------------------------------------------------------------------------------------------

def _head_input(w: Walk, node: Any, v: Value) -> Vec:
    if isinstance(v, Seq):
        raise _fail(node, "is applied to every timestep (an output per step), which edge-gru does not support yet; "
                          "apply the head to the last step or h_n[-1]")
    if not isinstance(v, Vec):
        raise _fail(node, "is applied to something other than a GRU's last state")
    if v.dense != len(w.spec.dense):
        raise _fail(node, "reads an earlier head layer's output (a branch edge-gru cannot represent)")
    return v


def _matmul(w: Walk, node: Any) -> None:
    v = _head_input(w, node, _value(w, node))
    if v.roles[-1] != "C" or any(r not in ("N", "1") for r in v.roles[:-1]):
        raise _fail(node, f"multiplies a tensor with axes {v.roles}; expected (batch, features)")
    if node.op_type == "Gemm":
        a = _attrs(node)
        if a.get("transA", 0):
            raise _fail(node, "Gemm with transA=1 on the data is not supported")
        B = np.asarray(_static(w, node, 1, "weights"), np.float32)
        kernel = (B.T if a.get("transB", 0) else B) * np.float32(a.get("alpha", 1.0))
        C = _static(w, node, 2, "bias")
        bias = None if C is None else _bias_vector(node, np.asarray(C, np.float32) * np.float32(a.get("beta", 1.0)),
                                                   kernel.shape[1])
    else:
        kernel = np.asarray(_static(w, node, 1, "weights"), np.float32)
        bias = None
    if kernel.ndim != 2:
        raise _fail(node, f"weights of shape {kernel.shape}; a dense layer needs a matrix")
    width = w.spec.dense[-1].units if w.spec.dense else w.spec.grus[v.gru].units
    if kernel.shape[0] != width:
        raise _fail(node, f"weights of shape {kernel.shape} for {width} inputs")
    w.spec.dense.append(DenseLayer(units=int(kernel.shape[1]), input_dim=width, kernel=np.ascontiguousarray(kernel),
                                   bias=bias, activation="linear", name=_layer_name(node, node.input[1])))
    _set(w, node, Vec(v.roles, v.gru, len(w.spec.dense), act=False, addable=node.op_type == "MatMul"))


def _bias_vector(node: Any, b: np.ndarray, units: int) -> np.ndarray:
    if b.size not in (1, units) or (b.ndim > 1 and b.shape[-1] != b.size):
        raise _fail(node, f"bias of shape {b.shape} for {units} units")
    return np.ascontiguousarray(np.broadcast_to(b.reshape(-1), (units,)), np.float32)


def _add(w: Walk, node: Any) -> None:
    i = 0 if node.input[0] in w.values else 1
    if node.input[1 - i] in w.values:
        raise _fail(node, "adds two tensors of the data path (a residual branch edge-gru cannot represent)")
    v = _value(w, node, i)
    if not isinstance(v, Vec) or not v.addable or v.dense != len(w.spec.dense):
        raise _fail(node, "an Add is supported only as the bias of a MatMul head layer")
    layer = w.spec.dense[-1]
    layer.bias = _bias_vector(node, np.asarray(w.static[node.input[1 - i]], np.float32), layer.units)
    _set(w, node, replace(v, addable=False))


def _activation(w: Walk, node: Any) -> None:
    v = _head_input(w, node, _value(w, node))
    act = _ACTIVATIONS[node.op_type]
    if v.dense == 0:
        raise _fail(node, f"{node.op_type} on the GRU state (before any Linear/Gemm) cannot be represented")
    if v.act:
        raise _fail(node, f"a second activation ({node.op_type}) on head layer {w.spec.dense[-1].name!r}")
    if act == "softmax":
        axis = int(_attrs(node).get("axis", -1)) % len(v.roles)
        if v.roles[axis] != "C":
            raise _fail(node, "Softmax over an axis other than the features")
    w.spec.dense[-1].activation = act
    _set(w, node, replace(v, act=True, addable=False))


def _layer_name(node: Any, weight: str | None) -> str:
    """A readable layer name: a PyTorch parameter's module path (``fc.weight`` -> ``fc``), else the node's name."""
    if weight and weight.endswith(".weight"):
        return weight[: -len(".weight")]
    name = (node.name or node.output[0]).strip("/")
    return name.replace("/", ".") or node.op_type.lower()


__all__ = ["SUPPORTED_OPS", "Ids", "Seq", "States", "Vec", "Walk", "finish", "precheck", "walk_graph"]
