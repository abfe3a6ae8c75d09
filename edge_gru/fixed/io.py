"""The ``.egru`` file: save and load a :class:`~edge_gru.fixed.model.FixedModel`, checking every field.

A ``.egru`` file is a :mod:`edge_gru.container` (JSON header + integer arrays, no pickle) holding the
integer weights, biases, requantization multipliers and shifts, the activation tables, the embedding
table of a text model, the input scale, the output scale and activation, and the format version. Loading
never trusts a stored number it can recompute (the accumulator widths are proved again).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from edge_gru import container
from edge_gru.errors import ModelFileError, QuantizationError
from edge_gru.fixed import kernels as K
from edge_gru.fixed.directions import MERGE_CODES, layer_output_dim
from edge_gru.fixed.model import DENSE_ARRAYS, GRU_ARRAYS, FixedModel
from edge_gru.fixed.quantize import TABLE_SIZE, acc_bits_for, acc_bound, precision
from edge_gru.spec import MAX_VOCAB

FIXED_KIND = "edge-gru-fixed"
FIXED_VERSION = 1


def save_fixed(model: FixedModel, path: str | Path) -> None:
    """Write a ``.egru`` file."""
    arrays = {"sig_tab": model.sig_tab, "tanh_tab": model.tanh_tab}
    layers = []
    emb = None
    if model.embedding is not None:
        arrays["embedding.table"] = model.embedding["table"]
        emb = {k: v for k, v in model.embedding.items() if k != "table"}
    for i, g in enumerate(model.grus):
        arrays.update({f"gru{i}.{k}": g[k] for k in GRU_ARRAYS})
        meta_g = {k: v for k, v in g.items() if k not in GRU_ARRAYS}
        if g.get("backward") is not None:
            arrays.update({f"gru{i}.backward.{k}": g["backward"][k] for k in GRU_ARRAYS})
            meta_g["backward"] = {k: v for k, v in g["backward"].items() if k not in GRU_ARRAYS}
        layers.append({"type": "gru", **meta_g})
    for i, d in enumerate(model.dense):
        arrays.update({f"dense{i}.{k}": d[k] for k in DENSE_ARRAYS})
        layers.append({"type": "dense", **{k: v for k, v in d.items() if k not in DENSE_ARRAYS}})
    meta = {"name": model.name, "precision": model.precision.name, "features": model.features,
            "timesteps": model.timesteps, "input_scale": model.input_scale, "output_scale": model.output_scale,
            "output_activation": model.output_activation, "layers": layers, "info": model.info,
            "embedding": emb, "mask_value": model.mask_value, "per_step": model.per_step,
            "stateful": model.stateful}
    container.save(path, FIXED_KIND, FIXED_VERSION, _jsonable(meta), arrays)


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def load_fixed(path: str | Path) -> FixedModel:
    """Read a ``.egru`` file, checking every array's dtype and shape.

    Raises:
        ModelFileError: Missing, corrupt or inconsistent file.
    """
    meta, arrays = container.load(path, FIXED_KIND, FIXED_VERSION)
    try:
        return _from_parts(meta, arrays)
    except (KeyError, TypeError, ValueError, OverflowError, QuantizationError) as exc:  # int(inf): Overflow
        raise ModelFileError(f"{path}: inconsistent .egru file ({type(exc).__name__}: {exc})") from None


def _expect(arr: np.ndarray, dtypes: tuple, shape: tuple, what: str) -> np.ndarray:
    if arr.dtype not in dtypes or arr.shape != shape:
        raise ValueError(f"{what}: {arr.dtype}{arr.shape}, expected {dtypes[0]}{shape}")
    return arr


def _gru_parts(g: dict, arrays: dict, key: str, width: int, prec, wdt: tuple) -> dict:
    """One GRU direction's arrays, checked, and its overflow proof redone."""
    i32, i64 = (np.dtype(np.int32),), (np.dtype(np.int64),)
    H = int(g["units"])
    g["W"] = _expect(arrays[f"{key}.W"], wdt, (width, 3 * H), "W")
    g["U"] = _expect(arrays[f"{key}.U"], wdt, (H, 3 * H), "U")
    for k in ("b_i", "b_h", "mx", "nx", "mh", "nh"):
        g[k] = _expect(arrays[f"{key}.{k}"], i32 + i64 if k[0] == "b" else i32, (3 * H,), k)
    _check_shifts(g["nx"], g["mx"])
    _check_shifts(g["nh"], g["mh"])
    g.update(units=H, input_dim=width, reset_after=bool(g["reset_after"]), use_bias=bool(g["use_bias"]),
             go_backwards=bool(g.get("go_backwards", False)))
    # never trust a stored accumulator width: redo the overflow proof
    g["acc_bits"] = acc_bits_for([acc_bound(g["W"], g["b_i"], prec.a_qmax),
                                  acc_bound(g["U"], g["b_h"], prec.a_qmax)], key)
    return g


