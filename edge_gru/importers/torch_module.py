"""PyTorch ``nn.Module`` -> :class:`edge_gru.spec.ModelSpec`.

The module's submodules are checked first (what each one is and the attributes edge-gru cannot
represent are named). Then PyTorch's own ONNX exporter traces ``forward`` on the example input, so
whatever the forward does is in the graph, and :func:`edge_gru.importers.onnx_import.from_onnx`
reads that graph (refusing any op it cannot represent, naming it). Last, the spec's float reference
is compared with the module itself on the example and on random inputs.
"""

from __future__ import annotations

import io
import logging
import warnings
from typing import Any

import numpy as np

from edge_gru.errors import ToolMissingError, UnsupportedModelError, error_summary
from edge_gru.spec import ModelSpec

log = logging.getLogger(__name__)

#: Leaf modules edge-gru represents (containers such as Sequential hold them).
SUPPORTED_MODULES = ("GRU", "Linear", "Dropout", "ReLU", "Sigmoid", "Softmax", "Embedding", "Identity")
_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")
EXPORTERS = ("torchscript", "dynamo")


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ToolMissingError("importing a PyTorch module needs torch (pip install torch)") from None
    return torch


def check_modules(module: Any) -> None:
    """Refuse submodules and attributes edge-gru cannot represent, naming them.

    Raises:
        UnsupportedModelError: e.g. an ``nn.LSTM``, ``GRU(bidirectional=True)``, ``Embedding(max_norm=...)``.
    """
    for name, sub in module.named_modules():
        kind = type(sub).__name__
        where = f"submodule {name!r}" if name else f"module {kind}"
        if kind in _CONTAINERS or (sub is module and kind not in SUPPORTED_MODULES):
            continue
        if kind not in SUPPORTED_MODULES:
            if list(sub.children()):
                continue                       # a custom block: its children are checked, its forward is traced
            raise UnsupportedModelError(f"{where}: {kind} is not supported (supported: "
                                        f"{', '.join('nn.' + s for s in SUPPORTED_MODULES)})")
        if kind == "GRU":
            _check_gru(where, sub)
        if kind == "Embedding" and sub.max_norm is not None:
            raise UnsupportedModelError(f"{where}: Embedding max_norm={sub.max_norm} (rows renormalised at lookup) "
                                        "is not supported")


def _check_gru(where: str, gru: Any) -> None:
    if gru.bidirectional:
        raise UnsupportedModelError(f"{where}: GRU bidirectional=True is not supported yet")
    if getattr(gru, "proj_size", 0):
        raise UnsupportedModelError(f"{where}: GRU proj_size={gru.proj_size} is not supported")


def export_onnx(module: Any, example_input: Any, exporter: str = "torchscript") -> bytes:
    """The module as ONNX bytes from PyTorch's exporter (``torchscript`` or ``dynamo``), batch axis dynamic.

    Raises:
        UnsupportedModelError: The exporter cannot trace the module (its message is kept).
    """
    torch = _torch()
    if exporter not in EXPORTERS:
        raise ValueError(f"exporter must be one of {EXPORTERS}, got {exporter!r}")
    x = torch.as_tensor(example_input)
    batch_axis = 0 if _batch_first(module) else 1
    buf = io.BytesIO()
    kwargs: dict[str, Any] = {"input_names": ["x"], "output_names": ["y"]}
    if exporter == "dynamo":
        kwargs["dynamic_shapes"] = ({batch_axis: torch.export.Dim("batch", min=1)},) if x.shape[batch_axis] > 1 \
            else None
        kwargs["verbose"] = False
    else:
        kwargs["dynamic_axes"] = {"x": {batch_axis: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("torch").setLevel(logging.ERROR)
        try:
            result = torch.onnx.export(module, (x,), buf if exporter == "torchscript" else None,
                                       dynamo=exporter == "dynamo", **kwargs)
        except Exception as exc:  # noqa: BLE001 - the exporters raise many types
            raise UnsupportedModelError(f"PyTorch's {exporter} ONNX exporter cannot trace the module "
                                        f"({error_summary(exc)})") from None
    if exporter == "dynamo":
        return result.model_proto.SerializeToString()
    return buf.getvalue()


def _batch_first(module: Any) -> bool:
    grus = [m for m in module.modules() if type(m).__name__ == "GRU"]
    return bool(grus and grus[0].batch_first)


def torch_predict(module: Any, x: np.ndarray) -> np.ndarray:
    """The module's outputs ``(N, K)`` on ``x`` in edge-gru's layout (batch first; transposed when the GRU is not)."""
    torch = _torch()
    t = torch.as_tensor(x)
    if not _batch_first(module):
        t = t.transpose(0, 1)
    with torch.no_grad():
        y = module(t)
    if isinstance(y, tuple):
        y = y[0]
    y = y.detach().cpu().numpy().astype(np.float32)
    return y.reshape(len(x), -1)


def from_torch(module: Any, example_input: Any, exporter: str = "torchscript", tol: float = 1e-5) -> ModelSpec:
    """Import a PyTorch GRU network (``nn.GRU`` stack, optional ``nn.Embedding`` in front, ``nn.Linear`` head).

    Args:
        module: The ``nn.Module`` (put in eval mode for the export; restored afterwards).
        example_input: A batch the module takes (its time length fixes the spec's ``timesteps``).
        exporter: PyTorch's ONNX exporter to trace ``forward`` with: ``torchscript`` or ``dynamo``.
        tol: Largest absolute difference accepted between the float reference and the module.

    Returns:
        The spec, usable everywhere a Keras-imported one is (quantize, C, TFLite, simulate, report).

    Raises:
        UnsupportedModelError: A submodule, attribute or op edge-gru cannot represent (named), or the float check
            against the module failed.
        ToolMissingError: torch, onnx or onnxruntime is missing.
    """
    from edge_gru.float_ref import predict
    from edge_gru.importers.onnx_import import from_onnx, random_inputs

    torch = _torch()
    check_modules(module)
    was_training = module.training
    module.eval()
    try:
        data = export_onnx(module, example_input, exporter)
        spec = from_onnx(data, tol=tol)
        spec.name = type(module).__name__
        example = torch.as_tensor(example_input).detach().cpu().numpy()
        if not _batch_first(module):
            example = np.swapaxes(example, 0, 1)
        inputs = [example, *(random_inputs(spec, 4, example.shape[1], seed=s) for s in (1, 2))]
        worst = 0.0
        for x in inputs:
            x = x.astype(np.int64) if spec.embedding is not None else x.astype(np.float32)
            want, got = torch_predict(module, x), predict(spec, x)
            worst = max(worst, float(np.abs(want - got).max()) if want.shape == got.shape else float("inf"))
        if not worst <= tol:
            raise UnsupportedModelError(f"module {type(module).__name__}: the imported network differs from the "
                                        f"module by {worst:.3g} (> {tol:g}): its forward does something edge-gru "
                                        "does not see in the graph")
        log.info("PyTorch import of %s: float reference = module within %.3g", spec.name, worst)
        return spec
    finally:
        module.train(was_training)


__all__ = ["EXPORTERS", "SUPPORTED_MODULES", "check_modules", "export_onnx", "from_torch", "torch_predict"]
