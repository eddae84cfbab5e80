"""Finished searches kept for reuse (``search.cache``): another batch, results folder or rerun with the same
query, database, settings and tools copies the MSA files instead of searching again.

An entry is a folder ``<cache>/<key>/`` holding the four files of a search (``{id}.a3m``, ``.sto``,
``.a2m_msa2`` and ``msa_stats.json``), written as a hidden sibling and renamed into place, so parallel
searches may share one cache. The key (:func:`search_key`) is the SHA-256 of the query id and sequence, the
database's identity (a prepared database's manifest SHA-256, else every file's SHA-256), the search settings
with the thread count, and the versions of rnamsm, its search stage and the tools.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rnamsm.errors import RnamsmError


def search_key(query_id: str, sequence: str, databases: list[str], settings: Mapping[str, Any],
               versions: Mapping[str, str | None]) -> str:
    """SHA-256 naming one finished search (see the module docstring)."""
    text = json.dumps({"query": [query_id, sequence], "databases": databases, "settings": settings,
                       "versions": versions}, sort_keys=True)
    return hashlib.sha256(f"rnamsm-search-cache-v1\0{text}".encode()).hexdigest()


def lookup(cache_dir: str | os.PathLike[str], key: str, names: list[str]) -> dict[str, bytes] | None:
    """The files ``names`` of entry ``key`` (name -> bytes), or ``None`` when the entry is absent or incomplete."""
    entry = Path(cache_dir) / key
    try:
        return {name: (entry / name).read_bytes() for name in names}
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RnamsmError(f"{entry}: search cache not readable ({error.strerror or error})") from None


def store(cache_dir: str | os.PathLike[str], key: str, files: Mapping[str, bytes]) -> None:
    """Keep ``files`` (name -> bytes) as entry ``key``; an entry already there (a parallel search) is kept."""
    cache = Path(cache_dir)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".part", dir=cache))
        umask = os.umask(0)
        os.umask(umask)
        scratch.chmod(0o777 & ~umask)  # mkdtemp makes 0700; the cache is shared
        try:
            for name, content in files.items():
                (scratch / name).write_bytes(content)
            if not (cache / key).exists():
                os.replace(scratch, cache / key)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    except OSError as error:
        raise RnamsmError(f"{cache}: cannot write the search cache ({error.strerror or error})") from None
