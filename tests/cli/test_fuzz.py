"""The project's own fuzz test (issue 14): a short campaign runs with `make test`; `make fuzz` runs 2,000 cases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fuzz.driver import classify, summary
from fuzz.mutate import mutate_json, mutate_npy

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_short_campaign_has_only_clean_outcomes(tmp_path):
    """40 mutated artifacts of every kind, each through the command that reads it: no crash, no internal
    error, no traceback, no hang, no NaN output, no leftover temporary."""
    out = tmp_path / "fuzz.json"
    p = subprocess.run([sys.executable, "-m", "fuzz", "--cases", "40", "--jobs", "2", "--seed", "7",
                        "--seeds", str(tmp_path / "seeds"), "--json", str(out)], cwd=ROOT, capture_output=True,
                       text=True, timeout=1500)
    s = json.loads(out.read_text())
    assert p.returncode == 0 and not s["non_clean"], json.dumps(s["non_clean"], indent=1)[:3000]
    assert s["cases"] == 40 and s["by_outcome"].get("refused", 0) >= 13      # it really mutates
    assert len(s["by_kind"]) >= 6


def test_the_classifier_catches_every_bad_outcome(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    ok_err = "edge-gru: error: x.npz: X has 3 NaN values"
    assert classify(2, ok_err, False, 300, 2048, out)[0] == "refused"
    assert classify(0, "", False, 300, 2048, out)[0] == "ok"
    assert classify(-11, "", False, 300, 2048, out)[0] == "crash"
    assert classify(2, "edge-gru: error: internal error: KeyError: 'X'", False, 300, 2048, out)[0] == "internal"
    assert classify(1, "Traceback (most recent call last):\n  ...", False, 300, 2048, out)[0] == "uncaught"
    assert classify(2, "Usage: edge-gru run\nError: no such option", False, 300, 2048, out)[0] == "uncaught"
    assert classify(None, "", True, 300, 2048, out)[0] == "hang"
    assert classify(0, "", False, 4096, 2048, out)[0] == "memory"
    np.save(out / "y.npy", np.array([[np.nan]], np.float32))
    assert classify(0, "", False, 300, 2048, out)[0] == "garbage"
    (out / "y.npy").unlink()
    (out / ".y.npy.abc.tmp.npy").write_bytes(b"")
    assert classify(2, ok_err, False, 300, 2048, out)[0] == "leftover"
    assert summary([])["cases"] == 0


def _npy_header(data: bytes) -> str:
    start = 10 if data[6] == 1 else 12
    return data[start:start + int.from_bytes(data[8:start], "little")].decode("latin1")


def test_mutators_change_what_they_claim():
    """Every NPY and JSON mutation changes the bytes, and a shape or dtype edit puts the value it names in the
    header; every kind of NPY edit is drawn."""
    rng = np.random.default_rng(0)
    import io

    buf = io.BytesIO()
    np.save(buf, np.zeros((2, 3), np.float32))
    orig = buf.getvalue()
    seen = set()
    for _ in range(120):
        new, what = mutate_npy(rng, orig)
        op = what.split(" ")[0]
        seen.add(op)
        assert new != orig, what
        if op in ("shape", "dtype"):
            key = "'shape': " if op == "shape" else "'descr': '"
            assert key + what.split("-> ", 1)[1] in _npy_header(new), (what, _npy_header(new))
    assert {"shape", "dtype", "NPY", "payload:", "header", "fortran_order"} <= seen
    doc = json.dumps({"a": {"b": [1, 2]}, "c": "x", "d": 0.5}).encode()
    for _ in range(60):
        new, what = mutate_json(rng, doc)
        assert new != doc and json.loads(doc) != _json_or_none(new), what


def _json_or_none(data: bytes):
    try:
        return json.loads(data)
    except (ValueError, RecursionError):          # damaged text, or nested deeper than the parser goes
        return None


@pytest.mark.parametrize("kind", ["targets", "npz", pytest.param("onnx", marks=pytest.mark.needs("onnx"))])
def test_each_mutator_writes_its_artifact(tmp_path, kind):
    from fuzz.mutate import MUTATORS
    from fuzz.seeds import TARGETS_TOML

    seed = tmp_path / "seed"
    if kind == "targets":
        seed = tmp_path / "t.toml"
        seed.write_text(TARGETS_TOML)
    elif kind == "onnx":
        from fuzz.seeds import onnx_seed

        seed = tmp_path / "m.onnx"
        seed.write_bytes(onnx_seed())
    else:
        seed = tmp_path / "data.npz"
        np.savez(seed, X=np.zeros((4, 6, 3), np.float32), y=np.zeros(4))
    for k, (_, fn) in enumerate(MUTATORS[kind]):
        case = tmp_path / f"case{k}"
        case.mkdir()
        for r in range(5):
            path, what = fn(np.random.default_rng(100 * k + r), seed, case)
            assert path.exists() and what and path.read_bytes() != seed.read_bytes(), what
