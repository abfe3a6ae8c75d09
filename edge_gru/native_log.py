"""Keep native libraries' start-up chatter off the user's terminal.

TensorFlow and LiteRT write from C++ straight to file descriptor 2 (absl's "All log messages before
absl::InitializeLog()", "Could not find cuda drivers", "Created TensorFlow Lite XNNPACK delegate"), below Python's
``sys.stderr``, so neither ``warnings`` nor ``logging`` can filter them. :func:`filtered_native_stderr` catches what
the process writes to descriptor 2 while a block runs and passes on every line but the known chatter.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

#: substrings of lines that are start-up information, never a problem the user must see
CHATTER = ("All log messages before absl::InitializeLog()", "Could not find cuda drivers", "cuda_dnn.cc",
           "cuda_fft.cc", "cuda_blas.cc", "cudart_stub.cc", "computation placer already registered",
           "oneDNN custom operations are on", "This TensorFlow binary is optimized", "rebuild TensorFlow with",
           "Created TensorFlow Lite XNNPACK delegate", "TF-TRT Warning", "Unable to register cu",
           "failed call to cuInit", "absl::InitializeLog")


@contextlib.contextmanager
def filtered_native_stderr(chatter: tuple[str, ...] = CHATTER) -> Iterator[None]:
    """Run the block with descriptor 2 captured; afterwards write every captured line without ``chatter`` back.

    Does nothing when descriptor 2 cannot be duplicated (an embedded interpreter without one)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = [ln for ln in tmp.read().decode("utf-8", "replace").splitlines(keepends=True)
                    if ln.strip() and not any(c in ln for c in chatter)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


__all__ = ["CHATTER", "filtered_native_stderr"]
