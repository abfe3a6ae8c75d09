"""Read a ``.tflite`` file without TensorFlow: ops by type, tensors, quantization, MACs, float ops."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_gru.errors import ModelFileError
from edge_gru.tflite.check import check_flatbuffer
from edge_gru.tflite.schema import schema

INTEGER_TYPES = {"INT8", "INT16", "INT32", "INT64", "UINT8", "BOOL"}


@dataclass
class OpInfo:
    """One operator: its type, input/output shapes and types, and its multiply-accumulates."""

    type: str
    inputs: list[tuple[tuple[int, ...], str]]
    outputs: list[tuple[tuple[int, ...], str]]
    macs: int = 0

    @property
    def out_elements(self) -> int:
        return int(sum(int(np.prod(s)) if s else 1 for s, _ in self.outputs))


@dataclass
class TFLiteInfo:
    """What :func:`inspect_tflite` found."""

    path: str
    size_bytes: int
    ops: list[OpInfo]
    n_tensors: int
    inputs: list[dict]
    outputs: list[dict]
    op_counts: dict[str, int] = field(default_factory=dict)
    float_ops: list[str] = field(default_factory=list)

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    def describe(self) -> list[str]:
        """Human-readable lines (``edge-gru inspect model.tflite``)."""
        lines = [f"{self.path}: {self.size_bytes:,} bytes, {len(self.ops)} operators, {self.n_tensors} tensors, "
                 f"{self.macs:,} MACs per invoke"]
        for kind, det in (("input", self.inputs), ("output", self.outputs)):
            for d in det:
                lines.append(f"  {kind} {d['name']!r}: shape {d['shape']} {d['type']}, scale {d['scale']:.6g}, "
                             f"zero point {d['zero_point']}")
        lines.append("  operators by type:")
        for k, v in sorted(self.op_counts.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {k:<18} {v}")
        lines.append("  float operators: " + (", ".join(self.float_ops) if self.float_ops else "none (full integer)"))
        return lines


def inspect_tflite(path: str | Path) -> TFLiteInfo:
    """Parse a ``.tflite`` (validated first).

    Raises:
        ModelFileError: Missing, corrupt or not a TFLite file.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{p}: no such file")
    data = p.read_bytes()
    check_flatbuffer(data, str(p))
    fb = schema()
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(data, 0))
    op_names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
    sg = model.subgraphs[0]
    tensors = sg.tensors or []

    def tinfo(i: int) -> tuple[tuple[int, ...], str]:
        t = tensors[i]
        shape = tuple(int(s) for s in (t.shape if t.shape is not None else []))
        return shape, type_names.get(t.type, str(t.type))

    ops: list[OpInfo] = []
    float_ops: list[str] = []
    for op in sg.operators or []:
        oc = model.operatorCodes[op.opcodeIndex]
        name = op_names.get(max(oc.builtinCode, oc.deprecatedBuiltinCode), f"OP_{oc.builtinCode}")
        ins = [tinfo(i) for i in (op.inputs if op.inputs is not None else []) if i >= 0]
        outs = [tinfo(i) for i in (op.outputs if op.outputs is not None else []) if i >= 0]
        info = OpInfo(name, ins, outs)
        if name == "FULLY_CONNECTED" and len(ins) >= 2 and len(ins[1][0]) == 2:
            batch = int(np.prod(ins[0][0])) // max(ins[1][0][1], 1)
            info.macs = batch * ins[1][0][0] * ins[1][0][1]
        if any(t not in INTEGER_TYPES for _, t in ins + outs):
            float_ops.append(name)
        ops.append(info)

    def io(idx: int) -> dict:
        t = tensors[idx]
        q = t.quantization
        scale = float(q.scale[0]) if q is not None and q.scale is not None and len(q.scale) else 0.0
        zp = int(q.zeroPoint[0]) if q is not None and q.zeroPoint is not None and len(q.zeroPoint) else 0
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
        return {"name": name, "shape": list(tinfo(idx)[0]), "type": tinfo(idx)[1], "scale": scale, "zero_point": zp}

    return TFLiteInfo(str(p), len(data), ops, len(tensors), [io(i) for i in sg.inputs], [io(i) for i in sg.outputs],
                      dict(Counter(op.type for op in ops)), sorted(set(float_ops)))


__all__ = ["OpInfo", "TFLiteInfo", "inspect_tflite"]
