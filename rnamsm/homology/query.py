"""The search query's checks (short, low-complexity) and its secondary structure (RNAfold, RNAalifold, a file).

The query record itself is :class:`rnamsm.formats.query.Query`, read in the search alphabet.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import RNA

from rnamsm.formats.query import Query
from rnamsm.formats.structure import first_level_dbn
from rnamsm.homology.settings import AlifoldSettings

#: Queries shorter than this (nt) get a warning: single-sequence searches rarely find homologs.
SHORT_QUERY = 30
#: Queries whose per-base Shannon entropy is below this (bits, max 2) are low-complexity.
LOW_COMPLEXITY_ENTROPY = 1.0


def query_warnings(query: Query) -> list[str]:
    """Warnings about queries that rarely give useful MSAs: very short or low-complexity ones."""
    warnings = []
    if len(query) < SHORT_QUERY:
        warnings.append(
            f"query {query.id!r} is {len(query)} nt (< {SHORT_QUERY}): round 1 rarely finds hits; "
            "the CM is built from the query alone"
        )
    entropy = sequence_entropy(query.sequence)
    if entropy < LOW_COMPLEXITY_ENTROPY:
        warnings.append(
            f"query {query.id!r} is low-complexity (base entropy {entropy:.2f} bits < "
            f"{LOW_COMPLEXITY_ENTROPY:.2f}): hits may be spurious repeats"
        )
    return warnings


def sequence_entropy(sequence: str) -> float:
    """Shannon entropy (bits) of the base composition of ``sequence``."""
    counts = Counter(sequence)
    total = len(sequence)
    return -sum(n / total * math.log2(n / total) for n in counts.values()) if total else 0.0


def fold(sequence: str) -> str:
    """ViennaRNA MFE structure of ``sequence`` (dot-bracket, nested)."""
    structure, _mfe = RNA.fold(sequence)
    return structure


def alifold_consensus(rows: Sequence[str], settings: AlifoldSettings) -> tuple[str, float]:
    """RNAalifold consensus structure (dot-bracket over the columns) and energy of equal-length aligned rows."""
    model = RNA.md()
    model.ribo = int(settings.ribosum)
    model.cv_fact = settings.cfactor
    model.nc_fact = settings.nfactor
    model.noLP = int(settings.no_lonely_pairs)
    structure, energy = RNA.fold_compound(list(rows), model, RNA.OPTION_MFE).mfe()
    return structure, float(energy)


def alifold(rows: Sequence[str], settings: AlifoldSettings) -> str:
    """RNAalifold consensus structure of equal-length aligned rows (``-`` gaps), first level only."""
    return first_level_dbn(alifold_consensus(rows, settings)[0], "RNAalifold")
