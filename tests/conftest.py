"""Shared markers and fixtures. Keras models are built small; the spoken-digits model is trained once.

Markers (registered here, one definition each):

* ``@pytest.mark.needs("sim", "tf", ...)``: the test skips, naming what to install, when a tool in
  :data:`TOOLS` is missing; CI installs every one of them, so nothing skips there.
* ``@pytest.mark.slow``: end-to-end cases of more than about 10 s; ``make test-fast`` leaves them out,
  ``make test`` runs everything.

``EDGE_GRU_TEST_WITHOUT=tensorflow,tflite_micro`` runs the suite as if those packages were not installed
(``tests/unit/test_architecture.py`` uses it to prove tests skip, not error, without TensorFlow).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
for _hidden in filter(None, os.environ.get("EDGE_GRU_TEST_WITHOUT", "").split(",")):
    sys.modules[_hidden] = None       # `import` raises ImportError and importlib.util.find_spec returns None


def _module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _cross_compiler() -> bool:
    return _module("ziglang") or shutil.which("arm-none-eabi-gcc") is not None


#: tool -> (is it here?, what to install)
TOOLS = {
    "sim": (lambda: _module("unicorn") and _module("capstone") and _module("elftools") and _cross_compiler(),
            "unicorn, capstone, pyelftools and an Arm cross-compiler (pip install 'edge-gru[sim]')"),
    "tf": (lambda: _module("tensorflow"), "tensorflow (pip install 'edge-gru[tf]')"),
    "tflm": (lambda: _module("tflite_micro"), "tflite-micro (pip install 'edge-gru[micro]')"),
    "zig": (lambda: _module("ziglang"), "the pip ziglang compiler (pip install ziglang)"),
    "gcc": (lambda: shutil.which("arm-none-eabi-gcc") is not None,
            "arm-none-eabi-gcc (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"),
    "cmake": (lambda: shutil.which("cmake") is not None, "cmake (pip install cmake)"),
    "qemu": (lambda: shutil.which("qemu-system-arm") is not None,
             "QEMU's Arm system emulator for the Cortex-M55 (apt-get install qemu-system-arm)"),
    "plots": (lambda: _module("matplotlib"), "matplotlib (pip install 'edge-gru[report]')"),
    "onnx": (lambda: _module("onnx") and _module("onnxruntime"), "onnx and onnxruntime (pip install 'edge-gru[onnx]')"),
    "torch": (lambda: _module("torch") and _module("onnxscript") and _module("onnx") and _module("onnxruntime"),
              "PyTorch with onnxscript (pip install torch==2.13.0 onnxscript 'edge-gru[onnx]')"),
    "search": (lambda: _module("optuna"), "optuna (pip install 'edge-gru[search]')"),
    "postgres": (lambda: _module("psycopg") and (shutil.which("initdb") is not None or _pg_bin() is not None),
                 "PostgreSQL (apt-get install postgresql) and psycopg (pip install 'edge-gru[search]')"),
    "redis": (lambda: _module("redis") and shutil.which("redis-server") is not None,
              "redis-server (apt-get install redis-server) and redis (pip install redis)"),
    "snownlp": (lambda: _module("snownlp"), "snownlp (pip install 'edge-gru[data]')"),
    "import-linter": (lambda: shutil.which("lint-imports") is not None or _module("importlinter"),
                      "import-linter (pip install 'edge-gru[dev]')"),
}


def _pg_bin() -> str | None:
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return found[-1] if found else None


def have(tool: str) -> bool:
    """Whether ``tool`` (a key of :data:`TOOLS`) is installed."""
    return bool(TOOLS[tool][0]())


def require(tool: str) -> None:
    """Skip the calling test or fixture, naming what to install, when ``tool`` is missing."""
    if not have(tool):
        pytest.skip(f"needs {TOOLS[tool][1]}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*tools): skip unless every tool named (tests/conftest.py TOOLS) is here")
    config.addinivalue_line("markers", "slow: an end-to-end case of more than about 10 s (make test-fast skips it)")


#: fixtures that train a model (tens of seconds): a test using one is slow
TRAINING_FIXTURES = {"spoken_digits_model", "seed_model"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cache: dict[str, bool] = {}
    for item in items:
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        for mark in item.iter_markers("needs"):
            for tool in mark.args:
                if tool not in TOOLS:
                    raise pytest.UsageError(f"{item.nodeid}: unknown tool {tool!r} in needs(); see tests/conftest.py")
                if tool not in cache:
                    cache[tool] = have(tool)
                if not cache[tool]:
                    item.add_marker(pytest.mark.skip(reason=f"needs {TOOLS[tool][1]}"))


@pytest.fixture(scope="session")
def keras():
    require("tf")
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
    require("tf")
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
    require("tf")
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
