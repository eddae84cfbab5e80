"""Atomic output files: write to a temporary file beside the target, then rename.

A reader (or a rerun after a crash) therefore sees either the complete old file, the complete new
file, or no file, never a half-written one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from rnamsm.errors import RnamsmError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _file_in_the_way(folder: Path) -> Path | None:
    """The nearest existing ancestor of ``folder`` (itself included) when it is not a folder, else None."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def check_output_targets(*targets: str | os.PathLike[str]) -> None:
    """Refuse, in one :class:`RnamsmError` line, output files that cannot be written at all.

    A target that is an existing directory, or whose folder cannot exist because a file sits on its
    path, is refused. Commands writing several files call this before writing the first, so that
    a bad target never leaves a partial set of outputs.
    """
    for target in map(Path, targets):
        if target.is_dir():
            raise RnamsmError(f"{target}: is a directory, cannot write an output file there")
        blocking = _file_in_the_way(target.parent)
        if blocking is not None:
            raise RnamsmError(f"{target}: cannot create its folder: {blocking} is a file, not a folder")


def ensure_directory(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder`` (and its parents) for outputs, or raise one :class:`RnamsmError` line."""
    folder = Path(folder)
    blocking = _file_in_the_way(folder)
    if blocking is not None:
        raise RnamsmError(f"{folder}: cannot create the output folder: {blocking} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RnamsmError(f"{folder}: cannot create the output folder: {error.strerror or error}") from None
    return folder


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it onto ``target`` on success.

    The temporary keeps the target's suffix (so libraries that pick a format from the suffix,
    such as ``numpy.savez``, behave), and is removed if the body raises. Temporaries of the same
    target left by a killed writer are removed first. A target that is a directory, or whose folder
    cannot be created, is refused with :class:`RnamsmError` before anything is written.
    """
    target = Path(target)
    check_output_targets(target)
    ensure_directory(target.parent)
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.part*"):
        stale.unlink(missing_ok=True)  # left by a writer that was killed before it could clean up
    suffix = "".join(target.suffixes) or ".tmp"
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".part{suffix}", dir=target.parent)
    except OSError as error:
        raise RnamsmError(f"{target}: cannot write the output file: {error.strerror or error}") from None
    os.fchmod(fd, 0o666 & ~_current_umask())  # mkstemp makes 0600; outputs get the usual permissions
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(
    target: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO]:
    """Open a temporary file for writing that replaces ``target`` atomically when closed cleanly."""
    if "b" in mode:
        encoding = None
    with atomic_path(target) as tmp, open(tmp, mode, encoding=encoding, newline="" if encoding else None) as handle:
        yield handle
        handle.flush()
