"""The C99 on-device runtime (``c/``, shipped as package data) and its host build (:mod:`~edge_gru.runtime.c_host`).

The C files are read through :mod:`importlib.resources`, so they are found wherever the package is installed.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

#: the runtime's files copied into every C export
RUNTIME_FILES = ("edge_gru.h", "edge_gru.c", "edge_gru_build.h", "edge_gru_matrix.h", "edge_gru_dsp.h",
                 "edge_gru_dsp_gates.h", "edge_gru_dsp_pairs.h", "edge_gru_run.h", "edge_gru_v6m.h",
                 "edge_gru_mve.h", "edge_gru_window.h", "edge_gru_head.h", "harness_host.c")


def c_source(name: str) -> Traversable:
    """One file of the C runtime (``edge_gru.h``, ``edge_gru.c``, ``harness_host.c``)."""
    return files(__name__).joinpath("c", name)


__all__ = ["RUNTIME_FILES", "c_source"]
