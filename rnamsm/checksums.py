"""Checksums recorded in outputs for provenance."""

from __future__ import annotations

import hashlib
import os


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes (the compressed bytes of a ``.gz``), read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_file_sha256(path: str | os.PathLike[str], cache_dir: str | os.PathLike[str]) -> str:
    """:func:`file_sha256`, remembered in ``cache_dir`` under the file's absolute path, size and mtime, so
    that a large database is hashed once, not at every workflow start (a changed file is hashed again)."""
    stat = os.stat(path)
    key = hashlib.sha256(f"{os.path.abspath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
    entry = os.path.join(cache_dir, key)
    try:
        with open(entry, encoding="ascii") as handle:
            value = handle.read().strip()
        if len(value) == 64:
            return value
    except OSError:
        pass
    value = file_sha256(path)
    os.makedirs(cache_dir, exist_ok=True)
    temporary = f"{entry}.{os.getpid()}.part"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    os.replace(temporary, entry)
    return value
