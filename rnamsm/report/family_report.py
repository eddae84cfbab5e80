"""The family report (``rnamsm family-report``): a family's members side by side, over its alignment's columns.

Each member's predicted pairs (``ss.json``) are mapped into the family alignment's match columns through
the member's row (its residues in match columns; insert residues map to no column) and counted per column
pair: the support of a pair is how many members predict it. The alignment's ``SS_cons`` (any bracket
level: ``() [] {} <>`` and Rfam's ``Aa Bb ...``), projected onto each member (the pairs whose two columns
hold a residue of that member), is the reference of the member: precision, recall, F1 and MCC of RNA-MSM,
RNAfold and RNAalifold against it come from :mod:`rnamsm.evaluation.structure_metrics`, the code of
``rnamsm evaluate``, which gives the same numbers on the reference ``.bpseq`` files written beside the
report. Written as one set: ``report.html``, ``family.json`` and ``reference/{sample}.bpseq``. A member
that its chunk's status file (:mod:`rnamsm.formats.sample_status`) lists as failed is shown with its reason
(``failed`` in ``family.json``) and left out of the numbers; any other member without outputs is an error.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from rnamsm.atomic import write_files
from rnamsm.checksums import file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.evaluation.structure_metrics import SequenceResult, aggregate, score_sequence, scores
from rnamsm.formats import msa as msa_format
from rnamsm.formats import sample_status
from rnamsm.formats.query import normalise_sequence
from rnamsm.formats.structure import Pair, Structure, dbn_to_pairs, format_bpseq
from rnamsm.input.families import Family, family_members
from rnamsm.layout import FamilyLayout, family_layout, sample_layout
from rnamsm.report.html import generation_time, render_page
from rnamsm.report.qc import qc_flags, raised_codes
from rnamsm.report.sample import load_summary
from rnamsm.report.settings import ReportSettings

#: The methods scored against the projected SS_cons, in the order shown.
METHODS = ("rnamsm", "rnafold", "rnaalifold")
#: Share of the members (with residues in both columns) above which a predicted column pair is conserved.
CONSERVED_SHARE = 0.5


@dataclass(frozen=True)
class MemberColumns:
    """A member's residues and, per residue (0-based), its match column (None for an insert residue)."""

    sequence: str
    columns: tuple[int | None, ...]

    def column_pair(self, pair: Pair) -> tuple[int, int] | None:
        """The match columns (0-based) of a 1-based pair, or None when either residue is an insert."""
        first, second = self.columns[pair[0] - 1], self.columns[pair[1] - 1]
        return None if first is None or second is None else (first, second)

    def projected(self, column_pairs: set[tuple[int, int]]) -> set[Pair]:
        """Column pairs (0-based) whose two columns hold residues of this member, as 1-based residue pairs."""
        position = {column: index + 1 for index, column in enumerate(self.columns) if column is not None}
        return {(position[i], position[j]) for i, j in column_pairs if i in position and j in position}


def member_columns(row: str) -> MemberColumns:
    """The residues of an A3M row (match columns upper case or ``-``, inserts lower case) and their columns."""
    residues, columns, column = [], [], 0
    for char in row:
        if char == "-":
            column += 1
        elif char.isupper():
            residues.append(char)
            columns.append(column)
            column += 1
        elif char.isalpha():
            residues.append(char.upper())
            columns.append(None)
    return MemberColumns(normalise_sequence("".join(residues)), tuple(columns))


def _score_row(result: SequenceResult) -> dict[str, float]:
    return {name: round(value, 6) for name, value in scores(result.counts["all"]).items()}


