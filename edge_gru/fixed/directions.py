"""Fixed-point GRU layers that need the whole sequence: ``go_backwards`` and ``Bidirectional`` (two directions
merged). A layer is a dict of :func:`~edge_gru.fixed.quantize.quantize_gru`; a bidirectional one holds its
backward direction under ``"backward"`` and Keras' ``merge_mode`` under ``"merge"``.

The merge works on states in the state format (``s_h = 2^-(a_bits - 1)``, ``|h| <= qmax``), integers only::

    concat:  [h_f, h_b]                                   scale s_h
    ave:     rshift_round(h_f + h_b, 1)                   scale s_h       ((h_f + h_b) / 2)
    sum:     rshift_round(h_f + h_b, 1)                   scale 2 s_h     (h_f + h_b)
    mul:     rshift_round(h_f * h_b, a_bits - 1)          scale s_h       (h_f * h_b)

``rshift_round(v, n) = (v + 2^(n-1)) >> n`` (arithmetic shift); every result stays within ``+-qmax``.
"""

from __future__ import annotations

import numpy as np

#: How the merged output's scale relates to the state scale, per merge mode.
MERGE_SCALE = {"concat": 1.0, "ave": 1.0, "sum": 2.0, "mul": 1.0}
#: The C runtime's codes (edge_gru.h EG_MERGE_*).
MERGE_CODES = {"concat": 0, "ave": 1, "sum": 1, "mul": 2}


def is_bidirectional(g: dict) -> bool:
    """True for a bidirectional layer's dict."""
    return g.get("backward") is not None


def layer_output_dim(g: dict) -> int:
    """Width of a layer's output: ``2 * units`` for a bidirectional layer merged by ``concat``."""
    return 2 * int(g["units"]) if is_bidirectional(g) and g["merge"] == "concat" else int(g["units"])


def directions(g: dict) -> list[dict]:
    """The layer's directions: itself, then its backward direction when bidirectional."""
    return [g, g["backward"]] if is_bidirectional(g) else [g]


def merge_int(fwd: np.ndarray, bwd: np.ndarray, mode: str, a_bits: int) -> np.ndarray:
    """Merge two directions' integer states (int32, same shape) as the module docstring says."""
    f, b = fwd.astype(np.int64), bwd.astype(np.int64)
    if mode == "concat":
        out = np.concatenate([f, b], axis=-1)
    elif mode in ("ave", "sum"):
        out = (f + b + 1) >> 1                                  # (h_f + h_b) / 2 (sum: at twice the scale)
    else:
        out = (f * b + (1 << (a_bits - 2))) >> (a_bits - 1)     # h_f * h_b
    return out.astype(np.int32)


__all__ = ["MERGE_CODES", "MERGE_SCALE", "directions", "is_bidirectional", "layer_output_dim", "merge_int"]
