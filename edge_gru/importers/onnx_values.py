"""The roles of an ONNX graph's tensors during the walk (see :mod:`edge_gru.importers.onnx_walk`), the walk's
state, and the helpers every node reader uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge_gru.errors import UnsupportedModelError
from edge_gru.spec import ModelSpec


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


def fail(node: Any, what: str) -> UnsupportedModelError:
    """The refusal naming ``node`` and its op."""
    return UnsupportedModelError(f"ONNX node {node.name or node.output[0]!r} ({node.op_type}): {what}")


def attrs(node: Any) -> dict[str, Any]:
    """A node's attributes as Python values."""
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def static(w: Walk, node: Any, i: int, what: str) -> np.ndarray | None:
    """Input ``i`` of ``node`` as a constant (``None`` when absent); data there is refused."""
    if i >= len(node.input) or not node.input[i]:
        return None
    name = node.input[i]
    if name in w.values:
        raise fail(node, f"its {what} depends on the model input; edge-gru needs it constant")
    return w.static[name]


def value(w: Walk, node: Any, i: int = 0) -> Value:
    """The role of input ``i`` of ``node``, which must be on the data path."""
    name = node.input[i] if i < len(node.input) else ""
    if name not in w.values:
        raise fail(node, f"input {i} is constant where edge-gru expects the model's data")
    return w.values[name]


def put(w: Walk, node: Any, v: Value, i: int = 0) -> None:
    """Give output ``i`` of ``node`` its role."""
    w.values[node.output[i]] = v


def replace_role(roles: tuple[str, ...], axis: int, role: str) -> tuple[str, ...]:
    """``roles`` with the one at ``axis`` replaced."""
    return roles[:axis] + (role,) + roles[axis + 1:]


ROLE_NAMES = {"N": "batch", "T": "time", "C": "feature", "a": "first input", "b": "second input"}


def layer_name(node: Any, weight: str | None) -> str:
    """A readable layer name: a PyTorch parameter's module path (``fc.weight`` -> ``fc``), else the node's name."""
    if weight and weight.endswith(".weight"):
        return weight[: -len(".weight")]
    name = (node.name or node.output[0]).strip("/")
    return name.replace("/", ".") or node.op_type.lower()


__all__ = ["ROLE_NAMES", "Ids", "Seq", "States", "Value", "Vec", "Walk", "attrs", "fail", "layer_name", "put",
           "replace_role", "static", "value"]
