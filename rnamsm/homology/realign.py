"""Aligning sequences to a covariance model built from an alignment (``cmbuild --hand``, ``cmalign``).

:func:`cm_align` is the one way the homology stage aligns with Infernal: the alignment (its match columns
as consensus, its ``structure`` as ``SS_cons``) is written as Stockholm, ``cmbuild --hand`` builds the CM
(no calibration: nothing is searched), and ``cmalign`` aligns the sequences' residues to it; each aligned
row is checked to have the alignment's match columns and exactly the sequence's residues. Two users:
:func:`realign` (``align: cmalign``: a round's rows realigned to a CM of the query and its structure; the
query row stays as it is) and the placement of a query absent from a user's alignment
(:mod:`rnamsm.homology.import_msa`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from rnamsm.errors import RnamsmError
from rnamsm.formats import msa as msa_format
from rnamsm.formats.msa import Alignment, match_columns
from rnamsm.formats.query import Query
from rnamsm.homology import infernal_cli
from rnamsm.homology.rows import HitRow


def residues(row: str) -> str:
    """The residues of an A3M row, upper case, gaps removed."""
    return "".join(char for char in row if char.isalpha()).upper()


def cm_align(alignment: Alignment, sequences: Sequence[tuple[str, str]], work: Path, *, threads: int,
             prefix: str) -> list[str]:
    """A3M rows (``alignment``'s match columns) of ``(name, residues)`` aligned with cmalign to a CM of ``alignment``.

    ``alignment.structure`` (nested dot-bracket on the match columns, or empty) is the CM's ``SS_cons``.
    Intermediate files go to ``work`` (``{prefix}.sto``, ``.cm``, ``.cmalign.fa``, ``.cmalign.sto``).
    """
    stockholm, cm, aligned = (work / f"{prefix}{suffix}" for suffix in (".sto", ".cm", ".cmalign.sto"))
    msa_format.write_stockholm(alignment, stockholm, alignment.names[0])
    infernal_cli.build_cm(stockholm, cm)
    # numbered names: cmalign needs unique names, the callers' names need not be
    infernal_cli.align_to_cm(cm, [(f"r{index}", residues(row)) for index, (_, row) in enumerate(sequences)],
                             aligned, threads=threads)
    result = msa_format.read(aligned)
    if list(result.names) != [f"r{index}" for index in range(len(sequences))]:
        raise RnamsmError(f"{aligned}: cmalign returned other sequences than the {len(sequences)} it was given")
    for (name, sequence), row in zip(sequences, result.rows, strict=True):
        if len(match_columns(row)) != alignment.length or residues(row) != residues(sequence):
            raise RnamsmError(f"{aligned}: the aligned row of {name} does not hold its {alignment.length} columns "
                              "and residues")
    return list(result.rows)


def realign(
    query: Query, rows: Sequence[HitRow], structure: str, work: Path, *, threads: int, prefix: str = "final"
) -> list[HitRow]:
    """``rows`` realigned with :func:`cm_align` to a CM built from them and ``structure``; order and hits unchanged."""
    if not rows:
        return []
    alignment = Alignment((query.id, *(hit.name for hit in rows)), (query.sequence, *(hit.a3m for hit in rows)),
                          structure)
    aligned = cm_align(alignment, [(hit.name, hit.a3m) for hit in rows], work, threads=threads, prefix=prefix)
    return [dataclasses.replace(hit, a3m=row) for hit, row in zip(rows, aligned, strict=True)]