def _from_parts(meta: dict, arrays: dict) -> FixedModel:
    prec = precision(meta["precision"])
    wdt = (np.dtype(np.int8),) if prec.w_bits == 8 else (np.dtype(np.int16),)
    i32 = (np.dtype(np.int32),)
    i64 = (np.dtype(np.int64),)
    grus, dense = [], []
    width = int(meta["features"])
    for lay in meta["layers"]:
        if lay["type"] == "gru":
            i = len(grus)
            g = _gru_parts({k: v for k, v in lay.items() if k not in ("type", "backward")}, arrays, f"gru{i}", width,
                           prec, wdt)
            if lay.get("backward") is not None:
                g["backward"] = _gru_parts(dict(lay["backward"]), arrays, f"gru{i}.backward", width, prec, wdt)
                if g["merge"] not in MERGE_CODES or g["backward"]["units"] != g["units"] \
                        or not g["backward"]["go_backwards"]:
                    raise ValueError(f"layer {i}: inconsistent bidirectional layer")
            else:
                g.pop("merge", None)
            grus.append(g)
            width = layer_output_dim(g)
        else:
            i, Kd = len(dense), int(lay["units"])
            d = {k: v for k, v in lay.items() if k != "type"}
            d["W"] = _expect(arrays[f"dense{i}.W"], wdt, (width, Kd), "W")
            for k in ("b", "m", "n"):
                d[k] = _expect(arrays[f"dense{i}.{k}"], i32 + i64 if k == "b" else i32, (Kd,), k)
            _check_shifts(d["n"], d["m"])
            d.update(units=Kd, input_dim=width, mode=int(d["mode"]), relu=bool(d["relu"]),
                     use_bias=bool(d["use_bias"]))
            if d["mode"] not in (K.DENSE_REQUANT, K.DENSE_SIGMOID):
                raise ValueError(f"dense mode {d['mode']!r}")
            d["acc_bits"] = acc_bits_for([acc_bound(d["W"], d["b"], prec.a_qmax)], f"dense {i}")
            dense.append(d)
            width = Kd
    if not grus:
        raise ValueError("no GRU layer")
    i16 = (np.dtype(np.int16),)
    sig = _expect(arrays["sig_tab"], i16, (TABLE_SIZE,), "sig_tab")
    tanh = _expect(arrays["tanh_tab"], i16, sig.shape, "tanh_tab")
    # the ranges activation_tables() produces; the state update relies on them (h stays in [-32767, 32767] without
    # saturating: the C runtime's assembly omits that saturation, test_state_update_never_saturates in
    # tests/unit/test_fixed.py)
    if sig.min() < 0 or tanh.min() < -32767:
        raise ValueError("activation tables outside their range (sigmoid in [0, 32767], tanh in [-32767, 32767])")
    t = meta["timesteps"]
    _check_header(meta)
    mv = meta.get("mask_value")
    if mv is not None and not math.isfinite(float(mv)):
        raise ValueError(f"mask_value {mv!r} must be finite")
    emb = meta.get("embedding")
    if emb is not None:
        vocab = int(emb["vocab"])
        if not 1 <= vocab <= MAX_VOCAB:
            raise ValueError(f"vocabulary {vocab} outside 1..{MAX_VOCAB}")
        adt = (np.dtype(np.int8),) if prec.a_bits == 8 else (np.dtype(np.int16),)
        table = _expect(arrays["embedding.table"], adt, (vocab, int(meta["features"])), "embedding table")
        if np.abs(table.astype(np.int32)).max(initial=0) > prec.a_qmax:
            raise ValueError("embedding table values beyond the input range")
        emb = {"table": table, "vocab": vocab, "mask_zero": bool(emb["mask_zero"]), "name": str(emb["name"])}
    return FixedModel(prec, int(meta["features"]), None if t is None else int(t), float(meta["input_scale"]),
                      grus, dense, float(meta["output_scale"]), str(meta["output_activation"]), sig, tanh,
                      str(meta.get("name", "model")), dict(meta.get("info", {})), emb,
                      None if mv is None else float(mv), bool(meta.get("per_step", False)),
                      bool(meta.get("stateful", False)))


# Limits on the numbers of a .egru header (docs/data.md, "Hostile and broken inputs").
MAX_TIMESTEPS = 1_000_000
OUTPUT_ACTIVATIONS = ("linear", "sigmoid", "softmax")


def _check_header(meta: dict) -> None:
    """The header's numbers: scales finite and positive, a known output activation, a sane sequence length."""
    for key in ("input_scale", "output_scale"):
        v = float(meta[key])
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"{key} = {v} must be a finite positive number")
    if meta["output_activation"] not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"output_activation {meta['output_activation']!r} is not one of "
                         f"{', '.join(OUTPUT_ACTIVATIONS)}")
    t = meta["timesteps"]
    if t is not None and not (isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= MAX_TIMESTEPS):
        raise ValueError(f"timesteps = {t!r} must be a whole number from 1 to {MAX_TIMESTEPS:,} (or null: any)")


def _check_shifts(n: np.ndarray, m: np.ndarray) -> None:
    if n.min(initial=1) < 1 or n.max(initial=1) > 62 or m.min(initial=0) < 0 or m.max(initial=0) >= 1 << 15:
        raise ValueError("requantization multipliers or shifts out of range")


__all__ = ["load_fixed", "save_fixed"]
