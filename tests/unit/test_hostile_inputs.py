"""Hostile and broken inputs (issue 14): each test failed before its fix (an internal error, a crash, memory
blown, garbage with exit 0, a lost interrupt or a mixed output)."""

from __future__ import annotations

import io
import json
import os
import signal
import zipfile

import numpy as np
import pytest

from edge_gru import container
from edge_gru.data import DataFile, load_data
from edge_gru.errors import DataError, EdgeGruError, ModelFileError, OutputError, OutputExistsError
from edge_gru.outputs import atomic_file, staged_folder
from edge_gru.spec import load_spec, random_spec, save_spec


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _zip(path, members, method=zipfile.ZIP_STORED):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(path, "w", method) as z:
            for name, data in members:
                z.writestr(name, data)
    return path


X = np.random.default_rng(0).normal(size=(4, 5, 3)).astype(np.float32)


# --- kind 2: decoder errors were internal errors -------------------------------------------------------------

def test_member_without_npy_magic(tmp_path):
    p = _zip(tmp_path / "d.npz", [("X.npy", b"not an array at all")])
    with pytest.raises(DataError, match="no NPY magic"):
        load_data(p)


def test_duplicate_member(tmp_path):
    p = _zip(tmp_path / "d.npz", [("X.npy", _npy(X)), ("X.npy", _npy(X[:2]))])
    with pytest.raises(DataError, match="appears twice"):
        load_data(p)


def test_npy_header_lying_about_its_size(tmp_path):
    """numpy allocated what the header claimed (MemoryError for 10^12 elements)."""
    blob = bytearray(_npy(X))
    text = blob[10:10 + int.from_bytes(blob[8:10], "little")].decode("latin1")
    lie = text.replace("(4, 5, 3)", "(100000000000, 5, 3)")
    lie = lie.rstrip("\n")[: len(text) - 1].ljust(len(text) - 1) + "\n"
    blob[10:10 + len(text)] = lie.encode("latin1")
    p = _zip(tmp_path / "d.npz", [("X.npy", bytes(blob))])
    with pytest.raises(DataError, match="NPY header describes"):
        load_data(p)


def test_unsupported_zip_compression(tmp_path):
    p = _zip(tmp_path / "d.npz", [("X.npy", _npy(X))], zipfile.ZIP_BZIP2)
    with pytest.raises(DataError, match="compression method"):
        load_data(p)


def test_corrupt_deflate_stream(tmp_path):
    p = _zip(tmp_path / "d.npz", [("X.npy", _npy(np.zeros((200, 5, 3), np.float32)))], zipfile.ZIP_DEFLATED)
    blob = bytearray(p.read_bytes())
    start = blob.find(b"X.npy") + 5 + 40
    blob[start:start + 8] = b"\xff" * 8
    p.write_bytes(bytes(blob))
    with pytest.raises(DataError, match="d.npz"):
        load_data(p)


def test_zero_dimensional_y(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, X=X, y=np.array(3))
    with pytest.raises(DataError, match="y must be"):
        load_data(p)


def test_deeply_nested_container_header(tmp_path):
    spec_path = tmp_path / "m.egspec"
    save_spec(random_spec(np.random.default_rng(1), 3, [4], None, timesteps=5), spec_path)
    with zipfile.ZipFile(spec_path) as z:
        members = [(i.filename, z.read(i)) for i in z.infolist()]
    deep = ("[" * 100000 + "]" * 100000).encode()
    members = [(n, _npy(np.frombuffer(deep, np.uint8)) if n == "__header__.npy" else d) for n, d in members]
    p = _zip(tmp_path / "deep.egspec", members)
    with pytest.raises(ModelFileError, match="nested deeper"):
        container.load(p, "edge-gru-spec", 1)


