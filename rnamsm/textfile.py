"""Reading a user's file, with one clear error when it is missing, not a regular file, unreadable or not text.

:func:`check_regular_file` is the one gate every input reader passes first (text files here, NumPy
files in :mod:`rnamsm.arrays`, query FASTA in :mod:`rnamsm.formats.query`, databases, checkpoints and heads): a
named pipe (FIFO), device or socket would block the reader or never end, so it is refused.
"""

from __future__ import annotations

import gzip
import json
import os
import stat
from pathlib import Path
from typing import Any

from rnamsm.errors import RnamsmError

#: What a file that is not a regular file is, by its ``stat`` mode test.
_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_regular_file(path: str | os.PathLike[str], what: str) -> Path:
    """Return ``path`` when it is a regular file (or a link to one), else raise one :class:`RnamsmError` line.

    Missing files, directories, named pipes (FIFOs), devices and sockets are refused, naming the
    file and ``what`` it should be (e.g. ``"an MSA file"``), without opening it (opening a FIFO blocks).
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise RnamsmError(f"{path}: no such file, expected {what}") from None
    except OSError as error:
        raise RnamsmError(f"{path}: cannot read {what}: {error.strerror or error}") from None
    if stat.S_ISDIR(mode):
        raise RnamsmError(f"{path}: is a directory, expected {what}")
    if not stat.S_ISREG(mode):
        kind = next((f"{name}, not a regular file" for test, name in _SPECIAL_FILES if test(mode)),
                    "not a regular file")
        raise RnamsmError(f"{path}: is {kind}; expected {what}")
    return path


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """The UTF-8 text of ``path`` (decompressed when it ends in ``.gz``).

    Raises :class:`RnamsmError` naming the file and ``what`` it should be (e.g. ``"an MSA file"``) when
    the file is missing, not a regular file (:func:`check_regular_file`), unreadable, a broken gzip
    stream or not UTF-8 text.
    """
    path = check_regular_file(path, what)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                return handle.read()
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RnamsmError(f"{path}: cannot read {what}: not UTF-8 text") from None
    except (OSError, EOFError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise RnamsmError(f"{path}: cannot read {what}: {reason}") from None


def read_json_object(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """The JSON object in ``path`` (see :func:`read_text`); invalid JSON or another JSON type is one error."""
    try:
        data = json.loads(read_text(path, what))
    except json.JSONDecodeError as error:
        raise RnamsmError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise RnamsmError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data
