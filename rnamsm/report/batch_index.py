"""The batch index page (``rnamsm index``): one sortable, filterable row per sample."""

from __future__ import annotations

import os
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rnamsm.errors import RnamsmError
from rnamsm.formats import sample_status
from rnamsm.input.families import family_members
from rnamsm.layout import family_layout, is_sample_id, sample_layout
from rnamsm.report.html import generation_time, write_page
from rnamsm.report.qc import qc_flags, raised_codes
from rnamsm.report.sample import load_summary
from rnamsm.report.settings import ReportSettings
from rnamsm.sheets import read_sheet


@dataclass(frozen=True)
class IndexRow:
    """One sample in the index; numbers are None when their input is not available."""

    sample: str
    description: str
    status: str
    reason: str
    report_href: str | None
    length: int | None
    depth: int | None
    neff: float | None
    pairs: int | None
    mean_rsa: float | None
    flags: tuple[str, ...]
    family: str = ""


@dataclass(frozen=True)
class FamilyRow:
    """One family in the index: its members' statuses and its report."""

    family: str
    description: str
    members: int
    counts: tuple[tuple[str, int], ...]
    report_href: str | None


def read_sheet_samples(path: Path) -> dict[str, str]:
    """``sample id -> description`` ('' when none), in sheet order, read by :func:`rnamsm.sheets.read_sheet`."""
    sheet = read_sheet(path)
    samples: dict[str, str] = {}
    for number, row in sheet.iterrows():
        sample = row["sample_id"] if pd.notna(row["sample_id"]) else ""
        if not is_sample_id(sample):
            shown = sample if len(sample) <= 40 else f"{sample[:40]}... ({len(sample)} characters)"
            raise RnamsmError(f"{path}: line {number}: invalid sample id {shown!r}")
        description = row.get("description", pd.NA)
        samples[sample] = description if pd.notna(description) else ""
    return samples


def read_family_members(path: Path) -> dict[str, tuple[str, list[str]]]:
    """``family id -> (description, member sample ids)`` of a families sheet (read by
    :func:`rnamsm.sheets.read_sheet`, members expanded by :func:`rnamsm.input.families.family_members`)."""
    sheet = read_sheet(path, "family_id", "families sheet")
    families: dict[str, tuple[str, list[str]]] = {}
    for number, row in sheet.iterrows():
        family_id, alignment = row["family_id"], row.get("alignment", pd.NA)
        if pd.isna(family_id) or not is_sample_id(family_id) or pd.isna(alignment):
            raise RnamsmError(f"{path}: line {number}: a family needs a valid family_id and an alignment")
        members = row.get("members", pd.NA)
        family = family_members(family_id, alignment, "all" if pd.isna(members) else members)
        description = row.get("description", pd.NA)
        families[family_id] = ("" if pd.isna(description) else description, [m.sample for m in family.members])
    return families


def read_status(path: Path, samples: list[str]) -> dict[str, tuple[str, str]]:
    """``sample -> (status, reason)`` from a status TSV (:mod:`rnamsm.formats.sample_status`); every sample
    must be one of ``samples``."""
    statuses: dict[str, tuple[str, str]] = {}
    for row in sample_status.read(path):
        if row.sample not in samples:
            raise RnamsmError(f"{path}: sample {row.sample!r} is not in the sample sheet")
        statuses[row.sample] = (row.status, row.reason)
    return statuses


def index_row(results_dir: Path, sample: str, description: str, status: tuple[str, str] | None, out: Path,
              settings: ReportSettings, family: str = "") -> IndexRow:
    """Summarise one sample from its output folder; ``description`` is the sample sheet's."""
    data = load_summary(sample_layout(sample, results_dir))
    report = data.files.report
    state, reason = status or ("ok", "")
    if not report.is_file() and state == "ok":
        state, reason = "missing", "report.html not found"
    stats, rsa = data.msa_stats, data.rsa
    return IndexRow(
        sample=sample,
        description=description,
        status=state,
        reason=reason,
        report_href=urllib.parse.quote(Path(os.path.relpath(report, out.parent)).as_posix())
        if report.is_file() else None,
        length=data.length,
        depth=stats.depth if stats else None,
        neff=stats.neff if stats else None,
        pairs=len(data.structure.pairs) if data.structure else None,
        mean_rsa=sum(rsa.rsa.tolist()) / len(rsa.rsa) if rsa else None,
        flags=tuple(raised_codes(qc_flags(data, settings))),
        family=family,
    )


def _href(path: Path, out: Path) -> str | None:
    """A link from the page ``out`` to ``path`` when it exists."""
    return urllib.parse.quote(Path(os.path.relpath(path, out.parent)).as_posix()) if path.is_file() else None


def write_index(results_dir: Path, samples_tsv: Path, out: Path, status_tsvs: Sequence[Path],
                settings: ReportSettings, families: Path | None = None) -> None:
    """Write the batch index page of ``results_dir`` to ``out``; with ``families`` (a families sheet) the
    members are rows too, and each family a row of the families table linking its report. ``status_tsvs``
    give failed or skipped samples' reasons (a later file wins for a sample listed twice)."""
    generated = generation_time()
    if not results_dir.is_dir():
        raise RnamsmError(f"{results_dir}: results folder does not exist")
    samples = {sample: (description, "") for sample, description in read_sheet_samples(samples_tsv).items()}
    family_table = read_family_members(families) if families else {}
    for family, (description, members) in family_table.items():
        samples.update({sample: (description, family) for sample in members})
    statuses = {sample: status for path in status_tsvs for sample, status in read_status(path, list(samples)).items()}
    rows = [index_row(results_dir, sample, description, statuses.get(sample), out, settings, family)
            for sample, (description, family) in samples.items()]
    counts = Counter(row.status for row in rows)
    family_rows = [
        FamilyRow(family, description, len(members),
                  tuple(sorted(Counter(row.status for row in rows if row.family == family).items())),
                  _href(family_layout(family, results_dir).report, out))
        for family, (description, members) in family_table.items()
    ]
    write_page("index.html", out, {
        "title": settings.title or "RNA-MSM results",
        "rows": rows,
        "counts": sorted(counts.items()),
        "statuses": sorted(counts),
        "families": family_rows,
    }, generated, script="index.js")
