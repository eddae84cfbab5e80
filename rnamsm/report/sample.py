"""Everything the reports know about one sample, read from its output folder.

Any stage may have failed or been disabled, so every input is optional: a missing or unreadable
file leaves its field ``None`` and records a one-line note in :attr:`SampleData.notes`, which the
report shows in place of the section.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from rnamsm.errors import RnamsmError
from rnamsm.formats import baselines as baselines_json
from rnamsm.formats import features as features_file
from rnamsm.formats import msa_stats as msa_stats_json
from rnamsm.formats import query as query_format
from rnamsm.formats import rsa_table, ss_summary
from rnamsm.formats.baselines import Baselines
from rnamsm.formats.features import FeaturesInfo
from rnamsm.formats.msa_stats import MsaStats
from rnamsm.formats.query import Query
from rnamsm.formats.rsa_table import RsaChain
from rnamsm.formats.ss_summary import SsSummary
from rnamsm.formats.structure import read_prob_npy
from rnamsm.layout import SampleLayout, benchmark_file
from rnamsm.report import readers

T = TypeVar("T")

#: Provenance fields of ``features.npz`` that the report shows (a file without one is not shown).
FEATURE_PROVENANCE: tuple[str, ...] = ("checkpoint_sha256", "msa_depth", "msa_sha256", "weights_untrained", "device",
                                       "num_layers", "num_heads", "depth_reduction")


@dataclass
class SampleData:
    """The parsed inputs of one sample; ``None`` where a file is missing or unreadable."""

    files: SampleLayout
    query: Query | None = None
    msa_stats: MsaStats | None = None
    features: FeaturesInfo | None = None
    structure: SsSummary | None = None
    baselines: Baselines | None = None
    rsa: RsaChain | None = None
    alignment: list[tuple[str, str]] | None = None
    alignment_file: Path | None = None
    structure_prob: np.ndarray | None = None  # (L, L)
    rnafold_bpp: np.ndarray | None = None  # (L, L)
    benchmarks: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def sample(self) -> str:
        return self.files.sample

    @property
    def sequence(self) -> str | None:
        """The query sequence from the first input that carries it."""
        if self.query is not None:
            return self.query.sequence
        if self.structure is not None:
            return self.structure.sequence
        return None if self.baselines is None else self.baselines.sequence

    @property
    def length(self) -> int | None:
        """Query length L."""
        if self.sequence is not None:
            return len(self.sequence)
        return None if self.msa_stats is None else self.msa_stats.query_length

    @property
    def weights_untrained(self) -> bool:
        """True when any stage reports untrained (demo) weights."""
        return bool(
            (self.features is not None and self.features.provenance.weights_untrained)
            or (self.structure is not None and self.structure.weights_untrained)
            or (self.rsa is not None and self.rsa.untrained)
        )


def _read_rsa(path: Path) -> RsaChain:
    """The RSA table, which the report shows with its ASA column."""
    table = rsa_table.read(path)
    if table.asa is None:
        raise RnamsmError(f"{path}: no ASA column")
    return table


def _load(data: SampleData, key: str, path: Path, reader: Callable[[Path], T]) -> T | None:
    """Read ``path`` with ``reader``; on a missing or bad file note why under ``key`` and return None."""
    relative = path.relative_to(data.files.directory).as_posix()
    if not path.is_file():
        data.notes[key] = f"not available: {relative} is missing"
        return None
    try:
        return reader(path)
    except (RnamsmError, OSError, ValueError) as error:
        print(f"rnamsm report: warning: {error}", file=sys.stderr)
        data.notes[key] = f"not available: {relative} could not be read ({error})"
        return None


def load_summary(files: SampleLayout) -> SampleData:
    """Read the small inputs of a sample (query, JSON, RSA, feature scalars): enough for the index."""
    data = SampleData(files=files)
    data.query = _load(data, "query", files.query, query_format.read)
    data.msa_stats = _load(data, "msa_stats", files.msa.stats, msa_stats_json.read)
    data.features = _load(data, "features", files.features,
                          lambda path: features_file.read_info(path, require=FEATURE_PROVENANCE))
    data.structure = _load(data, "structure", files.structure.summary, ss_summary.read)
    data.baselines = _load(data, "baselines", files.baselines.summary, baselines_json.read)
    data.rsa = _load(data, "rsa", files.rsa, _read_rsa)
    return data


def load_sample(directory: Path, benchmarks_dir: Path | None, alignment_rows: int) -> SampleData:
    """Read every input of a sample for its report.

    ``benchmarks_dir`` holds Snakemake benchmark TSVs as ``<rule>/<sample>.tsv``; ``alignment_rows``
    is the number of alignment rows (query first) kept for the preview.
    """
    if not directory.is_dir():
        raise RnamsmError(f"{directory}: sample folder does not exist")
    files = SampleLayout(directory=directory, sample=directory.name)
    data = load_summary(files)
    alignment_file = next((path for path in files.alignments if path.is_file()), files.alignments[0])
    data.alignment = _load(
        data, "alignment", alignment_file, lambda path: readers.read_alignment_rows(path, alignment_rows)
    )
    data.alignment_file = alignment_file if data.alignment is not None else None
    length = data.length
    if length is not None:
        data.structure_prob = _load(
            data, "structure_prob", files.structure.prob, lambda path: read_prob_npy(path, length)
        )
        data.rnafold_bpp = _load(
            data, "rnafold_bpp", files.baselines.rnafold_bpp, lambda path: read_prob_npy(path, length)
        )
    if benchmarks_dir is not None and benchmarks_dir.is_dir():
        for path in sorted(benchmarks_dir.glob(benchmark_file("*", files.sample, Path()).as_posix())):
            try:
                data.benchmarks[path.parent.name] = readers.read_benchmark(path)
            except (RnamsmError, OSError, ValueError) as error:
                print(f"rnamsm report: warning: {error}", file=sys.stderr)
    return data
