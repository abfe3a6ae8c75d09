"""Shared fixtures. Keras models are built small; the spoken-digits model is trained once."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def keras():
    from converters._tf import keras as _keras

    return _keras()


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def spoken_digits():
    from edge_gru.data import load_dataset

    return load_dataset("spoken-digits")


@pytest.fixture(scope="session")
def spoken_digits_model(spoken_digits, tmp_path_factory):
    """GRU(16) trained on spoken digits (about 20 s): (keras model, spec, path)."""
    from converters.keras_import import import_keras
    from converters.keras_train import save_keras, train_classifier

    train, test = spoken_digits
    model, acc = train_classifier(train, test, units=16, epochs=30, seed=0)
    path = tmp_path_factory.mktemp("sd") / "sd16.keras"
    save_keras(model, path)
    return model, import_keras(model), path, acc


@pytest.fixture(scope="session")
def seed_model(tmp_path_factory):
    """The classic GRU(50) on the seed-toy data: (keras model, spec, train, test)."""
    from converters.keras_import import import_keras
    from converters.keras_train import train_classifier
    from edge_gru.data import load_dataset

    train, test = load_dataset("seed-toy")
    model, acc = train_classifier(train, test, units=50, epochs=15, seed=0)
    return model, import_keras(model), train, test, acc


@pytest.fixture
def jit_and_nojit(tmp_path):
    """Run a script that saves an array to ``sys.argv[1]`` with Numba's JIT and with ``NUMBA_DISABLE_JIT=1``
    (the pure-Python fallback); returns both arrays."""
    import subprocess
    import sys

    def run(script: str) -> tuple[np.ndarray, np.ndarray]:
        (tmp_path / "s.py").write_text(script)
        for name, flag in (("jit", "0"), ("nojit", "1")):
            env = dict(os.environ, NUMBA_DISABLE_JIT=flag)
            subprocess.run([sys.executable, str(tmp_path / "s.py"), str(tmp_path / f"{name}.npy")], check=True,
                           env=env)
        return np.load(tmp_path / "jit.npy"), np.load(tmp_path / "nojit.npy")

    return run
