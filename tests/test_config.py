"""config/config.yaml and config/samples.tsv against their schemas (the workflow's own inputs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rnamsm.errors import RnamsmError
from rnamsm.layout import SAMPLE_ID_PATTERN
from rnamsm.sheets import load_samples, validate_config
from tests.conftest import REPO_ROOT

CONFIG_SCHEMA = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"
SAMPLES_SCHEMA = REPO_ROOT / "workflow" / "schemas" / "samples.schema.yaml"


def schema_leaves(schema: dict, prefix: str = "") -> dict[str, dict]:
    """Every leaf property of a schema, by dotted path."""
    leaves = {}
    for name, sub in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        if sub.get("type") == "object" and "properties" in sub:
            leaves.update(schema_leaves(sub, f"{path}."))
        else:
            leaves[path] = sub
    return leaves


def test_every_config_key_is_documented_with_a_default() -> None:
    schema = yaml.safe_load(CONFIG_SCHEMA.read_text())
    leaves = schema_leaves(schema)
    assert leaves
    for path, sub in leaves.items():
        assert sub.get("description"), f"{path} has no description"
        assert "default" in sub, f"{path} has no default"


def test_shipped_config_is_valid_and_complete() -> None:
    config = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())
    validated = validate_config(dict(config), CONFIG_SCHEMA, "config/config.yaml")
    assert validated["samples"] == "config/samples.tsv"


def test_defaults_are_filled_in() -> None:
    config = validate_config({}, CONFIG_SCHEMA, "empty.yaml")
    schema = yaml.safe_load(CONFIG_SCHEMA.read_text())
    for path, sub in schema_leaves(schema).items():
        value = config
        for part in path.split("."):
            value = value[part]
        assert value == sub["default"], path


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"input": {"min_length": "ten"}}, "input.min_length: 'ten' is not of type 'integer'"),
        ({"input": {"min_length": 0}}, "input.min_length: 0 is less than the minimum of 1"),
        ({"inputs": {}}, "unknown key(s) ('inputs' was unexpected)"),
        ({"databases": "db.fa"}, "databases: 'db.fa' is not of type 'array'"),
    ],
)
def test_bad_config_is_one_line(config: dict, expected: str) -> None:
    with pytest.raises(RnamsmError) as error:
        validate_config(config, CONFIG_SCHEMA, "my.yaml")
    assert str(error.value) == f"my.yaml: {expected}"


def test_demo_sample_sheet() -> None:
    samples = load_samples(REPO_ROOT / "config" / "samples.tsv", SAMPLES_SCHEMA)
    assert list(samples.index) == ["mrum-tRNA-1", "mrum-tRNA-5", "Cobalamin", "2DRB_1"]


def write_sheet(tmp_path: Path, text: str) -> Path:
    (tmp_path / "q.fa").write_text(">q\nACGUACGUACGU\n")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(text.replace("QFA", str(tmp_path / "q.fa")))
    return sheet


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sample_id\tfasta\tcolour\ns1\tQFA\tred\n", "row 1 ('s1'): unknown key(s) ('colour' was unexpected)"),
        ("sample_id\tfasta\ns1\tQFA\ns1\tQFA\n", "duplicate sample_id 's1'"),
        ("sample_id\tfasta\tsequence\ns1\t\t\n", "row 1 ('s1'): give exactly one of 'sequence' or 'fasta'"),
        ("sample_id\tfasta\tsequence\ns1\tQFA\tACGU\n", "row 1 ('s1'): give exactly one of 'sequence' or 'fasta'"),
        ("sample_id\tsequence\n../evil\tACGUACGUACGU\n", "row 1 ('../evil'): sample_id: '../evil' is not allowed"),
        ("sample_id\tsequence\na.b\tACGUACGUACGU\n", "row 1 ('a.b'): sample_id: 'a.b' is not allowed"),
        ("sample_id\tfasta\ns1\tmissing.fa\n", "sample 's1': FASTA file 'missing.fa' not found"),
        ("fasta\nQFA\n", "no 'sample_id' column"),
        ("sample_id\tsequence\ns1\tACGU ACGU\n", "row 1 ('s1'): sequence: 'ACGU ACGU' is not allowed"),
    ],
    ids=["unknown-column", "duplicate", "missing-values", "both-sources", "traversal", "dot", "missing-fasta",
         "no-id-column", "space-in-sequence"],
)
def test_bad_sample_sheet_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    sheet = write_sheet(tmp_path, text)
    with pytest.raises(RnamsmError) as error:
        load_samples(sheet, SAMPLES_SCHEMA)
    message = str(error.value)
    assert message.startswith(f"{sheet}: ") and expected in message and "\n" not in message


def test_wildcard_constraint_matches_schema_pattern() -> None:
    schema = yaml.safe_load(SAMPLES_SCHEMA.read_text())
    common = (REPO_ROOT / "workflow" / "rules" / "common.smk").read_text()
    assert re.search(r"wildcard_constraints:\s+sample=SAMPLE_ID_PATTERN,", common)  # from rnamsm.layout
    constraint = SAMPLE_ID_PATTERN
    assert schema["properties"]["sample_id"]["pattern"] == f"^{constraint}$"
