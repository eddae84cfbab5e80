"""Reading MSAs for RNA-MSM: A3M, A2M (``.a2m_msa2``), aligned FASTA and Stockholm.

Every row goes through the official normalisation (``utils/align.py``, ``MSA.from_fasta``), in order:

1. delete lower-case letters, ``.`` and ``*`` (A2M/A3M inserts), so only the query's match columns remain;
2. ``T`` -> ``U``;
3. the IUPAC codes ``R Y K M S W B D H V N`` -> ``X`` (a file therefore never yields token ``N``);
4. keep ``-``; anything else is an error naming the file, the row and the character;
5. all rows must then have the query's length.

Stockholm (ours): columns whose ``#=GC RF`` character is a gap are dropped (all columns are kept when
there is no RF line); the kept columns are match columns, so ``.``/``~``/``_`` become ``-`` and
letters are upper-cased before steps 2-5. The first record is the query in every format.
"""

from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass
from pathlib import Path

from rnamsm.errors import RnamsmError

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


def _read_text(path: Path) -> str:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                return handle.read()
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RnamsmError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RnamsmError(f"{path}: is a directory, expected an MSA file") from None
    except (UnicodeDecodeError, OSError, EOFError) as error:
        raise RnamsmError(f"{path}: cannot read MSA ({error})") from None


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


def parse_stockholm_records(text: str, source: str) -> list[tuple[str, str]]:
    """Read a (possibly multi-block) Stockholm alignment and return its match columns per row."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# STOCKHOLM"):
        raise RnamsmError(f"{source}: not a Stockholm file (no '# STOCKHOLM 1.0' first line)")
    sequences: dict[str, list[str]] = {}
    reference: list[str] = []
    for number, line in enumerate(lines[1:], start=2):
        stripped = line.strip()
        if stripped == "//":
            break
        if not stripped or stripped.startswith("#=GF") or stripped.startswith("#=GS"):
            continue
        if stripped.startswith("#=GC"):
            fields = stripped.split()
            if len(fields) == 3 and fields[1] == "RF":
                reference.append(fields[2])
            continue
        if stripped.startswith("#"):
            continue
        fields = stripped.split()
        if len(fields) != 2:
            raise RnamsmError(f"{source}: line {number}: expected '<name> <aligned sequence>'")
        sequences.setdefault(fields[0], []).append(fields[1])
    records = [(name, "".join(parts)) for name, parts in sequences.items()]
    if not records:
        return records
    width = len(records[0][1])
    for number, (name, row) in enumerate(records, start=1):
        if len(row) != width:
            raise RnamsmError(f"{source}: row {number} ({name!r}) has {len(row)} columns, expected {width}")
    rf = "".join(reference)
    if rf and len(rf) != width:
        raise RnamsmError(f"{source}: #=GC RF has {len(rf)} columns, the alignment has {width}")
    keep = [index for index, char in enumerate(rf) if char not in _RF_GAPS] if rf else range(width)
    match_only = []
    for name, row in records:
        kept = "".join(row[index] for index in keep).upper()
        match_only.append((name, re.sub(r"[._~]", "-", kept)))
    return match_only


def read_msa(path: str | os.PathLike[str]) -> Msa:
    """Read and normalise an MSA file; Stockholm is recognised by suffix or its first line."""
    path = Path(path)
    text = _read_text(path)
    name = path.name[:-3] if path.suffix == ".gz" else path.name
    if name.lower().endswith(STOCKHOLM_SUFFIXES) or text.startswith("# STOCKHOLM"):
        records = parse_stockholm_records(text, str(path))
    else:
        records = parse_fasta_records(text, str(path))
    return msa_from_records(records, str(path))
