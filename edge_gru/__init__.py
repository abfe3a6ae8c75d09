"""edge-gru: take a Keras-trained GRU network to microcontrollers.

The core package depends on numpy and numba only; TensorFlow is imported lazily
by :mod:`converters`.
"""

from __future__ import annotations

from edge_gru.errors import (
    DataError,
    EdgeGruError,
    ModelFileError,
    OutputError,
    OutputExistsError,
    QuantizationError,
    ToolMissingError,
    UnsupportedModelError,
)

__version__ = "0.1.0"


def from_onnx(source, verify: bool = True, tol: float = 1e-5, linear_before_reset: int | None = None):
    """Import a GRU network from an ``.onnx`` file or bytes (see :func:`edge_gru.importers.onnx_import.from_onnx`)."""
    from edge_gru.importers.onnx_import import from_onnx as _from_onnx

    return _from_onnx(source, verify=verify, tol=tol, linear_before_reset=linear_before_reset)


def from_torch(module, example_input, exporter: str = "torchscript", tol: float = 1e-5):
    """Import a PyTorch ``nn.GRU`` network (see :func:`edge_gru.importers.torch_module.from_torch`)."""
    from edge_gru.importers.torch_module import from_torch as _from_torch

    return _from_torch(module, example_input, exporter=exporter, tol=tol)

__all__ = [
    "DataError",
    "EdgeGruError",
    "ModelFileError",
    "OutputError",
    "OutputExistsError",
    "QuantizationError",
    "ToolMissingError",
    "UnsupportedModelError",
    "__version__",
    "from_onnx",
    "from_torch",
]
