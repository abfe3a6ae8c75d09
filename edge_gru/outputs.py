"""Writing outputs safely: checked before the work, written atomically, never mixed between runs.

* :func:`check_output` runs before any long work: the destination must be creatable and writable, and an
  existing file is only replaced with ``force``.
* :func:`atomic_file` writes to a temporary file beside the destination and renames it into place only when
  the writer finished; a failed or interrupted run leaves the previous file untouched and no temporary.
* :func:`staged_folder` does the same for a set of files in one folder (a C export): they are written to a
  hidden staging folder, then moved into place while holding a lock on the folder, so two runs into one
  folder each leave a complete set, never ``model.h`` from one and ``model.c`` from the other.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from edge_gru.errors import OutputError, OutputExistsError


def check_output(path: str | Path, force: bool, folder: bool = False) -> Path:
    """Check that ``path`` can be written, creating its parent folders.

    Args:
        path: The file (or, with ``folder``, the folder) to write.
        force: Whether an existing file may be replaced.
        folder: ``path`` is an output folder.

    Raises:
        OutputExistsError: The file exists and ``force`` is not given.
        OutputError: A parent is a file, the folder is read-only, or ``path`` is of the other kind.
    """
    p = Path(path)
    if folder:
        if p.exists() and not p.is_dir():
            raise OutputError(f"{p} is a file; the output must be a folder")
        _make_dirs(p)
        _writable(p)
        return p
    if p.is_dir():
        raise OutputError(f"{p} is a folder; give a file name")
    if p.exists() and not force:
        raise OutputExistsError(f"{p} exists; pass --force to overwrite it")
    _make_dirs(p.parent)
    _writable(p.parent)
    return p


def _make_dirs(d: Path) -> None:
    for parent in [d, *d.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"cannot create {d}: {parent} is a file")
            break
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {d}: {exc.strerror or exc}") from None


def _writable(d: Path) -> None:
    if not os.access(d, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write into {d}: permission denied")


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    On an exception (including Ctrl-C) the temporary is removed and ``path`` is left as it was.
    """
    p = Path(path)
    # the temporary keeps the extension: some writers insist on it (Keras' .keras)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=f".tmp{p.suffix}", dir=p.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, p)
    except OSError as exc:
        raise OutputError(f"cannot write {p}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def staged_folder(folder: str | Path, names: list[str] | None = None, force: bool = False) -> Iterator[Path]:
    """Yield a staging folder; move every file written there into ``folder`` when the block succeeds.

    Args:
        folder: The destination folder (created).
        names: Files the export will write, checked against ``force`` before the work starts (under the lock
            again when the files are moved). ``None``: the folder must be empty unless ``force``.
        force: Whether existing files may be replaced.

    Raises:
        OutputExistsError: One of ``names`` exists and ``force`` is not given.
    """
    dest = check_output(folder, force, folder=True)
    if names is None and not force and any(not p.name.startswith(".edge-gru-stage.") for p in dest.iterdir()):
        raise OutputExistsError(f"{dest} is not empty; pass --force to write into it")
    _refuse_existing(dest, names or [], force)
    stage = Path(tempfile.mkdtemp(prefix=".edge-gru-stage.", dir=dest))
    try:
        yield stage
        with _locked(dest):
            written = sorted(p.name for p in stage.iterdir())
            _refuse_existing(dest, written, force)
            for name in written:
                target = dest / name
                if target.is_dir() or ((stage / name).is_dir() and target.exists()):
                    os.replace(target, stage / f".replaced-{name}")      # removed with the stage below
                os.replace(stage / name, target)
    except OSError as exc:
        raise OutputError(f"cannot write into {dest}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _refuse_existing(dest: Path, names: list[str], force: bool) -> None:
    existing = [n for n in names if (dest / n).exists()]
    if existing and not force:
        raise OutputExistsError(f"{dest}: {', '.join(existing)} exist; pass --force to overwrite")


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)       # releases the lock


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


__all__ = ["OutputError", "atomic_file", "check_output", "staged_folder"]
