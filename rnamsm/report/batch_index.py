"""The batch index page (``rnamsm index``): one sortable, filterable row per sample."""

from __future__ import annotations

import csv
import io
import os
import re
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rnamsm.errors import RnamsmError
from rnamsm.layout import is_sample_id, sample_layout
from rnamsm.report.html import generation_time, write_page
from rnamsm.report.qc import qc_flags, raised_codes
from rnamsm.report.sample import load_summary
from rnamsm.report.settings import ReportSettings
from rnamsm.textfile import read_text

#: Status words of the status TSV (e.g. ok, failed, skipped).
STATUS_WORD = re.compile(r"[a-z][a-z0-9_-]*")
#: Columns of the sample sheet tried, in order, for the sample id (else the first column).
ID_COLUMNS: tuple[str, ...] = ("sample_id", "sample", "query", "id")


@dataclass(frozen=True)
class IndexRow:
    """One sample in the index; numbers are None when their input is not available."""

    sample: str
    status: str
    reason: str
    report_href: str | None
    length: int | None
    depth: int | None
    neff: float | None
    pairs: int | None
    mean_rsa: float | None
    flags: tuple[str, ...]


def _tsv_rows(path: Path, what: str) -> list[list[str]]:
    """The rows of a tab-separated text file; unreadable files and malformed rows are one RnamsmError."""
    reader = csv.reader(io.StringIO(read_text(path, what), newline=""), delimiter="\t")
    try:
        return list(reader)
    except csv.Error as error:
        raise RnamsmError(f"{path}: line {reader.line_num}: cannot read {what}: {error}") from None


def read_sample_ids(path: Path) -> list[str]:
    """Sample ids from a tab-separated sample sheet with a header row."""
    rows = _tsv_rows(path, "a sample sheet (TSV)")
    if not rows or not rows[0]:
        raise RnamsmError(f"{path}: empty sample sheet (a header row is required)")
    header = [name.strip() for name in rows[0]]
    column = next((header.index(name) for name in ID_COLUMNS if name in header), 0)
    samples: list[str] = []
    for number, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        sample = row[column].strip() if column < len(row) else ""
        if not is_sample_id(sample):
            raise RnamsmError(f"{path}: line {number}: invalid sample id {sample!r}")
        if sample in samples:
            raise RnamsmError(f"{path}: line {number}: duplicate sample id {sample!r}")
        samples.append(sample)
    return samples


def read_status(path: Path, samples: list[str]) -> dict[str, tuple[str, str]]:
    """``sample -> (status, reason)`` from a ``sample<TAB>status<TAB>reason`` TSV (header optional)."""
    statuses: dict[str, tuple[str, str]] = {}
    rows = _tsv_rows(path, "a status file (TSV)")
    for number, row in enumerate(rows, start=1):
        if not row or not "".join(row).strip() or row[0].startswith("#"):
            continue
        if number == 1 and row[0].strip().lower() == "sample":
            continue
        if len(row) < 2 or not row[1].strip():
            raise RnamsmError(f"{path}: line {number}: expected 'sample<TAB>status<TAB>reason'")
        sample = row[0].strip()
        if sample not in samples:
            raise RnamsmError(f"{path}: line {number}: sample {sample!r} is not in the sample sheet")
        status = row[1].strip().lower()
        if not STATUS_WORD.fullmatch(status):
            raise RnamsmError(f"{path}: line {number}: sample {sample!r}: invalid status {row[1]!r}")
        statuses[sample] = (status, row[2].strip() if len(row) > 2 else "")
    return statuses


def index_row(results_dir: Path, sample: str, status: tuple[str, str] | None, out: Path,
              settings: ReportSettings) -> IndexRow:
    """Summarise one sample from its output folder."""
    data = load_summary(sample_layout(sample, results_dir))
    report = data.files.report
    state, reason = status or ("ok", "")
    if not report.is_file() and state == "ok":
        state, reason = "missing", "report.html not found"
    stats, rsa = data.msa_stats, data.rsa
    pairs = data.structure.get("pairs") if data.structure else None
    return IndexRow(
        sample=sample,
        status=state,
        reason=reason,
        report_href=urllib.parse.quote(Path(os.path.relpath(report, out.parent)).as_posix())
        if report.is_file() else None,
        length=data.length,
        depth=int(stats["depth"]) if stats else None,
        neff=float(stats["neff"]) if stats else None,
        pairs=len(pairs) if isinstance(pairs, list) else None,
        mean_rsa=sum(rsa.rsa) / len(rsa.rsa) if rsa and rsa.rsa else None,
        flags=tuple(raised_codes(qc_flags(data, settings))),
    )


def write_index(results_dir: Path, samples_tsv: Path, out: Path, status_tsv: Path | None,
                settings: ReportSettings) -> None:
    """Write the batch index page of ``results_dir`` to ``out``."""
    generated = generation_time()
    if not results_dir.is_dir():
        raise RnamsmError(f"{results_dir}: results folder does not exist")
    samples = read_sample_ids(samples_tsv)
    statuses = read_status(status_tsv, samples) if status_tsv else {}
    rows = [index_row(results_dir, sample, statuses.get(sample), out, settings) for sample in samples]
    counts = Counter(row.status for row in rows)
    write_page("index.html", out, {
        "title": settings.title or "RNA-MSM results",
        "rows": rows,
        "counts": sorted(counts.items()),
        "statuses": sorted(counts),
    }, generated, script="index.js")
