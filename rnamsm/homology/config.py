"""Search parameters: defaults, merging user overrides, validation.

The keys are those of the homology spec (``search``/``msa`` sections of the workflow config). A user
config may set any subset; unknown keys are errors so that a typo never silently keeps a default.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from rnamsm.errors import RnamsmError
from rnamsm.textfile import read_text

#: Default parameters of ``rnamsm search``.
DEFAULTS: dict[str, Any] = {
    "threads": 2,
    "round1": {"E": 10.0, "incE": 1.0e-3, "max_hits": 50000},
    "ss_first": "rnafold",
    "ss_next": "alifold",
    "calibrate_L": 0.02,
    "calibrate_cache": None,
    "cm": {"E": 10.0, "incE": 10.0, "max_rounds": 2},
    "align": "hits",
    "filter": {"min_coverage": 0.5, "max_identity": None, "max_rows": 50000},
    "neff": {"identity": 0.8, "stop": 50.0, "max_rows": 20000},
    "db": {
        "split_above": 1000000,
        "window": 100000,
        "min_overlap": 1000,
        "shuffle_seed": 0,
        "volume_nt": None,
    },
    "hmm_only_above": 450,
}

_NUMBER = (int, float)


def _merge(base: dict[str, Any], override: Mapping[str, Any], where: str) -> None:
    for key, value in override.items():
        if key not in base:
            known = ", ".join(sorted(base))
            raise RnamsmError(f"{where}: unknown key {key!r} (known: {known})")
        if isinstance(base[key], dict):
            if not isinstance(value, Mapping):
                raise RnamsmError(f"{where}: key {key!r} must be a mapping")
            _merge(base[key], value, f"{where}.{key}")
        else:
            base[key] = value


def _check(params: dict[str, Any], where: str) -> None:
    def positive(value: Any, key: str, allow_none: bool = False, integer: bool = False) -> None:
        if value is None and allow_none:
            return
        kind = int if integer else _NUMBER
        if isinstance(value, bool) or not isinstance(value, kind) or not value > 0 or math.isinf(value):
            raise RnamsmError(f"{where}: {key} must be a positive {'integer' if integer else 'number'}")

    positive(params["threads"], "threads", integer=True)
    positive(params["round1"]["E"], "round1.E")
    positive(params["round1"]["incE"], "round1.incE")
    positive(params["round1"]["max_hits"], "round1.max_hits", integer=True)
    positive(params["cm"]["E"], "cm.E")
    positive(params["cm"]["incE"], "cm.incE")
    if not isinstance(params["cm"]["max_rounds"], int) or params["cm"]["max_rounds"] < 0:
        raise RnamsmError(f"{where}: cm.max_rounds must be an integer >= 0")
    positive(params["calibrate_L"], "calibrate_L", allow_none=True)
    if params["calibrate_L"] is not None and not 0.01 <= params["calibrate_L"] <= 160:
        raise RnamsmError(f"{where}: calibrate_L must be between 0.01 and 160 (Mb), or null")
    cache = params["calibrate_cache"]
    if cache is not None and (not isinstance(cache, str) or not cache):
        raise RnamsmError(f"{where}: calibrate_cache must be a folder path or null")
    if params["ss_next"] not in ("alifold", "rnafold"):
        raise RnamsmError(f"{where}: ss_next must be 'alifold' or 'rnafold'")
    if not isinstance(params["ss_first"], str) or not params["ss_first"]:
        raise RnamsmError(f"{where}: ss_first must be 'rnafold', 'alifold' or a dot-bracket file path")
    if params["align"] != "hits":
        raise RnamsmError(f"{where}: align must be 'hits' (cmalign re-alignment is not implemented)")
    flt = params["filter"]
    if not isinstance(flt["min_coverage"], _NUMBER) or not 0 <= flt["min_coverage"] <= 1:
        raise RnamsmError(f"{where}: filter.min_coverage must be between 0 and 1")
    if flt["max_identity"] is not None and (
        not isinstance(flt["max_identity"], _NUMBER) or not 0 < flt["max_identity"] <= 1
    ):
        raise RnamsmError(f"{where}: filter.max_identity must be in (0, 1] or null")
    positive(flt["max_rows"], "filter.max_rows", integer=True)
    if not isinstance(params["neff"]["identity"], _NUMBER) or not 0 < params["neff"]["identity"] <= 1:
        raise RnamsmError(f"{where}: neff.identity must be in (0, 1]")
    if not isinstance(params["neff"]["stop"], _NUMBER) or not params["neff"]["stop"] >= 0:
        raise RnamsmError(f"{where}: neff.stop must be a number >= 0")
    positive(params["neff"]["max_rows"], "neff.max_rows", integer=True)
    db = params["db"]
    for key in ("split_above", "window", "min_overlap"):
        positive(db[key], f"db.{key}", integer=True)
    if db["window"] > db["split_above"]:
        raise RnamsmError(f"{where}: db.window must not exceed db.split_above")
    if not isinstance(db["shuffle_seed"], int):
        raise RnamsmError(f"{where}: db.shuffle_seed must be an integer")
    positive(db["volume_nt"], "db.volume_nt", allow_none=True, integer=True)
    positive(params["hmm_only_above"], "hmm_only_above", integer=True)


def load_overrides(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML config file of overrides (a mapping; an empty file means no overrides)."""
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


def parse_json_overrides(text: str) -> dict[str, Any]:
    """Parse a ``--config-json`` string of overrides (a JSON object)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RnamsmError(f"--config-json: invalid JSON ({error.msg} at position {error.pos})") from error
    if not isinstance(data, dict):
        raise RnamsmError("--config-json: must be a JSON object")
    return data


def resolve(*overrides: tuple[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Return the defaults updated by each ``(source_name, mapping)`` in turn, validated."""
    params = copy.deepcopy(DEFAULTS)
    for where, override in overrides:
        _merge(params, override, where)
    _check(params, overrides[-1][0] if overrides else "config")
    return params
