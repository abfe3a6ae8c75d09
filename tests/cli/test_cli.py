import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_run import EXE, run

COMMANDS = ("dataset", "train", "quantize", "convert", "run", "inspect", "demo", "simulate", "targets", "report",
            "search")


def test_help_does_not_import_tensorflow():
    """``python -m edge_gru.cli --help`` and every command's help: exit 0, and no TensorFlow, Keras, Numba, PyTorch
    or ONNX."""
    code = ("import runpy, sys\n"
            "from click.testing import CliRunner\n"
            "from edge_gru.cli import cli\n"
            f"for c in {COMMANDS!r}:\n"
            "    r = CliRunner().invoke(cli, [c, '--help'])\n"
            "    assert r.exit_code == 0 and 'Usage:' in r.output, (c, r.exit_code, r.output)\n"
            "sys.argv = ['edge-gru', '--help']\n"
            "try:\n"
            "    runpy.run_module('edge_gru.cli', run_name='__main__')\n"
            "except SystemExit as e:\n"
            "    assert e.code in (0, None), e.code\n"
            "bad = [m for m in ('tensorflow', 'keras', 'numba', 'torch', 'onnx', 'onnxruntime') if m in sys.modules]\n"
            "print(bad)\n"
            "sys.exit(1 if bad else 0)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip().endswith("[]") and "Usage: edge-gru" in p.stdout


def test_every_command_has_help():
    for cmd in COMMANDS:
        p = run(cmd, "--help", check_rc=0)
        assert "Usage:" in p.stdout


def test_errors_exit_2_with_one_line(tmp_path):
    (tmp_path / "junk.keras").write_bytes(b"junk")
    (tmp_path / "junk.egru").write_bytes(b"junk")
    np.savez(tmp_path / "nan.npz", X=np.full((2, 3, 4), np.nan, np.float32))
    cases = [
        ("inspect", tmp_path / "missing.keras"),
        ("inspect", tmp_path / "junk.keras"),
        ("inspect", tmp_path / "junk.egru"),
        ("inspect", tmp_path / "model.onnx"),
        ("run", tmp_path / "junk.egru", tmp_path / "nan.npz"),
        ("train", "--data", tmp_path / "nan.npz", "-o", tmp_path / "m.keras"),
        ("train", "-o", tmp_path / "m.keras"),
        ("dataset", "nope", "-o", tmp_path),
    ]
    for args in cases:
        p = run(*args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr
        err_lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert len(err_lines) == 1 and err_lines[0].startswith("edge-gru: error: "), (args, err_lines)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


@pytest.mark.slow
def test_end_to_end_seed_toy(workdir):
    run("dataset", "seed-toy", "-o", workdir / "data", check_rc=0)
    assert run("dataset", "seed-toy", "-o", workdir / "data").returncode == 2   # no overwrite without --force
    run("dataset", "seed-toy", "-o", workdir / "data", "--force", check_rc=0)
    p = run("train", "--data", workdir / "data/train.npz", "--test-data", workdir / "data/test.npz", "--units", "12",
            "--epochs", "4", "-o", workdir / "m.keras", check_rc=0)
    assert "test accuracy" in p.stdout
    p = run("inspect", workdir / "m.keras", check_rc=0)
    assert "GRU" in p.stdout and "MACs per sequence: " in p.stdout
    p = run("quantize", workdir / "m.keras", "--calibration", workdir / "data/train.npz", "-o", workdir / "m.egru",
            check_rc=0)
    assert "class agreement with float" in p.stdout
    assert run("quantize", workdir / "m.keras", "--calibration", workdir / "data/train.npz",
               "-o", workdir / "m.egru").returncode == 2
    run("inspect", workdir / "m.egru", check_rc=0)
    run("run", workdir / "m.keras", workdir / "data/test.npz", "--engine", "float", "-o", workdir / "f.npy",
        check_rc=0)
    run("run", workdir / "m.keras", workdir / "data/test.npz", "--engine", "keras", "-o", workdir / "k.npy",
        check_rc=0)
    p = run("run", workdir / "m.egru", workdir / "data/test.npz", "-o", workdir / "q.npy", check_rc=0)
    assert "accuracy:" in p.stdout
    run("run", workdir / "m.egru", workdir / "data/test.npz", "--raw", "-o", workdir / "raw.npy", check_rc=0)
    f, k, q, raw = (np.load(workdir / n) for n in ("f.npy", "k.npy", "q.npy", "raw.npy"))
    assert f.shape == k.shape == q.shape == (1000, 1)
    np.testing.assert_allclose(f, k, atol=1e-5)
    assert np.abs(f - q).max() < 0.05
    assert raw.dtype == np.int32 and np.abs(raw).max() > 100
    # C99 runtime: export, compile on the host, bit-exact with the integer reference
    run("convert", workdir / "m.egru", "--format", "c", "-o", workdir / "cdir", check_rc=0)
    assert run("convert", workdir / "m.egru", "--format", "c", "-o", workdir / "cdir").returncode == 2
    run("run", workdir / "cdir", workdir / "data/test.npz", "--engine", "c", "--raw", "-o", workdir / "c.npy",
        check_rc=0)
    np.testing.assert_array_equal(np.load(workdir / "c.npy"), raw)
    # int8 TFLite: convert in a child process, run under LiteRT and TFLite Micro
    run("convert", workdir / "m.keras", "--calibration", workdir / "data/train.npz", "-o", workdir / "tfl",
        check_rc=0)
    tfl = workdir / "tfl" / "m-int8.tflite"
    for engine in ("litert", "tflm"):
        run("run", tfl, workdir / "data/test.npz", "--engine", engine, "-o", workdir / f"{engine}.npy", check_rc=0)
        err = np.abs(np.load(workdir / f"{engine}.npy") - f)
        assert err.max() < 0.25 and err.mean() < 0.02
    p = run("convert", workdir / "m.keras", "--calibration", workdir / "data/train.npz", "--format", "tflite-16x8",
            "--layout", "step", "-o", workdir / "tfl", check_rc=0)
    assert "no float operators" in p.stdout
    step = workdir / "tfl" / "m-16x8-step.tflite"
    assert step.stat().st_size < tfl.stat().st_size
    p = run("inspect", step, check_rc=0)
    assert "INT16" in p.stdout and "FULLY_CONNECTED" in p.stdout
    for engine in ("litert", "tflm"):
        run("run", step, workdir / "data/test.npz", "--engine", engine, "-o", workdir / f"s{engine}.npy", check_rc=0)
        assert np.abs(np.load(workdir / f"s{engine}.npy") - f).max() < 0.1
    (workdir / "cut.tflite").write_bytes(tfl.read_bytes()[:2000])
    p = run("run", workdir / "cut.tflite", workdir / "data/test.npz", "--engine", "tflm")
    assert p.returncode == 2 and "corrupt" in p.stderr
    # wrong engine for the artifact, wrong feature count
    assert run("run", workdir / "m.egru", workdir / "data/test.npz", "--engine", "keras").returncode == 2
    np.savez(workdir / "wrong.npz", X=np.zeros((3, 10, 7), np.float32))
    p = run("run", workdir / "m.egru", workdir / "wrong.npz")
    assert p.returncode == 2 and "7 features" in p.stderr


def test_demo_refuses_non_empty_dir(tmp_path):
    (tmp_path / "x").write_text("mine")
    p = run("demo", "-o", tmp_path)
    assert p.returncode == 2 and "--force" in p.stderr
    assert (tmp_path / "x").read_text() == "mine"
    assert Path(tmp_path / "x").exists()


def test_targets_command(tmp_path):
    import json

    p = run("targets", check_rc=0)
    assert "rp2040" in p.stdout and "cortex-m55" in p.stdout
    data = json.loads(run("targets", "--json", check_rc=0).stdout)
    assert {t["core"] for t in data} >= {"cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m33"}
    (tmp_path / "t.toml").write_text('[board]\ncore = "cortex-m4"\nclock_mhz = 48\nflash_kb = 256\nram_kb = 32\n')
    assert "board" in run("targets", "--targets-file", tmp_path / "t.toml", check_rc=0).stdout
    (tmp_path / "bad.toml").write_text("[board\n")
    p = run("targets", "--targets-file", tmp_path / "bad.toml")
    assert p.returncode == 2 and "TOML" in p.stderr and "Traceback" not in p.stderr


needs_sim = pytest.mark.needs("sim")


@pytest.mark.slow
@needs_sim
def test_simulate_and_emulator_engine(workdir, tmp_path):
    import json

    from edge_gru.fixed.model import quantize_model
    from edge_gru.spec import random_spec

    rng = np.random.default_rng(3)
    spec = random_spec(rng, 5, [10], [(3, "softmax")], timesteps=7)
    X = rng.normal(size=(20, 7, 5)).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=X, y=rng.integers(0, 3, 20))
    from edge_gru.fixed.io import save_fixed

    fm = quantize_model(spec, X, "w8a16")
    save_fixed(fm, tmp_path / "m.egru")
    p = run("simulate", tmp_path / "m.egru", "--target", "nrf52840", "--data", tmp_path / "d.npz",
            "--json", tmp_path / "s.json", check_rc=0)
    assert "cycles per MAC" in p.stdout and "20/20 sequences" in p.stdout
    d = json.loads((tmp_path / "s.json").read_text())
    assert d["bitexact_sequences"] == 20 and d["method"] == "emulated" and d["fits"] is True
    assert d["macs_per_sequence"] == fm.macs_per_sequence(7)
    assert d["cycles_per_mac"] == pytest.approx(d["cycles_per_sequence"] / d["macs_per_sequence"])
    assert run("simulate", tmp_path / "m.egru", "--target", "nrf52840", "--json", tmp_path / "s.json").returncode == 2
    p = run("convert", tmp_path / "m.egru", "--format", "c", "-o", tmp_path / "c", "--name", "my kws", check_rc=0)
    readme = (tmp_path / "c" / "README.md").read_text()
    assert "cortex-m4" in p.stdout and "Measured section sizes" in readme
    import re

    runtime = {core: (int(a.replace(",", "")), int(b.replace(",", ""))) for core, a, b in
               re.findall(r"\| (cortex-m\w+) \|.*\| ([\d,]+) \(([\d,]+)\) \|", readme)}
    assert set(runtime) == {"cortex-m0plus", "cortex-m4", "cortex-m7"}
    assert all(0 < mine < generic / 1.5 for mine, generic in runtime.values())   # specialized to this model
    assert "my_kws_model" in (tmp_path / "c" / "model.c").read_text()
    run("run", tmp_path / "c", tmp_path / "d.npz", "--engine", "emulator", "--target", "rp2040", "--raw",
        "-o", tmp_path / "e.npy", check_rc=0)
    np.testing.assert_array_equal(np.load(tmp_path / "e.npy"), fm.predict_raw(X))
    # a tiny target the model cannot fit into
    (tmp_path / "t.toml").write_text('[tiny]\ncore = "cortex-m0plus"\nclock_mhz = 16\nflash_kb = 4\nram_kb = 1\n')
    p = run("simulate", tmp_path / "m.egru", "--target", "tiny", "--targets-file", tmp_path / "t.toml",
            check_rc=0)
    assert "fits                 NO" in p.stdout
    for args in (("simulate", tmp_path / "m.egru", "--target", "nope"),
                 ("run", tmp_path / "c", tmp_path / "d.npz", "--engine", "emulator"),
                 ("simulate", "--elf", tmp_path / "d.npz", "--target", "rp2040"),
                 ("simulate", "--target", "rp2040")):
        p = run(*args)
        assert p.returncode == 2 and "Traceback" not in p.stderr, (args, p.stderr)


@needs_sim
def test_simulate_elf_with_semihosting_and_marks(tmp_path):
    import json

    from firmware_sim.targets import get_target
    from firmware_sim.toolchain import build_elf

    (tmp_path / "p.c").write_text(
        "#include <stdint.h>\nvoid eg_puts(const char *s); void eg_mark(uint32_t id);\n"
        "int main(void) { eg_puts(\"ok from M4\\n\"); eg_mark(10);\n"
        "  __asm__ volatile(\"movs r0, #50\\n1: subs r0, r0, #1\\n bne 1b\" ::: \"r0\", \"cc\");\n"
        "  eg_mark(11); return 3; }\n")
    elf = build_elf([tmp_path / "p.c"], get_target("nrf52840"), tmp_path / "b")
    p = run("simulate", "--elf", elf, "--target", "nrf52840", "--json", tmp_path / "r.json", check_rc=0)
    assert "ok from M4" in p.stdout and "exit code 3" in p.stdout and "cycles" in p.stdout
    assert "mark 10 -> 11" in p.stdout
    r = json.loads((tmp_path / "r.json").read_text())
    assert [m["value"] for m in r["marks"]] == [10, 11] and "clang" in r["compiler"]["comment"]
    (iv,) = r["mark_intervals"]
    # 50 x (SUBS + BNE) + 49 taken-branch refills of 1..3 (M4 TRM), plus the mark store and call around it
    assert 100 + 49 <= iv["cycles"] <= 100 + 3 * 49 + 12, iv
    assert run("simulate", "--elf", elf, "--target", "nrf52840", "--cc", "gcc").returncode == 2


@needs_sim
def test_simulate_names_the_compiler(tmp_path):
    import json

    from edge_gru.fixed.io import save_fixed
    from edge_gru.fixed.model import quantize_model
    from edge_gru.spec import random_spec

    rng = np.random.default_rng(5)
    spec = random_spec(rng, 3, [5], [(2, "softmax")], timesteps=4)
    save_fixed(quantize_model(spec, rng.normal(size=(8, 4, 3)).astype(np.float32), "w8a16"), tmp_path / "m.egru")
    choices = ["zig"] + (["gcc"] if shutil.which("arm-none-eabi-gcc") else [])
    for cc in choices:
        p = run("simulate", tmp_path / "m.egru", "--target", "rp2040", "--cc", cc, "--json", tmp_path / f"{cc}.json",
                check_rc=0)
        d = json.loads((tmp_path / f"{cc}.json").read_text())
        assert d["compiler"]["kind"] == cc and d["compiler"]["version"] in p.stdout
        assert d["bitexact_sequences"] == d["sequences"]
    bad = run("simulate", tmp_path / "m.egru", "--target", "rp2040", "--cc", "/no/such/cc")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "not an executable" in bad.stderr


@pytest.mark.slow
@needs_sim
def test_report_command(tmp_path):
    import json

    from edge_gru.spec import random_spec, save_spec

    rng = np.random.default_rng(4)
    spec = random_spec(rng, 3, [6], [(2, "softmax")], timesteps=5)
    save_spec(spec, tmp_path / "m.egspec")
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(30, 5, 3)).astype(np.float32), y=rng.integers(0, 2, 30))
    args = ("report", tmp_path / "m.egspec", "--calibration", tmp_path / "d.npz", "--data", tmp_path / "d.npz",
            "--targets", "stm32h7", "--precisions", "w8a16", "--emulate-sequences", "5", "--no-tflite",
            "-o", tmp_path / "r")
    p = run(*args, check_rc=0)
    assert "| implementation |" in p.stdout and "report.html" in p.stdout
    rows = json.loads((tmp_path / "r" / "report.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["measured", "measured", "emulated", "emulated"]
    assert [r["placement"] for r in rows[2:]] == ["flash", "weights-ram"]          # --placements' default
    assert all(r["memory"] == "stm32h7-l1" and r["cycles_cold"] >= r["cycles"] for r in rows[2:])
    assert run(*args).returncode == 2                      # non-empty output without --force
    bad = run("report", tmp_path / "m.egspec", "--calibration", tmp_path / "d.npz", "--data", tmp_path / "d.npz",
              "--precisions", "w4a4", "-o", tmp_path / "r2")
    assert bad.returncode == 2 and "unknown precision" in bad.stderr


@pytest.mark.slow
@needs_sim
def test_demo_end_to_end_small(tmp_path):
    p = run("demo", "-o", tmp_path / "demo", "--epochs", "2", "--targets", "nrf52840", "--emulate-sequences", "4",
            check_rc=0)
    assert "report.html" in p.stdout
    for f in ("model.keras", "model-int8.tflite", "model-w8a16.egru", "report.json", "report.md", "report.html",
              "accuracy-latency-nrf52840.png"):
        assert (tmp_path / "demo" / f).is_file(), f


def test_run_output_without_npy_suffix_is_not_overwritten(tmp_path):
    """numpy appends .npy: `run -o preds` writes preds.npy, so an existing preds.npy needs --force."""
    from edge_gru.spec import random_spec, save_spec

    rng = np.random.default_rng(8)
    save_spec(random_spec(rng, 3, [4], None, timesteps=5), tmp_path / "m.egspec")
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(6, 5, 3)).astype(np.float32))
    np.save(tmp_path / "preds.npy", np.arange(3))
    p = run("run", tmp_path / "m.egspec", tmp_path / "d.npz", "-o", tmp_path / "preds")
    assert p.returncode == 2 and "preds.npy exists" in p.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "preds.npy"), np.arange(3))
    run("run", tmp_path / "m.egspec", tmp_path / "d.npz", "-o", tmp_path / "preds", "--force", check_rc=0)
    assert np.load(tmp_path / "preds.npy").shape == (6, 4) and not (tmp_path / "preds").exists()


