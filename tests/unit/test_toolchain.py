"""Which cross-compiler builds the firmware: one default everywhere, others only when asked for."""

import os
import shlex
import sys

import pytest

from edge_gru.errors import ToolMissingError
from firmware_sim.toolchain import resolve_compiler

needs_zig = pytest.mark.needs("zig")


def _fake_gcc(tmp_path):
    """An `arm-none-eabi-gcc` first on PATH that would fail any build."""
    fake = tmp_path / "bin" / "arm-none-eabi-gcc"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\n[ "$1" = --version ] && { echo fake-gcc 1.0; exit 0; }\nexit 1\n')
    fake.chmod(0o755)
    return fake


@needs_zig
def test_default_is_zig_whatever_is_on_path(tmp_path, monkeypatch):
    _fake_gcc(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("EDGE_GRU_ARM_CC", raising=False)
    cc = resolve_compiler()
    assert cc.kind == "zig" and cc.source == "default" and cc.argv[-2:] == ("ziglang", "cc")
    d = cc.describe("cortex-m4")
    assert d["version"].startswith("zig ") and "clang" in d["version"]
    assert "-mcpu=cortex_m4" in d["flags"] and "-O2" in d["flags"]
    # gcc only when asked for, and then the one on PATH
    gcc = resolve_compiler("gcc")
    assert gcc.kind == "gcc" and gcc.argv == (str(tmp_path / "bin" / "arm-none-eabi-gcc"),)
    assert gcc.version == "fake-gcc 1.0" and gcc.source == "--cc"


@needs_zig
def test_environment_variable_is_a_command_line(monkeypatch):
    monkeypatch.setenv("EDGE_GRU_ARM_CC", f"{shlex.quote(sys.executable)} -m ziglang cc")
    cc = resolve_compiler()
    assert cc.kind == "zig" and cc.argv == (sys.executable, "-m", "ziglang", "cc")
    assert cc.source == "EDGE_GRU_ARM_CC" and cc.version.startswith("zig 0.")
    # --cc wins over the environment
    assert resolve_compiler("zig").source == "--cc"


@pytest.mark.parametrize("choice, message", [
    ("/nonexistent/arm-none-eabi-gcc", "not an executable"),
    ("'unbalanced", "not a valid command line"),
    (f"{shlex.quote(sys.executable)} -c pass", "unsupported cross-compiler"),
])
def test_bad_choices_are_refused(choice, message):
    with pytest.raises(ToolMissingError, match=message):
        resolve_compiler(choice)


def test_gcc_asked_for_but_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match="apt-get install gcc-arm-none-eabi"):
        resolve_compiler("gcc")
