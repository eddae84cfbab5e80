"""MSA files: A3M, Stockholm (inserts expanded, ``#=GC RF`` and ``#=GC SS_cons``) and ``.a2m_msa2``.

All three hold the same rows, query first. ``.a2m_msa2`` is RNA-MSM's input: FASTA, one line per
row, every row exactly the query length (inserts removed). Readers return A3M rows (match columns
upper case or ``-``, inserts lower case), so any format converts to any other.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rnamsm.atomic import atomic_open
from rnamsm.errors import RnamsmError
from rnamsm.homology.rows import match_count


def match_columns(row: str) -> str:
    """The query-length part of an A3M row: insert (lower-case) residues and ``.`` removed."""
    return "".join(char for char in row if char == "-" or char.isupper())


def _segments(row: str, length: int) -> tuple[list[str], list[str]]:
    """Split an A3M row into ``length + 1`` insert strings and ``length`` match characters."""
    inserts: list[list[str]] = [[] for _ in range(length + 1)]
    matches: list[str] = []
    for char in row:
        if char == "-" or char.isupper():
            matches.append(char)
            if len(matches) > length:
                raise ValueError(f"A3M row has {match_count(row)} match columns, expected {length}")
        elif char != ".":
            inserts[len(matches)].append(char)
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


def format_stockholm(names: Sequence[str], rows: Sequence[str], structure: str, msa_name: str) -> str:
    """Stockholm text of A3M rows (query first) with RF and the query-length ``structure`` as SS_cons."""
    length = len(structure)
    expanded, rf = expand_inserts(rows, length)
    ss_iter = iter(structure)
    ss_cons = "".join(next(ss_iter) if column == "x" else "." for column in rf)
    width = max([len(name) for name in names] + [len("#=GC SS_cons")])
    lines = ["# STOCKHOLM 1.0", f"#=GF ID {msa_name}", ""]
    lines += [f"{name.ljust(width)} {row}" for name, row in zip(names, expanded, strict=True)]
    lines += [f"{'#=GC SS_cons'.ljust(width)} {ss_cons}", f"{'#=GC RF'.ljust(width)} {rf}", "//", ""]
    return "\n".join(lines)


def format_fasta_rows(names: Sequence[str], rows: Sequence[str]) -> str:
    """FASTA with one sequence line per row."""
    return "".join(f">{name}\n{row}\n" for name, row in zip(names, rows, strict=True))


def write_msa_files(
    prefix: str | os.PathLike[str], names: Sequence[str], rows: Sequence[str], structure: str, msa_name: str
) -> dict[str, Path]:
    """Write ``prefix.a3m``, ``prefix.sto`` and ``prefix.a2m_msa2`` atomically; return the paths by format."""
    prefix = Path(prefix)
    texts = {
        "a3m": format_fasta_rows(names, rows),
        "sto": format_stockholm(names, rows, structure, msa_name),
        "a2m_msa2": format_fasta_rows(names, [match_columns(row) for row in rows]),
    }
    paths = {}
    for suffix, text in texts.items():
        paths[suffix] = prefix.with_name(f"{prefix.name}.{suffix}")
        with atomic_open(paths[suffix]) as handle:
            handle.write(text)
    return paths


def _read_fasta_rows(path: Path) -> list[tuple[str, str]]:
    records: list[tuple[str, list[str]]] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            if line.startswith(">"):
                fields = line[1:].split()
                if not fields:
                    raise RnamsmError(f"{path}: line {number}: empty record name")
                records.append((fields[0], []))
            elif not records:
                raise RnamsmError(f"{path}: line {number}: sequence before the first '>' header")
            else:
                records[-1][1].append(line)
    return [(name, "".join(parts)) for name, parts in records]


def _read_stockholm_rows(path: Path) -> tuple[list[tuple[str, str]], str]:
    """Rows of a one-block or interleaved Stockholm file as A3M (RF ``x`` columns are matches)."""
    order: list[str] = []
    parts: dict[str, list[str]] = {}
    markup: dict[str, list[str]] = {"RF": [], "SS_cons": []}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            stripped = line.rstrip("\n")
            if not stripped.strip() or stripped.startswith("//") or stripped.startswith("# STOCKHOLM"):
                continue
            if stripped.startswith("#=GC"):
                fields = stripped.split()
                if len(fields) == 3 and fields[1] in markup:
                    markup[fields[1]].append(fields[2])
                continue
            if stripped.startswith("#"):
                continue
            name, _, row = stripped.partition(" ")
            if name not in parts:
                order.append(name)
                parts[name] = []
            parts[name].append(row.strip())
    rf = "".join(markup["RF"])
    if not rf:
        raise RnamsmError(f"{path}: Stockholm file has no '#=GC RF' line (needed to find the query columns)")
    rows = []
    for name in order:
        aligned = "".join(parts[name])
        if len(aligned) != len(rf):
            raise RnamsmError(f"{path}: row {name!r} has {len(aligned)} columns, the RF line {len(rf)}")
        row = []
        for char, column in zip(aligned, rf, strict=True):
            if column in ".-~":
                if char not in ".-~":
                    row.append(char.lower())
            else:
                row.append("-" if char in ".-~" else char.upper())
        rows.append((name, "".join(row)))
    ss = "".join(markup["SS_cons"])
    structure = "".join(char for char, column in zip(ss, rf, strict=False) if column not in ".-~")
    return rows, structure


def read_msa(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Read an MSA written by ``rnamsm search`` (``.a3m``, ``.sto`` or ``.a2m_msa2``) as A3M rows.

    Returns ``(name, row)`` pairs, query first. ``match_columns(row)`` gives the query-length
    aligned row. Every row is checked to have the query's number of match columns.
    """
    path = Path(path)
    if not path.is_file():
        raise RnamsmError(f"{path}: MSA file not found")
    if path.suffix in (".sto", ".stk", ".stockholm"):
        rows, _structure = _read_stockholm_rows(path)
    else:
        rows = _read_fasta_rows(path)
    if not rows:
        raise RnamsmError(f"{path}: MSA has no rows")
    length = len(match_columns(rows[0][1]))
    for number, (name, row) in enumerate(rows, start=1):
        if len(match_columns(row)) != length:
            raise RnamsmError(
                f"{path}: row {number} ({name!r}): {len(match_columns(row))} match columns, the query has {length}"
            )
    return rows


def read_stockholm_structure(path: str | os.PathLike[str]) -> str:
    """The query-length ``#=GC SS_cons`` structure of a Stockholm file written by ``rnamsm search``."""
    return _read_stockholm_rows(Path(path))[1]
