"""Run native code that can crash (TFLite interpreters) in a child process.

A segmentation fault or an abort in LiteRT or TFLite Micro would kill the user's process with no error
line. :func:`run_isolated` forks a child that runs the function and sends back its result; a crash
becomes a :class:`~edge_gru.errors.ModelFileError` naming the signal, an exception raised in the child is
re-raised in the parent (edge-gru errors as they are, anything else as a refusal of the file). Forking
costs a few milliseconds per call (measured in ``benchmarks/run.py``); the interpreter is built in the
child, so the parent never loads a file the checks could not vouch for.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import pickle
import signal
from collections.abc import Callable
from typing import Any, TypeVar

from edge_gru.errors import EdgeGruError, ModelFileError

T = TypeVar("T")


def run_isolated(fn: Callable[..., T], *args: Any, what: str) -> T:
    """``fn(*args)`` in a forked child process.

    Args:
        fn: A module-level function (its result must pickle).
        *args: Its arguments.
        what: What runs, for messages (e.g. ``"model.tflite under tflm"``).

    Raises:
        ModelFileError: The child crashed, or ``fn`` raised something other than an edge-gru error.
        EdgeGruError: ``fn`` raised one.
    """
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, fn, args), daemon=True)
    child.start()
    send.close()
    try:
        try:
            status, value = recv.recv()
        except EOFError:
            child.join()
            raise ModelFileError(f"{what}: the interpreter crashed ({_signal_name(child.exitcode)}); the file is "
                                 "corrupt or uses something the interpreter cannot run") from None
        child.join()
    finally:
        recv.close()
        if child.is_alive():       # Ctrl-C or an error here: leave no child behind
            child.kill()
            child.join()
    if status == "ok":
        return value
    if status == "edge-gru":
        raise value
    raise ModelFileError(f"{what}: the interpreter refused the file ({value})")


def _child(send: Any, fn: Callable[..., Any], args: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)     # Ctrl-C ends the child at once; the parent reports it
    faulthandler.disable()                            # a crash is reported by the parent, in one line
    try:
        result: tuple[str, Any] = ("ok", fn(*args))
    except EdgeGruError as exc:
        result = ("edge-gru", exc)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a refusal
        text = str(exc).strip().splitlines()
        result = ("error", f"{type(exc).__name__}: {text[0][:200] if text else ''}".rstrip(": "))
    try:
        send.send(result)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        send.send(("error", f"unpicklable result: {type(exc).__name__}"))
    send.close()


def _signal_name(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


__all__ = ["run_isolated"]
