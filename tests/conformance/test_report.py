"""The report: JSON schema, figures recomputed independently, self-contained HTML with plots."""

import base64
import json
import re

import numpy as np
import pytest

from edge_gru.data import Dataset, accuracy
from edge_gru.fixed.model import quantize_model
from edge_gru.spec import random_spec

pytestmark = [pytest.mark.needs("sim", "plots", "tf"), pytest.mark.slow]


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    from edge_gru.workflows.report import build_report
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(11)
    spec = random_spec(rng, 4, [8], [(3, "softmax")], timesteps=6)
    X = rng.normal(size=(80, 6, 4)).astype(np.float32)
    y = rng.integers(0, 3, 80)
    test = Dataset(X[40:], y[40:])
    out = tmp_path_factory.mktemp("report")
    rep = build_report(spec, X[:40], test, [get_target("nrf52840"), get_target("rp2040")], ["w8a16", "w8a8"], out,
                       emulate_sequences=12)
    return spec, X[:40], test, out, rep


def test_json_schema(small_report):
    from edge_gru.workflows.report import KEYS

    _, _, _, out, rep = small_report
    data = json.loads((out / "report.json").read_text())
    assert set(data) >= {"model", "rows"} and data["model"]["macs_per_sequence"] > 0
    methods = {r["method"] for r in data["rows"]}
    assert methods == {"measured", "emulated", "estimated"}
    for r in data["rows"]:
        assert set(KEYS) <= set(r), r["implementation"]
        if r["method"] == "measured":
            assert r["cycles"] is None and r["latency_ms"] is None and r["target"] is None
        else:
            assert r["cycles"] > 0 and r["latency_ms"] > 0 and r["target"] in ("nrf52840", "rp2040")
            assert isinstance(r["pareto"], bool)
    kinds = [(r["method"], r["target"]) for r in data["rows"]]
    assert kinds.count(("emulated", "rp2040")) == 2 and kinds.count(("estimated", "nrf52840")) == 4
    est = [r for r in data["rows"] if r["method"] == "estimated"]
    assert {(r["layout"], r["kernels"]) for r in est} == {(a, b) for a in ("unrolled", "step")
                                                          for b in ("reference", "cmsis-nn")}
    assert all("calibration" in r and r["setup_cycles"] > 0 and r["code_bytes"] > 0 for r in est)
    assert all(r["compiler"]["kind"] in ("zig", "gcc") for r in data["rows"] if r["method"] == "emulated")
    emulated = [r for r in data["rows"] if r["method"] == "emulated"]
    assert all(r["placement"] == "flash" and r["cycles_cold"] > 0 for r in emulated)
    assert {r["memory"] for r in emulated} == {"rp2040-xip", "nrf52840-flash"}
    md = (out / "report.md").read_text()
    assert "Memory on rp2040: rp2040-xip (CoreMark from XIP vs SRAM" in md and "nrf52840-flash (modelled" in md
    assert data["compiler"]["version"] and data["compiler"]["flags"]


def test_figures_are_computed(small_report):
    from firmware_sim.targets import get_target

    spec, cal, test, _, rep = small_report
    rows = rep["rows"]
    fm = quantize_model(spec, cal, "w8a16")
    fixed = next(r for r in rows if r["method"] == "measured" and r["precision"] == "w8a16")
    assert fixed["accuracy"] == pytest.approx(accuracy(fm.predict(test.X), test.y))
    for r in (r for r in rows if r["method"] == "emulated"):
        t = get_target(r["target"])
        assert r["bitexact_vs_numba"] == 1.0 and r["sequences"] == 12
        assert r["cycles_per_mac"] == pytest.approx(r["cycles"] / r["macs"])
        assert r["latency_ms"] == pytest.approx(r["cycles"] / (t.clock_mhz * 1e3))
        assert r["fits"] == (r["flash_bytes"] <= t.flash_bytes and r["ram_bytes"] <= t.ram_bytes)
    m4 = next(r for r in rows if r["method"] == "emulated" and r["target"] == "nrf52840" and r["precision"] == "w8a16")
    m0 = next(r for r in rows if r["method"] == "emulated" and r["target"] == "rp2040" and r["precision"] == "w8a16")
    assert m4["kernel"] == "dsp" and m0["kernel"] == "armv6m" and m0["cycles"] > m4["cycles"]
    tflm = {(r["target"], r["layout"], r["kernels"]): r for r in rows if r["method"] == "estimated"}
    for r in tflm.values():
        assert r["arena_bytes"] > 0 and r["ram_bytes"] > r["arena_bytes"]
        assert r["cycles_per_mac"] == pytest.approx(r["cycles"] / spec.macs_per_sequence(test.X.shape[1]))
    m4_unrolled, m4_step = tflm[("nrf52840", "unrolled", "reference")], tflm[("nrf52840", "step", "reference")]
    assert m4_step["ram_bytes"] < m4_unrolled["ram_bytes"] and m4_step["setup_cycles"] < m4_unrolled["setup_cycles"]
    # the error of the last measurement is carried with every row of a measured core (unit tests: never-measured
    # cores carry null)
    for r in tflm.values():
        err = r["calibration_error"]
        assert abs(err["worst_cycles_any_model"]) < 0.10 and err["models_measured"] >= 1
        assert err["cycles_fitted"] == (err["cycles"] is None)


