"""Settings of ``rnamsm search``: the workflow config's ``search`` section as a frozen dataclass.

Defaults and documentation live in ``workflow/schemas/config.schema.yaml`` (a test checks that every
default here equals the schema's). A command run on its own takes the same keys from a YAML file
(``--config``) and JSON objects (``--config-json``), applied in turn over the defaults; ``threads`` is
a property of the run, not of the search, and is also accepted there for standalone use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from rnamsm.errors import RnamsmError
from rnamsm.settings import parse_section_json, settings_from_mapping, settings_to_mapping
from rnamsm.textfile import read_text

#: Threads of nhmmer, cmsearch and cmcalibrate when neither ``--threads`` nor a config file sets them.
DEFAULT_THREADS = 2


@dataclass(frozen=True)
class Round1Settings:
    """Round 1, nhmmer of the query: reporting and inclusion E-values, most included hits kept."""

    E: float = 10.0
    incE: float = 1.0e-3
    max_hits: int = 50000


@dataclass(frozen=True)
class CmSettings:
    """Covariance-model rounds: reporting and inclusion E-values, least and most CM rounds, and whether a
    round's CM learns the rows' insertions relative to the query (``keep``) or only their query columns
    (``drop``, as RNAcmap3 builds its CMs)."""

    E: float = 10.0
    incE: float = 10.0
    min_rounds: int = 1
    max_rounds: int = 2
    inserts: Literal["keep", "drop"] = "drop"


@dataclass(frozen=True)
class AlifoldSettings:
    """RNAalifold's scoring (its ``-r``, ``--cfactor``, ``--nfactor`` and ``--noLP`` options)."""

    ribosum: bool = True
    cfactor: float = 1.0
    nfactor: float = 1.0
    no_lonely_pairs: bool = False

    def __post_init__(self) -> None:
        for key in ("cfactor", "nfactor"):
            if not getattr(self, key) >= 0:
                raise RnamsmError(f"alifold.{key} must be a number >= 0")


@dataclass(frozen=True)
class FilterSettings:
    """Row filters: least query coverage, near-duplicate identity (``None``: off), depth cap."""

    min_coverage: float = 0.5
    max_identity: float | None = None
    max_rows: int = 50000


@dataclass(frozen=True)
class NeffSettings:
    """Neff: cluster identity, the Neff that stops the CM rounds, most rows used."""

    identity: float = 0.8
    stop: float = 50.0
    max_rows: int = 20000


@dataclass(frozen=True)
class DatabaseSettings:
    """How databases are read: windows of long records, the shuffle seed, volumes (``None``: whole), and the
    shard size of a prepared database (``rnamsm prepare-db``)."""

    split_above: int = 1000000
    window: int = 100000
    min_overlap: int = 1000
    shuffle_seed: int = 0
    volume_nt: int | None = None
    shard_nt: int = 100000000