def test_model_file_size_limit(tmp_path, monkeypatch):
    """A model member that inflates beyond the limit is refused before it is read (5 GB took the machine down)."""
    spec_path = tmp_path / "m.egspec"
    save_spec(random_spec(np.random.default_rng(1), 3, [4], None, timesteps=5), spec_path)
    with zipfile.ZipFile(spec_path, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pad.npy", _npy(np.zeros(1 << 20, np.float32)))      # 4 MiB of zeros, 4 KiB compressed
    monkeypatch.setattr(container, "MAX_MODEL_BYTES", 1 << 20)
    with pytest.raises(ModelFileError, match="more than 1 MiB"):
        container.load(spec_path, "edge-gru-spec", 1)


# --- kind 3: memory bound --------------------------------------------------------------------------------------

def test_data_is_read_in_bounded_chunks(tmp_path):
    big = np.random.default_rng(2).normal(size=(1000, 5, 3)).astype(np.float32)
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        p = _zip(tmp_path / f"d{method}.npz", [("X.npy", _npy(big)), ("y.npy", _npy(np.arange(1000) % 2))], method)
        with DataFile(p, features=3, timesteps=5) as f:
            parts = list(f.chunks(max_bytes=7 * 5 * 3 * 4))
            assert len(parts) == 143 and max(len(c) for c in parts) == 7
            np.testing.assert_array_equal(np.concatenate(parts), big)
            assert f.y.shape == (1000,)


def test_whole_load_limit(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.zeros((100, 5, 3), np.float32))
    with DataFile(p) as f, pytest.raises(DataError, match="streams files of any size"):
        f.load(max_bytes=1000)


# --- kind 4: numbers that must not reach the engines -----------------------------------------------------------

def test_egspec_nan_weights_refused(tmp_path):
    spec = random_spec(np.random.default_rng(3), 3, [4], None, timesteps=5)
    save_spec(spec, tmp_path / "m.egspec")
    meta, arrays = container.load(tmp_path / "m.egspec", "edge-gru-spec", 1)
    arrays["gru0.kernel"][0, 0] = np.nan
    container.save(tmp_path / "nan.egspec", "edge-gru-spec", 1, meta, arrays)
    from edge_gru.spec import load_spec

    with pytest.raises(ModelFileError, match="NaN or infinite weights"):
        load_spec(tmp_path / "nan.egspec")


# --- kind 1: interpreters crash the process --------------------------------------------------------------------

def _segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _refuse() -> None:
    raise RuntimeError("Didn't find op for builtin opcode 'FOO'\nmore lines")


def test_a_crash_in_the_child_is_an_error_line():
    from edge_gru.tflite.isolate import run_isolated

    with pytest.raises(ModelFileError, match="crashed \\(SIGSEGV\\)"):
        run_isolated(_segfault, what="m.tflite under tflm")
    with pytest.raises(ModelFileError, match="refused the file \\(RuntimeError: Didn't find op"):
        run_isolated(_refuse, what="m.tflite under litert")
    assert run_isolated(np.add, 2, 3, what="x") == 5


# --- kind 5: outputs --------------------------------------------------------------------------------------------

def test_atomic_file_keeps_the_previous_file_on_failure(tmp_path):
    target = tmp_path / "m.tflite"
    target.write_bytes(b"good")
    with pytest.raises(EdgeGruError), atomic_file(target) as tmp:
        tmp.write_bytes(b"half-written")
        raise EdgeGruError("converter failed")
    assert target.read_bytes() == b"good" and [p.name for p in tmp_path.iterdir()] == ["m.tflite"]
    with atomic_file(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new" and len(list(tmp_path.iterdir())) == 1


def test_staged_folders_never_mix(tmp_path):
    """Two exports into one folder that interleave: the folder holds one run's complete set."""
    out = tmp_path / "c"
    a = staged_folder(out, ["model.h", "model.c"], force=True)
    b = staged_folder(out, ["model.h", "model.c"], force=True)
    sa, sb = a.__enter__(), b.__enter__()
    for stage, tag in ((sa, "A"), (sb, "B")):
        (stage / "model.h").write_text(tag)
    (sb / "model.c").write_text("B")
    b.__exit__(None, None, None)
    (sa / "model.c").write_text("A")
    a.__exit__(None, None, None)
    assert {p.name: p.read_text() for p in out.iterdir()} == {"model.h": "A", "model.c": "A"}
    with pytest.raises(OutputExistsError, match="model.h"), staged_folder(out, ["model.h"]):
        pass


def test_unwritable_destinations(tmp_path):
    from edge_gru.outputs import check_output

    (tmp_path / "f").write_text("a file")
    with pytest.raises(OutputError, match="is a file"):
        check_output(tmp_path / "f" / "y.npy", force=False)
    with pytest.raises(OutputError, match="is a folder"):
        check_output(tmp_path, force=True)


# --- kind 6: Ctrl-C during emulation ----------------------------------------------------------------------------

@pytest.mark.needs("sim")
def test_interrupt_during_emulation_is_not_swallowed(tmp_path):
    """Unicorn swallowed the KeyboardInterrupt raised inside its hooks: the run went on to the end."""
    from converters.c_export import export_c
    from edge_gru.fixed.model import quantize_model
    from firmware_sim.simulate import build_firmware
    from firmware_sim.targets import get_target
    from firmware_sim.toolchain import resolve_compiler

    spec = random_spec(np.random.default_rng(4), 8, [32], [(4, "softmax")], timesteps=40)
    xs = np.random.default_rng(5).normal(size=(400, 40, 8)).astype(np.float32)
    fm = quantize_model(spec, xs, "w8a16")
    export_c(fm, tmp_path / "c")
    target = get_target("nrf52840")
    elf = build_firmware(tmp_path / "c", target, tmp_path / "build", cc=resolve_compiler(None))
    xq = fm.quantize_input(xs)
    from firmware_sim.elf import read_elf
    from firmware_sim.emulator import MARK_OFFSET, Emulator
    from firmware_sim.simulate import _io_block
    from firmware_sim.toolchain import IO_BASE

    block, out_off = _io_block(xq, np.full(len(xq), xq.shape[1], np.int32), fm.output_dim)
    emu = Emulator(read_elf(elf), target, io_bytes=out_off + 4 * fm.output_dim * len(xq))
    emu.write_io(0, block)
    marks = []

    def on_mark(*_args):            # the firmware writes a mark after every sequence; Ctrl-C after the third
        marks.append(1)
        if len(marks) == 3:
            os.kill(os.getpid(), signal.SIGINT)

    emu.uc.hook_add(__import__("unicorn").UC_HOOK_MEM_WRITE, on_mark, begin=IO_BASE + MARK_OFFSET,
                    end=IO_BASE + MARK_OFFSET + 3)
    with pytest.raises(KeyboardInterrupt):
        emu.run()                    # one emu_start call for all 400 sequences
    assert 3 <= len(marks) <= 4, len(marks)     # it stopped at the signal, not 397 sequences later


def test_json_depth_check_on_wide_headers(tmp_path):
    """A legitimate wide header is not mistaken for a deep one (it loads, equal to what was saved), while a header
    of the same kind nested one level deeper than the limit is refused."""
    spec_path = tmp_path / "m.egspec"
    spec = random_spec(np.random.default_rng(1), 3, [4, 4, 4, 4, 4, 4], [(2, "softmax")], timesteps=5)
    save_spec(spec, spec_path)
    meta, arrays = container.load(spec_path, "edge-gru-spec", 1)
    assert len(json.dumps(meta)) > 900 and len(meta["layers"]) == 7
    back = load_spec(spec_path)
    assert [g.units for g in back.grus] == [4] * 6
    np.testing.assert_array_equal(back.grus[5].kernel, spec.grus[5].kernel)
    deep: object = 1
    for _ in range(container.MAX_HEADER_DEPTH):
        deep = [deep]
    container.save(spec_path, "edge-gru-spec", 1, {**meta, "note": deep}, arrays)
    with pytest.raises(ModelFileError, match="nested deeper than"):
        container.load(spec_path, "edge-gru-spec", 1)


@pytest.mark.parametrize("kind", ["egru", "egspec"])
def test_infinite_layer_size_in_header(tmp_path, kind):
    """Found by the fuzzer: `units = -Infinity` in a header raised OverflowError (an internal error)."""
    from edge_gru.fixed.io import load_fixed, save_fixed
    from edge_gru.fixed.model import quantize_model
    from edge_gru.spec import load_spec

    spec = random_spec(np.random.default_rng(6), 3, [4], None, timesteps=5)
    path = tmp_path / f"m.{kind}"
    if kind == "egru":
        save_fixed(quantize_model(spec, X, "w8a16"), path)
    else:
        save_spec(spec, path)
    name = "edge-gru-fixed" if kind == "egru" else "edge-gru-spec"
    meta, arrays = container.load(path, name, 9)
    meta["layers"][0]["units"] = float("-inf")
    container.save(path, name, 1, meta, arrays)
    with pytest.raises(ModelFileError, match="inconsistent"):
        (load_fixed if kind == "egru" else load_spec)(path)


def test_interrupt_while_tensorflow_imports_is_an_interrupt(monkeypatch):
    """Ctrl-C during TensorFlow's import reaches us as an ImportError raised while handling the interrupt: it was
    reported as "TensorFlow/Keras is not installed" (a search then went on and exited 0); it is an interrupt."""
    import importlib

    from converters import _tf

    def interrupted(name):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise ImportError("cannot import name 'pywrap_tensorflow'") from None

    monkeypatch.setattr(importlib, "import_module", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _tf.keras()

    def broken(name):
        raise ImportError("libfoo.so: cannot open shared object file")

    monkeypatch.setattr(importlib, "import_module", broken)
    from edge_gru.errors import ToolMissingError

    with pytest.raises(ToolMissingError, match="installed but does not import|not installed"):
        _tf.keras()


def test_ctrl_c_during_tensorflow_import_is_raised_after_it():
    """The interrupt that arrives while TensorFlow imports is held back and raised once the import is over."""
    import subprocess
    import sys

    code = ("import os, signal, sys, time\n"
            "from converters import _tf\n"
            "import importlib\n"
            "real = importlib.import_module\n"
            "def slow(name):\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"       # Ctrl-C in the middle of the import
            "    time.sleep(0.2)\n"
            "    return real(name)\n"
            "importlib.import_module = slow\n"
            "try:\n"
            "    _tf.keras()\n"
            "except KeyboardInterrupt:\n"
            "    print('interrupted', 'tensorflow' in sys.modules)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.stdout.strip() == "interrupted True", p.stdout + p.stderr[-1500:]
