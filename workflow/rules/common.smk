"""Functions shared by the rules: config and sample sheet, input functions, params helpers."""

import functools
import hashlib
import json
import os
import shlex
from pathlib import Path

import pandas as pd

from rnamsm import STAGE_VERSIONS
from rnamsm.checksums import cached_file_sha256, file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.layout import (
    BATCH_STATUS,
    DEMO_CHECKPOINT,
    DEMO_HEADS,
    INDEX,
    RESULTS,
    SAMPLE_ID_PATTERN,
    benchmark_file,
    content_cache,
    log_file,
    prepared_database,
    sample_layout,
)
from rnamsm.sheets import load_samples, validate_config

#: Every per-sample output as a pattern with the `{sample}` wildcard (rnamsm.layout names them all).
SAMPLE = sample_layout("{sample}")


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


def sample_description(wildcards):
    """The sample's free-text description for its report ('' when the sheet gives none)."""
    return sample_value(wildcards.sample, "description") or ""


def query_input(wildcards):
    """The sample's query FASTA file, when the sheet names one (inline sequences need no file)."""
    fasta = sample_value(wildcards.sample, "fasta")
    return {"query": fasta} if fasta else {}


def query_source_args(wildcards):
    """Arguments of `rnamsm validate-input` that say where the sample's query comes from."""
    sample = wildcards.sample
    fasta = sample_value(sample, "fasta")
    if fasta is None:
        return f"--sequence {shlex.quote(sample_value(sample, 'sequence'))} --id {shlex.quote(sample)}"
    record = sample_value(sample, "record")
    return shlex.quote(fasta) + (f" --id {shlex.quote(record)}" if record else "")


def _alternatives(samples):
    """A wildcard pattern matching exactly these sample ids (nothing when there are none)."""
    return "|".join(samples) if samples else "(?!)"


#: Samples whose sheet row names an alignment (`msa` column), imported by import_msa; the others are searched.
IMPORTED = [sample for sample in SAMPLES.index if sample_value(sample, "msa")]
IMPORTED_SAMPLES = _alternatives(IMPORTED)
SEARCHED_SAMPLES = _alternatives([sample for sample in SAMPLES.index if sample not in IMPORTED])


def sample_msa(wildcards):
    """The sample's own alignment file (`msa` column)."""
    return sample_value(wildcards.sample, "msa")


def sample_msa_sha256(wildcards):
    """SHA-256 of the sample's alignment: a params value, so new content reruns the sample whatever the mtime."""
    path = sample_msa(wildcards)
    return file_sha256(path) if Path(path).is_file() else "missing"


def msa_rule(sample):
    """Which of import_msa (an `msa` given) and homology_search makes the sample's MSA."""
    return "import_msa" if sample in IMPORTED else "homology_search"


def sample_database_files(sample):
    """The sample's own search database files, else the config's."""
    own = sample_value(sample, "database")
    databases = [path.strip() for path in own.split(";") if path.strip()] if own else config["databases"]
    if not databases:
        raise WorkflowError(
            f"sample {sample!r}: no search database (set `databases` in the config or the "
            "sample's `database` column)"
        )
    return databases


#: The search.db keys that decide how `rnamsm prepare-db` cuts a database (volume_nt only affects plain files).
PREPARE_KEYS = ("split_above", "window", "min_overlap", "shuffle_seed", "shard_nt")
PREPARE_CFG = json.dumps({"db": {key: config["search"]["db"][key] for key in PREPARE_KEYS}}, sort_keys=True)
#: Prepared database name -> its files (filled by prepared_name).
PREPARED_DATABASES = {}


@functools.lru_cache(maxsize=None)
def prepared_name(files):
    """The prepared database of `files` in databases_dir: the first file's name and a digest of the files'
    content and of the settings that cut them, so new content (or settings) is a new folder."""
    cache = content_cache(config["databases_dir"])
    try:
        sums = [cached_file_sha256(path, cache) for path in files]
    except OSError as error:
        raise WorkflowError(f"{error.filename}: cannot read the search database ({error.strerror})") from None
    key = hashlib.sha256(json.dumps([PREPARE_CFG, config["input"]["max_length"], sums]).encode()).hexdigest()
    name = f"{Path(files[0]).name.split('.')[0]}-{key[:16]}"
    PREPARED_DATABASES[name] = list(files)
    return name


