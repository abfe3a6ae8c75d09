"""ONNX GRU networks -> :class:`edge_gru.spec.ModelSpec`, checked against onnxruntime.

An ONNX file is protobuf: loading it runs no code. :func:`from_onnx` evaluates the graph once with
onnxruntime on a probe input (so every constant, shape computation and initial state is known),
reads the network with :func:`edge_gru.importers.onnx_walk.walk_graph`, then compares the spec's float
reference with onnxruntime on random inputs (within ``tol``). A PyTorch GRU is the ONNX ``GRU`` with
``linear_before_reset=1`` (= Keras ``reset_after=True``; PyTorch's gate blocks ``r, z, n`` are written
in ONNX's order ``z, r, h`` by the exporter). A file written by PyTorch whose GRU lacks that attribute
computes something nn.GRU never did; the import says so (see :func:`from_onnx`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge_gru.errors import ModelFileError, ToolMissingError, UnsupportedModelError, error_summary
from edge_gru.spec import ModelSpec

log = logging.getLogger(__name__)

#: Probe sizes for the input's symbolic axes (distinct, so a mixed-up axis shows).
PROBE_SIZES = (3, 5)
#: Largest input a file may fix (elements): the probe runs one such input.
MAX_INPUT_ELEMENTS = 1 << 26
#: Default tolerance of the float check against onnxruntime (largest absolute difference).
TOL = 1e-5
_INSTALL = "pip install 'edge-gru[onnx]' (onnx and onnxruntime)"


@dataclass
class OnnxModel:
    """A loaded ONNX file: the proto, its one data input and output, and the input's fixed sizes."""

    proto: Any
    input_name: str
    output_name: str
    dims: tuple[int | None, ...]        # None where the axis is symbolic
    integer_input: bool
    source: str
    _session: Any = field(default=None, repr=False)

    @property
    def producer(self) -> str:
        """``producer_name producer_version`` from the file."""
        return f"{self.proto.producer_name} {self.proto.producer_version}".strip()

    def session(self) -> Any:
        """The onnxruntime session of the file, made once."""
        if self._session is None:
            self._session = _session(self.proto)
        return self._session


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ToolMissingError(f"reading .onnx files needs the onnx package: {_INSTALL}") from None
    return onnx


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ToolMissingError(f"checking an ONNX model needs onnxruntime: {_INSTALL}") from None
    onnxruntime.set_default_logger_severity(4)       # its errors reach the user as edge-gru's one line, not as logs
    return onnxruntime


def load_onnx(source: str | Path | bytes) -> OnnxModel:
    """Parse an ONNX file (path or bytes) without running anything.

    Raises:
        ModelFileError: Missing, not ONNX, truncated or invalid.
        UnsupportedModelError: Not one data input and one output.
    """
    onnx = _onnx()
    where = "<bytes>" if isinstance(source, bytes) else str(source)
    if not isinstance(source, bytes):
        p = Path(source)
        if not p.is_file():
            raise ModelFileError(f"{p}: no such model file")
        source = p.read_bytes()
    try:
        proto = onnx.load_from_string(source)
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and friends
        raise ModelFileError(f"{where}: not an ONNX model or a truncated one ({type(exc).__name__}: "
                             f"{str(exc)[:120]})") from None
    if not proto.graph.node or not proto.opset_import:
        raise ModelFileError(f"{where}: not an ONNX model (no graph or no opset)")
    if not _names_are_text(proto.graph):
        raise ModelFileError(f"{where}: a corrupt ONNX model (a name is not valid UTF-8 text)")
    try:
        onnx.checker.check_model(proto)
    except Exception as exc:  # noqa: BLE001 - onnx.checker.ValidationError and protobuf errors
        raise ModelFileError(f"{where}: invalid ONNX model ({error_summary(exc)})") from None
    inits = {t.name for t in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in inits]
    outputs = list(proto.graph.output)
    if len(inputs) != 1 or len(outputs) != 1:
        raise UnsupportedModelError(f"{where}: the graph has {len(inputs)} inputs and {len(outputs)} outputs; "
                                    "edge-gru supports one sequence input and one output")
    tt = inputs[0].type.tensor_type
    dims = tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)
    integer = tt.elem_type in (onnx.TensorProto.INT64, onnx.TensorProto.INT32)
    if not integer and tt.elem_type != onnx.TensorProto.FLOAT:
        raise UnsupportedModelError(f"{where}: input {inputs[0].name!r} has ONNX type {tt.elem_type}; edge-gru "
                                    "takes float32 features or integer token ids")
    fixed = [d for d in dims if d is not None]
    if any(d < 1 for d in fixed) or int(np.prod(fixed, dtype=np.float64)) > MAX_INPUT_ELEMENTS:
        raise UnsupportedModelError(f"{where}: input {inputs[0].name!r} has the fixed shape "
                                    f"{tuple('?' if d is None else d for d in dims)}: an axis below 1 or more than "
                                    f"{MAX_INPUT_ELEMENTS:,} elements per run (export it with a free batch axis)")
    if not integer and len(dims) == 3 and dims[2] is None:
        raise UnsupportedModelError(f"{where}: the feature axis of input {inputs[0].name!r} has no fixed size")
    return OnnxModel(proto, inputs[0].name, outputs[0].name, dims, integer, where)


