"""Check a ``.tflite`` file before any interpreter sees it.

LiteRT and TFLite Micro trust the flatbuffer: an operator input index of -1 where an input is required
crashes them (SIGSEGV), a negative or 3.4e38 quantization scale aborts them (SIGABRT). Every table is
decoded here with the schema's Python object API and checked: cross references (tensor, buffer, operator
code indices), tensor types and shapes, constant data sizes, quantization parameters (finite, positive,
one zero point per scale, in the type's range) and operator codes. What this cannot foresee is caught by
running the interpreter in a child process (:mod:`edge_gru.tflite.isolate`).
"""

from __future__ import annotations

import math
import struct
from typing import Any

from edge_gru.errors import ModelFileError
from edge_gru.tflite.schema import schema

#: Largest ``.tflite`` read.
MAX_TFLITE_BYTES = 512 << 20
#: Largest element count of one tensor.
MAX_TENSOR_ELEMENTS = 1 << 28
#: Most operators in one subgraph.
MAX_OPERATORS = 100_000
#: Accepted range of quantization scales.
SCALE_RANGE = (1e-30, 1e6)
_ITEMSIZE = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 8: 8, 9: 1, 10: 8, 11: 16, 12: 8, 15: 4, 16: 2, 18: 2}
_INT_RANGE = {9: (-128, 127), 3: (0, 255), 7: (-32768, 32767), 16: (0, 65535), 2: (-2**31, 2**31 - 1),
              4: (-2**63, 2**63 - 1)}


def check_flatbuffer(data: bytes, where: str) -> None:
    """Refuse bytes that are not a well-formed TFLite model (see the module docstring).

    Raises:
        ModelFileError: What is wrong, naming the file, the table and the limit.
    """
    if len(data) > MAX_TFLITE_BYTES:
        raise ModelFileError(f"{where}: {len(data):,} bytes, more than the {MAX_TFLITE_BYTES >> 20} MiB limit")
    if len(data) < 16:
        raise ModelFileError(f"{where}: too short to be a .tflite file ({len(data)} bytes)")
    if data[4:8] != b"TFL3":
        raise ModelFileError(f"{where}: not a TFLite flatbuffer (file identifier {data[4:8]!r}, expected b'TFL3')")
    (root,) = struct.unpack_from("<I", data, 0)
    if root < 8 or root + 4 > len(data):
        raise ModelFileError(f"{where}: corrupt flatbuffer (root table offset {root} outside {len(data)} bytes)")
    (vt_rel,) = struct.unpack_from("<i", data, root)
    vt = root - vt_rel
    if vt < 0 or vt + 4 > len(data):
        raise ModelFileError(f"{where}: corrupt flatbuffer (vtable offset out of range)")
    vt_size, table_size = struct.unpack_from("<HH", data, vt)
    if vt_size < 4 or vt + vt_size > len(data) or root + table_size > len(data):
        raise ModelFileError(f"{where}: corrupt or truncated flatbuffer")
    _Checker(data, where).run()


