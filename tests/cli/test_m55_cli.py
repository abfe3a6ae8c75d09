"""The Cortex-M55 targets from the command line: simulate on QEMU with the M55 model, the rows layout from
convert, the report's M55 rows, and one clear line when QEMU is missing (never a silent fallback)."""

import json

import cli_run
import numpy as np
import pytest


def run(*args, env=None):
    return cli_run.run(*args, env=env, timeout=900)       # QEMU runs take longer


@pytest.fixture
def model(tmp_path):
    from edge_gru.fixed.io import save_fixed
    from edge_gru.fixed.model import quantize_model
    from edge_gru.spec import random_spec

    rng = np.random.default_rng(11)
    spec = random_spec(rng, 6, [14], [(3, "softmax")], timesteps=5)
    X = rng.normal(size=(6, 5, 6)).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=X, y=rng.integers(0, 3, 6))
    fm = quantize_model(spec, X, "w8a16")
    save_fixed(fm, tmp_path / "m.egru")
    return fm, X


@pytest.mark.needs("sim", "qemu")
def test_simulate_alif_e3_reports_mve_cycles_from_the_m55_model(model, tmp_path):
    fm, X = model
    p = run("simulate", tmp_path / "m.egru", "--target", "alif-e3", "--data", tmp_path / "d.npz", "--json",
            tmp_path / "s.json")
    assert p.returncode == 0, p.stderr
    assert "QEMU" in p.stdout and "mps3-an547" in p.stdout and "Cortex-M55 in-order dual-beat model" in p.stdout
    assert "zig" in p.stdout and "kernel               mve" in p.stdout and "6/6 sequences" in p.stdout
    d = json.loads((tmp_path / "s.json").read_text())
    assert d["kernel"] == "mve" and d["emulator"].startswith("QEMU") and d["core"] == "cortex-m55"
    assert d["compiler"]["flags"].startswith("-target thumb-freestanding-eabi -mcpu=cortex_m55+mve")
    assert d["cycles_per_mac"] == pytest.approx(d["cycles_per_sequence"] / d["macs_per_sequence"])
    # the scalar+DSP build on the M33 model is gone: --elf (unicorn) refuses the M55
    bad = run("simulate", "--elf", tmp_path / "x.elf", "--target", "alif-e3")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "QEMU" in bad.stderr


@pytest.mark.needs("sim")
def test_missing_qemu_is_one_line_saying_how_to_install(model, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {"PATH": str(bin_dir), "EDGE_GRU_QEMU": ""}          # no qemu-system-arm anywhere
    p = run("simulate", tmp_path / "m.egru", "--target", "alif-e3", env=env)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert "apt-get install qemu-system-arm" in p.stderr and "Traceback" not in p.stderr
    p = run("simulate", tmp_path / "m.egru", "--target", "alif-e3", env={"EDGE_GRU_QEMU": str(tmp_path / "none")})
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "qemu-system-arm" in p.stderr


@pytest.mark.needs("sim")
def test_convert_rows_layout_for_helium(model, tmp_path):
    from edge_gru.runtime.c_host import run_host

    fm, X = model
    p = run("convert", tmp_path / "m.egru", "--format", "c", "--matrix-layout", "rows", "-o", tmp_path / "c")
    assert p.returncode == 0, p.stderr
    assert "Helium" in p.stdout and '#define EG_MODEL_MATRIX_LAYOUT "rows"' in (tmp_path / "c" / "model.h").read_text()
    assert (tmp_path / "c" / "edge_gru_mve.h").is_file()
    np.testing.assert_array_equal(run_host(tmp_path / "c", fm.quantize_input(X)), fm.predict_raw(X))   # plain loops
    bad = run("convert", tmp_path / "m.egru", "--format", "tflite-int8", "--matrix-layout", "rows",
              "--calibration", tmp_path / "d.npz", "-o", tmp_path / "t")
    assert bad.returncode == 2 and "--matrix-layout applies to --format c" in bad.stderr


@pytest.mark.slow
@pytest.mark.needs("sim", "qemu")
def test_report_m55_rows_carry_the_kernel_path(tmp_path):
    from edge_gru.spec import random_spec, save_spec

    rng = np.random.default_rng(4)
    spec = random_spec(rng, 3, [6], [(2, "softmax")], timesteps=5)
    save_spec(spec, tmp_path / "m.egspec")
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(20, 5, 3)).astype(np.float32), y=rng.integers(0, 2, 20))
    p = run("report", tmp_path / "m.egspec", "--calibration", tmp_path / "d.npz", "--data", tmp_path / "d.npz",
            "--targets", "alif-e3,nrf52840", "--precisions", "w8a16", "--emulate-sequences", "4", "--no-tflite",
            "--placements", "flash", "-o", tmp_path / "r")
    assert p.returncode == 0, p.stderr
    rows = json.loads((tmp_path / "r" / "report.json").read_text())["rows"]
    m55 = [r for r in rows if r.get("target") == "alif-e3"]
    m4 = [r for r in rows if r.get("target") == "nrf52840"]
    assert m55 and all(r["kernel_path"] == "mve" and r["emulator"].startswith("QEMU") for r in m55)
    assert m4 and all(r["kernel_path"] == "dsp" and r["emulator"].startswith("unicorn") for r in m4)
    assert all(r["bitexact_vs_numba"] == 1.0 for r in m55 + m4)
