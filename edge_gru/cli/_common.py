"""Shared pieces of the ``edge-gru`` command line: the command group, error handling, artifact kinds,
output checks and progress display.

Heavy modules (TensorFlow via :mod:`converters`, numba kernels) are imported inside the commands that
need them, so ``edge-gru --help`` stays fast and TensorFlow-free. Every
:class:`~edge_gru.errors.EdgeGruError` becomes one line on stderr and exit 2.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from edge_gru.errors import EdgeGruError, EdgeGruWarning, ModelFileError


def _fail(msg: str) -> None:
    click.echo(f"edge-gru: error: {msg}", err=True)
    sys.exit(2)


def _show_warning(plain: Any, message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """edge-gru's own warnings as one line ``edge-gru: warning: ...``; other libraries' as Python shows them."""
    if issubclass(category, EdgeGruWarning):
        click.echo(f"edge-gru: warning: {message}", err=True)
    else:
        plain(message, category, *args, **kwargs)


def _usage_fail(exc: click.UsageError) -> None:
    """A command-line mistake (unknown option, bad choice, missing argument) as one line, with where to look."""
    where = exc.ctx.command_path if exc.ctx is not None else "edge-gru"
    _fail(f"{exc.format_message()} (see '{where} --help')")


class _Group(click.Group):
    """A click group that turns library errors and usage mistakes into one line and exit status 2."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            _usage_fail(exc)
            raise  # unreachable: _fail exits

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with warnings.catch_warnings():          # restores warnings.showwarning afterwards
                plain = warnings.showwarning
                warnings.showwarning = functools.partial(_show_warning, plain)
                return super().invoke(ctx)
        except EdgeGruError as exc:
            _fail(str(exc))
        except click.UsageError as exc:
            _usage_fail(exc)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            _closed_pipe()
        except KeyboardInterrupt:
            click.echo("edge-gru: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - last line of defence: no tracebacks for users
            if os.environ.get("EDGE_GRU_DEBUG"):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc} (set EDGE_GRU_DEBUG=1 for a traceback "
                  "and please report it)")


def _closed_pipe() -> None:
    """The reader of our output went away (``edge-gru inspect m.tflite | head -1``): stop quietly, as a Unix tool
    killed by SIGPIPE would (exit 141), without a second error when Python flushes stdout at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    sys.exit(141)


def _check_output(path: Path, force: bool) -> Path:
    from edge_gru.outputs import check_output

    return check_output(path, force)


def artifact_kind(path: str | Path) -> str:
    """Classify a model artifact: ``keras``, ``onnx``, ``fixed``, ``spec``, ``tflite`` or ``c``.

    Raises:
        ModelFileError: The path does not exist or is of an unknown kind.
    """
    p = Path(path)
    if p.is_dir():
        return "c"
    if not p.is_file():
        raise ModelFileError(f"{p}: no such file or directory")
    suffix = p.suffix.lower()
    kinds = {".keras": "keras", ".onnx": "onnx", ".egru": "fixed", ".egspec": "spec", ".tflite": "tflite"}
    if suffix in kinds:
        return kinds[suffix]
    if suffix in (".pt", ".pth"):
        raise ModelFileError(f"{p}: a PyTorch checkpoint is a pickle, which edge-gru does not load (it can run code); "
                             "export the model with torch.onnx.export to .onnx, or use edge_gru.from_torch in Python")
    raise ModelFileError(f"{p}: unknown model file type {suffix or '(none)'!r}; "
                         "expected .keras, .onnx, .egru, .egspec or .tflite")


def load_float_spec(path: str | Path):
    """Load a float spec from ``.keras`` (via the Keras importer), ``.onnx`` (checked against onnxruntime) or
    ``.egspec``."""
    kind = artifact_kind(path)
    if kind == "keras":
        from converters.keras_import import import_keras

        return import_keras(path)
    if kind == "onnx":
        from edge_gru.importers.onnx_import import from_onnx

        return from_onnx(path)
    if kind == "spec":
        from edge_gru.spec import load_spec

        return load_spec(path)
    raise ModelFileError(f"{path}: a float model (.keras, .onnx or .egspec) is needed here, got a {kind} artifact")


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.fields[info]}"), console=_console(), transient=False)


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edge-gru")
def cli() -> None:
    """edge-gru: take a Keras-trained GRU to microcontrollers.

    Typical flow: `dataset` -> `train` -> `quantize` -> `run` / `inspect`.
    """



def cc_option(fn: Any) -> Any:
    """``--cc``: the Arm cross-compiler that builds emulated firmware (named in every emulated figure)."""
    return click.option("--cc", "cc_choice", metavar="gcc|zig|COMMAND",
                        help="Cross-compiler for the firmware: zig (default: the pinned pip ziglang clang), gcc "
                             "(arm-none-eabi-gcc) or a compiler command line; $EDGE_GRU_ARM_CC when not given.")(fn)


PLACEMENT_CHOICES = ("flash", "weights-ram", "ram")     # firmware_sim.memory.PLACEMENTS (a test keeps them equal)


def placement_option(fn: Any) -> Any:
    """``--placement``: where the firmware's code and weights run (the memory system charges accordingly)."""
    return click.option("--placement", type=click.Choice(PLACEMENT_CHOICES), default=None,
                        help="Where code and weights run: flash (default: code and weights in the part's flash), "
                             "weights-ram (weights copied to SRAM/DTCM at start-up), ram (code, constants and "
                             "weights run from RAM/ITCM, like pico-sdk copy_to_ram).")(fn)


def memory_option(fn: Any) -> Any:
    """``--memory``: the target's modelled memory system, or zero-wait memory for comparison."""
    return click.option("--memory", "memory_model", type=click.Choice(["part", "ideal"]), default="part",
                        show_default=True,
                        help="part: the target's memory system (wait states, prefetch, caches, from targets.toml); "
                             "ideal: zero-wait memory (the plain cycle model).")(fn)


def resolve_cc(choice: str | None) -> Any:
    """The :class:`~firmware_sim.toolchain.Compiler` for a ``--cc`` choice, checked before long work starts."""
    from firmware_sim.toolchain import resolve_compiler

    cc = resolve_compiler(choice)
    if cc.version == "unknown version" or "?" in cc.version:
        raise EdgeGruError(f"the cross-compiler {' '.join(cc.argv)!r} did not answer --version; check the command")
    return cc
