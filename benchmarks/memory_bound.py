"""Peak memory of ``edge-gru run`` against the size of ``X`` (issue 14: memory stays bounded).

Writes a data file of random float32 sequences (``--gb`` of ``X``, stored uncompressed as ``numpy.savez``
writes it), a small GRU model, then runs ``edge-gru run MODEL DATA -o y.npy`` for each engine in a child
process and prints its peak resident memory (``wait4``) and wall time. Usage::

    python benchmarks/memory_bound.py --gb 2 [--engines fixed,float,c,litert] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np


def write_data(path: Path, gigabytes: float, timesteps: int = 10, features: int = 5) -> int:
    """Random X of about ``gigabytes`` GB, written in pieces (the writer never holds it)."""
    rows = int(gigabytes * 1e9) // (timesteps * features * 4)
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, timesteps, features), np.float32))
    header["shape"] = (rows, timesteps, features)
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z, \
            z.open("X.npy", "w", force_zip64=True) as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        left = rows
        while left:
            n = min(left, 200_000)
            fh.write(rng.normal(size=(n, timesteps, features)).astype(np.float32).tobytes())
            left -= n
    return rows


def peak_of(cmd: list[str]) -> tuple[int, float, float]:
    """Exit status, peak RSS in MB and seconds of a child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    _, status, usage = os.wait4(proc.pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--engines", default="fixed,float,c")
    ap.add_argument("--work", type=Path)
    args = ap.parse_args()
    from edge_gru.data import CHUNK_BYTES, seed_toy
    from edge_gru.fixed.io import save_fixed
    from edge_gru.fixed.model import quantize_model
    from edge_gru.spec import random_spec, save_spec

    work = args.work or Path(tempfile.mkdtemp(prefix="edge-gru-mem-"))
    work.mkdir(parents=True, exist_ok=True)
    spec = random_spec(np.random.default_rng(1), 5, [16], [(1, "sigmoid")], timesteps=10)
    save_spec(spec, work / "m.egspec")
    save_fixed(quantize_model(spec, seed_toy(500).X, "w8a16"), work / "m.egru")
    data = work / "big.npz"
    rows = write_data(data, args.gb)
    print(f"X: {rows:,} sequences x 10 x 5 float32 = {data.stat().st_size / 1e9:.2f} GB on disk; "
          f"chunk {CHUNK_BYTES >> 20} MiB")
    exe = [sys.executable, "-m", "edge_gru.cli"]
    base_rc, base_mb, _ = peak_of([*exe, "inspect", str(work / "m.egru")])
    print(f"baseline (`edge-gru inspect m.egru`): peak {base_mb:.0f} MB")
    for engine in args.engines.split(","):
        artifact = work / ("m.egspec" if engine == "float" else "m.egru")
        extra: list[str] = []
        if engine == "c":
            subprocess.run([*exe, "convert", str(work / "m.egru"), "--format", "c", "-o", str(work / "c"), "--force"],
                           check=True, capture_output=True)
            artifact = work / "c"
            extra = ["--engine", "c"]
        out = work / f"y-{engine}.npy"
        rc, mb, sec = peak_of([*exe, "run", str(artifact), str(data), "-o", str(out), "--force", *extra])
        print(f"run --engine {engine}: exit {rc}, peak {mb:.0f} MB ({mb - base_mb:+.0f} MB over the baseline), "
              f"{sec:.0f} s, outputs {np.load(out, mmap_mode='r').shape if rc == 0 else '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
