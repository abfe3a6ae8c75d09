"""Lazy, quiet import of Keras / TensorFlow."""

from __future__ import annotations

import os

from edge_gru.errors import ToolMissingError


def keras():
    """Return the ``keras`` module, importing TensorFlow quietly on first use.

    Raises:
        ToolMissingError: TensorFlow / Keras are not installed.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        import keras as _keras
    except ImportError:
        raise ToolMissingError("TensorFlow/Keras is not installed: pip install 'edge-gru[tf]'") from None
    return _keras
