"""Finished shards of a search round, kept in a resume folder (``--resume-dir``) so that a killed search, run
again with the same folder, searches only the shards it had not finished.

One JSON file per (round, shard): ``<folder>/<label>.<shard>.json``, the list of the shard's hits
(:class:`~rnamsm.homology.rows.HitRow` fields; floats written with ``repr``, so they read back exactly).
The label (:func:`round_label`) names what the round searched with: the query or the round's alignment,
every search setting and the prepared database's manifest, so a file is reused only by the same round.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
from pathlib import Path

from rnamsm.atomic import atomic_open
from rnamsm.errors import RnamsmError
from rnamsm.homology.rows import HitRow


def round_label(number: int, *parts: str) -> str:
    """``round<number>-<digest>``: the digest of ``parts`` (what the round searches with)."""
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return f"round{number}-{digest[:20]}"


def result_path(folder: str | os.PathLike[str], label: str, shard: int) -> Path:
    """Where shard ``shard`` of round ``label`` keeps its hits."""
    return Path(folder) / f"{label}.{shard:04d}.json"


def clear(folder: str | os.PathLike[str]) -> None:
    """Remove the shard results in ``folder`` (a finished search needs them no more), and the folder if empty."""
    folder = Path(folder)
    for path in folder.glob("round*-*.json"):
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()


def load(path: Path) -> list[HitRow] | None:
    """The hits kept at ``path``, or ``None`` when the shard was not finished."""
    if not path.is_file():
        return None
    try:
        return [HitRow(**fields) for fields in json.loads(path.read_text(encoding="utf-8"))]
    except (ValueError, TypeError, OSError) as error:
        raise RnamsmError(f"{path}: unreadable shard result ({error}); remove it to search the shard again") from None


def save(path: Path, hits: list[HitRow]) -> None:
    """Keep a finished shard's hits at ``path`` (atomically: a killed write leaves no file)."""
    with atomic_open(path) as handle:
        json.dump([dataclasses.asdict(hit) for hit in hits], handle)
