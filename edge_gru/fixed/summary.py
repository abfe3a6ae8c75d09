"""Compare a fixed-point model with its float reference."""

from __future__ import annotations

import numpy as np

from edge_gru.data import predicted_class
from edge_gru.fixed.model import FixedModel
from edge_gru.float_ref import predict
from edge_gru.spec import ModelSpec


def compare_outputs(ref: np.ndarray, got: np.ndarray) -> dict:
    """Output-level comparison: class agreement, RMSE, MAE, max abs error, relative L2, cosine."""
    ref = np.asarray(ref, np.float64)
    got = np.asarray(got, np.float64)
    err = got - ref
    denom = np.linalg.norm(ref)
    cos_den = np.linalg.norm(ref) * np.linalg.norm(got)
    return {
        "n": int(len(ref)),
        "agreement": float(np.mean(predicted_class(ref) == predicted_class(got))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "max_abs_error": float(np.abs(err).max(initial=0.0)),
        "l2r": float(np.linalg.norm(err) / denom) if denom > 0 else 0.0,
        "cosine": float((ref * got).sum() / cos_den) if cos_den > 0 else 1.0,
    }


def summarize(spec: ModelSpec, fm: FixedModel, X: np.ndarray) -> dict:
    """Compare ``fm`` with the float reference of ``spec`` on inputs ``X``."""
    return compare_outputs(predict(spec, X), fm.predict(X))


__all__ = ["compare_outputs", "summarize"]