@dataclass(frozen=True)
class SearchSettings:
    """The ``search`` section (see the schema for what each key does)."""

    round1: Round1Settings = field(default_factory=Round1Settings)
    ss_first: str = "rnafold"
    ss_next: Literal["alifold", "rnafold"] = "alifold"
    alifold: AlifoldSettings = field(default_factory=AlifoldSettings)
    calibrate_L: float | None = 0.02
    calibrate_cache: str | None = None
    cache: str | None = None
    cm: CmSettings = field(default_factory=CmSettings)
    align: Literal["auto", "hits", "cmalign"] = "auto"
    placement: Literal["cmalign", "hmmalign"] = "cmalign"
    filter: FilterSettings = field(default_factory=FilterSettings)
    neff: NeffSettings = field(default_factory=NeffSettings)
    db: DatabaseSettings = field(default_factory=DatabaseSettings)
    hmm_only_above: int = 450
    shards: int | Literal["auto"] = "auto"
    #: Samples per round job of sharded searches; read by the workflow only, never by a command.
    samples_per_job: int = 8

    def __post_init__(self) -> None:
        positive = {
            "round1.E": self.round1.E, "round1.incE": self.round1.incE, "round1.max_hits": self.round1.max_hits,
            "cm.E": self.cm.E, "cm.incE": self.cm.incE, "filter.max_rows": self.filter.max_rows,
            "neff.max_rows": self.neff.max_rows, "db.split_above": self.db.split_above,
            "db.window": self.db.window, "db.min_overlap": self.db.min_overlap, "db.volume_nt": self.db.volume_nt,
            "db.shard_nt": self.db.shard_nt,
            "hmm_only_above": self.hmm_only_above,
        }
        for key, value in positive.items():
            if value is not None and not value > 0:
                raise RnamsmError(f"{key} must be a positive {'integer' if isinstance(value, int) else 'number'}")
        if self.cm.max_rounds < 0:
            raise RnamsmError("cm.max_rounds must be an integer >= 0")
        if self.cm.min_rounds < 0:
            raise RnamsmError("cm.min_rounds must be an integer >= 0")
        if self.calibrate_L is not None and not 0.01 <= self.calibrate_L <= 160:
            raise RnamsmError("calibrate_L must be between 0.01 and 160 (Mb), or null")
        if self.calibrate_cache == "":
            raise RnamsmError("calibrate_cache must be a folder path or null")
        if self.cache == "":
            raise RnamsmError("cache must be a folder path or null")
        if not self.ss_first:
            raise RnamsmError("ss_first must be 'rnafold', 'alifold' or a dot-bracket file path")
        if not 0 <= self.filter.min_coverage <= 1:
            raise RnamsmError("filter.min_coverage must be between 0 and 1")
        if self.filter.max_identity is not None and not 0 < self.filter.max_identity <= 1:
            raise RnamsmError("filter.max_identity must be in (0, 1] or null")
        if not 0 < self.neff.identity <= 1:
            raise RnamsmError("neff.identity must be in (0, 1]")
        if self.neff.stop < 0:
            raise RnamsmError("neff.stop must be a number >= 0")
        if self.shards != "auto" and not self.shards >= 1:
            raise RnamsmError("shards must be 'auto' or a positive integer")
        if isinstance(self.samples_per_job, bool) or not self.samples_per_job >= 1:
            raise RnamsmError("samples_per_job must be a positive integer")
        if self.db.window > self.db.split_above:
            raise RnamsmError("db.window must not exceed db.split_above")


def load_yaml_overrides(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The mapping of a YAML config file (``--config``); an empty file means no overrides."""
    path = Path(path)
    try:
        data = yaml.safe_load(read_text(path, "a YAML config file"))
    except yaml.YAMLError as error:
        raise RnamsmError(f"{path}: invalid YAML ({str(error).splitlines()[0]})") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RnamsmError(f"{path}: config must be a mapping of keys to values")
    return data


def _merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` applied key by key, nested mappings merged."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(merged.get(key), Mapping) and isinstance(value, Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_search_options(*overrides: tuple[str, Mapping[str, Any]]) -> tuple[SearchSettings, int | None]:
    """The settings and thread count of ``(source, mapping)`` overrides applied in turn over the defaults.

    Each step is checked, so a bad key or value is one error naming its source (``c.yaml: unknown
    key(s) 'evalue'``). The thread count is ``None`` unless an override sets ``threads``.
    """
    settings, threads = SearchSettings(), None
    for where, override in overrides:
        if not isinstance(override, Mapping):
            raise RnamsmError(f"{where}: expected a mapping, got {override!r}")
        values = dict(override)
        if "threads" in values:
            threads = values.pop("threads")
            if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
                raise RnamsmError(f"{where}: threads must be a positive integer")
        settings = settings_from_mapping(SearchSettings, _merged(settings_to_mapping(settings), values), where)
    return settings, threads


def search_options(
    config_file: str | os.PathLike[str] | None = None, config_json: list[str] | None = None,
) -> tuple[SearchSettings, int | None]:
    """Settings from an optional YAML file and ``--config-json`` strings (in that order), see above."""
    overrides: list[tuple[str, Mapping[str, Any]]] = []
    if config_file is not None:
        overrides.append((str(config_file), load_yaml_overrides(config_file)))
    overrides += [("--config-json", parse_section_json(text)) for text in config_json or []]
    return resolve_search_options(*overrides)