def _names_are_text(graph: Any) -> bool:
    """protobuf hands proto2 string fields that are not UTF-8 back as bytes: such a file is corrupt."""
    names = [graph.name]
    for n in graph.node:
        names += [n.name, n.op_type, n.domain, *n.input, *n.output, *(a.name for a in n.attribute)]
    names += [v.name for v in (*graph.input, *graph.output, *graph.value_info)]
    names += [t.name for t in graph.initializer]
    return all(isinstance(x, str) for x in names)


def _session(proto: Any) -> Any:
    ort = _ort()
    opts = ort.SessionOptions()
    opts.log_severity_level = 4                    # errors come back as exceptions: no log lines on stderr
    opts.intra_op_num_threads = 1
    try:
        return ort.InferenceSession(_time_major(proto).SerializeToString(), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime's own exception types
        raise ModelFileError(f"onnxruntime cannot load the model ({error_summary(exc)})") from None


def _time_major(proto: Any) -> Any:
    """``proto`` with every ``GRU`` of ``layout=1`` (batch first) written as the same GRU in ``layout=0`` between
    Transposes, which onnxruntime runs (its CPU GRU refuses layout 1). Per the ONNX spec, layout 1 swaps the first two
    axes of X, initial_h and Y_h, and makes Y ``(batch, time, directions, hidden)`` instead of
    ``(time, directions, batch, hidden)``."""
    if not any(n.op_type == "GRU" and any(a.name == "layout" and a.i == 1 for a in n.attribute)
               for n in proto.graph.node):
        return proto
    onnx = _onnx()
    from onnx import helper

    out = onnx.ModelProto()
    out.CopyFrom(proto)
    nodes = []
    for k, n in enumerate(proto.graph.node):
        if not (n.op_type == "GRU" and any(a.name == "layout" and a.i == 1 for a in n.attribute)):
            nodes.append(n)
            continue
        tag = f"__edge_gru_time_major_{k}"
        ins, outs = list(n.input), list(n.output) + [""] * (2 - len(n.output))
        nodes.append(helper.make_node("Transpose", [ins[0]], [f"{tag}_x"], perm=[1, 0, 2]))
        ins[0] = f"{tag}_x"
        if len(ins) > 5 and ins[5]:
            nodes.append(helper.make_node("Transpose", [ins[5]], [f"{tag}_h0"], perm=[1, 0, 2]))
            ins[5] = f"{tag}_h0"
        gru = onnx.NodeProto()
        gru.CopyFrom(n)
        del gru.input[:], gru.output[:], gru.attribute[:]
        gru.input.extend(ins)
        gru.output.extend([f"{tag}_y" if outs[0] else "", f"{tag}_yh" if outs[1] else ""])
        gru.attribute.extend([a for a in n.attribute if a.name != "layout"])
        nodes.append(gru)
        if outs[0]:
            nodes.append(helper.make_node("Transpose", [f"{tag}_y"], [outs[0]], perm=[2, 0, 1, 3]))
        if outs[1]:
            nodes.append(helper.make_node("Transpose", [f"{tag}_yh"], [outs[1]], perm=[1, 0, 2]))
    del out.graph.node[:]
    out.graph.node.extend(nodes)
    return out


def _probe_shape(m: OnnxModel) -> tuple[int, ...]:
    """The input's fixed sizes, PROBE_SIZES on its free axes."""
    return tuple(d if d is not None else PROBE_SIZES[i] if i < len(PROBE_SIZES) else 1 for i, d in enumerate(m.dims))


def _probe(m: OnnxModel) -> tuple[dict[str, np.ndarray], dict[str, tuple[int, ...]]]:
    """Every tensor of the graph evaluated on a zero input: values (constants) and shapes."""
    onnx = _onnx()
    from onnx import numpy_helper

    proto = onnx.ModelProto()
    proto.CopyFrom(m.proto)
    have = {o.name for o in proto.graph.output}
    for node in proto.graph.node:
        for o in node.output:
            if o and o not in have:
                proto.graph.output.append(onnx.ValueInfoProto(name=o))
                have.add(o)
    sess = _session(proto)
    shape = _probe_shape(m)
    x = np.zeros(shape, np.int64 if m.integer_input else np.float32)
    if m.integer_input and sess.get_inputs()[0].type == "tensor(int32)":
        x = x.astype(np.int32)
    try:
        outs = sess.run(None, {m.input_name: x})
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"{m.source}: onnxruntime cannot run the model on an input of shape {shape} "
                             f"({error_summary(exc)})") from None
    values = {t.name: numpy_helper.to_array(t) for t in m.proto.graph.initializer}
    values.update({o.name: v for o, v in zip(sess.get_outputs(), outs, strict=True)})
    values[m.input_name] = x
    return values, {k: tuple(np.shape(v)) for k, v in values.items()}


