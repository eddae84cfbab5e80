"""RSA tables: our TSV (written by ``rnamsm predict-rsa``) and the official RNA-MSM ``.txt`` output.

Our file: ``#`` lines (description, provenance, an untrained-weights warning when it applies), then
the header ``index nt ASA RSA`` and one row per residue, tab-separated, ASA ``%.2f`` (Å²) and RSA
``%.3f`` - the official column order and formatting. The official ``.txt`` is ``#`` lines and rows of
the same four columns without a header. On reading, a header line (first word ``index``, with or
without a leading ``#``) names the columns in any order and must name ``index``, ``nt`` and ``RSA``
(``ASA`` is optional); without one the columns are ``index nt ASA RSA``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnamsm.atomic import atomic_open
from rnamsm.errors import RnamsmError
from rnamsm.formats.query import normalise_sequence
from rnamsm.textfile import read_text

#: Column header of our RSA TSV.
RSA_COLUMNS = ("index", "nt", "ASA", "RSA")
_REQUIRED = frozenset({"index", "nt", "RSA"})


@dataclass(frozen=True)
class RsaChain:
    """One chain's RSA table: sequence and per-residue RSA (reference values < 0 mean missing).

    ``asa`` is ``None`` for a table without an ASA column; ``comments`` are the ``#`` lines (without
    the ``#`` and the space after it).
    """

    name: str
    sequence: str  # upper-case RNA (T -> U), length L
    rsa: np.ndarray  # (L,) float64
    asa: np.ndarray | None = None  # (L,) float64, square angstrom
    comments: tuple[str, ...] = ()

    @property
    def untrained(self) -> bool:
        """True when a comment says the values come from untrained (random demo) weights."""
        return any("untrained" in comment.lower() for comment in self.comments)


def format_table(chain: RsaChain) -> str:
    """TSV text: ``#`` comment lines, the column header, then ``index nt ASA RSA`` rows."""
    if chain.asa is None:
        raise ValueError(f"RSA table of '{chain.name}': no ASA values to write")
    lines = [f"# {comment}" for comment in chain.comments]
    lines.append("\t".join(RSA_COLUMNS))
    for index, (base, area, relative) in enumerate(zip(chain.sequence, chain.asa, chain.rsa), 1):
        lines.append(f"{index}\t{base}\t{area:.2f}\t{relative:.3f}")
    return "\n".join(lines) + "\n"


def write(chain: RsaChain, path: str | os.PathLike[str]) -> None:
    """Write an RSA TSV atomically (see :func:`format_table`)."""
    text = format_table(chain)
    with atomic_open(path) as handle:
        handle.write(text)


def _header(words: list[str]) -> dict[str, int] | None:
    """Column positions when ``words`` are a header line, else ``None``."""
    if not words or words[0] != "index":
        return None
    return {word: position for position, word in enumerate(words)}


def read(path: str | os.PathLike[str], name: str | None = None) -> RsaChain:
    """Read our TSV or an official ``.txt``; ``name`` defaults to the file name up to its first dot.

    Every problem (a header without ``index``/``nt``/``RSA`` or after the first row, a row that does
    not fit it, a value that is not a finite number, indices not counting 1, 2, ...; no rows) is one
    :class:`RnamsmError` naming the file and the line.
    """
    path = Path(path)
    name = name or path.name.split(".")[0]
    columns = {column: position for position, column in enumerate(RSA_COLUMNS)}
    comments: list[str] = []
    bases: list[str] = []
    rsa: list[float] = []
    asa: list[float] = []
    for line_number, line in enumerate(read_text(path, "an RSA table").splitlines(), 1):
        header = _header(line.lstrip("#").split())
        if header is not None:
            if not _REQUIRED <= header.keys():
                raise RnamsmError(f"{path}: line {line_number}: header must name index, nt and RSA")
            if bases:
                raise RnamsmError(f"{path}: line {line_number}: column header after the first row")
            columns = header
            continue
        if line.startswith("#"):
            comments.append(line[1:].strip())
            continue
        fields = line.split()
        if not fields:
            continue
        try:
            index = int(fields[columns["index"]])
            values = [float(fields[columns[column]]) for column in ("RSA", "ASA") if column in columns]
            base = fields[columns["nt"]]
        except (ValueError, IndexError):
            expected = " ".join(sorted(columns, key=columns.__getitem__))
            raise RnamsmError(f"{path}: line {line_number}: expected '{expected}', got {line.strip()!r}") from None
        if not all(math.isfinite(value) for value in values):
            raise RnamsmError(f"{path}: line {line_number}: ASA and RSA must be finite numbers")
        if index != len(bases) + 1:
            raise RnamsmError(f"{path}: line {line_number}: index {index}, expected {len(bases) + 1}")
        bases.append(base)
        rsa.append(values[0])
        asa.extend(values[1:])
    if not bases:
        raise RnamsmError(f"{path}: no residues")
    return RsaChain(
        name, normalise_sequence("".join(bases)), np.array(rsa, dtype=np.float64),
        np.array(asa, dtype=np.float64) if "ASA" in columns else None, tuple(comments),
    )
