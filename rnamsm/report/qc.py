"""QC flags of a sample, each with the threshold that raised it."""

from __future__ import annotations

from dataclasses import dataclass

from rnamsm.report.sample import SampleData
from rnamsm.report.settings import ReportSettings


@dataclass(frozen=True)
class QcFlag:
    """One QC check: ``raised`` is None when its input is not available."""

    code: str
    label: str
    raised: bool | None
    detail: str


def qc_flags(data: SampleData, settings: ReportSettings) -> list[QcFlag]:
    """Evaluate every QC check of a sample, in a fixed order, with the thresholds of the report settings."""
    stats, length = data.msa_stats, data.length
    flags: list[QcFlag] = []
    if stats is None:
        flags.append(QcFlag("no_hits", "No hits", None, "MSA statistics not available"))
        flags.append(QcFlag("shallow_msa", "Shallow MSA", None, "MSA statistics not available"))
    else:
        depth, neff = stats.depth, stats.neff
        flags.append(QcFlag("no_hits", "No hits", depth <= 1, f"depth {depth} (query only when ≤ 1)"))
        flags.append(QcFlag(
            "shallow_msa", "Shallow MSA", neff < settings.min_neff,
            f"Neff {neff:.1f} {'<' if neff < settings.min_neff else '≥'} {settings.min_neff:g}",
        ))
    if length is None:
        flags.append(QcFlag("short_query", "Query too short", None, "query not available"))
        flags.append(QcFlag("length_windowed", "Length windowed", None, "query not available"))
    else:
        short = length < settings.min_length
        windowed = length > settings.max_window
        flags.append(QcFlag(
            "short_query", "Query too short", short,
            f"L = {length} {'<' if short else '≥'} {settings.min_length} nt",
        ))
        coverage = data.features.coverage_fraction if data.features is not None else None
        window_detail = f"L = {length} {'>' if windowed else '≤'} {settings.max_window} nt"
        if windowed and coverage is not None:
            window_detail += f"; {coverage:.1%} of pairs share a window"
        flags.append(QcFlag("length_windowed", "Length windowed", windowed, window_detail))
    if data.weights_untrained:
        flags.append(QcFlag("weights_untrained", "Untrained weights", True,
                            "a stage ran with untrained (demo) weights: predictions are meaningless"))
    elif data.features is None and data.structure is None and data.rsa is None:
        flags.append(QcFlag("weights_untrained", "Untrained weights", None, "no model output available"))
    else:
        flags.append(QcFlag("weights_untrained", "Untrained weights", False, "trained weights"))
    return flags


def raised_codes(flags: list[QcFlag]) -> list[str]:
    """Codes of the flags that are raised."""
    return [flag.code for flag in flags if flag.raised]