def read_spec(m: OnnxModel) -> tuple[ModelSpec, int | None]:
    """Walk the graph into a spec (not yet checked); returns it and the input's time axis."""
    from edge_gru.importers.onnx_walk import finish, precheck, walk_graph

    precheck(m.proto.graph)                        # named refusals before onnxruntime sees the graph
    values, shapes = _probe(m)
    batch_one = len(m.dims) >= 2 and 1 in (m.dims[0], m.dims[1])
    w = walk_graph(m.proto.graph, m.input_name, values, shapes, batch_one)
    spec = finish(w, m.output_name)
    if w.time_axis is not None:
        t = m.dims[w.time_axis]
        spec.timesteps = None if t is None else int(t)
    spec.name = Path(m.source).stem if m.source != "<bytes>" else (m.proto.graph.name or "onnx_model")
    spec.check()
    return spec, w.time_axis


def onnx_predict(m: OnnxModel, x: np.ndarray, time_axis: int) -> np.ndarray:
    """Run the ONNX file with onnxruntime on ``x`` in edge-gru's layout (``(N, T, F)`` or ids ``(N, T)``).

    Batches are cut to the file's fixed batch size when it has one. Returns ``(N, K)`` float32.
    """
    sess = m.session()
    batch_axis = 1 - time_axis
    fixed = m.dims[batch_axis]
    step = fixed or 256
    dtype = {"tensor(int32)": np.int32, "tensor(int64)": np.int64}.get(sess.get_inputs()[0].type, np.float32)
    outs = []
    for i in range(0, len(x), step):
        part = np.asarray(x[i:i + step]).astype(dtype)
        n = len(part)
        if fixed and n < fixed:                                  # pad the last batch to the file's batch size
            part = np.concatenate([part, np.repeat(part[-1:], fixed - n, axis=0)])
        rows = len(part)
        if time_axis == 0:
            part = np.swapaxes(part, 0, 1)
        try:
            y = np.asarray(sess.run(None, {m.input_name: part})[0], np.float32)
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own exception types
            raise ModelFileError(f"{m.source}: onnxruntime cannot run the model on an input of shape {part.shape} "
                                 f"({error_summary(exc, 160)})") from None
        if y.ndim >= 2 and y.shape[0] != rows and y.shape[1] == rows:
            y = np.swapaxes(y, 0, 1)
        outs.append(y.reshape(rows, -1)[:n])
    return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)


def random_inputs(spec: ModelSpec, n: int, t: int, seed: int = 0) -> np.ndarray:
    """Random model inputs in edge-gru's layout: ids over the whole vocabulary, or N(0, 1) features."""
    rng = np.random.default_rng(seed)
    if spec.embedding is not None:
        return rng.integers(0, spec.embedding.vocab, (n, t)).astype(np.int64)
    return rng.normal(0, 1, (n, t, spec.features)).astype(np.float32)


def compare(spec: ModelSpec, m: OnnxModel, time_axis: int, seed: int = 0) -> float:
    """Largest absolute difference between the spec's float reference and onnxruntime on random inputs
    (two sequence lengths when the file's time axis is free)."""
    from edge_gru.float_ref import predict

    lengths = [spec.timesteps] if spec.timesteps else [PROBE_SIZES[1] + 2, 2]
    n = m.dims[1 - time_axis] or 6
    worst = 0.0
    for i, t in enumerate(lengths):
        x = random_inputs(spec, n, t, seed + i)
        want = onnx_predict(m, x, time_axis)
        got = predict(spec, x)
        if want.shape != got.shape:
            return float("inf")
        worst = max(worst, float(np.abs(want - got).max()) if want.size else 0.0)
    return worst


