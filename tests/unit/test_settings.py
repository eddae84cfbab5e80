"""rnamsm.settings: config sections to typed settings, one error line per problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from rnamsm.errors import RnamsmError
from rnamsm.settings import section_json, settings_from_json, settings_from_mapping, settings_to_mapping


@dataclass(frozen=True)
class Inner:
    incE: float = 10.0
    max_rounds: int = 2


@dataclass(frozen=True)
class Outer:
    title: str | None = None
    mode: Literal["alifold", "rnafold"] = "alifold"
    flag: bool = False
    heads: tuple[str, ...] = ()
    cm: Inner = field(default_factory=Inner)

    def __post_init__(self) -> None:
        if self.cm.max_rounds > 5:
            raise RnamsmError("cm.max_rounds must be at most 5")


def test_defaults_nesting_and_round_trip():
    settings = settings_from_mapping(Outer, {"cm": {"incE": 1}, "heads": ["a", "b"]}, "search")
    assert settings == Outer(cm=Inner(incE=1.0), heads=("a", "b"))
    assert isinstance(settings.cm.incE, float)
    mapping = settings_to_mapping(settings)
    assert mapping["heads"] == ["a", "b"]
    assert settings_from_json(Outer, section_json(mapping)) == settings
    assert settings_from_json(Outer, None) == Outer()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cm": {"incE": "x"}}, "search.cm.incE: expected a finite number, got 'x'"),
        ({"cm": {"max_rounds": 1.5}}, "search.cm.max_rounds: expected an integer, got 1.5"),
        ({"cm": {"max_rounds": True}}, "search.cm.max_rounds: expected an integer, got True"),
        ({"flag": "yes"}, "search.flag: expected true or false, got 'yes'"),
        ({"mode": "other"}, "search.mode: must be one of 'alifold', 'rnafold', got 'other'"),
        ({"typo": 1}, "search: unknown key(s) 'typo'"),
        ({"cm": {"incE": float("nan")}}, "search.cm.incE: expected a finite number, got nan"),
        ({"cm": {"max_rounds": 9}}, "search: cm.max_rounds must be at most 5"),
        ({"heads": "a"}, "search.heads: expected a list, got 'a'"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(values, message):
    with pytest.raises(RnamsmError) as error:
        settings_from_mapping(Outer, values, "search")
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_bad_json_is_one_line():
    with pytest.raises(RnamsmError, match=r"--config-json: invalid JSON"):
        settings_from_json(Outer, "{")
    with pytest.raises(RnamsmError, match=r"--config-json: must be a JSON object"):
        settings_from_json(Outer, "[1]")