def test_closed_output_pipe_is_not_an_internal_error(tmp_path):
    """`edge-gru inspect m | head -1`: the reader is gone before we write; stop quietly with 141."""
    from edge_gru.spec import random_spec, save_spec

    save_spec(random_spec(np.random.default_rng(9), 3, [4], None, timesteps=5), tmp_path / "m.egspec")
    proc = subprocess.Popen([*EXE, "inspect", str(tmp_path / "m.egspec")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()                        # before the child has imported anything, so its writes fail
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141, err
    assert "internal error" not in err and "Traceback" not in err and "Exception ignored" not in err


def test_interrupt_exits_130(monkeypatch):
    from click.testing import CliRunner

    import firmware_sim.targets
    from edge_gru.cli import cli

    def interrupted(*_args, **_kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(firmware_sim.targets, "load_targets", interrupted)
    r = CliRunner().invoke(cli, ["targets"])
    assert r.exit_code == 130 and "interrupted" in r.output


def test_quantize_warns_in_one_line_when_a_term_saturates(tmp_path):
    """The quantizer's warning (a known limit of the format, tests/unit/test_fixed.py) reaches the user as one line."""
    from edge_gru.spec import random_spec, save_spec

    r = np.random.default_rng(119969)
    spec = random_spec(r, 1, [12], None, timesteps=6, reset_after=True, use_bias=True, scale=1.5)
    save_spec(spec, tmp_path / "m.egspec")
    np.savez(tmp_path / "d.npz", X=(r.normal(0, 1, (8, 6, 1)) * 1.5).astype(np.float32))
    p = run("quantize", tmp_path / "m.egspec", "--calibration", tmp_path / "d.npz", "-o", tmp_path / "m.egru",
            check_rc=0)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("edge-gru: warning: GRU layer 0 (gru_0): the recurrent"), lines
