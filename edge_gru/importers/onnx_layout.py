"""Nodes that move a tensor's axes or pick part of it: layout ops, the last step of a sequence, the last states of
stacked layers (PyTorch's ``h_n``), and the embedding lookup (see :mod:`edge_gru.importers.onnx_walk`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from edge_gru.importers.onnx_values import (
    ROLE_NAMES,
    Ids,
    Seq,
    States,
    Value,
    Vec,
    Walk,
    attrs,
    fail,
    layer_name,
    put,
    replace_role,
    static,
    value,
)
from edge_gru.spec import EmbeddingLayer


def read_passthrough(w: Walk, node: Any) -> None:
    v = value(w, node)
    if node.op_type == "Cast":
        from onnx import TensorProto

        to = attrs(node).get("to")
        ok = (TensorProto.INT32, TensorProto.INT64) if isinstance(v, Ids) else (TensorProto.FLOAT,)
        if to not in ok:
            raise fail(node, f"a cast to ONNX type {to} on the data path is not supported")
    if node.op_type == "Dropout" and len(node.input) > 2 and node.input[2]:
        mode = static(w, node, 2, "training_mode")
        if mode is not None and bool(np.asarray(mode).reshape(-1)[0]):
            raise fail(node, "Dropout in training mode (export the model after model.eval())")
    put(w, node, v)


def read_layout(w: Walk, node: Any) -> None:
    v = value(w, node)
    src, dst = w.shapes[node.input[0]], w.shapes[node.output[0]]
    op = node.op_type
    if op == "Transpose":
        perm = attrs(node).get("perm", list(range(len(src)))[::-1])
        put(w, node, _with_roles(w, node, v, tuple(v.roles[p] for p in perm)))
        return
    if op == "Unsqueeze":
        axes = attrs(node).get("axes")
        axes = list(axes) if axes is not None else [int(a) for a in np.asarray(static(w, node, 1, "axes")).ravel()]
        roles = list(v.roles)
        for a in sorted(a % len(dst) for a in axes):
            roles.insert(a, "1")
        put(w, node, _with_roles(w, node, v, tuple(roles)))
        return
    if op == "Squeeze":
        axes = attrs(node).get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = [int(a) for a in np.asarray(static(w, node, 1, "axes")).ravel()]
        drop = {a % len(src) for a in axes} if axes is not None else {i for i, s in enumerate(src) if s == 1}
        if any(src[a] != 1 for a in drop):
            raise fail(node, "squeezes an axis longer than 1")
        put(w, node, _drop_axes(w, node, v, drop))
        return
    put(w, node, _reshape(w, node, v, src, dst))                 # Reshape, Flatten


def _reshape(w: Walk, node: Any, v: Value, src: tuple[int, ...], dst: tuple[int, ...]) -> Value:
    """A reshape that only adds or removes size-1 axes (anything that merges or splits axes is refused)."""
    if [s for s in src if s != 1] != [s for s in dst if s != 1]:
        raise fail(node, f"reshapes {src} to {dst}, which merges or splits axes (only size-1 axes may come or go)")
    long_roles = [r for r, s in zip(v.roles, src, strict=True) if s != 1]
    short = [r for r, s in zip(v.roles, src, strict=True) if s == 1 and r not in ("1", "S")]
    ones = [i for i, s in enumerate(dst) if s == 1]
    for gone in ("L", "T", "N", "b", "a", "C"):                     # fewer size-1 axes out: these go first
        while len(short) > len(ones) and gone in short:
            short.remove(gone)
    if len(short) > len(ones):
        raise fail(node, f"reshapes {src} to {dst}, dropping an axis edge-gru needs")
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
        raise fail(node, "drops the stacked-layers axis of h_n without choosing a layer")
    if isinstance(v, Seq) and dropped & {"L", "T"}:
        if v.layer < 0:
            raise fail(node, "takes the last step of the model input, not of a GRU output")
        return Vec(roles, v.layer)
    return _with_roles(w, node, v, roles)


def _with_roles(w: Walk, node: Any, v: Value, roles: tuple[str, ...]) -> Value:
    return replace(v, roles=roles)


def read_gather(w: Walk, node: Any) -> None:
    axis = int(attrs(node).get("axis", 0))
    if node.input[0] not in w.values:                               # a table indexed by the data: an embedding
        _embedding(w, node, axis)
        return
    v = value(w, node)
    idx = static(w, node, 1, "indices")
    axis %= len(v.roles)
    role = v.roles[axis]
    size = w.shapes[node.input[0]][axis]
    picks = sorted({int(i) % size for i in np.asarray(idx).ravel()})
    if isinstance(v, States) and role == "S":
        if len(picks) != 1:
            raise fail(node, "selects several layers' states of h_n")
        layer = v.layers[picks[0]]
        roles = v.roles[:axis] + v.roles[axis + 1:] if np.ndim(idx) == 0 else replace_role(v.roles, axis, "1")
        put(w, node, Vec(roles, layer))
        return
    if role in ("T", "L") and isinstance(v, Seq):
        if picks != [size - 1]:
            raise fail(node, f"selects step {picks} of {size}; edge-gru's head reads the last step")
        if np.ndim(idx) == 0:
            put(w, node, _drop_axes(w, node, v, {axis}))
        else:
            put(w, node, replace(v, roles=replace_role(v.roles, axis, "L")))
        return
    if size == 1 and role in ("1", "N"):
        put(w, node, _drop_axes(w, node, v, {axis}) if np.ndim(idx) == 0 else v)
        return
    raise fail(node, f"a Gather along the {ROLE_NAMES.get(role, role)} axis is not supported")


def _embedding(w: Walk, node: Any, axis: int) -> None:
    ids = value(w, node, 1)
    table = w.static[node.input[0]]
    if not isinstance(ids, Ids) or axis != 0 or table.ndim != 2:
        raise fail(node, "a Gather from a constant is supported as an embedding lookup only (table[ids])")
    if w.spec.embedding is not None or w.spec.grus:
        raise fail(node, "an embedding is supported only in front of the first GRU")
    w.spec.embedding = EmbeddingLayer(vocab=int(table.shape[0]), dim=int(table.shape[1]),
                                      table=np.asarray(table, np.float32), mask_zero=False,
                                      name=layer_name(node, node.input[0]))
    w.spec.features = int(table.shape[1])
    put(w, node, Seq((*ids.roles, "C"), -1))


def read_slice(w: Walk, node: Any) -> None:
    v = value(w, node)
    src = w.shapes[node.input[0]]
    starts, ends = static(w, node, 1, "starts"), static(w, node, 2, "ends")
    axes, steps = static(w, node, 3, "axes"), static(w, node, 4, "steps")
    if starts is None:                                                 # opset < 10: attributes
        a = attrs(node)
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
            out = Vec(tuple(replace_role(tuple(roles), ax, "1")), v.layers[kept[0]])
            roles = list(out.roles)
        else:
            raise fail(node, f"slices steps {kept[:4]}{'...' if len(kept) > 4 else ''} of the "
                              f"{ROLE_NAMES.get(roles[ax], roles[ax])} axis; edge-gru's head reads the last step")
    put(w, node, replace(out, roles=tuple(roles)))


def read_concat(w: Walk, node: Any) -> None:
    parts = [value(w, node, i) for i in range(len(node.input))]
    axis = int(attrs(node)["axis"]) % len(parts[0].roles)
    if not all(isinstance(p, Vec) and p.dense == 0 and p.roles == parts[0].roles for p in parts) \
            or parts[0].roles[axis] != "1":
        raise fail(node, "a Concat on the data path is supported only to stack GRU states (h_n)")
    put(w, node, States(replace_role(parts[0].roles, axis, "S"), tuple(p.gru for p in parts)))


__all__ = ["read_concat", "read_gather", "read_layout", "read_passthrough", "read_slice"]
