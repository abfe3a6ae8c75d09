import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_seed_quickstart_runs(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "examples/seed_quickstart.py"), "--epochs", "3",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("float reference vs Keras"))
    assert float(line.split()[-1]) < 1e-5
    assert "GRU 'gru'" in p.stdout and "units=50" in p.stdout
    assert (tmp_path / "seed.egru").stat().st_size > 8000