@dataclass
class OnnxImport:
    """What :func:`import_onnx` found: the spec, the file's producer and opset, the float check's largest difference."""

    spec: ModelSpec
    producer: str
    opset: int
    max_difference: float | None


def import_onnx(source: str | Path | bytes, verify: bool = True, tol: float = TOL,
                linear_before_reset: int | None = None) -> OnnxImport:
    """:func:`from_onnx` with what it found about the file (for ``edge-gru inspect``)."""
    m = load_onnx(source)
    if linear_before_reset is not None:
        _set_linear_before_reset(m, int(linear_before_reset))
    spec, time_axis = read_spec(m)
    if linear_before_reset is None:
        _check_pytorch_gru(m, spec)
    worst = None
    if verify:
        worst = compare(spec, m, time_axis)
        if not worst <= tol:
            raise UnsupportedModelError(
                f"{m.source}: edge-gru's reading of the graph differs from onnxruntime by {worst:.3g} (> {tol:g}); "
                "the graph is not a plain GRU stack + dense head")
        log.info("ONNX import of %s: float reference = onnxruntime within %.3g", m.source, worst)
    opset = max((o.version for o in m.proto.opset_import if o.domain in ("", "ai.onnx")), default=0)
    return OnnxImport(spec, m.producer, int(opset), worst)


def from_onnx(source: str | Path | bytes, verify: bool = True, tol: float = TOL,
              linear_before_reset: int | None = None) -> ModelSpec:
    """Import a GRU network from an ONNX file (path or bytes).

    Args:
        source: The ``.onnx`` file or its bytes.
        verify: Compare the float reference with onnxruntime on random inputs (within ``tol``).
        tol: Largest absolute output difference accepted.
        linear_before_reset: Use this value for every GRU node instead of the file's attribute; for a file
            whose exporter dropped the attribute (1 = PyTorch's and Keras ``reset_after=True`` math). The check
            then runs onnxruntime on the file with the attribute set the same way.

    Raises:
        ModelFileError: Missing, not ONNX, truncated, or onnxruntime cannot run it.
        UnsupportedModelError: A node or attribute edge-gru cannot represent (named), or a file written by PyTorch
            whose GRU lacks ``linear_before_reset=1``, or the float check failed.
        ToolMissingError: onnx or onnxruntime is not installed.
    """
    return import_onnx(source, verify, tol, linear_before_reset).spec


def _set_linear_before_reset(m: OnnxModel, value: int) -> None:
    from onnx import helper

    for node in m.proto.graph.node:
        if node.op_type == "GRU":
            keep = [a for a in node.attribute if a.name != "linear_before_reset"]
            del node.attribute[:]
            node.attribute.extend([*keep, helper.make_attribute("linear_before_reset", value)])


def _check_pytorch_gru(m: OnnxModel, spec: ModelSpec) -> None:
    """nn.GRU always applies the reset gate after the recurrent product (linear_before_reset=1). A file from
    PyTorch without it runs the other GRU in every ONNX runtime: say so, with how far apart the two are."""
    if m.proto.producer_name.lower() != "pytorch":
        return
    bad = [n for n in m.proto.graph.node if n.op_type == "GRU"
           and not any(a.name == "linear_before_reset" and a.i == 1 for a in n.attribute)]
    if not bad:
        return
    fixed = load_onnx(m.proto.SerializeToString())
    _set_linear_before_reset(fixed, 1)
    torch_spec, _ = read_spec(fixed)
    x = random_inputs(spec, 4, spec.timesteps or PROBE_SIZES[1] + 2)
    from edge_gru.float_ref import predict

    gap = float(np.abs(predict(spec, x) - predict(torch_spec, x)).max())
    node = bad[0].name or bad[0].output[0]
    raise UnsupportedModelError(
        f"{m.source}: GRU node {node!r} has no linear_before_reset=1 but the file was written by PyTorch "
        f"({m.producer}), whose nn.GRU always resets after the recurrent product: onnxruntime and every ONNX runtime "
        f"compute a different model (outputs differ by up to {gap:.3g} on random input). Re-export the model, or "
        "import it with edge_gru.from_onnx(path, linear_before_reset=1) to take nn.GRU's math")


__all__ = ["OnnxImport", "OnnxModel", "compare", "from_onnx", "import_onnx", "load_onnx", "onnx_predict",
           "random_inputs", "read_spec"]
