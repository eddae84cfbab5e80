"""Reading a user's NumPy files (``.npz`` archives, ``.npy`` arrays) with one clear error when they are bad.

``numpy.load`` fails on bad files with many exception types (``EOFError`` for an empty file,
``zipfile.BadZipFile`` for a truncated archive or a member with a bad CRC, ``zlib.error``, a
``ValueError`` that speaks of pickles for any non-NumPy file) and returns a bare array when an
``.npy`` file is given where an archive is expected. These readers turn all of that into one
:class:`RnamsmError` naming the file and what it should be. Pickled objects are never loaded.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections.abc import Collection
from pathlib import Path

import numpy as np

from rnamsm.errors import RnamsmError
from rnamsm.textfile import check_regular_file

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"
_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _magic(path: Path, what: str) -> bytes:
    """The first bytes of ``path``; missing, special (FIFO, ...), unreadable and empty files are refused."""
    check_regular_file(path, what)
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as error:
        raise RnamsmError(f"{path}: cannot read {what}: {error.strerror or error}") from None
    if not head:
        raise RnamsmError(f"{path}: empty file, expected {what}")
    return head


def _check_npz(path: Path, what: str) -> None:
    """Refuse anything but a zip archive (an ``.npy`` file, text, an empty file) before NumPy sees it."""
    head = _magic(path, what)
    if head.startswith(_NPY_MAGIC):
        raise RnamsmError(f"{path}: a single .npy array, not an .npz archive; expected {what}")
    if not head.startswith(_ZIP_MAGIC):
        raise RnamsmError(f"{path}: not a NumPy .npz archive, expected {what}")


def read_npz(path: str | os.PathLike[str], what: str, keys: Collection[str] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` archive (only those named in ``keys`` when given; absent ones are skipped)."""
    path = Path(path)
    _check_npz(path, what)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files if keys is None or key in keys}
    except _READ_ERRORS as error:
        raise RnamsmError(f"{path}: cannot read {what} (truncated or corrupt): {_reason(error)}") from None


def read_npz_headers(path: str | os.PathLike[str], what: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``name -> (shape, dtype)`` of every array in an ``.npz`` archive, read from the member headers only.

    No array data is read, so this is cheap however large the arrays are (and cannot notice damage
    inside them: :func:`read_npz` does).
    """
    path = Path(path)
    _check_npz(path, what)
    headers: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if not member.filename.endswith(".npy"):
                    continue
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
                    else:
                        raise ValueError(f"{member.filename}: unsupported .npy format version {version}")
                headers[member.filename[: -len(".npy")]] = (tuple(shape), dtype)
    except _READ_ERRORS as error:
        raise RnamsmError(f"{path}: cannot read {what} (truncated or corrupt): {_reason(error)}") from None
    return headers


def read_npy(path: str | os.PathLike[str], what: str) -> np.ndarray:
    """The array of an ``.npy`` file."""
    path = Path(path)
    if not _magic(path, what).startswith(_NPY_MAGIC):
        raise RnamsmError(f"{path}: not a NumPy .npy file, expected {what}")
    try:
        return np.load(path, allow_pickle=False)
    except _READ_ERRORS as error:
        raise RnamsmError(f"{path}: cannot read {what} (truncated or corrupt): {_reason(error)}") from None


def npy_bytes(array: np.ndarray) -> bytes:
    """The bytes of ``array`` as an ``.npy`` file (for :func:`rnamsm.atomic.write_files`)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
