"""Report settings from the workflow's ``--config-json`` (its ``report`` section)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from rnamsm.errors import RnamsmError
from rnamsm.report.qc import QcThresholds

#: ``report`` keys this package reads, with their types.
SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "title": (str,),
    "min_neff": (int, float),
    "min_length": (int,),
    "max_window": (int,),
    "alignment_rows": (int,),
    "max_hits": (int,),
}


@dataclass(frozen=True)
class ReportSettings:
    """What the reports show and the QC thresholds they apply."""

    title: str | None = None
    thresholds: QcThresholds = field(default_factory=QcThresholds)
    alignment_rows: int = 30
    max_hits: int = 50


def parse_config_json(text: str | None, title: str | None = None) -> tuple[dict[str, Any], ReportSettings]:
    """Parse ``--config-json``: the whole workflow config or only its ``report`` section.

    Returns the parsed config (shown in the provenance block) and the report settings read from
    its ``report`` key when present, else from the top level; ``title`` (from ``--title``) wins
    over the config's. Unknown keys are ignored; known keys of the wrong type are an error.
    """
    if not text:
        return {}, ReportSettings(title=title)
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise RnamsmError(f"--config-json: not valid JSON: {error}") from error
    if not isinstance(config, dict):
        raise RnamsmError("--config-json: expected a JSON object")
    section = config["report"] if isinstance(config.get("report"), dict) else config
    values: dict[str, Any] = {}
    for key, types in SETTING_TYPES.items():
        if key not in section or section[key] is None:
            continue
        value = section[key]
        if not isinstance(value, types) or isinstance(value, bool):
            raise RnamsmError(f"--config-json: report.{key}: expected {types[0].__name__}, got {value!r}")
        if key != "title" and not (math.isfinite(value) and value >= 0):
            raise RnamsmError(f"--config-json: report.{key}: must be a finite number >= 0, got {value!r}")
        values[key] = value
    thresholds = QcThresholds(
        min_neff=float(values.get("min_neff", QcThresholds.min_neff)),
        min_length=values.get("min_length", QcThresholds.min_length),
        max_window=values.get("max_window", QcThresholds.max_window),
    )
    return config, ReportSettings(
        title=title or values.get("title"),
        thresholds=thresholds,
        alignment_rows=values.get("alignment_rows", ReportSettings.alignment_rows),
        max_hits=values.get("max_hits", ReportSettings.max_hits),
    )