def test_html_is_self_contained_with_plots(small_report):
    _, _, _, out, _ = small_report
    page = (out / "report.html").read_text()
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(imgs) >= 3                      # one plot per target + cycles per MAC
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in imgs)
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert (out / "accuracy-latency-nrf52840.png").read_bytes()[:4] == b"\x89PNG"
    md = (out / "report.md").read_text()
    assert "| implementation |" in md and "estimated" in md and "## Assumptions" in md


def test_per_step_report_gives_frame_accuracy(tmp_path):
    """A per-step model's report: accuracy is the frame accuracy (every step), the emulated rows are bit-exact at
    every step, and the report says what its figures mean."""
    from edge_gru.workflows.report import build_report
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(5)
    spec = random_spec(rng, 3, [6], [(2, "softmax")], timesteps=9, per_step=True)
    X = rng.normal(size=(60, 9, 3)).astype(np.float32)
    test = Dataset(X[30:], rng.integers(0, 2, (30, 9)))
    rep = build_report(spec, X[:30], test, [get_target("nrf52840")], ["w8a16"], tmp_path, emulate_sequences=6,
                       tflite=False)
    fm = quantize_model(spec, X[:30], "w8a16")
    fixed = next(r for r in rep["rows"] if r["method"] == "measured" and r["precision"] == "w8a16")
    assert fixed["accuracy"] == pytest.approx(float(np.mean(fm.predict(test.X).argmax(-1) == test.y)))
    emu = next(r for r in rep["rows"] if r["method"] == "emulated")
    assert emu["bitexact_vs_numba"] == 1.0 and emu["cycles_per_mac"] == pytest.approx(emu["cycles"] / emu["macs"])
    assert rep["model"]["per_step"] and rep["model"]["macs_per_sequence"] == fm.macs_per_sequence(9)
    assert "frame accuracy over every step" in (tmp_path / "report.md").read_text()


def test_bidirectional_report_has_no_step_layout_rows(tmp_path):
    """A Bidirectional model's report: TFLite and TFLite Micro rows of the unrolled file only (no step layout for a
    window model), the emulated C runtime bit-exact."""
    from edge_gru.workflows.report import build_report
    from firmware_sim.targets import get_target

    rng = np.random.default_rng(6)
    spec = random_spec(rng, 3, [5], [(3, "softmax")], timesteps=6, bidirectional=["concat"])
    X = rng.normal(size=(60, 6, 3)).astype(np.float32)
    test = Dataset(X[30:], rng.integers(0, 3, 30))
    rep = build_report(spec, X[:30], test, [get_target("nrf52840")], ["w8a16"], tmp_path, emulate_sequences=5)
    tflm = [r for r in rep["rows"] if r["method"] == "estimated"]
    assert tflm and {r["layout"] for r in tflm} == {"unrolled"}
    emu = next(r for r in rep["rows"] if r["method"] == "emulated")
    assert emu["bitexact_vs_numba"] == 1.0
    assert "Bidirectional(GRU, merge_mode=concat)" in "\n".join(rep["model"]["architecture"])
