"""The search's :class:`~rnamsm.formats.msa_stats.MsaStats`: provenance, per-round depth and Neff, hits, timings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from rnamsm.formats.msa_stats import (
    DatabaseStats,
    HitStats,
    MsaSource,
    MsaStats,
    PreparedDatabaseStats,
    RoundStats,
    SearchCacheStats,
    SearchSpace,
)
from rnamsm.formats.query import Query
from rnamsm.homology.database import DatabaseSummary
from rnamsm.homology.result import Round


def _sig(value: float, digits: int = 4) -> float:
    """``value`` rounded to ``digits`` significant digits (stable JSON text)."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(f"{value:.{digits}g}")


def build_stats(
    *,
    query: Query,
    rounds: Sequence[Round],
    final: Round,
    coverage: np.ndarray,
    identities: np.ndarray,
    summary: DatabaseSummary,
    z_residues: int,
    z_mb: float,
    structure: str,
    structure_source: str,
    final_alignment: str,
    final_reason: str,
    hmm_only: bool,
    infernal_version: str | None,
    parameters: dict[str, Any],
    timings: dict[str, float],
    warnings: list[str],
    version: str,
    source: MsaSource | None = None,
    prepared: PreparedDatabaseStats | None = None,
    search_cache: SearchCacheStats | None = None,
) -> MsaStats:
    """The ``msa_stats.json`` record of a finished search or import (values rounded for stable JSON text)."""
    depth = len(final.rows) + 1
    hits = tuple(
        HitStats(
            name=hit.name,
            accession=hit.accession,
            description=hit.description,
            start=hit.start,
            end=hit.end,
            strand=hit.strand,
            evalue=_sig(hit.evalue, 3),
            score=round(hit.score, 2),
            round=hit.round,
            included=hit.included,
        )
        for round_ in rounds
        for hit in round_.hits
    )
    return MsaStats(
        query_id=query.id,
        query_length=len(query),
        query_sequence=query.sequence,
        structure=structure,
        structure_source=structure_source,
        depth=depth,
        neff=round(final.neff, 3),
        neff_approx=final.neff_approx,
        nf=round(final.neff / math.sqrt(len(query)), 3),
        final_round=final.number,
        final_alignment=final_alignment,
        final_reason=final_reason,
        coverage=tuple(round(float(value), 4) for value in coverage),
        identity_to_query=tuple(round(float(value), 4) for value in identities),
        rounds=tuple(
            RoundStats(
                round=r.number,
                method=r.method,
                reported=len(r.hits),
                hits=sum(1 for hit in r.hits if hit.included),
                removed_duplicates=r.counts.duplicates,
                removed_low_coverage=r.counts.low_coverage,
                removed_identity=r.counts.identity,
                removed_depth_cap=r.counts.depth_cap,
                depth=len(r.rows) + 1,
                neff=round(r.neff, 3),
                seconds=round(r.seconds, 3),
            )
            for r in rounds
        ),
        hits=hits,
        databases=tuple(
            DatabaseStats(path=f.path, records=f.records, residues=f.residues, sha256=f.sha256) for f in summary.files
        ),
        search_space=SearchSpace(
            records=summary.records,
            residues=summary.residues,
            windows=summary.windows,
            cmsearch_Z_residues=z_residues,
            nhmmer_Z_Mb=round(z_mb, 6),
        ),
        hmm_only=hmm_only,
        tool_versions={"infernal_cli": infernal_version, **library_versions()},
        timings={step: round(seconds, 3) for step, seconds in sorted(timings.items())},
        warnings=tuple(warnings),
        parameters=parameters,
        rnamsm_version=version,
        source=source,
        prepared_database=prepared,
        search_cache=search_cache,
    )


def library_versions() -> dict[str, str]:
    """Versions of the libraries a search runs in-process: pyhmmer, pyinfernal, ViennaRNA."""
    import pyhmmer
    import pyinfernal
    import RNA

    return {"pyhmmer": pyhmmer.__version__, "pyinfernal": pyinfernal.__version__, "viennarna": RNA.__version__}
