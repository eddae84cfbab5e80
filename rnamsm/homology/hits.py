"""Hit bookkeeping shared by the search rounds: source coordinates, window overlaps, ordering."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable

from rnamsm.homology.database import Piece
from rnamsm.homology.rows import HitRow


def source_coordinates(piece: Piece, start: int, end: int) -> tuple[int, int]:
    """Map 1-based coordinates in a searched window to its source record."""
    return start + piece.offset, end + piece.offset


def resolve_overlaps(hits: Iterable[HitRow]) -> list[HitRow]:
    """Of hits overlapping on the same record and strand (window overlaps), keep the higher score.

    Returns the kept hits sorted by (E-value, target, start).
    """
    kept: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    result = []
    for hit in sorted(hits, key=lambda h: (-h.score, h.evalue, h.target, h.start, h.end)):
        low, high = sorted((hit.start, hit.end))
        spans = kept[(hit.target, hit.strand)]  # disjoint, sorted by start
        place = bisect.bisect_left(spans, (low, high))
        if place > 0 and spans[place - 1][1] >= low:
            continue
        if place < len(spans) and spans[place][0] <= high:
            continue
        spans.insert(place, (low, high))
        result.append(hit)
    return sort_hits(result)


def sort_hits(hits: Iterable[HitRow]) -> list[HitRow]:
    """Deterministic hit order: E-value, then target name, start, end."""
    return sorted(hits, key=lambda h: (h.evalue, h.target, h.start, h.end))


def cap_included(hits: list[HitRow], max_hits: int) -> list[HitRow]:
    """Keep every non-included hit and the ``max_hits`` best included ones (E-value, target, start, end)."""
    included = sorted((h for h in hits if h.included), key=lambda h: (h.evalue, h.target, h.start, h.end))
    dropped = {id(h) for h in included[max_hits:]}
    return [h for h in hits if id(h) not in dropped]


def merge_hits(per_chunk: Iterable[list[HitRow]], max_hits: int) -> list[HitRow]:
    """The hits of every chunk (shard) of a round as those of one search of the whole database.

    Each chunk's hits come overlap-resolved and capped (:func:`cap_included`); a record's windows are
    never split between chunks, so the union resolved and capped again is exactly what one search of
    the whole database gives, whatever the chunks and their order.
    """
    found: list[HitRow] = []
    for hits in per_chunk:
        found.extend(hits)
    return cap_included(resolve_overlaps(found), max_hits)
