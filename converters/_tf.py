"""Lazy, quiet import of Keras / TensorFlow."""

from __future__ import annotations

import logging
import os
from types import ModuleType

from edge_gru.errors import ToolMissingError
from edge_gru.native_log import filtered_native_stderr


def _quiet_import(name: str) -> ModuleType:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        with filtered_native_stderr():                  # TensorFlow's C++ start-up lines
            import importlib

            module = importlib.import_module(name)
            import tensorflow as tf
    except ImportError:
        raise ToolMissingError("TensorFlow/Keras is not installed: pip install 'edge-gru[tf]'") from None
    tf.get_logger().setLevel(logging.ERROR)             # retracing warnings and the like
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass
    return module


def keras() -> ModuleType:
    """Return the ``keras`` module, importing TensorFlow quietly on first use.

    Raises:
        ToolMissingError: TensorFlow / Keras are not installed.
    """
    return _quiet_import("keras")


def tensorflow() -> ModuleType:
    """Return the ``tensorflow`` module, imported quietly (see :func:`keras`).

    Raises:
        ToolMissingError: TensorFlow is not installed.
    """
    return _quiet_import("tensorflow")
