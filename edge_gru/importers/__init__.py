"""Importers of models trained outside Keras: ONNX files (protobuf, read without running code) and PyTorch modules.

Both give the framework-neutral :class:`edge_gru.spec.ModelSpec`, checked numerically against the source
(onnxruntime, or the module itself). onnx/onnxruntime and torch are optional and imported on use.
"""

from __future__ import annotations
