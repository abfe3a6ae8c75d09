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
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if p.returncode != 0:
        raise EdgeGruError(f"C compilation failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ''}")
    return Path(exe)


def run_host(folder: str | Path, xq: np.ndarray, extra_flags: tuple[str, ...] = (),
             lengths: np.ndarray | None = None) -> np.ndarray:
    """Run integer inputs ``(N, T, F)`` (or token ids ``(N, T)``) through the compiled C runtime.

    Returns:
        int32 outputs ``(N, K)``; per-step models ``(N, T, K)``, row ``j`` after the ``j``-th fed step (see
        :meth:`HostProgram.run`).
    """
    with HostProgram(folder, extra_flags) as prog:
        return prog.run(xq, lengths)


def is_per_step(folder: str | Path) -> bool:
    """Whether a C export's model outputs after every step (``EG_MODEL_PER_STEP 1`` in its model.h)."""
    head = (Path(folder) / "model.h").read_bytes()[:1 << 20]
    return b"#define EG_MODEL_PER_STEP 1" in head


class HostProgram:
    """An exported C folder compiled once for the host, run on any number of batches.

    Args:
        folder: A folder written by ``edge-gru convert --format c``.
        extra_flags: Extra compiler flags.
    """

    def __init__(self, folder: str | Path, extra_flags: tuple[str, ...] = ()) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="edge-gru-host-")
        try:
            self.exe = build_host(folder, Path(self._tmp.name) / "eg_host", extra_flags)
        except BaseException:
            self._tmp.cleanup()
            raise
        self.per_step = is_per_step(folder)
        self.zero_output: np.ndarray | None = None

    def run(self, xq: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Integer inputs ``(N, T, F)`` (``eg_run``) or token ids ``(N, T)`` (``eg_run_tokens``) -> int32 ``(N, K)``.

        ``lengths (N,)``: steps of each row fed to the runtime (default all ``T``). A per-step model's export
        runs ``eg_run_seq`` / ``eg_run_tokens_seq``: int32 ``(N, T, K)``, row ``j`` the outputs after the ``j``-th
        fed step (zero beyond a row's length); :attr:`zero_output` then holds the outputs of the zero state
        (:meth:`~edge_gru.fixed.model.FixedModel.expand_device_outputs` places both at the input's steps).
        """
        tokens = np.asarray(xq).ndim == 2
        xq = np.ascontiguousarray(xq, np.int32 if tokens else np.int16)
        if xq.ndim != 3 and not tokens:
            raise DataError(f"integer inputs must be (N, T, F) or token ids (N, T), got {xq.shape}")
        n, t = xq.shape[:2]
        lens = np.full(n, t, np.int32) if lengths is None else np.ascontiguousarray(lengths, np.int32)
        fin, fout = Path(self._tmp.name) / "in.bin", Path(self._tmp.name) / "out.bin"
        with open(fin, "wb") as fh:
            np.array([n, t, 1 if tokens else xq.shape[2], int(tokens)], np.int32).tofile(fh)
            lens.tofile(fh)
            xq.tofile(fh)
        p = subprocess.run([str(self.exe), str(fin), str(fout)], capture_output=True, text=True, errors="replace")
        if p.returncode != 0:
            raise EdgeGruError(f"the C runtime failed (exit {p.returncode}): {p.stderr.strip()[:300]}")
        raw = np.fromfile(fout, np.int32)
        if not self.per_step:
            return raw.reshape(len(xq), -1)
        k = raw.size // (n * t + 1)
        self.zero_output = raw[:k]
        return raw[k:].reshape(n, t, k)

    def close(self) -> None:
        """Remove the build."""
        self._tmp.cleanup()

    def __enter__(self) -> HostProgram:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CStream:
    """The exported C runtime loaded as a host shared library, fed one timestep at a time.

    Mirrors :class:`edge_gru.fixed.model.FixedStream`: ``reset()``, ``step(x_q)``, ``output_raw()``.
    The library is compiled from the folder's sources with the host C compiler (``-fPIC -shared``).

    Args:
        folder: A folder written by ``edge-gru convert --format c``.
        features: Inputs per timestep (checked against the model).
    """

    def __init__(self, folder: str | Path, features: int) -> None:
        import ctypes

        folder = Path(folder)
        missing = [n for n in ("edge_gru.c", "model.c", "model.h") if not (folder / n).is_file()]
        if missing:
            raise ModelFileError(f"{folder}: not an edge-gru C export (missing {', '.join(missing)})")
        self._tmp = tempfile.TemporaryDirectory(prefix="edge-gru-cstream-")
        shim = Path(self._tmp.name) / "shim.c"
        shim.write_text('#include "model.h"\nconst eg_model_t *eg_the_model(void) { return &EG_MODEL; }\n'
                        "int32_t eg_the_sizes(int32_t *s) { s[0] = EG_MODEL_FEATURES; s[1] = EG_MODEL_OUTPUT_DIM; "
                        "s[2] = EG_MODEL_STATE_LEN; s[3] = EG_MODEL_SCRATCH_LEN; return 0; }\n")
        lib = Path(self._tmp.name) / "libedgegru.so"
        cmd = [host_cc(), "-std=c99", "-O2", "-fPIC", "-shared", f"-I{folder}", "-o", str(lib), str(shim),
               str(folder / "edge_gru.c"), str(folder / "model.c")]
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
        if p.returncode != 0:
            raise EdgeGruError(f"C compilation failed: {p.stderr.strip()[-300:]}")
        self._lib = ctypes.CDLL(str(lib))
        sizes = (ctypes.c_int32 * 4)()
        self._lib.eg_the_sizes(sizes)
        self.features, self.output_dim, state_len, scratch_len = (int(v) for v in sizes)
        if features != self.features:
            raise DataError(f"the C model takes {self.features} features, not {features}")
        self._lib.eg_the_model.restype = ctypes.c_void_p
        self._model = ctypes.c_void_p(self._lib.eg_the_model())
        self._state = np.zeros(state_len, np.int16)
        self._scratch = np.zeros(scratch_len, np.int32)
        self._ptr = lambda a: a.ctypes.data_as(ctypes.c_void_p)
        self.reset()

    def reset(self) -> None:
        """Start a new sequence (zero state)."""
        self._lib.eg_reset(self._model, self._ptr(self._state))

    def step(self, x_q: np.ndarray) -> None:
        """Feed one timestep of integer inputs (``features`` values)."""
        x = np.ascontiguousarray(x_q, np.int16).reshape(-1)
        if x.size != self.features:
            raise DataError(f"a timestep has {self.features} inputs, got {x.size}")
        self._lib.eg_step(self._model, self._ptr(self._state), self._ptr(x), self._ptr(self._scratch))

    def step_token(self, token: int) -> int:
        """Feed one token id (embedding models): 1 ran, 0 padding skipped, -1 id refused (``eg_step_token``)."""
        return int(self._lib.eg_step_token(self._model, self._ptr(self._state), int(token), self._ptr(self._scratch)))

    def output_raw(self) -> np.ndarray:
        """Integer outputs for the current state."""
        out = np.zeros(self.output_dim, np.int32)
        self._lib.eg_output(self._model, self._ptr(self._state), self._ptr(out), self._ptr(self._scratch))
        return out

    def close(self) -> None:
        """Remove the compiled library's temporary folder."""
        self._tmp.cleanup()


__all__ = ["CStream", "HostProgram", "build_host", "host_cc", "is_per_step", "run_host"]