def family_summary(family: Family, alignment_path: Path, results: Path, out: FamilyLayout,
                   settings: ReportSettings, failed: dict[str, str] | None = None,
                   ) -> tuple[dict[str, Any], dict[str, Structure]]:
    """The numbers of the family report (``family.json``) and each member's projected reference structure;
    ``failed``: member sample -> the one-line reason it failed (listed, not scored)."""
    failed = failed or {}
    alignment = msa_format.read(alignment_path)
    width = alignment.length
    consensus = ({(i - 1, j - 1) for i, j in dbn_to_pairs(alignment.structure, f"{alignment_path} SS_cons")}
                 if alignment.structure.strip(".-_,:~") else set())
    support: dict[tuple[int, int], int] = {}
    covered: dict[tuple[int, int], int] = {}
    members, per_method = [], {method: [] for method in METHODS}
    member_sets: list[set[tuple[int, int]]] = []
    member_present: list[set[int]] = []
    references: dict[str, Structure] = {}
    failures = []
    for member in family.members:
        if member.sample in failed:
            failures.append({"sample": member.sample, "record": member.record, "reason": failed[member.sample]})
            continue
        layout = sample_layout(member.sample, results)
        data = load_summary(layout)
        if data.query is None or data.structure is None or data.baselines is None:
            missing = next(iter(data.notes.values()), "outputs missing")
            raise RnamsmError(f"family {family.family_id!r}: member {member.sample!r}: {missing}")
        mapped = member_columns(alignment.rows[alignment.names.index(member.record)])
        sequence = data.query.sequence
        if mapped.sequence != sequence:
            raise RnamsmError(f"{alignment_path}: row {member.record!r} does not hold the residues of "
                              f"{layout.query} (the member's query)")
        predicted = {
            "rnamsm": {tuple(pair) for pair in data.structure.pairs},
            "rnafold": dbn_to_pairs(data.baselines.rnafold.dbn, f"{layout.baselines.summary} rnafold"),
            "rnaalifold": dbn_to_pairs(data.baselines.rnaalifold.dbn, f"{layout.baselines.summary} rnaalifold"),
        }
        columns = {cp for cp in (mapped.column_pair(pair) for pair in predicted["rnamsm"]) if cp is not None}
        member_sets.append(columns)
        for cp in columns:
            support[cp] = support.get(cp, 0) + 1
        member_present.append({column for column in mapped.columns if column is not None})
        row: dict[str, Any] = {
            "sample": member.sample, "record": member.record, "length": len(sequence),
            "depth": data.msa_stats.depth if data.msa_stats else None,
            "neff": round(data.msa_stats.neff, 6) if data.msa_stats else None,
            "pairs": len(predicted["rnamsm"]),
            "flags": list(raised_codes(qc_flags(data, settings))),
            "report": urllib.parse.quote(Path(os.path.relpath(layout.report, out.directory)).as_posix()),
        }
        if consensus:
            reference = Structure(member.sample, sequence, mapped.projected(consensus))
            references[member.sample] = reference
            row["reference_pairs"] = len(reference.pairs)
            for method in METHODS:
                result = score_sequence(Structure(member.sample, sequence, set(predicted[method])), reference)
                per_method[method].append(result)
                row[method] = _score_row(result)
        members.append(row)
    for cp in set(support) | consensus:
        covered[cp] = sum(cp[0] in present and cp[1] in present for present in member_present)
    column_pairs = [
        {"i": i + 1, "j": j + 1, "support": support.get((i, j), 0), "members_with_both": covered.get((i, j), 0),
         "in_ss_cons": (i, j) in consensus,
         "kind": ("conserved" if support.get((i, j), 0) > CONSERVED_SHARE * max(covered.get((i, j), 0), 1)
                  else "variable" if support.get((i, j), 0) else "not predicted")}
        for i, j in sorted(set(support) | consensus)
    ]
    agreement = [len(a & b) / len(a | b) for a, b in combinations(member_sets, 2) if a | b]
    summary: dict[str, Any] = {
        "family_id": family.family_id,
        "alignment": {"path": str(alignment_path), "sha256": file_sha256(alignment_path), "rows": len(alignment.rows),
                      "columns": width, "ss_cons": alignment.structure, "ss_cons_pairs": len(consensus)},
        "members": members,
        "renamed": family.collisions,
        "column_pairs": column_pairs,
        "conserved_share": CONSERVED_SHARE,
        "agreement": round(sum(agreement) / len(agreement), 6) if agreement else None,
        "scores": {method: _averages(per_method[method]) for method in METHODS} if consensus and members else None,
        "num_members": len(members),
        "failed": failures,
    }
    return summary, references


def _averages(results: list[SequenceResult]) -> dict[str, dict[str, float]]:
    """Pooled and per-member mean precision, recall, F1 and MCC (as ``rnamsm evaluate`` gives them)."""
    summary = aggregate(results, "all")
    return {key: {name: round(float(value), 6) for name, value in summary[key].items()
                  if name in ("precision", "recall", "f1", "mcc")} for key in ("pooled", "per_sequence_mean")}


def _heat_cells(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One cell per column pair for the SVG heat map: predicted support above the diagonal (x = j, y = i),
    SS_cons below it (x = i, y = j)."""
    members = max(summary["num_members"], 1)
    cells = []
    for pair in summary["column_pairs"]:
        if pair["support"]:
            cells.append({"x": pair["j"], "y": pair["i"], "share": pair["support"] / members, "kind": "support",
                          "title": f"columns {pair['i']}-{pair['j']}: {pair['support']} of {members} members"})
        if pair["in_ss_cons"]:
            cells.append({"x": pair["i"], "y": pair["j"], "share": 1.0, "kind": "ss_cons",
                          "title": f"SS_cons pair {pair['i']}-{pair['j']}"})
    return cells


def write_family_report(alignment: str | os.PathLike[str], family_id: str, results: str | os.PathLike[str],
                        *, members: str = "all", out_dir: str | os.PathLike[str] | None = None,
                        description: str = "", settings: ReportSettings | None = None,
                        status: Sequence[str | os.PathLike[str]] = ()) -> dict[str, Any]:
    """Write ``report.html``, ``family.json`` and the reference ``.bpseq`` files of a family; return the summary.

    ``members`` is the families sheet's value (the members expanded by :func:`family_members`), ``results``
    the folder of the members' outputs; ``out_dir`` defaults to ``results/families/{family_id}``; ``status``:
    the status files of the family's chunks, whose failed members are listed with their reasons.
    """
    settings = settings or ReportSettings()
    alignment, results = Path(alignment), Path(results)
    layout = family_layout(family_id, results)
    if out_dir is not None:
        layout = FamilyLayout(Path(out_dir), family_id)
    family = family_members(family_id, alignment, members)
    failed = {row.sample: row.reason for path in status for row in sample_status.read(path) if not row.ok}
    summary, references = family_summary(family, alignment, results, layout, settings, failed)
    page = render_page("family.html", {
        "title": settings.title or f"RNA-MSM family report: {family_id}",
        "description": description, "summary": summary, "methods": METHODS, "cells": _heat_cells(summary),
        "width": summary["alignment"]["columns"],
    }, generation_time())
    texts: dict[Path, str] = {layout.report: page, layout.summary: json.dumps(summary, indent=2, sort_keys=True) + "\n"}
    texts.update({layout.reference(sample): format_bpseq(reference) for sample, reference in references.items()})
    write_files(texts)
    return summary
