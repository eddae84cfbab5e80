"""The workflow config schema as data: its defaults, for the tests that compare them with the settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

CONFIG_SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def schema_section(section: str) -> dict[str, Any]:
    """The schema of one top-level config section."""
    schema = yaml.safe_load(CONFIG_SCHEMA.read_text())
    return schema["properties"][section]


def schema_leaf_defaults(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every leaf default of an object schema, keyed by dotted path (``cm.incE``)."""
    leaves: dict[str, Any] = {}
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        if child.get("type") == "object" and "properties" in child:
            leaves.update(schema_leaf_defaults(child, f"{path}."))
        else:
            assert "default" in child, f"schema key {path} has no default"
            leaves[path] = child["default"]
    return leaves


def settings_leaf_defaults(cls: type, prefix: str = "") -> dict[str, Any]:
    """Every leaf default of a settings dataclass, keyed by dotted path, as JSON values (tuples as lists)."""
    leaves: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        path = f"{prefix}{field.name}"
        if field.default is not dataclasses.MISSING:
            value = field.default
        else:
            value = field.default_factory()
        if dataclasses.is_dataclass(value):
            leaves.update(settings_leaf_defaults(type(value), f"{path}."))
        else:
            leaves[path] = list(value) if isinstance(value, tuple) else value
    return leaves


def assert_defaults_match(cls: type, section: str) -> None:
    """Fail unless the schema section and the settings dataclass have the same leaves with equal defaults."""
    assert settings_leaf_defaults(cls) == schema_leaf_defaults(schema_section(section))
