"""RSA tables: our TSV writer and a reader for both our TSV and the official RNA-MSM ``.txt`` output.

Our file: ``#`` lines (description, provenance, an untrained-weights warning when it applies), then
the header ``index nt ASA RSA`` and one row per residue, tab-separated, ASA ``%.2f`` (Å²) and RSA
``%.3f`` - the official column order and formatting.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnamsm.atomic import atomic_open
from rnamsm.errors import RnamsmError
from rnamsm.evaluation.rsa_metrics import RsaChain
from rnamsm.heads.structure import normalise_sequence
from rnamsm.textfile import read_text

#: Column header of our RSA TSV.
RSA_COLUMNS = ("index", "nt", "ASA", "RSA")


def format_rsa_tsv(sequence: str, asa: np.ndarray, rsa: np.ndarray, comments: Sequence[str]) -> str:
    """TSV text: ``#`` comment lines, the column header, then ``index nt ASA RSA`` rows."""
    lines = [f"# {comment}" for comment in comments]
    lines.append("\t".join(RSA_COLUMNS))
    for index, (base, area, relative) in enumerate(zip(sequence, asa, rsa), 1):
        lines.append(f"{index}\t{base}\t{area:.2f}\t{relative:.3f}")
    return "\n".join(lines) + "\n"


def write_rsa_tsv(
    target: str | os.PathLike[str], sequence: str, asa: np.ndarray, rsa: np.ndarray, comments: Sequence[str]
) -> None:
    """Write an RSA TSV atomically (see :func:`format_rsa_tsv`)."""
    with atomic_open(target) as handle:
        handle.write(format_rsa_tsv(sequence, asa, rsa, comments))


def read_rsa_table(path: str | os.PathLike[str], name: str | None = None) -> RsaChain:
    """Read our TSV (header by name) or an official ``.txt`` (``index nt ASA RSA``) into an RSA chain."""
    path = Path(path)
    name = name or path.name.split(".")[0]
    text = read_text(path, "an RSA table")
    columns = {"index": 0, "nt": 1, "ASA": 2, "RSA": 3}
    bases: list[str] = []
    values: list[float] = []
    for line_number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] == "index":
            columns = {field: position for position, field in enumerate(fields)}
            if not {"index", "nt", "RSA"} <= columns.keys():
                raise RnamsmError(f"{path}: line {line_number}: header must name index, nt and RSA")
            continue
        try:
            index = int(fields[columns["index"]])
            bases.append(fields[columns["nt"]])
            values.append(float(fields[columns["RSA"]]))
        except (ValueError, IndexError):
            message = f"expected 'index nt ASA RSA', got {line.strip()!r}"
            raise RnamsmError(f"{path}: line {line_number}: {message}") from None
        if index != len(bases):
            raise RnamsmError(f"{path}: line {line_number}: index {index} out of order")
    if not bases:
        raise RnamsmError(f"{path}: no residues")
    return RsaChain(name, normalise_sequence("".join(bases)), np.array(values, dtype=np.float64))
