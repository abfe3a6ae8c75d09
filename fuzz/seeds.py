"""The seed corpus: one small, valid artifact of every kind the CLI reads.

Built once into a folder (TensorFlow only for the ``.keras`` file and the two ``.tflite`` files) and
reused by every case: a ``.keras`` GRU(4), its ``.egspec``, a w8a16 ``.egru``, a data ``.npz`` with
labels, int8 ``.tflite`` files in both layouts, a C folder and a targets file; and a text model
(``Embedding(20, 3, mask_zero) -> GRU(4)``) as ``.egru`` and step ``.tflite`` with its token-id data; an ``.onnx``
GRU(4) for the same data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

KINDS = ("keras", "egspec", "egru", "npz", "tflite", "tflite-step", "cfolder", "targets", "egru-text", "npz-tokens",
         "tflite-text", "onnx")

TARGETS_TOML = """# a user's targets file
[myboard]
part = "My board"
core = "cortex-m4"
clock_mhz = 64
flash_kb = 512
ram_kb = 128
"""


def build_seeds(folder: Path) -> dict[str, Path]:
    """Create (or reuse) the seed artifacts in ``folder``; returns kind -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "keras": folder / "m.keras", "egspec": folder / "m.egspec", "egru": folder / "m.egru",
        "npz": folder / "data.npz", "tflite": folder / "m-int8.tflite", "tflite-step": folder / "m-int8-step.tflite",
        "cfolder": folder / "cdir", "targets": folder / "targets.toml",
        "egru-text": folder / "text.egru", "npz-tokens": folder / "tokens.npz",
        "tflite-text": folder / "text-int8-step.tflite", "onnx": folder / "m.onnx",
    }
    if all(p.exists() for p in paths.values()):
        return paths
    from edge_gru.data import seed_toy

    train = seed_toy(64, seed=3, timesteps=6, features=3)
    train.save(paths["npz"])
    token_data(np.random.default_rng(3)).save(paths["npz-tokens"])
    paths["targets"].write_text(TARGETS_TOML)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    steps = [
        ["train", "--data", paths["npz"], "--units", "4", "--epochs", "1", "-o", paths["keras"], "--force"],
        ["quantize", paths["keras"], "--calibration", paths["npz"], "-o", paths["egru"], "--force"],
        ["convert", paths["egru"], "--format", "c", "-o", paths["cfolder"], "--force"],
        ["convert", paths["keras"], "--calibration", paths["npz"], "-o", folder, "--force"],
        ["convert", paths["keras"], "--calibration", paths["npz"], "--layout", "step", "-o", folder, "--force"],
        ["train", "--data", paths["npz-tokens"], "--units", "4", "--epochs", "1", "--embedding-dim", "3",
         "-o", folder / "text.keras", "--force"],
        ["quantize", folder / "text.keras", "--calibration", paths["npz-tokens"], "-o", paths["egru-text"], "--force"],
        ["convert", folder / "text.keras", "--calibration", paths["npz-tokens"], "--layout", "step", "-o", folder,
         "--force"],
    ]
    for args in steps:
        subprocess.run([sys.executable, "-m", "edge_gru.cli", *map(str, args)], check=True, env=env,
                       capture_output=True)
    from converters.keras_import import import_keras
    from edge_gru.spec import save_spec

    save_spec(import_keras(paths["keras"]), paths["egspec"])
    paths["onnx"].write_bytes(onnx_seed())
    return paths


def onnx_seed() -> bytes:
    """A PyTorch-shaped ONNX GRU(4) for the seed data (``(N, 6, 3)``), built node by node (no PyTorch needed)."""
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from onnx_graphs import gru_model

    return gru_model(np.random.default_rng(5), features=3, hidden=4, timesteps=6, units=2)


def token_data(rng: np.random.Generator, n: int = 32):
    """Token ids ``(n, 6)`` in ``0..19`` with end padding, binary labels."""
    from edge_gru.data import Dataset

    X = rng.integers(1, 20, (n, 6)).astype(np.int32)
    for i in range(n):
        X[i, rng.integers(1, 7):] = 0
    return Dataset(X, rng.integers(0, 2, n))


def small_data(rng: np.random.Generator, n: int = 5) -> np.ndarray:
    """Valid inputs for the seed models: ``(n, 6, 3)`` float32."""
    return rng.normal(size=(n, 6, 3)).astype(np.float32)


__all__ = ["KINDS", "TARGETS_TOML", "build_seeds", "small_data", "token_data"]
