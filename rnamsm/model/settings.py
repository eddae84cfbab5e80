"""Settings of the model stage (``rnamsm features``): the config's ``model`` section as a frozen dataclass.

The defaults and documentation of every key live in ``workflow/schemas/config.schema.yaml``; a test
checks that the defaults here are the same. The workflow hands the section over as ``--config-json``;
the command's own options, when given, override it (:func:`with_options`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rnamsm.errors import RnamsmError
from rnamsm.model.hub import DEFAULT_HUB_ID
from rnamsm.options import check_at_least

#: The ``rnamsm features`` option of each setting.
OPTIONS = {
    "checkpoint": "--checkpoint",
    "device": "--device",
    "precision": "--precision",
    "max_seqs": "--max-seqs",
    "depth_method": "--depth-method",
    "window_overlap": "--window-overlap",
    "hf_eps_parity": "--hf-eps-parity",
    "keep": "--keep",
    "maps_dtype": "--maps-dtype",
}
#: What ``features.npz`` can hold (``keep``); the heads get the maps in memory whatever is kept.
KEEPABLE = ("embedding", "attention_maps", "contacts")
Kept = Literal["embedding", "attention_maps", "contacts"]


@dataclass(frozen=True)
class ModelSettings:
    """The ``model`` section: which weights, where and how they run, how deep MSAs are reduced."""

    checkpoint: str = DEFAULT_HUB_ID
    device: str = "auto"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    max_seqs: int = 512
    depth_method: Literal["auto", "hhfilter", "identity"] = "auto"
    window_overlap: int = 512
    hf_eps_parity: bool = False
    #: The arrays written to ``features.npz`` (the workflow's default leaves the attention maps out).
    keep: tuple[Kept, ...] = ("embedding", "contacts")
    #: Storage type of kept attention maps: float32, or float16 (half the bytes, error in docs/model.md).
    maps_dtype: Literal["float32", "float16"] = "float32"
    #: Samples per cluster job (a Snakemake job group); read by the workflow only, never by a command.
    samples_per_job: int = 8

    def __post_init__(self) -> None:
        _check(dataclasses.asdict(self), lambda name: name)


def _check(values: Mapping[str, Any], label: Callable[[str], str]) -> None:
    """Refuse out-of-range ``values``; messages name each setting as ``label(name)``.

    The upper end of ``window_overlap`` depends on the model (its window) and is checked once the
    checkpoint is loaded; ``max_seqs`` is checked by :func:`rnamsm.model.depth.reduce_depth`.
    """
    if "window_overlap" in values:
        check_at_least(values["window_overlap"], 0, label("window_overlap"))
    if "samples_per_job" in values:
        check_at_least(values["samples_per_job"], 1, label("samples_per_job"))
    if "keep" in values and len(set(values["keep"])) != len(values["keep"]):
        raise RnamsmError(f"{label('keep')}: names an array twice: {', '.join(values['keep'])}")


def with_options(settings: ModelSettings, **options: Any) -> ModelSettings:
    """``settings`` with the command-line ``options`` that were given (``None``: not given) taking precedence.

    An out-of-range option is one :class:`~rnamsm.errors.RnamsmError` naming the option
    (``--window-overlap must be at least 0, got -1``).
    """
    given = {name: value for name, value in options.items() if value is not None}
    _check(given, OPTIONS.__getitem__)
    return dataclasses.replace(settings, **given)
