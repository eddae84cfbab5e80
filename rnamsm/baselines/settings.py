"""Settings of ``rnamsm baselines``: the workflow config's ``baselines`` section."""

from __future__ import annotations

from dataclasses import dataclass, field

from rnamsm.homology.settings import AlifoldSettings
from rnamsm.options import check_at_least


@dataclass(frozen=True)
class BaselineSettings:
    """The ``baselines`` section (defaults and documentation: ``workflow/schemas/config.schema.yaml``)."""

    #: Most MSA rows (the first ones, query included) given to RNAalifold.
    max_rows: int = 500
    #: RNAalifold's scoring (RIBOSUM, covariance and non-compatibility weights, lonely pairs).
    alifold: AlifoldSettings = field(default_factory=AlifoldSettings)

    def __post_init__(self) -> None:
        check_at_least(self.max_rows, 1, "max_rows")  # RNAalifold crashes the process on an empty alignment
