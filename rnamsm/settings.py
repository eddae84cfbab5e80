"""Stage settings: frozen dataclasses built from one section of the workflow config.

Every stage has one settings dataclass (``SearchSettings``, ``ModelSettings``, ...). The workflow's JSON
schema (``workflow/schemas/config.schema.yaml``) is where every default and its documentation live; a
dataclass restates the defaults only so that a command run on its own behaves like the workflow, and a
test checks that both agree for every leaf. A rule hands its section to its command the same way for
every stage: ``--config-json`` with the section as canonical JSON (:func:`section_json`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from rnamsm.errors import RnamsmError

T = TypeVar("T")

#: Option name through which every command takes its config section.
CONFIG_JSON_OPTION = "--config-json"


def section_json(section: Mapping[str, Any]) -> str:
    """A config section as canonical JSON (sorted keys): what a rule passes to ``--config-json``."""
    return json.dumps(section, sort_keys=True)


def parse_section_json(text: str, where: str = CONFIG_JSON_OPTION) -> dict[str, Any]:
    """Parse the JSON object given to ``--config-json``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RnamsmError(f"{where}: invalid JSON ({error.msg} at position {error.pos})") from error
    if not isinstance(data, dict):
        raise RnamsmError(f"{where}: must be a JSON object")
    return data


def settings_from_json(cls: type[T], text: str | None, where: str = CONFIG_JSON_OPTION) -> T:
    """``cls`` from a ``--config-json`` string (``None`` or empty: all defaults)."""
    return settings_from_mapping(cls, parse_section_json(text, where) if text else {}, where)


def settings_from_mapping(cls: type[T], values: Mapping[str, Any], where: str) -> T:
    """Build the settings dataclass ``cls`` from a config section; missing keys take their defaults.

    An unknown key, a value of the wrong type or one that the dataclass's own checks refuse is one
    :class:`RnamsmError` naming ``where`` and the key (``search.cm.incE: expected a number, got 'x'``).
    """
    if not isinstance(values, Mapping):
        raise RnamsmError(f"{where}: expected a mapping, got {values!r}")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields))
        raise RnamsmError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} (known: {known})")
    hints = typing.get_type_hints(cls)
    arguments = {name: _coerce(hints[name], value, f"{where}.{name}") for name, value in values.items()}
    try:
        return cls(**arguments)
    except RnamsmError as error:
        raise RnamsmError(f"{where}: {error}") from None


def settings_to_mapping(settings: Any) -> dict[str, Any]:
    """The settings as a plain mapping (nested dataclasses as dicts, tuples as lists), e.g. for provenance."""
    return json.loads(json.dumps(dataclasses.asdict(settings)))


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """``value`` checked against the type ``hint`` (JSON lists become tuples, mappings nested settings)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        problems = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, where)
            except RnamsmError as error:
                problems.append(str(error))
        raise RnamsmError(problems[0] if len(problems) == 1 else f"{where}: {value!r} is not allowed")
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        if value in choices and type(value) is not bool:
            return value
        raise RnamsmError(f"{where}: must be one of {', '.join(map(repr, choices))}, got {value!r}")
    if origin is tuple:
        item_type = typing.get_args(hint)[0]
        if not isinstance(value, (list, tuple)):
            raise RnamsmError(f"{where}: expected a list, got {value!r}")
        return tuple(_coerce(item_type, item, f"{where}[{index}]") for index, item in enumerate(value))
    if dataclasses.is_dataclass(hint):
        return settings_from_mapping(hint, value, where)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise RnamsmError(f"{where}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise RnamsmError(f"{where}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise RnamsmError(f"{where}: expected a finite number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise RnamsmError(f"{where}: expected a string, got {value!r}")
    raise TypeError(f"settings field {where}: unsupported type {hint!r}")
