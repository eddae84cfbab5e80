"""Report settings: the workflow config's ``report`` section, from ``--config-json``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from rnamsm.errors import RnamsmError
from rnamsm.options import check_at_least
from rnamsm.settings import CONFIG_JSON_OPTION, parse_section_json, settings_from_mapping


@dataclass(frozen=True)
class ReportSettings:
    """What the reports show and the QC thresholds they apply (``report`` section of the config schema)."""

    #: Title of the reports and the index; None: ``RNA-MSM report: <sample>`` and ``RNA-MSM results``.
    title: str | None = None
    #: Neff below which a sample is flagged as a shallow MSA.
    min_neff: float = 50.0
    #: Query length (nt) below which a sample is flagged as too short.
    min_length: int = 30
    #: Query length (nt) above which a sample is flagged as windowed.
    max_window: int = 1023
    #: Alignment rows shown in a report.
    alignment_rows: int = 30
    #: Hits listed in a report.
    max_hits: int = 50

    def __post_init__(self) -> None:
        if self.min_neff < 0:
            raise RnamsmError(f"min_neff must be at least 0, got {self.min_neff}")
        for name in ("min_length", "max_window", "alignment_rows", "max_hits"):
            check_at_least(getattr(self, name), 1, name)


def parse_config_json(text: str | None, title: str | None = None) -> tuple[dict[str, Any], ReportSettings]:
    """Parse ``--config-json``: the config's ``report`` section, or the whole workflow config.

    Returns the parsed JSON (shown in the provenance block) and the settings read from its ``report``
    key when that holds an object, else from the top level; ``title`` (from ``--title``) wins over the
    config's.
    """
    config = parse_section_json(text) if text else {}
    section = config["report"] if isinstance(config.get("report"), dict) else config
    settings = settings_from_mapping(ReportSettings, section, f"{CONFIG_JSON_OPTION}: report")
    return config, dataclasses.replace(settings, title=title) if title else settings
