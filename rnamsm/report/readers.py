"""Readers for the per-sample output files that the reports show.

Each reader parses one file format of the shared interface (``CONTRIBUTING.md``) and raises
:class:`~rnamsm.errors.RnamsmError` naming the file and the problem when the file is malformed.
Whether a file is present at all is decided by the caller (see :mod:`rnamsm.report.sample`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnamsm.arrays import read_npy, read_npz
from rnamsm.errors import RnamsmError
from rnamsm.textfile import read_text

#: Scalar fields of ``features.npz`` shown in the provenance block (the large arrays are not read).
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


@dataclass(frozen=True)
class Query:
    """The validated query record: id, description (rest of the header line) and sequence."""

    id: str
    description: str
    sequence: str


def read_query(path: Path) -> Query:
    """Read the one-record query FASTA (``query.fa``)."""
    lines = read_text(path, "a query FASTA").splitlines()
    headers = [number for number, line in enumerate(lines) if line.startswith(">")]
    if len(headers) != 1 or headers[0] != 0:
        raise RnamsmError(f"{path}: expected exactly one FASTA record starting on line 1")
    name, _, description = lines[0][1:].strip().partition(" ")
    sequence = "".join(line.strip() for line in lines[1:])
    if not name or not sequence:
        raise RnamsmError(f"{path}: record {name!r}: empty id or sequence")
    return Query(id=name, description=description.strip(), sequence=sequence.upper())


def read_alignment_rows(path: Path, max_rows: int) -> list[tuple[str, str]]:
    """Read the first ``max_rows`` rows of an A3M/A2M alignment as ``(name, aligned row)``.

    Insertions (lower-case letters and ``.``) are dropped, so every row has the query's length.
    """
    rows: list[tuple[str, str]] = []
    name: str | None = None
    chunks: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith(">"):
                if name is not None:
                    rows.append((name, "".join(chunks)))
                    if len(rows) == max_rows:
                        break
                name, chunks = line[1:].strip(), []
            elif name is not None:
                chunks.append("".join(c for c in line.strip() if not (c.islower() or c == ".")))
        else:
            if name is not None and len(rows) < max_rows:
                rows.append((name, "".join(chunks)))
    if rows and any(len(row) != len(rows[0][1]) for _, row in rows):
        bad = next(n for n, row in rows if len(row) != len(rows[0][1]))
        raise RnamsmError(f"{path}: row {bad!r}: match columns differ from the query's {len(rows[0][1])}")
    return rows


def read_feature_scalars(path: Path) -> dict[str, Any]:
    """Read the scalar provenance fields of ``features.npz`` plus the attention-coverage fraction."""
    npz = read_npz(path, "a features.npz file",
                   (*FEATURE_SCALARS, "embedding", "attention_maps", "attention_coverage"))
    missing = [key for key in (*FEATURE_SCALARS, "embedding", "attention_maps") if key not in npz]
    if missing:
        raise RnamsmError(f"{path}: missing field(s) {', '.join(missing)}")
    scalars: dict[str, Any] = {}
    for key in FEATURE_SCALARS:
        if npz[key].size != 1 or npz[key].dtype.kind not in "biufU":
            raise RnamsmError(f"{path}: {key} must be one number or string, found {npz[key].dtype} "
                              f"of shape {npz[key].shape}")
        scalars[key] = npz[key].item()
    if npz["embedding"].ndim != 2 or npz["attention_maps"].ndim != 3:
        raise RnamsmError(f"{path}: embedding {npz['embedding'].shape} or attention_maps "
                          f"{npz['attention_maps'].shape} has the wrong number of dimensions")
    scalars["embedding_shape"] = list(npz["embedding"].shape)
    scalars["attention_maps"] = int(npz["attention_maps"].shape[0])
    coverage = npz.get("attention_coverage")
    scalars["attention_coverage"] = None if coverage is None or not coverage.size else float(np.mean(coverage))
    return scalars


def read_matrix(path: Path, length: int) -> np.ndarray:
    """Read an (L, L) probability matrix saved with ``numpy.save``."""
    matrix = read_npy(path, "a probability matrix (.npy)")
    if matrix.dtype.kind not in "biuf":
        raise RnamsmError(f"{path}: matrix must hold numbers, found {matrix.dtype}")
    if matrix.shape != (length, length):
        raise RnamsmError(f"{path}: shape {matrix.shape} does not match the query length {length}")
    return matrix.astype(np.float64)  # (L, L)


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
