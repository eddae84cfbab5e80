"""What the reports read beyond the interface files' records: the alignment preview and Snakemake benchmarks.

The interface files themselves are read by their owner modules in :mod:`rnamsm.formats`. Each reader
here raises :class:`~rnamsm.errors.RnamsmError` naming the file and the problem; whether a file is
present at all is decided by the caller (see :mod:`rnamsm.report.sample`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rnamsm.errors import RnamsmError
from rnamsm.formats import msa as msa_format
from rnamsm.formats.msa import match_columns
from rnamsm.textfile import read_text


def read_alignment_rows(path: Path, max_rows: int) -> list[tuple[str, str]]:
    """The first ``max_rows`` rows of an MSA file as ``(name, row)``, inserts removed (query length)."""
    alignment = msa_format.read(path)
    return [(name, match_columns(row)) for name, row in alignment.records[:max_rows]]


def read_benchmark(path: Path) -> dict[str, str]:
    """Read a Snakemake benchmark TSV (header row, then one row per repeat; the first row is kept)."""
    reader = csv.DictReader(io.StringIO(read_text(path, "a Snakemake benchmark file"), newline=""), delimiter="\t")
    try:
        rows = list(reader)
    except csv.Error as error:
        raise RnamsmError(f"{path}: line {reader.line_num}: not a benchmark TSV: {error}") from None
    if not rows:
        raise RnamsmError(f"{path}: benchmark file has no data row")
    return {key: value for key, value in rows[0].items() if key is not None}
