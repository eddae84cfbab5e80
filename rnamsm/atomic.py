"""Atomic output files: write to a temporary file beside the target, then rename.

A reader (or a rerun after a crash) therefore sees either the complete old file, the complete new
file, or no file, never a half-written one. A command that writes several files writes them as one
set (:func:`atomic_paths`): all of them or none, also when the disk fills up.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from rnamsm.errors import RnamsmError

#: ``errno`` values of a full disk or an exhausted quota.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


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


def _no_space(error: OSError) -> bool:
    return error.errno in _NO_SPACE


def _write_error(folder: Path, names: Sequence[str], error: OSError) -> RnamsmError:
    """The one-line error for an output set that could not be written into ``folder``."""
    listing = ", ".join(names)
    if _no_space(error):
        return RnamsmError(f"{folder}: no space left on the device, nothing written ({listing})")
    return RnamsmError(f"{folder}: cannot write the output file(s) {listing}: {error.strerror or error}")


def ensure_directory(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder`` (and its parents) for outputs, or raise one :class:`RnamsmError` line."""
    folder = Path(folder)
    blocking = _file_in_the_way(folder)
    if blocking is not None:
        raise RnamsmError(f"{folder}: cannot create the output folder: {blocking} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = "no space left on the device" if _no_space(error) else error.strerror or error
        raise RnamsmError(f"{folder}: cannot create the output folder: {reason}") from None
    return folder


def _temporary(target: Path) -> Path:
    """A new empty temporary beside ``target`` (same suffixes, usual permissions); stale ones go first."""
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.part*"):
        stale.unlink(missing_ok=True)  # left by a writer that was killed before it could clean up
    suffix = "".join(target.suffixes) or ".tmp"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".part{suffix}", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~_current_umask())  # mkstemp makes 0600; outputs get the usual permissions
    finally:
        os.close(fd)
    return Path(tmp_name)


def _common_folder(paths: Sequence[Path]) -> Path:
    """The folder holding all of ``paths`` (the first one's when they share none)."""
    try:
        return Path(os.path.commonpath([path.parent for path in paths]))
    except ValueError:  # relative and absolute paths mixed
        return paths[0].parent


@contextlib.contextmanager
def atomic_paths(*targets: str | os.PathLike[str]) -> Iterator[tuple[Path, ...]]:
    """Yield one temporary path per target, each beside its target; rename them all when the body succeeds.

    The set is written whole or not at all: every temporary is written and synced to disk before the
    first is renamed onto its target, and if anything fails (the body raises, the disk is full) every
    temporary is removed and no target is touched. Temporaries keep their target's suffix (so
    libraries that pick a format from the suffix, such as ``numpy.savez``, behave). Targets that are
    directories or whose folder cannot be created are refused before anything is written; a full
    disk (or quota) is one :class:`RnamsmError` line naming the folder and "no space left".
    """
    paths = [Path(target) for target in targets]
    check_output_targets(*paths)
    for folder in dict.fromkeys(path.parent for path in paths):
        ensure_directory(folder)
    folder = _common_folder(paths)
    names = [os.path.relpath(path, folder) for path in paths]
    temporaries: list[Path] = []
    try:
        for path in paths:
            temporaries.append(_temporary(path))
        yield tuple(temporaries)
        for tmp in temporaries:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        for tmp, path in zip(temporaries, paths, strict=True):
            os.replace(tmp, path)
    except OSError as error:
        # A full disk anywhere, or any failure to create the temporaries, is the user's environment.
        if _no_space(error) or (error.errno is not None and len(temporaries) < len(paths)):
            raise _write_error(folder, names, error) from None
        raise
    finally:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)


def write_files(contents: Mapping[str | os.PathLike[str], str | bytes]) -> None:
    """Write each target's text (UTF-8) or bytes as one set through :func:`atomic_paths`: all or none."""
    with atomic_paths(*contents) as temporaries:
        for tmp, content in zip(temporaries, contents.values(), strict=True):
            tmp.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """One output file written atomically: :func:`atomic_paths` for a single target."""
    with atomic_paths(target) as (tmp,):
        yield tmp


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
