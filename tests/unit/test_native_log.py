"""Native libraries' start-up chatter is filtered from descriptor 2; everything else written there passes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from edge_gru.native_log import filtered_native_stderr


def test_chatter_is_dropped_and_real_lines_pass(capfd):
    with filtered_native_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(2, b"I0000 00:00:1.5 10 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n")
        os.write(2, b"F0000 something real failed\n")
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    err = capfd.readouterr().err
    assert err == "F0000 something real failed\n"


@pytest.mark.slow
@pytest.mark.needs("tf")
def test_importing_tensorflow_and_running_litert_say_nothing(tmp_path):
    """In a fresh process without TF_CPP_MIN_LOG_LEVEL: importing Keras through converters._tf and running a .tflite
    under LiteRT write nothing to stderr."""
    code = ("import numpy as np\nfrom converters._tf import keras\nk = keras()\n"
            "from converters.tflite_export import export_tflite_int8\nfrom edge_gru.spec import random_spec\n"
            "from edge_gru.tflite.runner import TFLiteRunner\nimport sys\n"
            "spec = random_spec(np.random.default_rng(0), 3, [4], [(2, 'softmax')], timesteps=5)\n"
            "X = np.random.default_rng(1).normal(size=(8, 5, 3)).astype(np.float32)\n"
            f"export_tflite_int8(spec, X, {str(tmp_path / 'm.tflite')!r})\n"
            f"r = TFLiteRunner({str(tmp_path / 'm.tflite')!r}, 'litert')\nprint(r.predict(X).shape)\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0 and "(8, 2)" in p.stdout, p.stderr[-2000:]
    assert p.stderr.strip() == "", p.stderr[-2000:]
