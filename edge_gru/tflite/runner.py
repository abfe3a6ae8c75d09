"""Run a full-integer ``.tflite`` (int8 or 16x8) under LiteRT or TFLite Micro, either layout.

* unrolled: one input ``(1, T, F)``, one output; one invoke per sequence.
* step: signature inputs ``x (1, F)``, ``h0, h1, ...`` and outputs ``y``, ``h0, ...``; one invoke per
  timestep, the runtime feeds the states back (requantizing when the output and input scales differ).

Inputs are quantized and outputs dequantized with the model's own tensor parameters.
The file is checked to be a TFLite flatbuffer before any interpreter sees it
(interpreters can crash on malformed files). TensorFlow is never imported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_gru.errors import DataError, EdgeGruError, ModelFileError, ToolMissingError
from edge_gru.native_log import filtered_native_stderr
from edge_gru.sequence import check_tokens
from edge_gru.tflite.check import check_flatbuffer
from edge_gru.tflite.schema import schema

ENGINES = ("litert", "litert-ref", "tflm")


def _graph_io(data: bytes) -> tuple[int, int, tuple[dict[str, int], dict[str, int]] | None]:
    """Number of graph inputs and outputs, and signature names -> positions among them (None without one).

    Reads only these tables (the accessor API), not the whole model: this runs for every interpreter."""
    fb = schema()
    model = fb.Model.GetRootAsModel(data, 0)
    sg = model.Subgraphs(0)
    ins = [int(sg.Inputs(i)) for i in range(sg.InputsLength())]
    outs = [int(sg.Outputs(i)) for i in range(sg.OutputsLength())]
    if not model.SignatureDefsLength():
        return len(ins), len(outs), None
    sd = model.SignatureDefs(0)

    def names(maps: list, order: list[int]) -> dict[str, int]:
        out = {}
        for t in maps:
            name = (t.Name() or b"").decode("utf-8", "replace")
            if t.TensorIndex() in order:
                out[name] = order.index(t.TensorIndex())
        return out

    return len(ins), len(outs), (names([sd.Inputs(i) for i in range(sd.InputsLength())], ins),
                                 names([sd.Outputs(i) for i in range(sd.OutputsLength())], outs))


def _litert_interpreter(data: bytes, reference: bool):
    try:
        from ai_edge_litert import interpreter as lite
    except ImportError:
        try:
            from tflite_runtime import interpreter as lite  # type: ignore[no-redef]
        except ImportError:
            try:        # last resort: TensorFlow's own interpreter (imports TensorFlow)
                import tensorflow as tf

                lite = tf.lite  # type: ignore[assignment]
            except ImportError:
                raise ToolMissingError("no TFLite runtime: pip install ai-edge-litert") from None
    kwargs = {"num_threads": 1}
    if reference:
        resolver = getattr(lite, "OpResolverType", None) or lite.experimental.OpResolverType
        kwargs["experimental_op_resolver_type"] = resolver.BUILTIN_REF
    with filtered_native_stderr():          # "Created TensorFlow Lite XNNPACK delegate for CPU."
        it = lite.Interpreter(model_content=data, **kwargs)
        it.allocate_tensors()
    return it


class TFLiteRunner:
    """One ``.tflite`` model under one interpreter.

    Args:
        path: The ``.tflite`` file.
        engine: ``litert`` (default kernels), ``litert-ref`` (reference kernels) or ``tflm``.
        checked: Skip :func:`check_flatbuffer` (the caller ran it on this file). The interpreter runs in this
            process: for files you did not make, use :func:`probe_file` and :func:`predict_file`.
    """

    def __init__(self, path: str | Path, engine: str = "litert", checked: bool = False) -> None:
        if engine not in ENGINES:
            raise DataError(f"unknown TFLite engine {engine!r}; choose one of {', '.join(ENGINES)}")
        p = Path(path)
        if not p.is_file():
            raise ModelFileError(f"{p}: no such file")
        data = p.read_bytes()
        if not checked:
            check_flatbuffer(data, str(p))
        self.engine = engine
        n_in, n_out, sig = _graph_io(data)
        try:
            self.vocab = _gather_rows(data)
            self._input_names = _input_names(data)
            self._in_det, self._out_det = self._open(data, engine, n_in, n_out)
            self._layout(p, sig)
        except EdgeGruError:
            raise
        except (RuntimeError, ValueError, TypeError, IndexError, KeyError) as exc:
            text = str(exc).strip().splitlines()
            raise ModelFileError(f"{p}: the {engine} interpreter refused the file ({type(exc).__name__}: "
                                 f"{text[0][:200] if text else ''})") from None

    def _open(self, data: bytes, engine: str, n_in: int, n_out: int) -> tuple[list, list]:
        if engine == "tflm":
            try:
                from tflite_micro.python.tflite_micro import runtime as tflm
            except ImportError:
                raise ToolMissingError("TFLite Micro's Python interpreter is missing: "
                                       "pip install tflite-micro") from None
            self._tflm = tflm.Interpreter.from_bytes(data)
            return ([self._tflm.get_input_details(i) for i in range(n_in)],
                    [self._tflm.get_output_details(i) for i in range(n_out)])
        self._lite = _litert_interpreter(data, engine == "litert-ref")
        return self._lite.get_input_details(), self._lite.get_output_details()

    def _layout(self, p: Path, sig: tuple | None) -> None:
        in_det, out_det = self._in_det, self._out_det
        x_key = next((k for k in INPUT_NAMES if sig is not None and k in sig[0]), None)
        y_key = next((k for k in ("y", "y_steps") if sig is not None and k in sig[1]), None)
        if x_key is not None and any(n.startswith("h") for n in sig[0]) and y_key is not None:
            self.layout = "step"
            self._x_pos, self._y_pos = sig[0][x_key], sig[1][y_key]
            self.per_step = y_key == "y_steps"
            names = [n for n in sig[0] if n.startswith("h")]
            if not all(n[1:].isdigit() for n in names) or not all(n in sig[1] for n in names):
                raise ModelFileError(f"{p}: step-layout signature with state names {names}; expected h0, h1, ... "
                                     "among both inputs and outputs")
            names.sort(key=lambda n: int(n[1:]))
            self._states = [(sig[0][n], sig[1][n]) for n in names]
        else:
            if len(in_det) != 1 or len(out_det) != 1:
                raise ModelFileError(f"{p}: expected one input and one output (unrolled layout) or the step "
                                     "layout's signature (x, h0.. -> y, h0..)")
            self.layout = "unrolled"
            self._x_pos, self._y_pos, self._states = 0, 0, []
            self.per_step = len(out_det[0]["shape"]) == 3          # (1, T, K): an output at every step
        inp, out = in_det[self._x_pos], out_det[self._y_pos]
        self.input_shape = tuple(int(v) for v in inp["shape"])
        self.input_dtype = np.dtype(inp["dtype"])
        self.output_dtype = np.dtype(out["dtype"])
        self.tokens = self.input_dtype == np.dtype(np.int32) and self.vocab is not None
        self.pad0 = self.tokens and self._input_names[self._x_pos] == "serving_default_ids_pad0:0"
        want = 2 if self.tokens or self.layout == "step" else 3
        if len(self.input_shape) != want or min(self.input_shape) < 1 or (self.tokens and self.layout == "step"
                                                                         and self.input_shape != (1, 1)):
            need = {(2, False): "(1, F)", (3, False): "(1, T, F)"}.get(
                (want, self.tokens), "(1, 1) token ids" if self.layout == "step" else "(1, T) token ids")
            raise ModelFileError(f"{p}: input shape {self.input_shape}; the {self.layout} layout needs {need}")
        checks = (("output", self.output_dtype),) if self.tokens else \
            (("input", self.input_dtype), ("output", self.output_dtype))
        for what, dt in checks:
            if dt not in (np.dtype(np.int8), np.dtype(np.int16)):
                raise ModelFileError(f"{p}: {what} tensor is {dt}; a full-integer model (int8 or int16) is needed")
        self.in_scale, self.in_zero = (1.0, 0) if self.tokens else _qparams(inp)
        self.out_scale, self.out_zero = _qparams(out)

    def quantize(self, X: np.ndarray) -> np.ndarray:
        """Float inputs -> the input tensor's integer type (token ids: checked against the vocabulary)."""
        if self.tokens:
            return check_tokens(X, self.vocab, "input")
        info = np.iinfo(self.input_dtype)
        q = np.round(np.asarray(X, np.float64) / self.in_scale) + self.in_zero
        return np.clip(q, info.min, info.max).astype(self.input_dtype)

    def dequantize(self, raw: np.ndarray) -> np.ndarray:
        """Integer outputs -> float."""
        return ((raw.astype(np.float64) - self.out_zero) * self.out_scale).astype(np.float32)

    @property
    def features(self) -> int:
        """Inputs per timestep (1 for token ids)."""
        return 1 if self.tokens else self.input_shape[-1]

    def predict_raw(self, Xq: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Run integer inputs ``(N, T, F)`` (token ids ``(N, T)``); integer outputs ``(N, K)``.

        A per-step file (:attr:`per_step`) gives ``(N, T, K)``: in the step layout the ``y_steps`` output after
        every step, a step not fed (masked) repeating the one before; before the first real step the step graph
        has no output of the zero state, so those steps get the output of one zero-input step from it (the
        approximation below for a sequence with no real step).

        Step layout: the outputs after the last step; steps at or beyond ``lengths[n]`` and padding ids of an
        ``ids_pad0`` file are not fed (the state is kept, Keras' mask semantics); a sequence with no real step
        is fed one padding id (the step graph has no output for the zero state). The unrolled layout runs
        every step it is given (TensorFlow's converter drops Keras masks) and refuses ``lengths``.
        """
        if self.layout == "step":
            if self.tokens and Xq.ndim != 2:
                raise DataError(f"input has shape {Xq.shape}, the step .tflite expects token ids (N, T)")
            if not self.tokens and (Xq.ndim != 3 or Xq.shape[2] != self.features):
                raise DataError(f"input has shape {Xq.shape[1:]}, the step .tflite expects (T, {self.features})")
            outs = [self._run_steps(x, len(x) if lengths is None else int(lengths[n])) for n, x in enumerate(Xq)]
            return np.stack(outs) if outs else np.zeros((0, 0), self.output_dtype)
        if lengths is not None and np.any(np.asarray(lengths) != Xq.shape[1]):
            raise DataError("an unrolled .tflite runs every timestep and cannot skip steps beyond a sequence's "
                            "length; convert with --layout step (or drop 'lengths' and pad)")
        if tuple(Xq.shape[1:]) != self.input_shape[1:]:
            raise DataError(f"input has shape {Xq.shape[1:]}, the .tflite expects {self.input_shape[1:]}")
        shape = tuple(int(v) for v in self._out_det[0]["shape"][1:]) if self.per_step else (-1,)
        outs = [self.invoke({0: x[None]})[0].reshape(shape) for x in Xq]
        return np.stack(outs) if outs else np.zeros((0, 0), self.output_dtype)

    def _run_steps(self, x: np.ndarray, length: int) -> np.ndarray:
        """One sequence through the step graph: the last outputs, or (per-step) the outputs at every step."""
        s = self.stream()
        rows: list[np.ndarray | None] = []
        for t, x_t in enumerate(x):
            if t < length and not (self.pad0 and int(np.asarray(x_t).reshape(-1)[0]) == 0):
                s.step(x_t)
            rows.append(s._y)
        if not self.per_step:
            if s._y is None:
                s.step(np.zeros_like(x[0]))
            return s.output_raw()
        if any(r is None for r in rows):                        # leading steps with no real step yet
            z = self.stream()
            z.step(np.zeros_like(x[0]))
            rows = [z.output_raw() if r is None else r for r in rows]
        return np.stack(rows)

    def stream(self) -> TFLiteStream:
        """One timestep at a time (step layout only)."""
        if self.layout != "step":
            raise DataError("streaming needs a step-layout .tflite (edge-gru convert --layout step)")
        return TFLiteStream(self)

    def invoke(self, inputs: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        """One invoke: integer tensors by input position; returns every output by position."""
        if self.engine == "tflm":
            for pos, v in inputs.items():
                self._tflm.set_input(v, pos)
            self._tflm.invoke()
            return {i: np.array(self._tflm.get_output(i)) for i in range(len(self._out_det))}
        for pos, v in inputs.items():
            self._lite.set_tensor(self._in_det[pos]["index"], v)
        self._lite.invoke()
        return {i: self._lite.get_tensor(d["index"]).copy() for i, d in enumerate(self._out_det)}

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Float inputs -> float outputs ``(N, K)``."""
        return self.dequantize(self.predict_raw(self.quantize(X)))


class TFLiteStream:
    """Feed a step-layout ``.tflite`` one timestep at a time; the states live here between invokes."""

    def __init__(self, runner: TFLiteRunner) -> None:
        self.r = runner
        self._req = []
        for in_pos, out_pos in runner._states:
            si, zi = _qparams(runner._in_det[in_pos])
            so, zo = _qparams(runner._out_det[out_pos])
            self._req.append((in_pos, out_pos, si, zi, so, zo, np.dtype(runner._in_det[in_pos]["dtype"]),
                              tuple(int(v) for v in runner._in_det[in_pos]["shape"])))
        self.reset()

    def reset(self) -> None:
        """Zero states (the quantized value of 0.0 is the zero point)."""
        self.h = {in_pos: np.full(shape, zi, dt) for in_pos, _, _, zi, _, _, dt, shape in self._req}
        self._y: np.ndarray | None = None

    def step(self, x_q: np.ndarray) -> None:
        """One timestep of integer inputs (the ``x`` tensor's type)."""
        r = self.r
        x = np.asarray(x_q, r.input_dtype).reshape(r.input_shape)
        outs = r.invoke({r._x_pos: x, **self.h})
        for in_pos, out_pos, si, zi, so, zo, dt, _ in self._req:
            h = outs[out_pos]
            if si != so or zi != zo:          # requantize the state output to the state input's parameters
                info = np.iinfo(dt)
                h = np.clip(np.round((h.astype(np.float64) - zo) * (so / si)) + zi, info.min, info.max)
            self.h[in_pos] = h.astype(dt).reshape(self.h[in_pos].shape)
        self._y = outs[r._y_pos].reshape(-1)

    def output_raw(self) -> np.ndarray:
        """Integer outputs after the last step."""
        if self._y is None:
            raise DataError("no timestep fed yet")
        return self._y

    def output(self) -> np.ndarray:
        """Dequantized outputs after the last step."""
        return self.r.dequantize(self.output_raw())


def probe_file(path: str | Path, engine: str = "litert") -> dict:
    """Open a ``.tflite`` and invoke it once on zeros in a child process; its input and output description.

    Returns:
        ``layout``, ``input_shape``, ``features``, ``timesteps`` (``None`` for the step layout).

    Raises:
        ModelFileError: The file is corrupt, refused or crashes the interpreter.
    """
    from edge_gru.tflite.isolate import run_isolated

    _check_file(path)            # in this process (pure Python); the interpreter only in the child
    return run_isolated(_probe, str(path), engine, what=f"{path} under {engine}")


def predict_file(path: str | Path, engine: str, X: np.ndarray, raw: bool = False, checked: bool = False,
                 lengths: np.ndarray | None = None) -> np.ndarray:
    """Float inputs ``(N, T, F)`` through a ``.tflite`` in a child process: outputs ``(N, K)``, float or
    (``raw``) the integer output tensor.

    Args:
        path: The ``.tflite`` file.
        engine: ``litert``, ``litert-ref`` or ``tflm``.
        X: Float inputs.
        raw: Return the integer output tensor.
        checked: The file already passed :func:`check_flatbuffer` (by :func:`probe_file`).
        lengths: Optional real lengths ``(N,)`` (step layout; see :meth:`TFLiteRunner.predict_raw`).

    Raises:
        ModelFileError: The file is corrupt, refused or crashes the interpreter.
    """
    from edge_gru.tflite.isolate import run_isolated

    if not checked:
        _check_file(path)
    return run_isolated(_predict, str(path), engine, X, raw, lengths, what=f"{path} under {engine}")


def _check_file(path: str | Path) -> None:
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{p}: no such file")
    check_flatbuffer(p.read_bytes(), str(p))


def _probe(path: str, engine: str) -> dict:
    r = TFLiteRunner(path, engine, checked=True)
    T = r.input_shape[1] if r.layout == "unrolled" else 1
    r.predict_raw(np.zeros((1, T) if r.tokens else (1, T, r.features), r.input_dtype))
    return {"layout": r.layout, "input_shape": r.input_shape, "features": r.features,
            "timesteps": r.input_shape[1] if r.layout == "unrolled" else None,
            "vocab": r.vocab if r.tokens else None, "padding_id": 0 if r.pad0 else None}


def _predict(path: str, engine: str, X: np.ndarray, raw: bool, lengths: np.ndarray | None = None) -> np.ndarray:
    r = TFLiteRunner(path, engine, checked=True)
    out = r.predict_raw(r.quantize(X), lengths)
    return out if raw else r.dequantize(out)


#: Names of the model input: features, token ids, token ids with 0 = padding (see converters.tflite_export).
INPUT_NAMES = ("x", "ids", "ids_pad0")
_GATHER = 36            # BuiltinOperator.GATHER


def _input_names(data: bytes) -> list[str]:
    """Names of the graph's input tensors (TFLite Micro's interpreter does not report them)."""
    sg = schema().Model.GetRootAsModel(data, 0).Subgraphs(0)
    return [(sg.Tensors(sg.Inputs(i)).Name() or b"").decode("utf-8", "replace") for i in range(sg.InputsLength())]


def _gather_rows(data: bytes) -> int | None:
    """Rows of the table of the file's first GATHER (an embedding lookup), or ``None`` without one."""
    fb = schema()
    model = fb.Model.GetRootAsModel(data, 0)
    codes = [max(int(c.BuiltinCode()), int(c.DeprecatedBuiltinCode())) for c in
             (model.OperatorCodes(i) for i in range(model.OperatorCodesLength()))]
    sg = model.Subgraphs(0)
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        if op.OpcodeIndex() < len(codes) and codes[op.OpcodeIndex()] == _GATHER and op.InputsLength() >= 1:
            t = sg.Tensors(op.Inputs(0))
            return int(t.Shape(0)) if t.ShapeLength() == 2 else None
    return None


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


__all__ = ["ENGINES", "TFLiteRunner", "TFLiteStream", "check_flatbuffer", "predict_file", "probe_file", "schema"]
