"""Content digests of database files, remembered by path, size and mtime (what the workflow keys prepared
databases by)."""

from __future__ import annotations

import os
from pathlib import Path

from rnamsm.checksums import cached_file_sha256, file_sha256
from tests.conftest import INFERNAL_DATA


def test_cached_digest_is_the_content_digest_and_follows_changes(tmp_path: Path) -> None:
    db = tmp_path / "db.fa"
    db.write_bytes((INFERNAL_DATA / "mrum-tRNAs10.fa").read_bytes())
    cache = tmp_path / "sums"
    first = cached_file_sha256(db, cache)
    assert first == file_sha256(db) and len(list(cache.iterdir())) == 1
    # Remembered: a same-size edit that keeps the mtime is not seen (the cache trusts path, size, mtime) ...
    stat = db.stat()
    db.write_bytes(db.read_bytes().replace(b"GGAG", b"CCUC", 1))
    os.utime(db, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert cached_file_sha256(db, cache) == first
    # ... any real edit (new mtime) is hashed again; a touch gives the same content digest.
    os.utime(db, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert cached_file_sha256(db, cache) == file_sha256(db) != first
    os.utime(db, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2 * 10**9))
    assert cached_file_sha256(db, cache) == file_sha256(db)
