"""Realigning a round's rows to a covariance model built from them (``align: cmalign``).

The rows (query first) become a Stockholm alignment with the query's columns as consensus and the
given structure, ``cmbuild --hand`` builds the CM (no calibration: nothing is searched), and
``cmalign`` aligns every hit's residues to it. The query row stays as it is (all L columns); each
realigned row is checked to have L match columns and exactly the hit's residues.
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


def realign(
    query: Query, rows: Sequence[HitRow], structure: str, work: Path, *, threads: int, prefix: str = "final"
) -> list[HitRow]:
    """``rows`` realigned with cmalign to a CM built from them and ``structure``; order and hits unchanged.

    Intermediate files go to ``work`` (``{prefix}.sto``, ``.cm``, ``.cmalign.fa``, ``.cmalign.sto``).
    """
    if not rows:
        return []
    alignment = Alignment((query.id, *(hit.name for hit in rows)), (query.sequence, *(hit.a3m for hit in rows)),
                          structure)
    stockholm, cm, aligned = (work / f"{prefix}{suffix}" for suffix in (".sto", ".cm", ".cmalign.sto"))
    msa_format.write_stockholm(alignment, stockholm, query.id)
    infernal_cli.build_cm(stockholm, cm)
    # numbered names: cmalign needs unique names, hit names need not be
    infernal_cli.align_to_cm(cm, [(f"r{index}", residues(hit.a3m)) for index, hit in enumerate(rows)], aligned,
                             threads=threads)
    result = msa_format.read(aligned)
    if list(result.names) != [f"r{index}" for index in range(len(rows))]:
        raise RnamsmError(f"{aligned}: cmalign returned other sequences than the {len(rows)} it was given")
    realigned = []
    for hit, row in zip(rows, result.rows, strict=True):
        if len(match_columns(row)) != len(query) or residues(row) != residues(hit.a3m):
            raise RnamsmError(f"{aligned}: the realigned row of {hit.name} does not hold its {len(query)} columns "
                              "and residues")
        realigned.append(dataclasses.replace(hit, a3m=row))
    return realigned
