"""Labelled SS training examples from Stockholm alignments with ``#=GC SS_cons`` (e.g. Rfam seeds).

Each sequence of the alignment becomes a query: its label is the consensus structure projected onto
its residues (pairs whose two columns both hold a residue of that sequence), and its MSA is the
alignment restricted to the query's residue columns, query first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyhmmer.easel

from rnamsm.errors import RnamsmError
from rnamsm.formats.query import normalise_sequence
from rnamsm.formats.structure import Structure, dbn_to_pairs

_GAPS = frozenset(".-_~")


@dataclass(frozen=True)
class LabelledMsa:
    """A query's MSA rows (upper case, ``-`` gaps, query first) and its reference structure."""

    rows: tuple[str, ...]
    structure: Structure


def labelled_msas(
    path: str | os.PathLike[str], max_rows: int = 16, max_queries: int | None = None
) -> list[LabelledMsa]:
    """One :class:`LabelledMsa` per sequence (in file order, at most ``max_queries``).

    ``max_rows``: MSA depth per query (the query plus the first other sequences of the file).
    """
    path = Path(path)
    try:
        with pyhmmer.easel.MSAFile(str(path), digital=False, format="stockholm") as handle:
            msa = handle.read()
    except (OSError, ValueError, EOFError) as error:
        raise RnamsmError(f"{path}: cannot read Stockholm alignment: {error}") from None
    if msa is None or not msa.secondary_structure:
        raise RnamsmError(f"{path}: no '#=GC SS_cons' line")
    consensus = dbn_to_pairs(msa.secondary_structure, f"{path} SS_cons")
    names = [name.decode() if isinstance(name, bytes) else name for name in msa.names]
    alignment = list(msa.alignment)
    examples: list[LabelledMsa] = []
    for index, (name, row) in enumerate(zip(names, alignment)):
        if max_queries is not None and len(examples) >= max_queries:
            break
        columns = [column for column, char in enumerate(row) if char not in _GAPS]
        position = {column: offset + 1 for offset, column in enumerate(columns)}
        sequence = normalise_sequence("".join(row[column] for column in columns))
        pairs = {(position[i - 1], position[j - 1]) for i, j in consensus if i - 1 in position and j - 1 in position}
        others = [other for number, other in enumerate(alignment) if number != index][: max_rows - 1]
        rows = (sequence,) + tuple(
            normalise_sequence("".join("-" if other[c] in _GAPS else other[c] for c in columns)) for other in others
        )
        safe_name = "".join(char if char.isalnum() or char in "_-" else "_" for char in name)
        examples.append(LabelledMsa(rows, Structure(safe_name, sequence, pairs)))
    return examples
