"""The search query's checks (short, low-complexity) and its secondary structure (RNAfold, RNAalifold, a file).

The query record itself is :class:`rnamsm.formats.query.Query`, read in the search alphabet.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import RNA

from rnamsm.errors import RnamsmError
from rnamsm.formats.query import Query
from rnamsm.formats.structure import first_level_dbn
from rnamsm.textfile import read_text

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


def alifold(rows: Sequence[str]) -> str:
    """RNAalifold consensus structure of equal-length aligned rows (``-`` gaps)."""
    structure, _energy = RNA.alifold(list(rows))
    return first_level_dbn(structure, "RNAalifold")


def read_structure(path: str | os.PathLike[str], length: int) -> str:
    """Read a user dot-bracket file (the last non-header line is the structure) for a query of ``length``."""
    path = Path(path)
    lines = [line.strip() for line in read_text(path, "a dot-bracket structure file").splitlines()]
    candidates = [line.split()[0] for line in lines if line and not line.startswith(">")]
    candidates = [line for line in candidates if set(line) <= set("().[]{}<>-,:_~")]
    if not candidates:
        raise RnamsmError(f"{path}: no dot-bracket structure line found")
    structure = candidates[-1]
    if len(structure) != length:
        raise RnamsmError(f"{path}: structure is {len(structure)} characters, the query is {length} nt")
    return first_level_dbn(structure, f"{path}: invalid structure")
