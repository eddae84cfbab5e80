"""MSA files: A3M, Stockholm, ``.a2m_msa2`` and aligned FASTA / A2M; one parser and the writers.

Every format holds the same thing, an :class:`Alignment`: named rows, query first, as A3M rows: match
characters (upper case or ``-``, exactly one per query column) with insert residues in lower case
between them (:func:`match_columns` is that rule). ``rnamsm search`` writes three files of one
alignment (:func:`write`):

- ``{id}.a3m``: FASTA, one line per row, inserts as lower-case letters;
- ``{id}.sto``: Stockholm, inserts expanded into gap-padded columns, ``#=GC RF`` (``x`` = query column)
  and ``#=GC SS_cons`` (the structure on the query columns);
- ``{id}.a2m_msa2``: RNA-MSM's input, FASTA with every row exactly the query length (inserts removed).

:func:`read` reads any of them back (and Rfam or cmalign Stockholm, aligned FASTA, A2M): Stockholm
by suffix or by its first line; columns whose ``#=GC RF`` character is a gap are insert columns (their
residues become lower case, their gaps are dropped), the others (all of them without an RF line) are
match columns (residues upper case, ``.``/``_``/``~`` -> ``-``). FASTA-family rows are kept as written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rnamsm.atomic import atomic_open, write_files
from rnamsm.errors import RnamsmError
from rnamsm.textfile import read_text

#: File name endings read as Stockholm; everything else is read as (aligned) FASTA / A2M / A3M.
STOCKHOLM_SUFFIXES = (".sto", ".stk", ".sth", ".stockholm")
#: The three files ``rnamsm search`` writes, by suffix.
SEARCH_SUFFIXES = ("a3m", "sto", "a2m_msa2")

#: Insert characters of an A3M/A2M row: lower-case residues, ``.`` (insert gap) and ``*``.
_INSERT = re.compile(r"[a-z.*]")
#: Characters that can never be part of an aligned row.
_INVALID = re.compile(r"[^A-Za-z.*-]")
_RF_GAPS = frozenset(".-_~")


@dataclass(frozen=True)
class Alignment:
    """Named A3M rows, query first; ``structure`` is the file's ``SS_cons`` on the query columns (or empty)."""

    names: tuple[str, ...]
    rows: tuple[str, ...]
    structure: str = ""
    #: Where the rows came from (for messages).
    source: str = "<memory>"

    @property
    def records(self) -> list[tuple[str, str]]:
        """``(name, A3M row)`` pairs."""
        return list(zip(self.names, self.rows, strict=True))

    @property
    def length(self) -> int:
        """Number of query (match) columns."""
        return len(match_columns(self.rows[0]))


def match_columns(row: str) -> str:
    """The query-length part of an A3M row: its insert characters (``a-z``, ``.``, ``*``) removed."""
    return _INSERT.sub("", row)


def check_rows(names: Sequence[str], rows: Sequence[str], source: str, structure: str = "") -> Alignment:
    """The checked alignment: valid characters, the query has residues, every row its number of match columns."""
    if not rows:
        raise RnamsmError(f"{source}: no sequences found")
    query = match_columns(rows[0])
    if not query:
        raise RnamsmError(f"{source}: the query (row 1, {names[0]!r}) has no match columns")
    if set(query) == {"-"}:
        raise RnamsmError(f"{source}: the query (row 1, {names[0]!r}) is all gaps")
    for number, (name, row) in enumerate(zip(names, rows, strict=True), start=1):
        invalid = _INVALID.search(row)
        if invalid:
            column = len(match_columns(row[: invalid.start()])) + 1
            raise RnamsmError(
                f"{source}: row {number} ({name!r}): invalid character {invalid.group()!r} at match column {column}"
            )
        count = len(match_columns(row))
        if count != len(query):
            raise RnamsmError(
                f"{source}: row {number} ({name!r}) has {count} match columns, the query has {len(query)}"
            )
    return Alignment(tuple(names), tuple(rows), structure, source)


def parse_fasta(text: str, source: str) -> Alignment:
    """FASTA / A2M / A3M text as an :class:`Alignment`; blank lines and a leading ``#`` comment are ignored."""
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
    return check_rows([name for name, _ in records], ["".join(parts) for _, parts in records], source)


def parse_stockholm(text: str, source: str) -> Alignment:
    """A (possibly multi-block) Stockholm alignment as A3M rows and its ``SS_cons`` on the match columns."""
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
        raise RnamsmError(f"{source}: no sequences found")
    width = len(records[0][1])
    for number, (name, row) in enumerate(records, start=1):
        if len(row) != width:
            raise RnamsmError(f"{source}: row {number} ({name!r}) has {len(row)} columns, expected {width}")
    rf = "".join(markup["RF"]) or "x" * width
    if len(rf) != width:
        raise RnamsmError(f"{source}: #=GC RF has {len(rf)} columns, the alignment has {width}")
    is_match = [char not in _RF_GAPS for char in rf]
    rows = []
    for _, row in records:
        chars = []
        for char, match in zip(row, is_match, strict=True):
            if match:
                chars.append("-" if char in _RF_GAPS else char.upper())
            elif char not in _RF_GAPS:
                chars.append(char.lower())
        rows.append("".join(chars))
    ss_cons = "".join(markup["SS_cons"])
    structure = "".join(char for char, match in zip(ss_cons, is_match, strict=False) if match)
    return check_rows([name for name, _ in records], rows, source, structure)


