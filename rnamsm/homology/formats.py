"""MSA files: A3M, Stockholm (inserts expanded, ``#=GC RF`` and ``#=GC SS_cons``) and ``.a2m_msa2``.

All three hold the same rows, query first. ``.a2m_msa2`` is RNA-MSM's input: FASTA, one line per
row, every row exactly the query length (inserts removed). :func:`rnamsm.model.msa.read_records` reads
any of them back as A3M rows (match columns upper case or ``-``, inserts lower case).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

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


def msa_texts(
    prefix: str | os.PathLike[str], names: Sequence[str], rows: Sequence[str], structure: str, msa_name: str
) -> dict[Path, str]:
    """``prefix.a3m``, ``prefix.sto`` and ``prefix.a2m_msa2`` (in that order), each with its text.

    Write them with :func:`rnamsm.atomic.write_files` (with the command's other outputs, as one set).
    """
    prefix = Path(prefix)
    return {
        prefix.with_name(f"{prefix.name}.a3m"): format_fasta_rows(names, rows),
        prefix.with_name(f"{prefix.name}.sto"): format_stockholm(names, rows, structure, msa_name),
        prefix.with_name(f"{prefix.name}.a2m_msa2"): format_fasta_rows(names, [match_columns(row) for row in rows]),
    }
