"""The sample list of ``rnamsm run-samples``: one row per sample, its inputs and its output paths (TSV).

A header line names the columns, in any order: ``sample``, ``msa``, ``features``, ``structure_dir`` and
``rsa`` are required, ``query`` (the query FASTA the MSA must start with) and ``log`` (a per-sample log,
appended to) are optional and may be empty. Relative paths are relative to the working directory.
Lines starting with ``#`` and empty lines are skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rnamsm.atomic import atomic_open
from rnamsm.errors import RnamsmError
from rnamsm.textfile import read_text

WHAT = "a sample list (TSV)"
REQUIRED = ("sample", "msa", "features", "structure_dir", "rsa")
OPTIONAL = ("query", "log")
COLUMNS = (*REQUIRED, *OPTIONAL)


@dataclass(frozen=True)
class SampleJob:
    """One sample of a batch: where its MSA (and query) are, where its outputs go."""

    sample: str
    msa: Path
    features: Path
    structure_dir: Path
    rsa: Path
    query: Path | None = None
    log: Path | None = None


def format_jobs(jobs: list[SampleJob]) -> str:
    """The TSV text of ``jobs`` (all columns, empty cells for the optional ones not set)."""
    lines = ["\t".join(COLUMNS)]
    for job in jobs:
        cells = [getattr(job, name) for name in COLUMNS]
        if any("\t" in str(cell) or "\n" in str(cell) for cell in cells if cell is not None):
            raise ValueError(f"sample {job.sample}: a path holds a tab or a newline")
        lines.append("\t".join("" if cell is None else str(cell) for cell in cells))
    return "\n".join(lines) + "\n"


def write(jobs: list[SampleJob], path: str | os.PathLike[str]) -> None:
    """Write the sample list atomically (see :func:`format_jobs`)."""
    text = format_jobs(jobs)
    with atomic_open(path) as handle:
        handle.write(text)


def read(path: str | os.PathLike[str]) -> list[SampleJob]:
    """The samples of a sample list, in file order; a missing column, a missing cell or a repeated sample
    is one :class:`RnamsmError` naming the file and line."""
    rows = [(number, line.split("\t")) for number, line in enumerate(read_text(path, WHAT).splitlines(), start=1)
            if line.strip() and not line.startswith("#")]
    if not rows:
        raise RnamsmError(f"{path}: empty sample list, expected a header line ({', '.join(REQUIRED)}, ...)")
    header = [cell.strip() for cell in rows[0][1]]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown:
        problem = f"missing column(s) {', '.join(missing)}" if missing else f"unknown column(s) {', '.join(unknown)}"
        raise RnamsmError(f"{path}: line {rows[0][0]}: {problem} (columns: {', '.join(COLUMNS)})")
    jobs: list[SampleJob] = []
    seen: set[str] = set()
    for number, cells in rows[1:]:
        if len(cells) != len(header):
            raise RnamsmError(f"{path}: line {number}: {len(cells)} cells, the header has {len(header)}")
        values = dict(zip(header, (cell.strip() for cell in cells)))
        empty = [name for name in REQUIRED if not values[name]]
        if empty:
            raise RnamsmError(f"{path}: line {number}: empty {', '.join(empty)}")
        if values["sample"] in seen:
            raise RnamsmError(f"{path}: line {number}: sample {values['sample']!r} is listed twice")
        seen.add(values["sample"])
        optional = {name: Path(values[name]) if values.get(name) else None for name in OPTIONAL}
        jobs.append(SampleJob(values["sample"], Path(values["msa"]), Path(values["features"]),
                              Path(values["structure_dir"]), Path(values["rsa"]), **optional))
    return jobs
