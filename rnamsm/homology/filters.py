"""Row filters applied to every round's MSA, in order; the query always stays row 0."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from rnamsm.formats.msa import match_columns
from rnamsm.homology.neff import encode


class Row(Protocol):
    """What the filters read of a row: its name and its A3M row."""

    @property
    def name(self) -> str: ...

    @property
    def a3m(self) -> str: ...


R = TypeVar("R", bound=Row)


@dataclass(frozen=True)
class FilterCounts:
    """How many hit rows each filter removed."""

    duplicates: int
    low_coverage: int
    identity: int
    depth_cap: int


def filter_rows(
    query_row: str,
    hits: Sequence[R],
    *,
    min_coverage: float,
    max_identity: float | None,
    max_rows: int,
) -> tuple[list[R], FilterCounts]:
    """Filter included hits (in E-value order) for an MSA whose first row is ``query_row``.

    1. exact duplicates of the query's or an earlier row's match string, and repeated names;
    2. rows with fewer than ``min_coverage * L`` residues in match columns;
    3. with ``max_identity`` set, rows at or above that identity to an already kept row;
    4. all but the first ``max_rows - 1`` remaining rows (so the MSA has at most ``max_rows``).
    """
    length = len(query_row)
    seen = {query_row}
    names: set[str] = set()
    unique = []
    for hit in hits:
        matches = match_columns(hit.a3m)
        if matches in seen or hit.name in names:
            continue
        seen.add(matches)
        names.add(hit.name)
        unique.append(hit)
    covered = [h for h in unique if length - match_columns(h.a3m).count("-") >= min_coverage * length]
    kept = covered
    if max_identity is not None and covered:
        codes = encode([query_row] + [match_columns(h.a3m) for h in covered])
        chosen = [0]
        for index in range(1, codes.shape[0]):
            identity = (codes[chosen] == codes[index]).mean(axis=1)
            if np.all(identity < max_identity):
                chosen.append(index)
        kept = [covered[index - 1] for index in chosen[1:]]
    capped = kept[: max(max_rows - 1, 0)]
    counts = FilterCounts(
        duplicates=len(hits) - len(unique),
        low_coverage=len(unique) - len(covered),
        identity=len(covered) - len(kept),
        depth_cap=len(kept) - len(capped),
    )
    return capped, counts
