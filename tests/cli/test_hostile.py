"""Hostile inputs through the command line (issue 14): one error line and exit 2, never a crash, an internal
error, garbage with exit 0, unbounded memory or a lost or mixed output. Each failed before its fix."""

from __future__ import annotations

import os
import subprocess
import zipfile

import numpy as np
import pytest
from cli_run import EXE, run


def refused(p, *words):
    """Exit 2 with one error line naming ``words``, no internal error."""
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.startswith("edge-gru: error:")]
    assert p.returncode == 2, p.stdout + p.stderr
    assert len(lines) == 1 and "internal error" not in lines[0], p.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A seed-toy sized spec, its .egru, data and an int8 .tflite (the TensorFlow converter, about 10 s)."""
    from edge_gru.data import seed_toy
    from edge_gru.fixed.io import save_fixed
    from edge_gru.fixed.model import quantize_model
    from edge_gru.spec import random_spec, save_spec

    d = tmp_path_factory.mktemp("hostile")
    spec = random_spec(np.random.default_rng(11), 3, [6], [(1, "sigmoid")], timesteps=5)
    save_spec(spec, d / "m.egspec")
    data = seed_toy(40, seed=1, timesteps=5, features=3)
    data.save(d / "d.npz")
    save_fixed(quantize_model(spec, data.X, "w8a16"), d / "m.egru")
    p = run("convert", d / "m.egspec", "--calibration", d / "d.npz", "-o", d)
    assert p.returncode == 0, p.stderr
    return d


def _edit_tflite(src, dst, edit):
    import flatbuffers

    from edge_gru.tflite.schema import schema

    fb = schema()
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(src.read_bytes(), 0))
    edit(model)
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    dst.write_bytes(bytes(b.Output()))
    return dst


def _first_quantized(model):
    for t in model.subgraphs[0].tensors:
        if t.quantization is not None and t.quantization.scale is not None and len(t.quantization.scale):
            return t
    raise AssertionError("no quantized tensor")


@pytest.mark.parametrize("scale", [3.4e38, -0.5, float("nan")])
def test_tflite_bad_quantization_scale_is_refused_not_aborted(files, tmp_path, scale):
    """LiteRT and TFLite Micro aborted (SIGABRT) on these scales."""
    def edit(model):
        t = _first_quantized(model)
        t.quantization.scale = [scale] + list(t.quantization.scale[1:])

    bad = _edit_tflite(files / "m-int8.tflite", tmp_path / "bad.tflite", edit)
    for engine in ("litert", "tflm"):
        refused(run("run", bad, files / "d.npz", "--engine", engine), "bad.tflite", "quantization scale")


def test_tflite_missing_first_input_is_refused_not_a_segfault(files, tmp_path):
    def edit(model):
        op = model.subgraphs[0].operators[-1]
        op.inputs = [-1, *list(op.inputs[1:])]

    bad = _edit_tflite(files / "m-int8.tflite", tmp_path / "bad.tflite", edit)
    refused(run("run", bad, files / "d.npz", "--engine", "tflm"), "first input is missing")
    refused(run("inspect", bad), "first input is missing")


def test_tflite_interpreter_refusal_is_not_an_internal_error(files, tmp_path):
    """An operator code the interpreter cannot resolve: its RuntimeError became an internal error."""
    def edit(model):
        code = model.operatorCodes[0]
        code.builtinCode = code.deprecatedBuiltinCode = 100       # a real operator of another kind

    bad = _edit_tflite(files / "m-int8.tflite", tmp_path / "bad.tflite", edit)
    for engine in ("litert", "tflm"):
        p = run("run", bad, files / "d.npz", "--engine", engine)
        refused(p, "bad.tflite")


def test_c_folder_edited_model_h_is_refused(files, tmp_path):
    """`run --engine c` trusted model.h: a larger EG_MODEL_OUTPUT_DIM gave exit 0 with garbage."""
    c = tmp_path / "c"
    assert run("convert", files / "m.egru", "--format", "c", "-o", c).returncode == 0
    text = (c / "model.h").read_text()
    (c / "model.h").write_text(text.replace("#define EG_MODEL_OUTPUT_DIM 1", "#define EG_MODEL_OUTPUT_DIM 64"))
    refused(run("run", c, files / "d.npz", "--engine", "c"), "model.h does not match")
    (c / "model.h").write_text(text)
    (c / "model.c").write_bytes(b"\xff\xfe" + (c / "model.c").read_bytes())       # not UTF-8
    refused(run("run", c, files / "d.npz", "--engine", "c"), "model.c does not match")


def test_output_under_a_file_is_refused_before_the_work(files, tmp_path):
    (tmp_path / "f").write_text("mine")
    refused(run("run", files / "m.egru", files / "d.npz", "-o", tmp_path / "f" / "y.npy"), "is a file")
    refused(run("convert", files / "m.egru", "--format", "c", "-o", tmp_path / "f"), "is a file")
    assert (tmp_path / "f").read_text() == "mine"


def test_failed_forced_tflite_conversion_keeps_the_previous_file(files, tmp_path, monkeypatch):
    """A failed `--force` conversion deleted the previous good file."""
    from click.testing import CliRunner

    import converters.tflite_export as tx
    from edge_gru.cli import cli
    from edge_gru.errors import EdgeGruError

    out = tmp_path / "o"
    out.mkdir()
    good = out / "m-int8.tflite"
    good.write_bytes((files / "m-int8.tflite").read_bytes())

    def broken(spec, cal, path, *a, **k):
        open(path, "wb").write(b"TFL3 half written")
        raise EdgeGruError("the TensorFlow converter crashed (SIGSEGV)")

    monkeypatch.setattr(tx, "export_tflite", broken)
    r = CliRunner().invoke(cli, ["convert", str(files / "m.egspec"), "--calibration", str(files / "d.npz"),
                                 "-o", str(out), "--force"])
    assert r.exit_code == 2 and "crashed" in r.output
    assert good.read_bytes() == (files / "m-int8.tflite").read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["m-int8.tflite"]


def test_concurrent_c_exports_into_one_folder_do_not_mix(files, tmp_path, monkeypatch):
    """Two `convert --format c --force` into one folder left model.h from one and model.c from the other.

    The two exports are made to overlap for sure: both reach the move into the folder together (a barrier) and
    every file move is slowed down, so without the folder lock their moves interleave."""
    import contextlib
    import threading

    import edge_gru.outputs as outputs
    from converters.c_export import check_c_folder, export_c, export_names
    from edge_gru.fixed.io import load_fixed, save_fixed

    fm = load_fixed(files / "m.egru")
    c = tmp_path / "c"
    barrier = threading.Barrier(2, timeout=60)
    real_locked, real_replace = outputs._locked, outputs.os.replace

    @contextlib.contextmanager
    def together(folder):
        barrier.wait()                   # both exports are complete in their stages and move in now
        with real_locked(folder):
            yield

    def slow_replace(src, dst):
        __import__("time").sleep(0.01)
        real_replace(src, dst)

    monkeypatch.setattr(outputs, "_locked", together)
    monkeypatch.setattr(outputs.os, "replace", slow_replace)
    errors = []

    def export(name):
        try:
            with outputs.staged_folder(c, export_names(), force=True) as stage:
                export_c(fm, stage, force=True, name=name)
                save_fixed(fm, stage / "model.egru")        # what `convert --format c` writes besides
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    for _ in range(3):
        threads = [threading.Thread(target=export, args=(n,)) for n in ("first", "second")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        check_c_folder(c)                # model.h and model.c of one and the same run
        names = {n: (c / n).read_text() for n in ("model.h", "model.c", "README.md", "CMakeLists.txt")}
        owner = {n: "first" if "first" in t else "second" for n, t in names.items()}
        assert len(set(owner.values())) == 1, owner
        assert not [p for p in c.iterdir() if p.name.startswith(".")]


def test_float_engine_nan_outputs_are_refused(files, monkeypatch):
    """Inputs near the float32 limit overflow ``x W`` to inf - inf = NaN on BLAS paths without fused multiply-add;
    the float engines returned those NaN outputs with exit 0. (With this machine's BLAS the products saturate to
    +-inf instead, so the overflow is injected where it happens: the float reference's result.)"""
    from click.testing import CliRunner

    import edge_gru.float_ref as fr
    from edge_gru.cli import cli

    real = fr.predict
    monkeypatch.setattr(fr, "predict", lambda spec, X, **kw: real(spec, X, **kw)
                        * np.where(np.arange(len(X)) == 3, np.nan, 1)[:, None])
    r = CliRunner().invoke(cli, ["run", str(files / "m.egspec"), str(files / "d.npz")])
    assert r.exit_code == 2 and "NaN or infinite outputs for 1 sequences (first: 3" in r.output, r.output


@pytest.mark.slow
def test_run_memory_is_bounded_by_the_chunk(files, tmp_path):
    """A 5 MB file whose X inflates to 400 MB: `run --engine fixed` read it whole (peak several GB)."""
    rows = (400 << 20) // (5 * 3 * 4)
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 5, 3), np.float32))
    header["shape"] = (rows, 5, 3)
    path = tmp_path / "big.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True) as z, \
            z.open("X.npy", "w", force_zip64=True) as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        zeros = bytes(16 << 20)
        left = rows * 60
        while left:
            fh.write(zeros[:min(left, len(zeros))])
            left -= min(left, len(zeros))
    assert path.stat().st_size < 5 << 20
    # a fresh Numba cache for both runs: the first (one sequence) compiles the kernels and is the baseline,
    # the second loads them, so the difference is what the data costs, on any machine
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    np.savez(tmp_path / "one.npz", X=np.zeros((1, 5, 3), np.float32))

    def peak(data, out):
        proc = subprocess.Popen([*EXE, "run", str(files / "m.egru"), str(data), "-o", str(out)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read()
        return usage.ru_maxrss / 1024

    base_mb = peak(tmp_path / "one.npz", tmp_path / "one.npy")
    peak_mb = peak(path, tmp_path / "y.npy")
    assert np.load(tmp_path / "y.npy").shape == (rows, 1)
    assert peak_mb - base_mb < 250, f"peak {peak_mb:.0f} MB for a 400 MB X, {base_mb:.0f} MB for one sequence"
