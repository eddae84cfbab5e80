"""Workflow inputs: the config, the sample sheet and the families sheet, checked against their JSON schemas.

The sheets have one reader, :func:`read_sheet`, for the workflow and ``rnamsm index``. All three
inputs are validated with Snakemake's ``validate`` (which also fills in schema defaults); a violation
becomes one line naming the file, the line or key, and the problem.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from rnamsm.errors import RnamsmError
from rnamsm.textfile import read_text

#: A sample sheet's comment: a whole line whose first character is this (elsewhere it is data).
COMMENT = "#"
#: The workflow's config file and the folder of its JSON schemas, relative to the workflow's folder.
CONFIG_FILE = "config/config.yaml"
SCHEMAS = Path("workflow/schemas")


def _schema_problem(error: BaseException) -> BaseException | None:
    """Find the jsonschema ValidationError inside a Snakemake WorkflowError."""
    import jsonschema

    seen = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, jsonschema.exceptions.ValidationError):
            return current
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
        for attr in ("__cause__", "__context__"):
            if getattr(current, attr, None) is not None:
                stack.append(getattr(current, attr))
    return None


def _describe(problem: Any) -> str:
    where = ".".join(str(part) for part in problem.absolute_path)
    message = problem.message
    if problem.validator == "oneOf":
        message = "give exactly one of 'sequence' or 'fasta' (or neither, with 'msa')"
    elif problem.validator == "pattern":
        message = f"{problem.instance!r} is not allowed (must match {problem.validator_value})"
    elif problem.validator == "additionalProperties":
        message = message.replace("Additional properties are not allowed", "unknown key(s)")
    return f"{where}: {message}" if where else message


def _typed_scalar(text: str, types: set[str]) -> Any:
    """``text`` read as a YAML scalar when that gives one of the JSON ``types`` (else ``text``)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str) and "number" in types:  # YAML 1.1 reads 1e-3 as a string
        try:
            value = float(text)
        except ValueError:
            return text
    kinds = {bool: {"boolean"}, int: {"integer", "number"}, float: {"number"}, type(None): {"null"}}
    if not kinds.get(type(value), set()) & types or (isinstance(value, float) and not math.isfinite(value)):
        return text
    return value


def coerce_scalars(instance: Any, schema: dict[str, Any]) -> Any:
    """Read text where ``schema`` wants a number, integer, boolean or null as a YAML scalar, recursively.

    Snakemake passes the values inside a nested ``--config`` mapping (``heads={threshold: 0.6}``) as
    text; this makes them the numbers, booleans and nulls they read as in a config file. Text where
    the schema allows text is left alone.
    """
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        return {key: coerce_scalars(value, properties.get(key, {})) for key, value in instance.items()}
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        return [coerce_scalars(value, schema["items"]) for value in instance]
    declared = schema.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    if isinstance(instance, str) and types and "string" not in types:
        return _typed_scalar(instance, types)
    return instance


def validate_config(config: dict, schema: str | os.PathLike[str], source: str) -> dict:
    """Validate ``config`` in place (text scalars coerced by :func:`coerce_scalars`, defaults filled in);
    raise RnamsmError naming ``source``."""
    from snakemake.utils import validate

    schema_path = Path(schema).resolve()
    config.update(coerce_scalars(config, yaml.safe_load(read_text(schema_path, "a JSON schema (YAML)"))))
    try:
        validate(config, os.fspath(schema_path))
    except Exception as error:
        problem = _schema_problem(error)
        if problem is None:
            raise
        raise RnamsmError(f"{source}: {_describe(problem)}") from None
    return config


def check_config_file(path: str | os.PathLike[str]) -> None:
    """Refuse a config file that is not JSON or plain YAML in one line naming the file, the line and the problem.

    Snakemake says only "not valid JSON or YAML" (for a Python tag such as ``!!python/object`` too, and
    it turns ``!!python/name:`` into Python objects); YAML's safe loader accepts mappings, lists and
    scalars only. A missing file is left to Snakemake.
    """
    path = Path(path)
    if not path.exists():
        return
    text = read_text(path, "a config file (YAML)")
    try:
        json.loads(text)
        return
    except ValueError:
        pass
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        tag = re.search(r"tag '(tag:yaml\.org,2002:)?(python/[^']*)'", problem)
        if tag:
            problem = f"Python tag '!!{tag.group(2)}' is not allowed (plain YAML values only)"
        raise RnamsmError(f"{path}: {where}not valid YAML: {problem}") from None


def load_config(overlays: tuple[str | os.PathLike[str], ...] = (), base: str | os.PathLike[str] = CONFIG_FILE,
                schemas: str | os.PathLike[str] = SCHEMAS) -> dict:
    """The config a workflow run in this folder sees: ``base`` (the Snakefile's ``configfile:``) updated by each
    ``--configfile`` overlay in turn, as Snakemake merges them, then validated with defaults filled in.

    Raises RnamsmError naming the file for a missing, non-YAML or non-mapping file and for a schema violation.
    """
    from snakemake.utils import update_config

    config: dict = {}
    for path in (base, *overlays):
        path = Path(path)
        if not path.is_file():
            raise RnamsmError(f"{path}: config file not found")
        check_config_file(path)
        values = yaml.safe_load(read_text(path, "a config file (YAML)")) or {}
        if not isinstance(values, dict):
            raise RnamsmError(f"{path}: a config file must be a mapping of keys, got {type(values).__name__}")
        update_config(config, values)
    return validate_config(config, Path(schemas) / "config.schema.yaml", ", ".join(map(str, (base, *overlays))))


