"""Reading MSAs for RNA-MSM: A3M, A2M (``.a2m_msa2``), aligned FASTA and Stockholm.

Every row goes through the official normalisation (``utils/align.py``, ``MSA.from_fasta``), in order:

1. delete lower-case letters, ``.`` and ``*`` (A2M/A3M inserts), so only the query's match columns remain;
2. ``T`` -> ``U``;
3. the IUPAC codes ``R Y K M S W B D H V N`` -> ``X`` (a file therefore never yields token ``N``);
4. keep ``-``; anything else is an error naming the file, the row and the character;
5. all rows must then have the query's length.

Stockholm is first turned into A3M rows: columns whose ``#=GC RF`` character is a gap are inserts
(lower case, dropped by step 1); the others (all columns when there is no RF line) are match columns,
upper-cased, with ``.``/``~``/``_`` as ``-``. :func:`read_records` gives those rows with the inserts
kept (the homology tests read ``rnamsm search`` outputs back with it). The first record is the query
in every format.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from rnamsm.errors import RnamsmError
from rnamsm.textfile import read_text

#: File name endings read as Stockholm; everything else is read as (aligned) FASTA / A2M / A3M.
STOCKHOLM_SUFFIXES = (".sto", ".stk", ".sth", ".stockholm")

_INSERTS = re.compile(r"[a-z.*]")
_IUPAC_TO_X = str.maketrans({**dict.fromkeys("RYKMSWBDHVN", "X"), "T": "U"})
_ALLOWED = frozenset("AGCUX-")
_RF_GAPS = frozenset(".-_~")


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
    """Apply the official steps 1-4 to one aligned row (see the module docstring)."""
    row = _INSERTS.sub("", raw).translate(_IUPAC_TO_X)
    for column, char in enumerate(row, start=1):
        if char not in _ALLOWED:
            raise RnamsmError(
                f"{source}: row {row_number} ({name!r}): invalid character {char!r} at match column {column}"
            )
    return row


def msa_from_records(records: list[tuple[str, str]], source: str) -> Msa:
    """Normalise ``(name, aligned row)`` records (query first) into an :class:`Msa`."""
    if not records:
        raise RnamsmError(f"{source}: no sequences found")
    rows = [normalise_row(seq, source, number, name) for number, (name, seq) in enumerate(records, start=1)]
    length = len(rows[0])
    if length == 0:
        raise RnamsmError(f"{source}: the query (row 1, {records[0][0]!r}) has no match columns")
    if set(rows[0]) == {"-"}:
        raise RnamsmError(f"{source}: the query (row 1, {records[0][0]!r}) is all gaps")
    for number, ((name, _), row) in enumerate(zip(records, rows, strict=True), start=1):
        if len(row) != length:
            raise RnamsmError(
                f"{source}: row {number} ({name!r}) has {len(row)} match columns, the query has {length}"
            )
    return Msa(tuple(name for name, _ in records), tuple(rows), source)


def check_query(msa: Msa, query: str, query_source: str) -> None:
    """Raise unless the MSA's first row, gaps removed, is ``query`` (after the same normalisation)."""
    expected = normalise_row(query, query_source, 1, "query")
    first = msa.query.replace("-", "")
    if first != expected:
        position = next((i for i, (a, b) in enumerate(zip(first, expected), start=1) if a != b), None)
        where = f"first difference at position {position}" if position else f"{len(first)} vs {len(expected)} nt"
        raise RnamsmError(
            f"{msa.source}: row 1 ({msa.names[0]!r}) is not the query of {query_source} ({where}); "
            "the query must be the MSA's first row"
        )


def parse_fasta_records(text: str, source: str) -> list[tuple[str, str]]:
    """Split FASTA/A2M/A3M text into ``(name, raw aligned row)``; blank lines are ignored."""
    records: list[tuple[str, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith(">"):
            header = line[1:].split(maxsplit=1)
            records.append((header[0] if header else "", []))
        elif line.startswith("#") and not records:
            continue  # A3M files may start with a '#' comment line (e.g. HH-suite's #cardinality line).
        elif not records:
            raise RnamsmError(f"{source}: line {number}: sequence text before the first '>' header")
        else:
            records[-1][1].append(line)
    return [(name, "".join(parts)) for name, parts in records]


def parse_stockholm(text: str, source: str) -> tuple[list[tuple[str, str]], str]:
    """Read a (possibly multi-block) Stockholm alignment as A3M rows and its query-length ``SS_cons``.

    Columns whose ``#=GC RF`` character is a gap are insert columns: their residues become lower case
    and their gaps are dropped. The other columns (all of them when there is no RF line) are match
    columns: residues upper case, ``.``/``_``/``~``/``-`` -> ``-``. The structure is ``#=GC SS_cons`` on
    the match columns (empty when the file has none).
    """
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# STOCKHOLM"):
        raise RnamsmError(f"{source}: not a Stockholm file (no '# STOCKHOLM 1.0' first line)")
    sequences: dict[str, list[str]] = {}
    markup: dict[str, list[str]] = {"RF": [], "SS_cons": []}
    for number, line in enumerate(lines[1:], start=2):
        stripped = line.strip()
        if stripped == "//":
            break
        if not stripped or stripped.startswith("#=GF") or stripped.startswith("#=GS"):
            continue
        if stripped.startswith("#=GC"):
            fields = stripped.split()
            if len(fields) == 3 and fields[1] in markup:
                markup[fields[1]].append(fields[2])
            continue
        if stripped.startswith("#"):
            continue
        fields = stripped.split()
        if len(fields) != 2:
            raise RnamsmError(f"{source}: line {number}: expected '<name> <aligned sequence>'")
        sequences.setdefault(fields[0], []).append(fields[1])
    records = [(name, "".join(parts)) for name, parts in sequences.items()]
    if not records:
        return records, ""
    width = len(records[0][1])
    for number, (name, row) in enumerate(records, start=1):
        if len(row) != width:
            raise RnamsmError(f"{source}: row {number} ({name!r}) has {len(row)} columns, expected {width}")
    rf = "".join(markup["RF"]) or "x" * width
    if len(rf) != width:
        raise RnamsmError(f"{source}: #=GC RF has {len(rf)} columns, the alignment has {width}")
    is_match = [char not in _RF_GAPS for char in rf]
    a3m = []
    for name, row in records:
        chars = []
        for char, match in zip(row, is_match, strict=True):
            if match:
                chars.append("-" if char in _RF_GAPS else char.upper())
            elif char not in _RF_GAPS:
                chars.append(char.lower())
        a3m.append((name, "".join(chars)))
    ss_cons = "".join(markup["SS_cons"])
    structure = "".join(char for char, match in zip(ss_cons, is_match, strict=False) if match)
    return a3m, structure


def read_records(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """``(name, A3M row)`` records of an MSA file as written, inserts kept and nothing normalised.

    Stockholm is recognised by suffix or its first line and converted as :func:`parse_stockholm`
    describes; FASTA, A2M and A3M rows are returned as they are in the file.
    """
    path = Path(path)
    text = read_text(path, "an MSA file")
    name = path.name[:-3] if path.suffix == ".gz" else path.name
    if name.lower().endswith(STOCKHOLM_SUFFIXES) or text.startswith("# STOCKHOLM"):
        return parse_stockholm(text, str(path))[0]
    return parse_fasta_records(text, str(path))


def read_msa(path: str | os.PathLike[str]) -> Msa:
    """Read an MSA file (see :func:`read_records`) and normalise it for the model."""
    return msa_from_records(read_records(path), str(Path(path)))