def read(path: str | os.PathLike[str]) -> Alignment:
    """Read and check an MSA file of any of the formats (plain or ``.gz``); the rows as written, inserts kept."""
    path = Path(path)
    text = read_text(path, "an MSA file")
    name = path.name[:-3] if path.suffix == ".gz" else path.name
    if name.lower().endswith(STOCKHOLM_SUFFIXES) or text.startswith("# STOCKHOLM"):
        return parse_stockholm(text, str(path))
    return parse_fasta(text, str(path))


def _segments(row: str, length: int) -> tuple[list[str], list[str]]:
    """Split an A3M row into ``length + 1`` insert strings and ``length`` match characters."""
    inserts: list[list[str]] = [[] for _ in range(length + 1)]
    matches: list[str] = []
    for char in row:
        if _INSERT.fullmatch(char):
            if char != ".":
                inserts[len(matches)].append(char)
            continue
        matches.append(char)
        if len(matches) > length:
            raise ValueError(f"A3M row has {len(match_columns(row))} match columns, expected {length}")
    if len(matches) != length:
        raise ValueError(f"A3M row has {len(matches)} match columns, expected {length}")
    return ["".join(part) for part in inserts], matches


def expand_inserts(rows: Sequence[str], length: int) -> tuple[list[str], str]:
    """Expand A3M rows into equal-length aligned rows; return them and the RF line (``x`` = match)."""
    split = [_segments(row, length) for row in rows]
    widths = [max((len(inserts[slot]) for inserts, _ in split), default=0) for slot in range(length + 1)]
    expanded = []
    for inserts, matches in split:
        parts = []
        for slot in range(length + 1):
            parts.append(inserts[slot].ljust(widths[slot], "."))
            if slot < length:
                parts.append(matches[slot])
        expanded.append("".join(parts))
    rf = "".join("." * widths[slot] + ("x" if slot < length else "") for slot in range(length + 1))
    return expanded, rf


def format_stockholm(alignment: Alignment, msa_name: str) -> str:
    """Stockholm text: inserts expanded, RF, and the alignment's structure (``.`` when empty) as SS_cons."""
    length = alignment.length
    structure = alignment.structure or "." * length
    if len(structure) != length:
        raise ValueError(f"structure has {len(structure)} columns, the alignment {length}")
    expanded, rf = expand_inserts(alignment.rows, length)
    ss_iter = iter(structure)
    ss_cons = "".join(next(ss_iter) if column == "x" else "." for column in rf)
    width = max([len(name) for name in alignment.names] + [len("#=GC SS_cons")])
    lines = ["# STOCKHOLM 1.0", f"#=GF ID {msa_name}", ""]
    lines += [f"{name.ljust(width)} {row}" for name, row in zip(alignment.names, expanded, strict=True)]
    lines += [f"{'#=GC SS_cons'.ljust(width)} {ss_cons}", f"{'#=GC RF'.ljust(width)} {rf}", "//", ""]
    return "\n".join(lines)


def format_fasta(names: Sequence[str], rows: Sequence[str]) -> str:
    """FASTA with one sequence line per row."""
    return "".join(f">{name}\n{row}\n" for name, row in zip(names, rows, strict=True))


def write_stockholm(alignment: Alignment, path: str | os.PathLike[str], msa_name: str) -> Path:
    """Write the alignment as Stockholm (see :func:`format_stockholm`) atomically."""
    path = Path(path)
    with atomic_open(path) as handle:
        handle.write(format_stockholm(alignment, msa_name))
    return path


def texts(alignment: Alignment, prefix: str | os.PathLike[str], msa_name: str) -> dict[Path, str]:
    """``prefix.a3m``, ``prefix.sto`` and ``prefix.a2m_msa2`` (in that order), each with its text.

    For a command that writes them with other outputs as one set (:func:`rnamsm.atomic.write_files`).
    The alignment's ``structure`` (query length) becomes the Stockholm ``SS_cons``.
    """
    prefix = Path(prefix)
    return {
        prefix.with_name(f"{prefix.name}.a3m"): format_fasta(alignment.names, alignment.rows),
        prefix.with_name(f"{prefix.name}.sto"): format_stockholm(alignment, msa_name),
        prefix.with_name(f"{prefix.name}.a2m_msa2"): format_fasta(
            alignment.names, [match_columns(row) for row in alignment.rows]
        ),
    }


def write(alignment: Alignment, prefix: str | os.PathLike[str], msa_name: str) -> dict[str, Path]:
    """Write the three files of :func:`texts` as one set (all or none); return their paths by suffix."""
    files = texts(alignment, prefix, msa_name)
    write_files(files)
    return dict(zip(SEARCH_SUFFIXES, files, strict=True))
