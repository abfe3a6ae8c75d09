"""Compile an exported C folder with the host C compiler and run it on a batch."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edge_gru.errors import DataError, EdgeGruError, ModelFileError, ToolMissingError

SOURCES = ("edge_gru.c", "model.c", "harness_host.c")


def host_cc() -> str:
    """The host C compiler (``$CC``, ``cc``, ``gcc`` or ``clang``)."""
    for cand in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cand and shutil.which(cand):
            return cand
    raise ToolMissingError("no host C compiler found: install gcc or clang, or set CC")


def build_host(folder: str | Path, exe: str | Path, extra_flags: tuple[str, ...] = ()) -> Path:
    """Compile the folder's runtime, model and host harness into ``exe``."""
    folder = Path(folder)
    missing = [s for s in (*SOURCES, "model.h", "edge_gru.h") if not (folder / s).is_file()]
    if missing:
        raise ModelFileError(f"{folder}: not an edge-gru C export (missing {', '.join(missing)}); "
                             "make one with `edge-gru convert MODEL --format c -o DIR`")
    cmd = [host_cc(), "-std=c99", "-O2", *extra_flags, "-o", str(exe), *(str(folder / s) for s in SOURCES)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise EdgeGruError(f"C compilation failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ''}")
    return Path(exe)


def run_host(folder: str | Path, xq: np.ndarray, extra_flags: tuple[str, ...] = ()) -> np.ndarray:
    """Run integer inputs ``(N, T, F)`` through the compiled C runtime; returns int32 ``(N, K)``."""
    xq = np.ascontiguousarray(xq, np.int16)
    if xq.ndim != 3:
        raise DataError(f"integer inputs must be (N, T, F), got {xq.shape}")
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_host(folder, Path(tmp) / "eg_host", extra_flags)
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        with open(fin, "wb") as fh:
            np.array(xq.shape, np.int32).tofile(fh)
            xq.tofile(fh)
        p = subprocess.run([str(exe), str(fin), str(fout)], capture_output=True, text=True)
        if p.returncode != 0:
            raise EdgeGruError(f"the C runtime failed (exit {p.returncode}): {p.stderr.strip()[:300]}")
        out = np.fromfile(fout, np.int32)
    return out.reshape(len(xq), -1)


__all__ = ["build_host", "host_cc", "run_host"]
