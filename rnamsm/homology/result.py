"""What a search produces: its rounds and the result handed back to callers (and written to files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rnamsm.formats.msa_stats import MsaStats
from rnamsm.formats.query import Query
from rnamsm.homology.filters import FilterCounts
from rnamsm.homology.rows import HitRow


@dataclass
class Round:
    """One search round: reported hits, the filtered rows of its MSA and their Neff."""

    number: int
    method: str
    hits: list[HitRow]
    rows: list[HitRow]
    counts: FilterCounts
    neff: float
    neff_approx: bool
    seconds: float
    structure: str
    structure_source: str = ""


@dataclass
class SearchResult:
    """Everything ``rnamsm search`` wrote, for callers and tests: the query in the search alphabet,
    the rounds, the final round, the output paths by suffix (and ``"stats"``) and ``msa_stats.json``.
    A search copied from ``search.cache`` has no rounds and no final round (its ``stats`` say all)."""

    query: Query
    rounds: list[Round]
    final: Round | None
    paths: dict[str, Path]
    stats: MsaStats
    warnings: list[str] = field(default_factory=list)
