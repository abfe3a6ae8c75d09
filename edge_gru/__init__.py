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
]