def sample_databases(wildcards):
    """What the sample's search reads: its database files, or their prepared folder when databases_dir is set."""
    files = sample_database_files(wildcards.sample)
    if not config["databases_dir"]:
        return files
    return [str(prepared_database(config["databases_dir"], prepared_name(tuple(files))))]


def input_mb(input):
    """Size of a job's input files in MB (os.stat), for the resource estimates of the rules.

    The sum Snakemake's `input.size_mb` gives, without the event loop it starts on every call (five
    estimates per sample were a quarter of the planning time of a large batch). An input that does not
    exist yet raises FileNotFoundError: Snakemake shows the estimate as <TBD> and evaluates it again
    before the job runs.
    """
    return sum(_size(path) for path in input) / 2**20


def _size(path):
    """Bytes of a file, or of the files in a folder (a prepared database)."""
    if os.path.isdir(path):
        return sum(entry.stat().st_size for entry in os.scandir(path) if entry.is_file())
    return os.path.getsize(path)


def scaled(floor, estimate, cap, attempt):
    """A resource request (MB or minutes): the size estimate between a floor and a cap, times the attempt."""
    return int(min(max(floor, estimate), cap) * attempt)


def checkpoint_input(wildcards):
    """The checkpoint as a file input (demo or local path); a hub id is no file."""
    weights = config["model"]["checkpoint"]
    if weights == "demo":
        return DEMO_CHECKPOINT
    return weights if Path(weights).exists() else []


def checkpoint_argument(wildcards):
    """What `rnamsm features --checkpoint` gets: the demo folder, a local path, or a hub id."""
    weights = config["model"]["checkpoint"]
    return DEMO_CHECKPOINT if weights == "demo" else weights


def ss_head_input(wildcards):
    """The SS head file: the demo head or the configured path."""
    head = config["heads"]["ss_head"]
    return f"{DEMO_HEADS}/ss.safetensors" if head == "demo" else head


def rsa_head_inputs(wildcards):
    """The RSA head files (one to three): the demo heads or the configured paths."""
    heads = config["heads"]["rsa_heads"]
    if heads == "demo":
        return [f"{DEMO_HEADS}/rsa_{index}.safetensors" for index in range(3)]
    return heads


def rsa_stats_inputs(wildcards):
    """Statistics pickles of the official RSA heads (none for rnamsm head files)."""
    return config["heads"]["rsa_stats"]


def sample_outputs(wildcards):
    """Every data output of a sample: what its report reads."""
    return list(sample_layout(wildcards.sample).report_inputs())


def sample_folder(wildcards, name):
    """A stage's output folder of the sample (`msa`, `structure`, `baselines`), for `--out-dir`."""
    return getattr(sample_layout(wildcards.sample), name).folder


def last_log_line(path):
    """The last non-empty line of a log (the one-line error of a failed stage), or ''."""
    try:
        lines = [line.strip() for line in Path(path).read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def write_batch_status(path):
    """Write `sample, status, reason` for every sample: ok, or the first stage that has no output."""
    rows = ["sample\tstatus\treason"]
    for sample in SAMPLES.index:
        status, reason = "ok", ""
        for stage_rule, output in sample_layout(sample).stage_outputs():
            stage_rule = msa_rule(sample) if stage_rule == "homology_search" else stage_rule
            if not output.exists():
                log = log_file(stage_rule, sample)
                message = last_log_line(log) if log.exists() else "not run (an earlier job failed)"
                status, reason = "failed", f"{stage_rule}: {message}".replace("\t", " ")
                break
        rows.append(f"{sample}\t{status}\t{reason}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(rows) + "\n")


def all_outputs():
    """Every final output: each sample's report and the batch index."""
    return [sample_layout(sample).report for sample in SAMPLES.index] + [INDEX]
