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


def chunk_hits(hits: Iterable[HitRow], split: frozenset[str], max_hits: int) -> list[HitRow]:
    """What one chunk (one shard job) hands to :func:`merge_hits`: the hits of records wholly in the
    chunk overlap-resolved with the best ``max_hits`` included kept, plus every hit of the records in
    ``split`` (windows in other chunks too), left for the merge to resolve."""
    hits = list(hits)
    whole = cap_included(resolve_overlaps(h for h in hits if h.target not in split), max_hits)
    return whole + [h for h in hits if h.target in split]


def merge_hits(per_chunk: Iterable[list[HitRow]], max_hits: int) -> list[HitRow]:
    """The hits of every chunk (shard) of a round, from :func:`chunk_hits`, as those of one search of the
    whole database: overlaps resolved, the best ``max_hits`` included kept, sorted (:func:`sort_hits`).

    Exact whatever the chunks and their order: a record's hits are resolved where all of them are (in
    its chunk, or here for a record split between chunks), and a hit that a chunk's cap dropped had
    ``max_hits`` better included hits there that no merge can remove (resolution never crosses records).
    """
    found: list[HitRow] = []
    for hits in per_chunk:
        found.extend(hits)
    return cap_included(resolve_overlaps(found), max_hits)
