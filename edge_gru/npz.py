"""A defensive reader of ``.npz`` files (data files and edge-gru containers).

``numpy.load`` trusts what a file says: a header that claims 10^12 elements allocates them, a member that
inflates to 5 GB is inflated, a duplicate member name or one without the NPY magic surfaces as an
``AttributeError``. This reader checks the zip directory and every member's NPY header before any array
is read, against the limits below, and reads each member in bounded pieces (the zip stream stops at the
declared size, so a lying deflate stream cannot grow memory). Every refusal is a
:class:`~edge_gru.errors.EdgeGruError` naming the file, the member and the limit.
"""

from __future__ import annotations

import ast
import contextlib
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_gru.errors import DataError, EdgeGruError

#: Most members an ``.npz`` may have.
MAX_MEMBERS = 256
#: Longest NPY header (numpy's own default limit).
MAX_NPY_HEADER = 10_000
#: Most dimensions of one array.
MAX_NDIM = 8
#: Zip compression methods numpy and edge-gru write (stored, deflate).
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
#: Array element kinds accepted: bool, signed and unsigned integers, floats.
_KINDS = "biuf"
_READ_PIECE = 1 << 24
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError, zlib.error)


@dataclass(frozen=True)
class Member:
    """One array of an ``.npz``, as its NPY header describes it (nothing read yet)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int          # bytes of magic + header before the data

    @property
    def nbytes(self) -> int:
        """Bytes of array data."""
        return int(np.prod(self.shape, dtype=object)) * self.dtype.itemsize


class NpzReader:
    """Check an ``.npz`` and read its arrays with bounded memory.

    Args:
        path: The file.
        error: Exception class raised on a refusal (``DataError`` for data, ``ModelFileError`` for models).
        max_bytes: Largest total of array data accepted (the sum over members, uncompressed).

    Raises:
        EdgeGruError: ``error`` naming the file and what is wrong.
    """

    def __init__(self, path: str | Path, error: type[EdgeGruError] = DataError,
                 max_bytes: int | None = None) -> None:
        self.path, self.error = Path(path), error
        if not self.path.is_file():
            raise error(f"{self.path}: no such file")
        try:
            self._zip = zipfile.ZipFile(self.path)
        except _ZIP_ERRORS as exc:
            raise error(f"{self.path}: not a readable .npz (zip) file ({_why(exc)})") from None
        try:
            self.members = self._scan(max_bytes)
        except BaseException:
            self._zip.close()
            raise

    def close(self) -> None:
        """Close the underlying zip file."""
        self._zip.close()

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, what: str) -> EdgeGruError:
        return self.error(f"{self.path}: {what}")

    def _scan(self, max_bytes: int | None) -> dict[str, Member]:
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise self._fail(f"{len(infos)} members, more than the limit of {MAX_MEMBERS}")
        members: dict[str, Member] = {}
        total = 0
        for info in infos:
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if name in members:
                raise self._fail(f"member {info.filename!r} appears twice; the file is corrupt or was tampered with")
            if info.compress_type not in _METHODS:
                raise self._fail(f"member {info.filename!r} uses zip compression method {info.compress_type}; "
                                 "only stored and deflate are read (save with numpy.savez or savez_compressed)")
            if info.flag_bits & 0x1:
                raise self._fail(f"member {info.filename!r} is encrypted")
            m = self._header(info, name)
            if info.file_size != m.offset + m.nbytes:
                raise self._fail(f"member {info.filename!r}: its NPY header describes {m.nbytes:,} bytes of data "
                                 f"but the zip entry holds {max(info.file_size - m.offset, 0):,}")
            total += m.nbytes
            if max_bytes is not None and total > max_bytes:
                raise self._fail(f"arrays total more than {max_bytes / 2**20:,.0f} MiB uncompressed, the limit for "
                                 "this kind of file")
            members[name] = m
        return members

    def _header(self, info: zipfile.ZipInfo, name: str) -> Member:
        where = f"member {info.filename!r}"
        try:
            with self._zip.open(info) as fh:
                head = fh.read(12)
                if len(head) < 10 or head[:6] != b"\x93NUMPY":
                    raise self._fail(f"{where} is not an NPY array (no NPY magic)")
                major = head[6]
                if major == 1:
                    hlen, start = int.from_bytes(head[8:10], "little"), 10
                elif major in (2, 3):
                    hlen, start = int.from_bytes(head[8:12], "little"), 12
                else:
                    raise self._fail(f"{where}: NPY format version {major} is not supported")
                if hlen > MAX_NPY_HEADER:
                    raise self._fail(f"{where}: NPY header of {hlen:,} bytes, more than {MAX_NPY_HEADER:,}")
                text = (head[start:] + fh.read(hlen - (len(head) - start)))[:hlen]
        except EdgeGruError:
            raise
        except _ZIP_ERRORS as exc:
            raise self._fail(f"{where} cannot be read ({_why(exc)})") from None
        if len(text) < hlen:
            raise self._fail(f"{where}: truncated NPY header")
        shape, dtype, fortran = self._parse_header(text, where)
        return Member(name, shape, dtype, fortran, start + hlen)

    def _parse_header(self, text: bytes, where: str) -> tuple[tuple[int, ...], np.dtype, bool]:
        try:
            d = ast.literal_eval(text.decode("latin1"))
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            raise self._fail(f"{where}: unreadable NPY header") from None
        if not isinstance(d, dict) or set(d) != {"descr", "fortran_order", "shape"}:
            raise self._fail(f"{where}: NPY header must have exactly descr, fortran_order and shape")
        shape, descr, fortran = d["shape"], d["descr"], d["fortran_order"]
        if not isinstance(shape, tuple) or len(shape) > MAX_NDIM or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**40 for v in shape):
            raise self._fail(f"{where}: NPY shape {shape!r} is not a tuple of at most {MAX_NDIM} sizes >= 0")
        if not isinstance(fortran, bool):
            raise self._fail(f"{where}: NPY fortran_order must be True or False")
        if not isinstance(descr, str):
            raise self._fail(f"{where}: structured or object arrays are not accepted (dtype {descr!r})")
        try:
            dtype = np.dtype(descr)
        except (TypeError, ValueError):
            raise self._fail(f"{where}: unknown dtype {descr!r}") from None
        if dtype.kind not in _KINDS or dtype.itemsize > 8:
            raise self._fail(f"{where}: dtype {dtype} is not accepted (bool, integers or floats only)")
        return shape, dtype, fortran

    def read(self, name: str, max_bytes: int | None = None) -> np.ndarray:
        """One whole array.

        Args:
            name: Member name (without ``.npy``).
            max_bytes: Refuse arrays larger than this.
        """
        m = self.members[name]
        if max_bytes is not None and m.nbytes > max_bytes:
            raise self._fail(f"array {name!r} holds {m.nbytes / 2**20:,.0f} MiB, more than the "
                             f"{max_bytes / 2**20:,.0f} MiB this command loads at once")
        with self._open(m) as read:
            flat = np.frombuffer(read(m.nbytes), dtype=m.dtype)
            read(0)
        order = "F" if m.fortran_order else "C"
        return flat.reshape(m.shape, order=order).astype(m.dtype.newbyteorder("="), copy=True)

    def iter_rows(self, name: str, rows: int) -> Iterator[np.ndarray]:
        """An array in pieces of ``rows`` leading-axis rows, read in one pass over the member (C-order arrays;
        Fortran-order ones are read whole, up to 1 GiB)."""
        m = self.members[name]
        if (m.fortran_order and len(m.shape) > 1) or not m.shape or m.nbytes == 0:
            yield self.read(name, max_bytes=1 << 30)
            return
        row_bytes = m.nbytes // m.shape[0]
        step = max(1, rows) * row_bytes
        with self._open(m) as read:
            done = 0
            while done < m.nbytes:
                n = min(step, m.nbytes - done)
                arr = np.frombuffer(read(n), dtype=m.dtype).reshape((-1, *m.shape[1:]))
                done += n
                if done >= m.nbytes:
                    read(0)
                yield arr if m.dtype.isnative else arr.astype(m.dtype.newbyteorder("="))

    @contextlib.contextmanager
    def _open(self, m: Member) -> Iterator[Callable[[int], bytes]]:
        """A reader of the member's data: ``read(n)`` returns exactly ``n`` bytes; ``read(0)`` checks the end (the zip
        module verifies the CRC there)."""
        name = m.name if m.name in self._zip.NameToInfo else m.name + ".npy"

        def read(n: int) -> bytes:
            if n == 0:
                if fh.read(1):
                    raise self._fail(f"member {name!r} holds more data than its NPY header describes")
                return b""
            parts, left = [], n
            while left > 0:
                chunk = fh.read(min(left, _READ_PIECE))
                if not chunk:
                    raise self._fail(f"member {name!r} is truncated")
                parts.append(chunk)
                left -= len(chunk)
            return parts[0] if len(parts) == 1 else b"".join(parts)

        try:
            with self._zip.open(name) as fh:
                fh.read(m.offset)
                yield read
        except EdgeGruError:
            raise
        except _ZIP_ERRORS as exc:
            raise self._fail(f"member {name!r} is corrupt ({_why(exc)})") from None


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:160] if text else type(exc).__name__


__all__ = ["MAX_MEMBERS", "MAX_NDIM", "MAX_NPY_HEADER", "Member", "NpzReader"]
