"""ONNX mutators: protobuf-level damage a hostile or broken exporter could leave (ops swapped, attributes changed
or dropped, initializers reshaped or emptied, nodes removed, inputs rewired, huge declared sizes), and raw bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fuzz.mutate_data import Mutation, Rng

_OPS = ("LSTM", "RNN", "Tanh", "Mul", "Loop", "If", "Scan", "Relu", "Softmax", "Gemm", "Gather", "Reshape", "GRU",
        "Identity", "Abs")
_ATTRS = {"hidden_size": [0, 1, -1, 7, 2**31 - 1], "linear_before_reset": [0, 2, -1], "layout": [1, 2, -5],
          "direction": [b"reverse", b"bidirectional", b"", b"\xff\xfe"], "axis": [0, 5, -9, 2**40],
          "transB": [0, 3], "perm": [[0, 1], [2, 2, 2], [5, 0, 1]], "clip": [0.5], "activations": [[b"Relu"]]}


def onnx_mutation(rng: Rng, seed: Path, case: Path) -> Mutation:
    """One structural change to the seed ONNX model (one in five: a byte-level change instead)."""
    from fuzz.mutate import byte_mutation

    if rng.random() < 0.2:
        return byte_mutation(rng, seed, case)
    import onnx

    model = onnx.load_from_string(seed.read_bytes())
    g = model.graph
    op = str(rng.choice(["op_type", "attribute", "drop_attribute", "initializer", "drop_node", "rewire", "dims",
                         "input_shape", "output", "opset"]))
    node = g.node[int(rng.integers(len(g.node)))]
    what = f"onnx: {op}"
    if op == "op_type":
        node.op_type = str(rng.choice(_OPS))
        what += f" of {node.name!r} -> {node.op_type}"
    elif op in ("attribute", "drop_attribute") and node.attribute:
        a = node.attribute[int(rng.integers(len(node.attribute)))]
        if op == "drop_attribute":
            node.attribute.remove(a)
        else:
            choices = _ATTRS.get(a.name, [0, -1, 99])
            value = choices[int(rng.integers(len(choices)))]
            node.attribute.remove(a)
            node.attribute.append(onnx.helper.make_attribute(a.name, value))
        what += f" {a.name} of {node.name!r}"
    elif op == "initializer" and g.initializer:
        t = g.initializer[int(rng.integers(len(g.initializer)))]
        arr = onnx.numpy_helper.to_array(t)
        change = str(rng.choice(["nan", "transpose", "empty", "huge", "int"]))
        if change == "nan" and arr.dtype.kind == "f" and arr.size:
            arr = arr.copy()
            arr.flat[int(rng.integers(arr.size))] = np.nan
        elif change == "transpose":
            arr = arr.T.copy()
        elif change == "empty":
            arr = np.zeros((0,), arr.dtype)
        elif change == "huge" and arr.dtype.kind == "f":
            arr = arr * np.float32(1e30)
        else:
            arr = arr.astype(np.int64)
        t.CopyFrom(onnx.numpy_helper.from_array(arr, t.name))
        what += f" {t.name!r} {change}"
    elif op == "drop_node":
        g.node.remove(node)
        what += f" {node.name!r} removed"
    elif op == "rewire" and node.input:
        names = [o for n in g.node for o in n.output] + [t.name for t in g.initializer] + ["", "nope"]
        k = int(rng.integers(len(node.input)))
        node.input[k] = str(names[int(rng.integers(len(names)))])
        what += f" input {k} of {node.name!r} -> {node.input[k]!r}"
    elif op == "dims" and g.initializer:
        t = g.initializer[int(rng.integers(len(g.initializer)))]
        t.dims[:] = [int(rng.choice([2**31, 2**40, 0, 3]))] + list(t.dims[1:])
        what += f" of {t.name!r} -> {list(t.dims)}"
    elif op == "input_shape":
        dims = g.input[0].type.tensor_type.shape.dim
        d = dims[int(rng.integers(len(dims)))]
        d.dim_value = int(rng.choice([0, 1, 2**31, 5000]))
        what += f" {d.dim_value}"
    elif op == "output" and g.output:
        g.output[0].name = str(rng.choice(["nope", g.input[0].name, node.output[0] if node.output else "x"]))
        what += f" -> {g.output[0].name!r}"
    else:
        model.opset_import[0].version = int(rng.choice([1, 6, 99]))
        what = f"onnx: opset -> {model.opset_import[0].version}"
    out = case / seed.name
    data = model.SerializeToString()
    if data == seed.read_bytes():                 # a choice that changed nothing (no attribute to change): bytes
        return byte_mutation(rng, seed, case)
    out.write_bytes(data)
    return out, what


__all__ = ["onnx_mutation"]
