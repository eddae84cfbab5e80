"""Functions shared by the rules: config and sample sheet, input functions, params helpers."""

import json
import shlex

import pandas as pd

from rnamsm import STAGE_VERSIONS
from rnamsm.errors import RnamsmError
from rnamsm.sheets import load_samples, validate_config

#: Allowed sample ids; workflow/schemas/samples.schema.yaml uses the same pattern.
SAMPLE_ID_PATTERN = "[A-Za-z0-9][A-Za-z0-9_-]*"


wildcard_constraints:
    sample=SAMPLE_ID_PATTERN,


try:
    validate_config(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml", "config")
    SAMPLES = load_samples(config["samples"], f"{workflow.basedir}/workflow/schemas/samples.schema.yaml")
except RnamsmError as error:
    raise WorkflowError(str(error)) from None


def cfg_json(section):
    """A config section as canonical JSON: the one params value through which a stage sees it."""
    return json.dumps(config[section], sort_keys=True)


def sample_value(sample, column):
    """A sample sheet cell, or None when the column is absent or the cell is empty."""
    if column not in SAMPLES.columns:
        return None
    value = SAMPLES.at[sample, column]
    return None if pd.isna(value) else value


def query_input(wildcards):
    """The sample's query FASTA file, when the sheet names one (inline sequences need no file)."""
    fasta = sample_value(wildcards.sample, "fasta")
    return {"query": fasta} if fasta else {}


def query_source_args(wildcards):
    """Arguments of `rnamsm validate-input` that say where the sample's query comes from."""
    sample = wildcards.sample
    fasta = sample_value(sample, "fasta")
    if fasta is None:
        return f"--sequence {shlex.quote(sample_value(sample, 'sequence'))}"
    record = sample_value(sample, "record")
    return shlex.quote(fasta) + (f" --id {shlex.quote(record)}" if record else "")


def all_outputs():
    """Every final output of every sample in the sheet."""
    return expand("results/{sample}/query.fa", sample=SAMPLES.index)
