"""config/config.yaml and config/samples.tsv: reading them and checking them against their schemas."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rnamsm.errors import RnamsmError
from rnamsm.layout import RUN_SAMPLE_PATTERN, SAMPLE_ID_PATTERN
from rnamsm.report.batch_index import read_sheet_samples
from rnamsm.sheets import check_config_file, load_samples, validate_config
from tests.conftest import REPO_ROOT, RNAMSM_EXAMPLE

CONFIG_SCHEMA = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"
SAMPLES_SCHEMA = REPO_ROOT / "workflow" / "schemas" / "samples.schema.yaml"
FAMILIES_SCHEMA = REPO_ROOT / "workflow" / "schemas" / "families.schema.yaml"
#: The schema's message for a row with both or neither of `sequence` and `fasta` (and no `msa` alone).
ONE_QUERY_SOURCE = "give exactly one of 'sequence' or 'fasta' (or neither, with 'msa')"


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
        ("sample_id\tfasta\tcolour\ns1\tQFA\tred\n", "line 2 ('s1'): unknown key(s) ('colour' was unexpected)"),
        ("sample_id\tfasta\ns1\tQFA\n# s0\ns1\tQFA\n", "line 4: duplicate sample_id 's1' (first on line 2)"),
        ("sample_id\tfasta\tsequence\ns1\t\t\n", f"line 2 ('s1'): {ONE_QUERY_SOURCE}"),
        ("sample_id\tfasta\tsequence\ns1\tQFA\tACGU\n", f"line 2 ('s1'): {ONE_QUERY_SOURCE}"),
        ("sample_id\tsequence\n../evil\tACGUACGUACGU\n", "line 2 ('../evil'): sample_id: '../evil' is not allowed"),
        ("sample_id\tsequence\na.b\tACGUACGUACGU\n", "line 2 ('a.b'): sample_id: 'a.b' is not allowed"),
        ("sample_id\tfasta\ns1\tmissing.fa\n", "sample 's1': FASTA file 'missing.fa' not found"),
        ("fasta\nQFA\n", "no 'sample_id' column"),
        ("sample_id\tsequence\ns1\tACGU ACGU\n", "line 2 ('s1'): sequence: 'ACGU ACGU' is not allowed"),
        ("# header below\nsample_id\tsequence\n\n#s0\tACGU\ns1\tACGUACGUACGU\tACGU\n",
         "line 5: 3 fields, the header has 2"),
        ("sample_id\tsequence\tsequence\ns1\tACGUACGUACGU\tACGU\n", "duplicate column 'sequence'"),
        ("# only comments\n\n", "empty sample sheet (a header row is required)"),
    ],
    ids=["unknown-column", "duplicate", "missing-values", "both-sources", "traversal", "dot", "missing-fasta",
         "no-id-column", "space-in-sequence", "extra-field", "duplicate-column", "no-header"],
)
def test_bad_sample_sheet_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    sheet = write_sheet(tmp_path, text)
    with pytest.raises(RnamsmError) as error:
        load_samples(sheet, SAMPLES_SCHEMA)
    message = str(error.value)
    assert message.startswith(f"{sheet}: ") and expected in message and "\n" not in message


def test_a_sample_may_give_only_its_alignment(tmp_path: Path) -> None:
    """`msa` alone is a query source (its row is the query); `msa` with `fasta` keeps the FASTA's query."""
    sheet = write_sheet(tmp_path, "sample_id\tfasta\tmsa\ns1\t\tQFA\ns2\tQFA\tQFA\n")
    assert list(load_samples(sheet, SAMPLES_SCHEMA).index) == ["s1", "s2"]


def test_wildcard_constraint_matches_schema_pattern() -> None:
    """The workflow's samples: a sheet's ids (the schema's pattern) and family members' {family_id}.{member}."""
    schema = yaml.safe_load(SAMPLES_SCHEMA.read_text())
    families = yaml.safe_load(FAMILIES_SCHEMA.read_text())
    common = (REPO_ROOT / "workflow" / "rules" / "common.smk").read_text()
    assert re.search(r"wildcard_constraints:\s+sample=RUN_SAMPLE_PATTERN,\s+family=SAMPLE_ID_PATTERN,", common)
    assert schema["properties"]["sample_id"]["pattern"] == f"^{SAMPLE_ID_PATTERN}$"
    assert families["properties"]["family_id"]["pattern"] == f"^{SAMPLE_ID_PATTERN}$"
    assert RUN_SAMPLE_PATTERN == rf"{SAMPLE_ID_PATTERN}(?:\.{SAMPLE_ID_PATTERN})?"


