"""Readers for the per-sample output files that the reports show.

Each reader parses one file format of the shared interface (``CONTRIBUTING.md``) and raises
:class:`~rnamsm.errors.RnamsmError` naming the file and the problem when the file is malformed.
Whether a file is present at all is decided by the caller (see :mod:`rnamsm.report.sample`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from rnamsm.errors import RnamsmError
from rnamsm.formats import features as features_file
from rnamsm.formats import msa as msa_format
from rnamsm.formats import query as query_format
from rnamsm.formats.msa import match_columns
from rnamsm.formats.query import Query
from rnamsm.textfile import read_text

#: Provenance fields of ``features.npz`` shown in the provenance block (the large arrays are not read).
FEATURE_SCALARS: tuple[str, ...] = (
    "checkpoint_sha256",
    "msa_depth",
    "msa_sha256",
    "weights_untrained",
    "device",
    "num_layers",
    "num_heads",
    "depth_reduction",
)


def read_query(path: Path) -> Query:
    """Read the one-record query FASTA (``query.fa``), see :func:`rnamsm.formats.query.read`."""
    return query_format.read(path)


def read_alignment_rows(path: Path, max_rows: int) -> list[tuple[str, str]]:
    """The first ``max_rows`` rows of an MSA file as ``(name, row)``, inserts removed (query length)."""
    alignment = msa_format.read(path)
    return [(name, match_columns(row)) for name, row in alignment.records[:max_rows]]


def read_feature_scalars(path: Path) -> dict[str, Any]:
    """The provenance fields of ``features.npz`` shown in the report, its array sizes and the coverage fraction."""
    info = features_file.read_info(path, require=FEATURE_SCALARS)
    scalars: dict[str, Any] = {key: getattr(info.provenance, key) for key in FEATURE_SCALARS}
    scalars["embedding_shape"] = list(info.embedding_shape)
    scalars["attention_maps"] = info.attention_maps_shape[0]
    scalars["attention_coverage"] = info.coverage_fraction
    return scalars


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
