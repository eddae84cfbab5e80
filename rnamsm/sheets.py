"""Workflow inputs: the config and the sample sheet, checked against their JSON schemas.

Both are validated with Snakemake's ``validate`` (which also fills in schema defaults); a
violation becomes one line naming the file, the row or key, and the problem.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from rnamsm.errors import RnamsmError


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
        message = "give exactly one of 'sequence' or 'fasta'"
    elif problem.validator == "pattern":
        message = f"{problem.instance!r} is not allowed (must match {problem.validator_value})"
    elif problem.validator == "additionalProperties":
        message = message.replace("Additional properties are not allowed", "unknown key(s)")
    return f"{where}: {message}" if where else message


def validate_config(config: dict, schema: str | os.PathLike[str], source: str) -> dict:
    """Validate ``config`` in place (defaults filled in); raise RnamsmError naming ``source``."""
    from snakemake.utils import validate

    try:
        validate(config, os.fspath(Path(schema).resolve()))
    except Exception as error:
        problem = _schema_problem(error)
        if problem is None:
            raise
        raise RnamsmError(f"{source}: {_describe(problem)}") from None
    return config


def load_samples(path: str | os.PathLike[str], schema: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate the sample sheet; index it by ``sample_id``.

    Raises RnamsmError for a missing or unreadable sheet, an unknown column, a missing value, a
    duplicate ``sample_id`` or a query FASTA that does not exist.
    """
    from snakemake.utils import validate

    path = Path(path)
    if not path.is_file():
        raise RnamsmError(f"{path}: sample sheet not found")
    try:
        samples = pd.read_csv(path, sep="\t", dtype=str, comment="#", skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise RnamsmError(f"{path}: not a readable TSV sample sheet ({str(error).splitlines()[0]})") from None
    samples.columns = [column.strip() for column in samples.columns]
    if "sample_id" not in samples.columns:
        raise RnamsmError(f"{path}: no 'sample_id' column (columns: {', '.join(samples.columns)})")
    samples = samples.apply(lambda column: column.str.strip())
    samples = samples.replace("", pd.NA)
    try:
        validate(samples, os.fspath(Path(schema).resolve()))
    except Exception as error:
        problem = _schema_problem(error)
        if problem is None:
            raise
        row = re.search(r"row (\d+)", str(error))
        number = int(row.group(1)) if row else 0
        sample_id = samples["sample_id"].iloc[number]
        raise RnamsmError(f"{path}: row {number + 1} ({sample_id!r}): {_describe(problem)}") from None
    duplicated = samples["sample_id"][samples["sample_id"].duplicated()]
    if not duplicated.empty:
        raise RnamsmError(f"{path}: duplicate sample_id {duplicated.iloc[0]!r}")
    if "fasta" in samples.columns:
        for sample_id, fasta in zip(samples["sample_id"], samples["fasta"]):
            if pd.notna(fasta) and not Path(fasta).is_file():
                raise RnamsmError(f"{path}: sample {sample_id!r}: FASTA file {fasta!r} not found")
    return samples.set_index("sample_id", drop=False)