def read_sheet(path: str | os.PathLike[str], key: str = "sample_id", what: str = "sample sheet") -> pd.DataFrame:
    """Read a tab-separated sheet (a sample sheet, or with ``key="family_id"`` a families sheet): the one
    reader of the workflow and of ``rnamsm index``.

    Blank lines and lines whose first character is ``#`` are skipped anywhere (also above the header);
    a ``#`` anywhere else is data. The first other line is the header. Fields are split on tabs and
    taken literally (no quoting), without surrounding white space; an empty field is missing (NA).
    The frame is indexed by each row's line number in the file. Raises RnamsmError for a missing or
    unreadable sheet, no header or no ``key`` column, a duplicate column or ``key``, and a row with
    more fields than the header.
    """
    path = Path(path)
    if not path.exists():
        raise RnamsmError(f"{path}: {what} not found")
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    for number, line in enumerate(read_text(path, f"a {what} (TSV)").split("\n"), start=1):
        if not line.strip() or line.startswith(COMMENT):
            continue
        fields = [field.strip() for field in line.rstrip("\r").split("\t")]
        if header is None:
            header = fields
            continue
        while len(fields) > len(header) and not fields[-1]:
            fields.pop()
        if len(fields) > len(header):
            raise RnamsmError(f"{path}: line {number}: {len(fields)} fields, the header has {len(header)}")
        rows.append(fields + [""] * (len(header) - len(fields)))
        lines.append(number)
    if header is None:
        raise RnamsmError(f"{path}: empty {what} (a header row is required)")
    if key not in header:
        raise RnamsmError(f"{path}: no {key!r} column (columns: {', '.join(header)})")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise RnamsmError(f"{path}: duplicate column {repeated[0]!r}")
    samples = pd.DataFrame(rows, columns=header, index=pd.Index(lines, name="line"), dtype=object)
    samples = samples.replace("", pd.NA)
    first_line: dict[str, int] = {}
    for number, value in samples[key].dropna().items():
        if value in first_line:
            raise RnamsmError(f"{path}: line {number}: duplicate {key} {value!r} (first on line {first_line[value]})")
        first_line[value] = number
    return samples


def _validated(sheet: pd.DataFrame, path: Path, schema: str | os.PathLike[str], key: str) -> pd.DataFrame:
    """``sheet`` validated against ``schema`` (defaults filled in); a violation names the row's line and key."""
    from snakemake.utils import validate

    try:
        validate(sheet, os.fspath(Path(schema).resolve()))
    except Exception as error:
        problem = _schema_problem(error)
        if problem is None:
            raise
        row = re.search(r"row (\d+)", str(error))
        number = int(row.group(1)) if row else 0
        value = sheet[key].iloc[number]
        raise RnamsmError(f"{path}: line {sheet.index[number]} ({value!r}): {_describe(problem)}") from None
    return sheet


def _check_files(sheet: pd.DataFrame, path: Path, key: str, columns: tuple[tuple[str, str], ...]) -> None:
    """Refuse a row whose file ``columns`` (column, label) name a file that does not exist."""
    for column, label in columns:
        if column in sheet.columns:
            for value_id, value in zip(sheet[key], sheet[column]):
                if pd.notna(value) and not Path(value).is_file():
                    raise RnamsmError(f"{path}: {key.split('_')[0]} {value_id!r}: {label} {value!r} not found")


def load_samples(path: str | os.PathLike[str], schema: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the sample sheet (:func:`read_sheet`), validate it and index it by ``sample_id``.

    Raises RnamsmError for an unreadable sheet, an unknown column, a missing value, a duplicate
    ``sample_id`` or a query FASTA that does not exist, naming the line of the row.
    """
    path = Path(path)
    samples = _validated(read_sheet(path), path, schema, "sample_id")
    _check_files(samples, path, "sample_id", (("fasta", "FASTA file"), ("msa", "alignment (msa)")))
    return samples.set_index("sample_id", drop=False)


def load_families(path: str | os.PathLike[str], schema: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the families sheet (:func:`read_sheet` with key ``family_id``), validate it (``members`` and
    ``msa`` defaults filled in) and index it by ``family_id``.

    Raises RnamsmError as :func:`load_samples` does, and for an alignment file that does not exist.
    """
    path = Path(path)
    families = _validated(read_sheet(path, "family_id", "families sheet"), path, schema, "family_id")
    _check_files(families, path, "family_id", (("alignment", "alignment"),))
    for column, default in (("members", "all"), ("msa", "alignment")):
        families[column] = families[column].fillna(default) if column in families.columns else default
    return families.set_index("family_id", drop=False)
