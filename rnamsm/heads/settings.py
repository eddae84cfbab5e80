"""The ``heads`` section of the workflow config as typed settings.

The defaults are the config schema's (``workflow/schemas/config.schema.yaml``, where they are
documented); a test checks that both agree. ``threshold`` ``None`` means the SS head's own recorded
threshold (a ``train-head`` head records the one chosen on its validation set), else 0.516.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from rnamsm.errors import RnamsmError
from rnamsm.options import check_at_least, check_range
from rnamsm.settings import settings_from_json

#: Most RSA heads in one ensemble (the official predictor averages three).
MAX_RSA_HEADS = 3


@dataclass(frozen=True)
class HeadSettings:
    """Head files (``demo``: the workflow's random heads) and how SS probabilities become pairs."""

    ss_head: str = "demo"
    rsa_heads: Literal["demo"] | tuple[str, ...] = "demo"
    rsa_stats: tuple[str, ...] = ()
    threshold: float | None = None
    canonical_only: bool = False
    min_hairpin: int = 0

    def __post_init__(self) -> None:
        if self.threshold is not None:
            check_range(self.threshold, 0, 1, "threshold")
        check_at_least(self.min_hairpin, 0, "min_hairpin")
        if self.rsa_heads != "demo" and not 1 <= len(self.rsa_heads) <= MAX_RSA_HEADS:
            raise RnamsmError(f"rsa_heads: one to {MAX_RSA_HEADS} head files, got {len(self.rsa_heads)}")


def head_settings(
    config_json: str | None,
    threshold: float | None = None,
    canonical_only: bool | None = None,
    min_hairpin: int | None = None,
) -> HeadSettings:
    """The ``heads`` section given as ``--config-json`` (absent: the defaults), overridden by the flags given.

    A flag out of range is one :class:`RnamsmError` naming the flag (``--threshold``, ``--min-hairpin``).
    """
    settings = settings_from_json(HeadSettings, config_json, "heads")
    flags: dict[str, object] = {}
    if threshold is not None:
        flags["threshold"] = check_range(threshold, 0, 1, "--threshold")
    if canonical_only is not None:
        flags["canonical_only"] = canonical_only
    if min_hairpin is not None:
        flags["min_hairpin"] = check_at_least(min_hairpin, 0, "--min-hairpin")
    return replace(settings, **flags)