def test_hash_inside_a_field_is_data_and_every_reader_agrees(tmp_path: Path) -> None:
    """Only whole lines starting with '#' are comments (also above the header); '#' inside a field is data."""
    query = tmp_path / "q#1.fa"
    query.write_bytes((RNAMSM_EXAMPLE / "2DRB_1.fasta").read_bytes())
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "# minihelices, batch #7\n"
        "sample_id\tfasta\tdatabase\tdescription\n"
        f"#s_off\t{query}\t\tcommented out\n"
        f"2DRB_1\t{query}\tdb#2.fa\tminihelix #3 (PDB 2DRB)\n"
        "\n"
        f"2DRB_2\t{query}\t\t#1 of the second set\n"
    )
    samples = load_samples(sheet, SAMPLES_SCHEMA)
    assert samples.fillna("").to_dict("records") == [
        {"sample_id": "2DRB_1", "fasta": str(query), "database": "db#2.fa", "description": "minihelix #3 (PDB 2DRB)"},
        {"sample_id": "2DRB_2", "fasta": str(query), "database": "", "description": "#1 of the second set"},
    ]
    assert read_sheet_samples(sheet) == {"2DRB_1": "minihelix #3 (PDB 2DRB)", "2DRB_2": "#1 of the second set"}


@pytest.mark.parametrize(
    ("section", "given", "expected"),
    [
        ({"heads": {"threshold": "0.6"}}, ("heads", "threshold"), 0.6),
        ({"heads": {"canonical_only": "true"}}, ("heads", "canonical_only"), True),
        ({"heads": {"min_hairpin": "3"}}, ("heads", "min_hairpin"), 3),
        ({"search": {"round1": {"incE": "1e-3"}}}, ("search", "round1", "incE"), 0.001),
        ({"search": {"calibrate_L": "null"}}, ("search", "calibrate_L"), None),
        ({"search": {"calibrate_cache": "null"}}, ("search", "calibrate_cache"), "null"),  # text allowed: kept
        ({"model": {"checkpoint": "0.6"}}, ("model", "checkpoint"), "0.6"),
        ({"databases": ["1"]}, ("databases",), ["1"]),
    ],
    ids=["number", "boolean", "integer", "exponent", "null", "text-or-null", "text", "list-of-text"],
)
def test_text_values_of_a_nested_config_are_read_as_yaml_scalars(section: dict, given: tuple, expected) -> None:
    """`--config "heads={threshold: 0.6}"` gives Snakemake's text '0.6': read where the schema wants a number."""
    value = validate_config(section, CONFIG_SCHEMA, "config")
    for key in given:
        value = value[key]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"heads": {"threshold": "abc"}}, "heads.threshold: 'abc' is not of type 'number', 'null'"),
        ({"heads": {"threshold": "nan"}}, "heads.threshold: 'nan' is not of type 'number', 'null'"),
        ({"heads": {"threshold": "2"}}, "heads.threshold: 2 is greater than the maximum of 1"),
        ({"input": {"min_length": "1.5"}}, "input.min_length: '1.5' is not of type 'integer'"),
        ({"heads": {"canonical_only": "1"}}, "heads.canonical_only: '1' is not of type 'boolean'"),
    ],
)
def test_nested_config_text_that_is_not_the_type_is_still_refused(config: dict, expected: str) -> None:
    with pytest.raises(RnamsmError) as error:
        validate_config(config, CONFIG_SCHEMA, "config")
    assert str(error.value) == f"config: {expected}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('search: !!python/object/apply:os.system ["touch PWNED"]\n',
         "line 1: not valid YAML: Python tag '!!python/object/apply:os.system' is not allowed"),
        ("heads:\n  threshold: !!python/name:os.system\n",
         "line 2: not valid YAML: Python tag '!!python/name:os.system' is not allowed"),
        ("heads:\n\tthreshold: 0.6\n", "line 2: not valid YAML: found character '\\t' that cannot start any token"),
    ],
    ids=["python-object", "python-name", "tab-indent"],
)
def test_config_file_that_is_not_plain_yaml_is_one_line(tmp_path: Path, monkeypatch, text: str,
                                                         expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text(text)
    with pytest.raises(RnamsmError) as error:
        check_config_file(config)
    assert str(error.value).startswith(f"{config}: {expected}") and "\n" not in str(error.value)
    assert not (tmp_path / "PWNED").exists()
    check_config_file(REPO_ROOT / "config" / "config.yaml")
