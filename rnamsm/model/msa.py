"""The MSA as RNA-MSM reads it: rows normalised to the model's alphabet, query first.

Files are read by :mod:`rnamsm.formats.msa` (A3M, A2M / ``.a2m_msa2``, aligned FASTA, Stockholm; the
rows as A3M, the match-column counts checked). Every row then goes through the official normalisation
(``utils/align.py``, ``MSA.from_fasta``), in order:

1. delete lower-case letters, ``.`` and ``*`` (A2M/A3M inserts), so only the query's match columns remain
   (:func:`rnamsm.formats.msa.match_columns`);
2. ``T`` -> ``U`` and the IUPAC codes ``R Y K M S W B D H V N`` -> ``X``
   (:func:`rnamsm.formats.query.model_residues`; a file therefore never yields token ``N``);
3. keep ``-``; anything else is an error naming the file, the row and the character.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from rnamsm.errors import RnamsmError
from rnamsm.formats import msa as msa_format
from rnamsm.formats.msa import Alignment, match_columns
from rnamsm.formats.query import model_residues

_ALLOWED = frozenset("AGCUX-")


@dataclass(frozen=True)
class Msa:
    """A normalised MSA: equal-length ``rows`` over ``A G C U X -``, query first."""

    names: tuple[str, ...]
    rows: tuple[str, ...]
    #: Where the rows came from (for messages).
    source: str = "<memory>"

    @property
    def depth(self) -> int:
        """Number of rows, query included."""
        return len(self.rows)

    @property
    def length(self) -> int:
        """Number of aligned columns (the query's match columns)."""
        return len(self.rows[0])

    @property
    def query(self) -> str:
        """The normalised query row."""
        return self.rows[0]

    def select(self, indices: list[int]) -> Msa:
        """The rows at ``indices`` (in that order)."""
        return Msa(tuple(self.names[i] for i in indices), tuple(self.rows[i] for i in indices), self.source)

    def columns(self, start: int, stop: int) -> Msa:
        """Columns ``start:stop`` of every row."""
        return Msa(self.names, tuple(row[start:stop] for row in self.rows), self.source)


def normalise_row(raw: str, source: str, row_number: int, name: str) -> str:
    """Apply the official steps 1-3 to one aligned row (see the module docstring)."""
    row = model_residues(match_columns(raw))
    for column, char in enumerate(row, start=1):
        if char not in _ALLOWED:
            raise RnamsmError(
                f"{source}: row {row_number} ({name!r}): invalid character {char!r} at match column {column}"
            )
    return row


def msa_from_alignment(alignment: Alignment) -> Msa:
    """Normalise a checked :class:`~rnamsm.formats.msa.Alignment` (query first) into an :class:`Msa`."""
    rows = [normalise_row(row, alignment.source, number, name)
            for number, (name, row) in enumerate(alignment.records, start=1)]
    return Msa(alignment.names, tuple(rows), alignment.source)


def msa_from_records(records: list[tuple[str, str]], source: str) -> Msa:
    """Check and normalise ``(name, aligned row)`` records (query first) into an :class:`Msa`."""
    names = [name for name, _ in records]
    return msa_from_alignment(msa_format.check_rows(names, [row for _, row in records], source))


def check_query(msa: Msa, query: str, query_source: str) -> None:
    """Raise unless the MSA's first row, gaps removed, is the query sequence ``query`` in the model's alphabet."""
    expected = normalise_row(query, query_source, 1, "query")
    first = msa.query.replace("-", "")
    if first != expected:
        position = next((i for i, (a, b) in enumerate(zip(first, expected), start=1) if a != b), None)
        where = f"first difference at position {position}" if position else f"{len(first)} vs {len(expected)} nt"
        raise RnamsmError(
            f"{msa.source}: row 1 ({msa.names[0]!r}) is not the query of {query_source} ({where}); "
            "the query must be the MSA's first row"
        )


def read_msa(path: str | os.PathLike[str]) -> Msa:
    """Read an MSA file (see :func:`rnamsm.formats.msa.read`) and normalise it for the model."""
    return msa_from_alignment(msa_format.read(path))
