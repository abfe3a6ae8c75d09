"""Lazy, quiet import of Keras / TensorFlow."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from types import ModuleType

from edge_gru.errors import ToolMissingError
from edge_gru.native_log import filtered_native_stderr


@contextlib.contextmanager
def _deferred_interrupt():
    """Hold Ctrl-C back while TensorFlow imports (a KeyboardInterrupt inside its import machinery can come out as an
    ImportError, or be lost) and raise it once the import is over. Main thread only; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread() or sys.modules.get("tensorflow") is not None:
        yield
        return
    hit: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: hit.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if hit:
            raise KeyboardInterrupt


def _quiet_import(name: str) -> ModuleType:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        with _deferred_interrupt(), filtered_native_stderr():   # Ctrl-C after; TensorFlow's C++ start-up lines
            import importlib

            module = importlib.import_module(name)
            import tensorflow as tf
    except ImportError as exc:
        cause: BaseException | None = exc
        while cause is not None:                        # Ctrl-C while TensorFlow imports: an interrupt, not a
            if isinstance(cause, KeyboardInterrupt):    # missing package (TensorFlow re-raises it as ImportError)
                raise KeyboardInterrupt from None
            cause = cause.__cause__ or cause.__context__
        import importlib.util

        if importlib.util.find_spec("tensorflow") is not None:
            raise ToolMissingError(f"TensorFlow is installed but does not import ({exc}); reinstall it: "
                                   "pip install --force-reinstall 'edge-gru[tf]'") from None
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
