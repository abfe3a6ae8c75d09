"""The TFLite flatbuffer schema (generated Python accessors), found without importing TensorFlow when possible."""

from __future__ import annotations

from pathlib import Path

from edge_gru.errors import ToolMissingError


def schema():
    """The TFLite flatbuffer schema module: from ai-edge-litert, tflite-micro, or TensorFlow's copy."""
    import importlib
    import importlib.util

    for name in ("ai_edge_litert.schema_py_generated",
                 "tflite_micro.tensorflow.lite.micro.python.schema_py_generated"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    tf_spec = importlib.util.find_spec("tensorflow")
    if tf_spec is not None and tf_spec.submodule_search_locations:
        path = Path(list(tf_spec.submodule_search_locations)[0]) / "lite" / "python" / "schema_py_generated.py"
        if path.is_file():
            spec = importlib.util.spec_from_file_location("edge_gru_tflite_schema", path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            return mod
    raise ToolMissingError("reading .tflite files needs ai-edge-litert: pip install ai-edge-litert")
