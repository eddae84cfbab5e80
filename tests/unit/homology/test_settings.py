"""SearchSettings: the schema's search section, YAML and JSON overrides, one error line per bad value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnamsm.errors import RnamsmError
from rnamsm.homology.settings import (
    CmSettings,
    FilterSettings,
    SearchSettings,
    resolve_search_options,
    search_options,
)
from rnamsm.settings import settings_from_json, settings_to_mapping
from tests.support.schema import assert_defaults_match


def test_defaults_are_the_schemas() -> None:
    assert_defaults_match(SearchSettings, "search")


def test_config_defaults_overrides_and_errors(tmp_path: Path) -> None:
    settings, threads = search_options()
    assert settings == SearchSettings() and threads is None
    assert settings.neff.stop == 50 and settings.filter.min_coverage == 0.5
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("cm:\n  max_rounds: 1\ncalibrate_L: 0.1\nthreads: 3\n")
    settings, threads = search_options(yaml_file, [json.dumps({"filter": {"max_identity": 0.99}})])
    assert settings.cm == CmSettings(E=10.0, incE=10.0, max_rounds=1) and threads == 3
    assert settings.calibrate_L == 0.1 and settings.filter == FilterSettings(max_identity=0.99)
    with pytest.raises(RnamsmError, match=r"c.yaml: unknown key\(s\) 'evalue'"):
        yaml_file.write_text("evalue: 1\n")
        search_options(yaml_file)
    with pytest.raises(RnamsmError, match=r"calibrate_L must be between 0.01 and 160"):
        resolve_search_options(("--config-json", {"calibrate_L": 0.001}))
    with pytest.raises(RnamsmError, match=r"--config-json: invalid JSON"):
        search_options(config_json=["{bad"])


def test_overrides_apply_in_order_and_nested_keys_merge() -> None:
    settings, _ = resolve_search_options(("a", {"cm": {"E": 1, "incE": 0.1}}), ("b", {"cm": {"E": 2}}))
    assert settings.cm == CmSettings(E=2.0, incE=0.1, max_rounds=2) and isinstance(settings.cm.E, float)


def test_the_workflow_section_round_trips() -> None:
    """What a rule passes (the section as JSON) gives the same settings, and the mapping is JSON-ready."""
    settings, _ = resolve_search_options(("config", {"cm": {"max_rounds": 1}, "calibrate_cache": "cache"}))
    assert settings_from_json(SearchSettings, json.dumps(settings_to_mapping(settings))) == settings


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"round1": {"E": 0}}, "round1.E must be a positive number"),
        ({"round1": {"max_hits": 0}}, "round1.max_hits must be a positive integer"),
        ({"cm": {"max_rounds": -1}}, "cm.max_rounds must be an integer >= 0"),
        ({"cm": {"incE": "x"}}, "cm.incE: expected a finite number, got 'x'"),
        ({"ss_next": "other"}, "ss_next: must be one of 'alifold', 'rnafold', got 'other'"),
        ({"ss_first": ""}, "ss_first must be 'rnafold', 'alifold' or a dot-bracket file path"),
        ({"align": "realign"}, "align: must be one of 'auto', 'hits', 'cmalign'"),
        ({"cm": {"min_rounds": -1}}, "cm.min_rounds must be an integer >= 0"),
        ({"alifold": {"cfactor": -1}}, "alifold.cfactor must be a number >= 0"),
        ({"alifold": {"ribosum": "yes"}}, "alifold.ribosum: expected true or false"),
        ({"calibrate_cache": ""}, "calibrate_cache must be a folder path or null"),
        ({"filter": {"min_coverage": 1.5}}, "filter.min_coverage must be between 0 and 1"),
        ({"filter": {"max_identity": 0}}, "filter.max_identity must be in (0, 1] or null"),
        ({"neff": {"identity": 0}}, "neff.identity must be in (0, 1]"),
        ({"neff": {"stop": -1}}, "neff.stop must be a number >= 0"),
        ({"db": {"window": 2000000}}, "db.window must not exceed db.split_above"),
        ({"db": {"volume_nt": 0}}, "db.volume_nt must be a positive integer"),
        ({"db": {"shuffle_seed": 1.5}}, "db.shuffle_seed: expected an integer, got 1.5"),
        ({"hmm_only_above": 0}, "hmm_only_above must be a positive integer"),
        ({"threads": 0}, "threads must be a positive integer"),
        ({"cm": 5}, "cm: expected a mapping, got 5"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(values: dict, message: str) -> None:
    with pytest.raises(RnamsmError) as error:
        resolve_search_options(("config.yaml", values))
    assert str(error.value).startswith("config.yaml") and message in str(error.value), str(error.value)
    assert "\n" not in str(error.value)