class _Checker:
    def __init__(self, data: bytes, where: str) -> None:
        self.data, self.where, self.fb = data, where, schema()

    def fail(self, what: str) -> ModelFileError:
        return ModelFileError(f"{self.where}: corrupt or unsupported model ({what})")

    def run(self) -> None:
        fb = self.fb
        try:
            model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(self.data, 0))
        except RecursionError:
            raise self.fail("tables nested too deeply") from None
        except Exception as exc:  # noqa: BLE001 - any decoding failure means a corrupt file
            raise ModelFileError(f"{self.where}: corrupt or truncated flatbuffer ({type(exc).__name__})") from None
        subgraphs = model.subgraphs or []
        if not subgraphs:
            raise ModelFileError(f"{self.where}: the model has no subgraph")
        buffers = model.buffers or []
        self.check_codes(model.operatorCodes or [])
        for b in buffers:
            if getattr(b, "offset", 0) and (b.offset < 0 or b.size < 0 or b.offset + b.size > len(self.data)):
                raise self.fail("buffer outside the file")
        for k, sg in enumerate(subgraphs):
            self.check_subgraph(k, sg, buffers, len(model.operatorCodes or []))

    def check_codes(self, codes: list) -> None:
        known = {v for k, v in vars(self.fb.BuiltinOperator).items() if not k.startswith("_")}
        for i, code in enumerate(codes):
            op = max(int(code.builtinCode or 0), int(code.deprecatedBuiltinCode or 0))
            if op not in known:
                raise self.fail(f"operator code {i} has unknown builtin operator {op}")

    def check_subgraph(self, k: int, sg: Any, buffers: list, n_codes: int) -> None:
        tensors = sg.tensors or []
        n = len(tensors)
        for name, idx in (("input", sg.inputs), ("output", sg.outputs)):
            for i in (idx if idx is not None else []):
                if not 0 <= i < n:
                    raise self.fail(f"subgraph {k} {name} tensor index {i} outside 0..{n - 1}")
        for t_i, t in enumerate(tensors):
            self.check_tensor(k, t_i, t, buffers)
        ops = sg.operators or []
        if len(ops) > MAX_OPERATORS:
            raise self.fail(f"subgraph {k} has {len(ops):,} operators, more than {MAX_OPERATORS:,}")
        for o_i, op in enumerate(ops):
            if not 0 <= op.opcodeIndex < n_codes:
                raise self.fail(f"operator {o_i} has operator code index {op.opcodeIndex} outside 0..{n_codes - 1}")
            ins = list(op.inputs if op.inputs is not None else [])
            outs = list(op.outputs if op.outputs is not None else [])
            if ins and ins[0] == -1:
                raise self.fail(f"operator {o_i}: its first input is missing (index -1)")
            for i in ins:
                if not -1 <= i < n:
                    raise self.fail(f"operator {o_i} input tensor index {i} outside -1..{n - 1}")
            for i in outs:
                if not 0 <= i < n:
                    raise self.fail(f"operator {o_i} output tensor index {i} outside 0..{n - 1}")

    def check_tensor(self, k: int, t_i: int, t: Any, buffers: list) -> None:
        what = f"subgraph {k} tensor {t_i}"
        if not 0 <= t.buffer < len(buffers):
            raise self.fail(f"{what} buffer index {t.buffer} outside 0..{len(buffers) - 1}")
        shape = [int(v) for v in (t.shape if t.shape is not None else [])]
        if any(v < 0 for v in shape):
            raise self.fail(f"{what} has a negative dimension in shape {shape}")
        elements = math.prod(shape)
        if elements > MAX_TENSOR_ELEMENTS:
            raise self.fail(f"{what} has {elements:,} elements, more than {MAX_TENSOR_ELEMENTS:,}")
        itemsize = _ITEMSIZE.get(int(t.type))
        data = buffers[t.buffer].data if t.buffer else None
        if data is not None and len(data) and itemsize is not None and len(data) != elements * itemsize:
            raise self.fail(f"{what}: constant data of {len(data)} bytes for shape {shape} (expected "
                            f"{elements * itemsize})")
        if t.quantization is not None:
            self.check_quant(what, t, shape)

    def check_quant(self, what: str, t: Any, shape: list[int]) -> None:
        q = t.quantization
        scales = [] if q.scale is None else [float(v) for v in q.scale]
        zeros = [] if q.zeroPoint is None else [int(v) for v in q.zeroPoint]
        if not scales and not zeros:
            return
        lo, hi = SCALE_RANGE
        for s in scales:
            if not (math.isfinite(s) and lo <= s <= hi):
                raise self.fail(f"{what} has quantization scale {s!r}; scales must be finite and within "
                                f"[{lo:g}, {hi:g}]")
        if len(zeros) != len(scales):
            raise self.fail(f"{what} has {len(scales)} quantization scales but {len(zeros)} zero points")
        rng = _INT_RANGE.get(int(t.type))
        if rng is not None and any(not rng[0] <= z <= rng[1] for z in zeros):
            raise self.fail(f"{what} has a zero point outside its type's range {rng}")
        if len(scales) > 1:
            qd = int(q.quantizedDimension or 0)
            if not 0 <= qd < len(shape) or shape[qd] != len(scales):
                raise self.fail(f"{what}: {len(scales)} per-channel scales do not match dimension {qd} of {shape}")


__all__ = ["MAX_OPERATORS", "MAX_TENSOR_ELEMENTS", "MAX_TFLITE_BYTES", "SCALE_RANGE", "check_flatbuffer"]
