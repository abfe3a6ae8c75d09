"""Run a full-integer ``.tflite`` (unrolled layout, batch 1) under LiteRT or TFLite Micro.

Inputs are quantized and outputs dequantized with the model's own tensor parameters.
The file is checked to be a TFLite flatbuffer before any interpreter sees it
(interpreters can crash on malformed files). TensorFlow is never imported.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from edge_gru.errors import DataError, ModelFileError, ToolMissingError

ENGINES = ("litert", "litert-ref", "tflm")


def check_flatbuffer(data: bytes, where: str) -> None:
    """Refuse bytes that are not a plausible TFLite flatbuffer (identifier ``TFL3``, offsets in range).

    Raises:
        ModelFileError: Too short, wrong identifier or a root offset outside the file.
    """
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
    _walk_model(data, where)


def _walk_model(data: bytes, where: str) -> None:
    """Decode every table of the model (the schema's object API) and check cross references."""
    try:
        from ai_edge_litert import schema_py_generated as fb
    except ImportError:
        raise ToolMissingError("ai-edge-litert is needed to read .tflite files: pip install ai-edge-litert") from None
    try:
        model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(data, 0))
    except Exception as exc:  # noqa: BLE001 - any decoding failure means a corrupt file
        raise ModelFileError(f"{where}: corrupt or truncated flatbuffer ({type(exc).__name__})") from None
    subgraphs = model.subgraphs or []
    if not subgraphs:
        raise ModelFileError(f"{where}: the model has no subgraph")
    n_buffers, n_codes = len(model.buffers or []), len(model.operatorCodes or [])
    for sg in subgraphs:
        tensors = sg.tensors or []
        if any(t.buffer >= n_buffers or t.buffer < 0 for t in tensors):
            raise ModelFileError(f"{where}: corrupt model (tensor buffer index out of range)")
        for op in sg.operators or []:
            if op.opcodeIndex >= n_codes:
                raise ModelFileError(f"{where}: corrupt model (operator code index out of range)")
            for i in list(op.inputs if op.inputs is not None else []) + list(
                    op.outputs if op.outputs is not None else []):
                if i >= len(tensors):
                    raise ModelFileError(f"{where}: corrupt model (operator tensor index out of range)")
    for b in model.buffers or []:
        if getattr(b, "offset", 0) and b.offset + b.size > len(data):
            raise ModelFileError(f"{where}: corrupt model (buffer outside the file)")


def _litert_interpreter(data: bytes, reference: bool):
    try:
        from ai_edge_litert import interpreter as lite
    except ImportError:
        try:
            from tflite_runtime import interpreter as lite  # type: ignore[no-redef]
        except ImportError:
            raise ToolMissingError("no TFLite runtime: pip install ai-edge-litert") from None
    kwargs = {"num_threads": 1}
    if reference:
        kwargs["experimental_op_resolver_type"] = lite.OpResolverType.BUILTIN_REF
    it = lite.Interpreter(model_content=data, **kwargs)
    it.allocate_tensors()
    return it


class TFLiteRunner:
    """One ``.tflite`` model under one interpreter.

    Args:
        path: The ``.tflite`` file.
        engine: ``litert`` (default kernels), ``litert-ref`` (reference kernels) or ``tflm``.
    """

    def __init__(self, path: str | Path, engine: str = "litert") -> None:
        if engine not in ENGINES:
            raise DataError(f"unknown TFLite engine {engine!r}; choose one of {', '.join(ENGINES)}")
        p = Path(path)
        if not p.is_file():
            raise ModelFileError(f"{p}: no such file")
        data = p.read_bytes()
        check_flatbuffer(data, str(p))
        self.engine = engine
        if engine == "tflm":
            try:
                from tflite_micro.python.tflite_micro import runtime as tflm
            except ImportError:
                raise ToolMissingError("TFLite Micro's Python interpreter is missing: "
                                       "pip install tflite-micro") from None
            self._tflm = tflm.Interpreter.from_bytes(data)
            inp, out = self._tflm.get_input_details(0), self._tflm.get_output_details(0)
        else:
            self._lite = _litert_interpreter(data, engine == "litert-ref")
            inp, out = self._lite.get_input_details()[0], self._lite.get_output_details()[0]
            self._in_index, self._out_index = inp["index"], out["index"]
        self.input_shape = tuple(int(v) for v in inp["shape"])
        self.input_dtype = np.dtype(inp["dtype"])
        self.output_dtype = np.dtype(out["dtype"])
        self.in_scale, self.in_zero = _qparams(inp)
        self.out_scale, self.out_zero = _qparams(out)

    def quantize(self, X: np.ndarray) -> np.ndarray:
        """Float inputs -> the input tensor's integer type."""
        info = np.iinfo(self.input_dtype)
        q = np.round(np.asarray(X, np.float64) / self.in_scale) + self.in_zero
        return np.clip(q, info.min, info.max).astype(self.input_dtype)

    def dequantize(self, raw: np.ndarray) -> np.ndarray:
        """Integer outputs -> float."""
        return ((raw.astype(np.float64) - self.out_zero) * self.out_scale).astype(np.float32)

    def predict_raw(self, Xq: np.ndarray) -> np.ndarray:
        """Run integer inputs ``(N, T, F)`` one sequence per invoke; integer outputs ``(N, K)``."""
        if tuple(Xq.shape[1:]) != self.input_shape[1:]:
            raise DataError(f"input has shape {Xq.shape[1:]}, the .tflite expects {self.input_shape[1:]}")
        outs = []
        for x in Xq:
            outs.append(self.invoke(x[None]).reshape(-1))
        return np.stack(outs) if outs else np.zeros((0, 0), self.output_dtype)

    def invoke(self, xq: np.ndarray) -> np.ndarray:
        """One invoke on an integer input tensor; returns the integer output tensor."""
        if self.engine == "tflm":
            self._tflm.set_input(xq, 0)
            self._tflm.invoke()
            return np.array(self._tflm.get_output(0))
        self._lite.set_tensor(self._in_index, xq)
        self._lite.invoke()
        return self._lite.get_tensor(self._out_index).copy()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Float inputs -> float outputs ``(N, K)``."""
        return self.dequantize(self.predict_raw(self.quantize(X)))


def _qparams(detail: dict) -> tuple[float, int]:
    q = detail.get("quantization_parameters") or {}
    scales = q.get("scales")
    zeros = q.get("zero_points")
    if scales is not None and len(scales):
        return float(scales[0]), int(zeros[0])
    scale, zero = detail.get("quantization", (0.0, 0))
    if not scale:
        raise ModelFileError("the .tflite input/output is not quantized (expected a full-integer model)")
    return float(scale), int(zero)


__all__ = ["ENGINES", "TFLiteRunner", "check_flatbuffer"]
