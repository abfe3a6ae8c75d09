"""The dense head: ``Gemm``, ``MatMul`` + ``Add``, ``Relu``/``Sigmoid``/``Softmax`` on a GRU's last state (see
:mod:`edge_gru.importers.onnx_walk`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from edge_gru.importers.onnx_values import Seq, Value, Vec, Walk, attrs, fail, layer_name, put, static, value
from edge_gru.spec import DenseLayer

ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Softmax": "softmax"}

def _head_input(w: Walk, node: Any, v: Value) -> Vec:
    if isinstance(v, Seq):
        raise fail(node, "is applied to every timestep (an output per step), which edge-gru does not support yet; "
                          "apply the head to the last step or h_n[-1]")
    if not isinstance(v, Vec):
        raise fail(node, "is applied to something other than a GRU's last state")
    if v.dense != len(w.spec.dense):
        raise fail(node, "reads an earlier head layer's output (a branch edge-gru cannot represent)")
    return v


def read_matmul(w: Walk, node: Any) -> None:
    v = _head_input(w, node, value(w, node))
    if v.roles[-1] != "C" or any(r not in ("N", "1") for r in v.roles[:-1]):
        raise fail(node, f"multiplies a tensor with axes {v.roles}; expected (batch, features)")
    if node.op_type == "Gemm":
        a = attrs(node)
        if a.get("transA", 0):
            raise fail(node, "Gemm with transA=1 on the data is not supported")
        B = np.asarray(static(w, node, 1, "weights"), np.float32)
        kernel = (B.T if a.get("transB", 0) else B) * np.float32(a.get("alpha", 1.0))
        C = static(w, node, 2, "bias")
        bias = None if C is None else _bias_vector(node, np.asarray(C, np.float32) * np.float32(a.get("beta", 1.0)),
                                                   kernel.shape[1])
    else:
        kernel = np.asarray(static(w, node, 1, "weights"), np.float32)
        bias = None
    if kernel.ndim != 2:
        raise fail(node, f"weights of shape {kernel.shape}; a dense layer needs a matrix")
    width = w.spec.dense[-1].units if w.spec.dense else w.spec.grus[v.gru].units
    if kernel.shape[0] != width:
        raise fail(node, f"weights of shape {kernel.shape} for {width} inputs")
    w.spec.dense.append(DenseLayer(units=int(kernel.shape[1]), input_dim=width, kernel=np.ascontiguousarray(kernel),
                                   bias=bias, activation="linear", name=layer_name(node, node.input[1])))
    put(w, node, Vec(v.roles, v.gru, len(w.spec.dense), act=False, addable=node.op_type == "MatMul"))


def _bias_vector(node: Any, b: np.ndarray, units: int) -> np.ndarray:
    if b.size not in (1, units) or (b.ndim > 1 and b.shape[-1] != b.size):
        raise fail(node, f"bias of shape {b.shape} for {units} units")
    return np.ascontiguousarray(np.broadcast_to(b.reshape(-1), (units,)), np.float32)


def read_add(w: Walk, node: Any) -> None:
    i = 0 if node.input[0] in w.values else 1
    if node.input[1 - i] in w.values:
        raise fail(node, "adds two tensors of the data path (a residual branch edge-gru cannot represent)")
    v = value(w, node, i)
    if not isinstance(v, Vec) or not v.addable or v.dense != len(w.spec.dense):
        raise fail(node, "an Add is supported only as the bias of a MatMul head layer")
    layer = w.spec.dense[-1]
    layer.bias = _bias_vector(node, np.asarray(w.static[node.input[1 - i]], np.float32), layer.units)
    put(w, node, replace(v, addable=False))


def read_activation(w: Walk, node: Any) -> None:
    v = _head_input(w, node, value(w, node))
    act = ACTIVATIONS[node.op_type]
    if v.dense == 0:
        raise fail(node, f"{node.op_type} on the GRU state (before any Linear/Gemm) cannot be represented")
    if v.act:
        raise fail(node, f"a second activation ({node.op_type}) on head layer {w.spec.dense[-1].name!r}")
    if act == "softmax":
        axis = int(attrs(node).get("axis", -1)) % len(v.roles)
        if v.roles[axis] != "C":
            raise fail(node, "Softmax over an axis other than the features")
    w.spec.dense[-1].activation = act
    put(w, node, replace(v, act=True, addable=False))


__all__ = ["ACTIVATIONS", "read_activation", "read_add", "read_matmul"]
