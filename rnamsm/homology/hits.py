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
