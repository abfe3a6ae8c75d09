import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow        # end-to-end: make test-fast leaves these out

ROOT = Path(__file__).resolve().parents[2]


def test_seed_quickstart_runs(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "examples/seed_quickstart.py"), "--epochs", "3",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("float reference vs Keras"))
    assert float(line.split()[-1]) < 1e-5
    assert "GRU 'gru'" in p.stdout and "units=50" in p.stdout
    assert (tmp_path / "seed.egru").stat().st_size > 8000


def test_streaming_example_python_and_c_agree(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "examples/streaming.py"), "--epochs", "1", "--sequences", "20",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "200 timesteps over 20 sequences: Python and C outputs differ after 0 steps" in p.stdout
    assert "whole-sequence inference: True" in p.stdout


@pytest.mark.needs("tf", "sim")
def test_per_frame_example_labels_every_frame_bit_exact(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "examples/per_frame.py"), "--epochs", "2", "--emulate", "2",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "equal to Numba at every frame of 273 windows: True" in p.stdout
    assert "2 windows bit-exact True" in p.stdout
    keras_acc = float(p.stdout.split("frame accuracy: Keras ")[1].split("%")[0])
    assert keras_acc > 80            # the majority class (speech) is 75.5% of the test frames
    assert float(p.stdout.split("max difference ")[1].split()[0]) < 1e-5
    frames = [ln.split(": ")[1].strip() for ln in p.stdout.splitlines()
              if "frame by frame" in ln or "true labels" in ln]
    assert len(frames) == 2 and len(frames[0]) == len(frames[1]) == 40


@pytest.mark.needs("tf", "sim")
def test_keyword_spotting_example(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "examples/keyword_spotting.py"), "--epochs", "2", "--emulate", "6",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "bit-exact on 600 sequences: True" in p.stdout and "6 sequences emulated, bit-exact True" in p.stdout


@pytest.mark.needs("tf", "snownlp", "sim")
def test_sentiment_example_streams_characters_bit_exact(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "examples/sentiment.py"), "--epochs", "1", "--train-limit", "2000",
                        "--emulate", "3", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "C and Python agree after every character: True" in p.stdout
    assert "vocabulary 2000 characters" in p.stdout
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("nrf52840"))
    assert "bit-exact True" in line and int(line.split(": ")[1].split()[0].replace(",", "")) > 1000


@pytest.mark.needs("torch", "tf", "sim")
def test_pytorch_example_trains_exports_and_deploys_bit_exact(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "examples/pytorch_gru.py"), "--epochs", "2", "--emulate", "4",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    rows = [ln.split() for ln in p.stdout.splitlines() if ln.strip().startswith(("pytorch ", "keras "))]
    assert [r[0] for r in rows] == ["pytorch", "keras"] and all(r[-1] == "True/True" for r in rows)
    assert rows[0][1] == rows[1][1]                            # same size: GRU(16) + Linear(10) in both frameworks
    assert float(rows[0][3].rstrip("%")) > 30                  # trained (10 classes: chance is 10%)
    assert (tmp_path / "kws.onnx").stat().st_size > 4000
