"""Readers for the per-sample output files that the reports show.

Each reader parses one file format of the shared interface (``CONTRIBUTING.md``) and raises
:class:`~rnamsm.errors.RnamsmError` naming the file and the problem when the file is malformed.
Whether a file is present at all is decided by the caller (see :mod:`rnamsm.report.sample`).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnamsm.arrays import read_npy
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
#: Columns of the RSA TSV in their default order.
RSA_COLUMNS: tuple[str, ...] = ("index", "nt", "ASA", "RSA")


@dataclass(frozen=True)
class RsaProfile:
    """Per-nucleotide solvent accessibility read from an RSA TSV."""

    nucleotides: list[str]
    asa: list[float]
    rsa: list[float]
    untrained: bool


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


def read_matrix(path: Path, length: int) -> np.ndarray:
    """Read an (L, L) probability matrix saved with ``numpy.save``."""
    matrix = read_npy(path, "a probability matrix (.npy)")
    if matrix.dtype.kind not in "biuf":
        raise RnamsmError(f"{path}: matrix must hold numbers, found {matrix.dtype}")
    if matrix.shape != (length, length):
        raise RnamsmError(f"{path}: shape {matrix.shape} does not match the query length {length}")
    return matrix.astype(np.float64)  # (L, L)


def read_rsa(path: Path) -> RsaProfile:
    """Read an RSA TSV: ``#`` comment lines, an optional column header, then ``index nt ASA RSA`` rows.

    A header naming the four columns (``index nt ASA RSA`` in any order, with or without a leading
    ``#``) decides which column is which; a comment mentioning "untrained" marks the profile untrained.
    """
    columns = list(RSA_COLUMNS)
    untrained = False
    nucleotides: list[str] = []
    asa: list[float] = []
    rsa: list[float] = []
    for number, line in enumerate(read_text(path, "an RSA table").splitlines(), start=1):
        words = line.lstrip("#").split()
        if sorted(words) == sorted(RSA_COLUMNS):
            columns = words
            continue
        if line.startswith("#"):
            untrained = untrained or "untrained" in line.lower()
            continue
        if not words:
            continue
        fields = dict(zip(columns, words, strict=False))
        try:
            index, asa_value, rsa_value = int(fields["index"]), float(fields["ASA"]), float(fields["RSA"])
        except (KeyError, ValueError) as error:
            raise RnamsmError(f"{path}: line {number}: expected 'index nt ASA RSA' fields") from error
        if not (math.isfinite(asa_value) and math.isfinite(rsa_value)):
            raise RnamsmError(f"{path}: line {number}: ASA and RSA must be finite numbers")
        if index != len(nucleotides) + 1:
            raise RnamsmError(f"{path}: line {number}: index {index}, expected {len(nucleotides) + 1}")
        nucleotides.append(fields["nt"])
        asa.append(asa_value)
        rsa.append(rsa_value)
    return RsaProfile(nucleotides=nucleotides, asa=asa, rsa=rsa, untrained=untrained)


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
