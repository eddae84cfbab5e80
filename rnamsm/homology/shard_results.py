"""Finished shards of a search round, kept in a resume folder (``--resume-dir``) so that a killed search, run
again with the same folder, searches only the shards it had not finished.

One JSON file per (round, shard): ``<folder>/<label>.<shard>.json``, ``{"seconds", "hits"}``: the time the
shard's search took and its hits (:class:`~rnamsm.homology.rows.HitRow` fields; floats written with ``repr``,
so they read back exactly). The label (:func:`round_label`) names what the round searched with: the query or
the round's alignment, every search setting and the prepared database's manifest, so a file is reused only by
the same round. Calibrated CMs of the rounds are kept in ``<folder>/calibrated`` (:func:`calibrations`), so a
later job of the same search copies them instead of calibrating again.

A round job of the workflow (``rnamsm search-round``, for one or more samples) also leaves receipts, its
Snakemake output (:func:`write_receipts`, :func:`read_receipts`): per sample, which round and job, what it did
(``status``: ``searched``, ``model`` when the round's search model is ready, ``stopped`` when the search ended
before the round, ``cached`` when ``search.cache`` holds the finished search) and which shards it searched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Literal

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


def calibrations(folder: str | os.PathLike[str]) -> Path:
    """The calibrated CMs of a search's rounds (a ``calibrate_cache`` folder) inside its resume folder."""
    return Path(folder) / "calibrated"


def clear(folder: str | os.PathLike[str]) -> None:
    """Remove the shard results and calibrations in ``folder`` (a finished search needs them no more), and the
    folder if empty."""
    folder = Path(folder)
    for path in [*folder.glob("round*-*.json"), *calibrations(folder).glob("*.cm")]:
        path.unlink(missing_ok=True)
    for empty in (calibrations(folder), folder):
        with contextlib.suppress(OSError):
            empty.rmdir()


def load(path: Path) -> tuple[list[HitRow], float] | None:
    """The hits kept at ``path`` and the seconds their search took, or ``None`` when the shard was not finished."""
    if not path.is_file():
        return None
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        return [HitRow(**fields) for fields in kept["hits"]], float(kept["seconds"])
    except (ValueError, TypeError, KeyError, OSError) as error:
        raise RnamsmError(f"{path}: unreadable shard result ({error}); remove it to search the shard again") from None


def save(path: Path, hits: list[HitRow], seconds: float) -> None:
    """Keep a finished shard's hits and search time at ``path`` (atomically: a killed write leaves no file)."""
    with atomic_open(path) as handle:
        json.dump({"seconds": seconds, "hits": [dataclasses.asdict(hit) for hit in hits]}, handle)


@dataclasses.dataclass(frozen=True)
class Receipt:
    """What one round job did (see the module's docstring); ``job`` is ``None`` for the round's model job."""

    round: int
    job: int | None
    jobs: int
    status: Literal["searched", "model", "stopped", "cached"]
    shards: tuple[int, ...] = ()
    searched: tuple[int, ...] = ()
    #: The sample's resume folder (a round job runs for several samples; its file holds one receipt each).
    member: str = ""


def write_receipts(path: str | os.PathLike[str], receipts: list[Receipt]) -> None:
    """Write a round job's ``receipts`` (one per sample) as a JSON list (sorted keys) at ``path``, atomically."""
    with atomic_open(path) as handle:
        handle.write(json.dumps([dataclasses.asdict(receipt) for receipt in receipts], sort_keys=True) + "\n")


def read_receipts(path: str | os.PathLike[str]) -> list[Receipt]:
    """The receipts at ``path`` (an unreadable file is an error naming it)."""
    try:
        receipts = [Receipt(**{**fields, "shards": tuple(fields["shards"]), "searched": tuple(fields["searched"])})
                    for fields in json.loads(Path(path).read_text(encoding="utf-8"))]
    except (ValueError, TypeError, KeyError, OSError) as error:
        raise RnamsmError(f"{path}: unreadable round receipt ({error}); remove it to run the round job again") from None
    for receipt in receipts:
        if receipt.status not in ("searched", "model", "stopped", "cached"):
            raise RnamsmError(f"{path}: unknown round receipt status {receipt.status!r}")
    return receipts
