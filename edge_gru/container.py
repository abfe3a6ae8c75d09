"""A small self-describing file container: a JSON header plus named numpy arrays.

Stored as an uncompressed ``.npz`` (a zip of ``.npy`` files) with one extra member,
``__header__``, holding UTF-8 JSON. Arrays are loaded with ``allow_pickle=False``, so a
file can never execute code. The header names the ``kind`` of content and its
``format_version``; loading checks both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edge_gru.errors import ModelFileError
from edge_gru.npz import NpzReader

_HEADER = "__header__"
#: Largest JSON header read.
MAX_HEADER_BYTES = 1 << 20
#: Deepest nesting of lists and objects in a header.
MAX_HEADER_DEPTH = 16
#: Largest total of array data in a model file (uncompressed).
MAX_MODEL_BYTES = 1 << 30


def save(path: str | Path, kind: str, version: int, meta: dict[str, Any],
         arrays: dict[str, np.ndarray]) -> None:
    """Write a container file.

    Args:
        path: Destination file.
        kind: Content kind, e.g. ``"edge-gru-spec"``.
        version: Format version of that kind.
        meta: JSON-serialisable metadata.
        arrays: Named arrays (names must not start with ``__``).
    """
    header = {"kind": kind, "format_version": version, "meta": meta}
    blob = np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    payload = {_HEADER: blob}
    for name, arr in arrays.items():
        if name.startswith("__"):
            raise ValueError(f"array name {name!r} is reserved")
        payload[name] = np.ascontiguousarray(arr)
    with open(path, "wb") as fh:
        np.savez(fh, **payload)


def load(path: str | Path, kind: str, max_version: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a container file written by :func:`save`.

    Args:
        path: File to read.
        kind: Expected content kind.
        max_version: Newest format version this code understands.

    Returns:
        ``(meta, arrays)``.

    Raises:
        ModelFileError: The file is missing, not a container, of another kind, or too new.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{p}: no such file")
    with NpzReader(p, ModelFileError, MAX_MODEL_BYTES) as z:
        if _HEADER not in z.members:
            raise ModelFileError(f"{p}: not an edge-gru file (no header)")
        header = _parse_header(p, z.read(_HEADER, MAX_HEADER_BYTES))
        arrays = {k: z.read(k) for k in z.members if k != _HEADER}
    if not isinstance(header, dict) or header.get("kind") != kind:
        got = header.get("kind") if isinstance(header, dict) else None
        raise ModelFileError(f"{p}: expected a {kind} file, found {got!r}")
    version = header.get("format_version")
    if not isinstance(version, int) or version < 1 or version > max_version:
        raise ModelFileError(
            f"{p}: format version {version!r} is not supported (this edge-gru reads <= {max_version}); "
            "upgrade edge-gru")
    meta = header.get("meta")
    if not isinstance(meta, dict):
        raise ModelFileError(f"{p}: corrupt header (meta missing)")
    return meta, arrays


def _parse_header(p: Path, blob: np.ndarray) -> Any:
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise ModelFileError(f"{p}: corrupt header (expected bytes, found {blob.dtype} {blob.shape})")
    try:
        header = json.loads(blob.tobytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ModelFileError(f"{p}: corrupt header (not UTF-8)") from None
    except RecursionError:
        raise ModelFileError(f"{p}: corrupt header (nested deeper than {MAX_HEADER_DEPTH} levels)") from None
    except ValueError as exc:
        raise ModelFileError(f"{p}: corrupt header (not JSON: {exc.args[0] if exc.args else exc})") from None
    if _depth(header) > MAX_HEADER_DEPTH:
        raise ModelFileError(f"{p}: corrupt header (nested deeper than {MAX_HEADER_DEPTH} levels)")
    return header


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_HEADER_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level
