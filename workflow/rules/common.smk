"""Functions shared by the rules: config and sample sheet, input functions, params helpers."""

import dataclasses
import functools
import hashlib
import inspect
import json
import os
import shlex
import time
from pathlib import Path

import pandas as pd
from snakemake.common import overwrite_function_params

from rnamsm import STAGE_VERSIONS
from rnamsm.checksums import cached_file_sha256, file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.formats import db_manifest
from rnamsm.formats import query as query_format
from rnamsm.formats import sample_status
from rnamsm.input.families import family_members, member_chunks
from rnamsm.layout import (
    BATCH_STATUS,
    DEMO_CHECKPOINT,
    DEMO_HEADS,
    INDEX,
    RESULTS,
    RUN_SAMPLE_PATTERN,
    SAMPLE_ID_PATTERN,
    benchmark_file,
    chunk_id,
    content_cache,
    family_layout,
    log_file,
    names_pattern,
    prepared_database,
    sample_layout,
    slurm_group_log_folder,
    slurm_log_folder,
)
from rnamsm.search_jobs import estimated_residues, job_shards, search_cost, shard_job_count
from rnamsm.sheets import load_families, load_samples, validate_config
from rnamsm.slurm_logs import last_group_job_end, last_job_end

#: When this run started: Slurm job logs last written before it belong to earlier runs.
RUN_STARTED = time.time()
#: Every per-sample output as a pattern with the `{sample}` wildcard (rnamsm.layout names them all).
SAMPLE = sample_layout("{sample}")
#: Every per-family output as a pattern with the `{family}` wildcard.
FAMILY = family_layout("{family}")


def planned(function):
    """Mark a rule's input, params or resources function with its signature, inspected once here: Snakemake
    otherwise inspects it (inspect.signature) two or three times per call, for every job that calls it,
    which was a tenth of planning a batch of sharded searches (docs/benchmarks.md). Snakemake's own wrappers
    (snakemake.ioutils) fix their signatures the same way. Returns ``function``."""
    overwrite_function_params(function, inspect.signature(function).parameters)
    return function


wildcard_constraints:
    sample=RUN_SAMPLE_PATTERN,
    family=SAMPLE_ID_PATTERN,


def member_rows(families):
    """One sample sheet row per member of every family (rnamsm.input.families expands them): its query is
    its record of the family alignment, its MSA that alignment re-anchored on it (`msa: alignment`, run
    family_members_per_job members per family_chunk job: the row's `chunk`) or a search (`msa: search`).
    The row keeps its family and record name (`family_id`, `alignment`)."""
    rows = []
    for family_id, family in families.iterrows():
        imported = family["msa"] == "alignment"
        members = family_members(family_id, family["alignment"], family["members"]).members
        chunks = member_chunks(members, config["family_members_per_job"])
        for index, chunk in enumerate(chunks):
            for member in chunk:
                rows.append({
                    "sample_id": member.sample, "record": member.record, "family_id": family_id,
                    "alignment": family["alignment"], "msa": family["alignment"] if imported else pd.NA,
                    "chunk": chunk_id(index) if imported else pd.NA,
                    "database": family.get("database", pd.NA), "description": family.get("description", pd.NA),
                })
    return pd.DataFrame(rows, dtype=object).set_index("sample_id", drop=False) if rows else None


try:
    validate_config(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml", "config")
    SAMPLES = load_samples(config["samples"], f"{workflow.basedir}/workflow/schemas/samples.schema.yaml")
    FAMILIES = load_families(config["families"], f"{workflow.basedir}/workflow/schemas/families.schema.yaml")
    MEMBERS = member_rows(FAMILIES)
except RnamsmError as error:
    raise WorkflowError(str(error)) from None
if MEMBERS is not None:
    SAMPLES = pd.concat([SAMPLES, MEMBERS])


#: `model.samples_per_job` model jobs share one cluster job: a Snakemake job group (MODEL_GROUP) of that
#: many samples. One group asks for one GPU through the `gres` string, which Snakemake does not add up over
#: the members as it does `gpu` (docs/cluster.md).
SAMPLES_PER_JOB = config["model"]["samples_per_job"]
#: The job group of the model jobs (its Slurm logs: rnamsm.layout.slurm_group_log_folder).
MODEL_GROUP = "model"


#: A resource of every model job, limited to 1 *within* each submitted job (scope `local`, so not across the
#: cluster): Snakemake then sizes a model group as its members running one after another, the largest
#: member's CPUs and memory and the members' runtimes added up, and the Snakemake inside the group job runs
#: them so, on those CPUs. Without it the group asked for the sum of its members' CPUs and memory (16 CPUs
#: for 8 samples; 6 CPUs for 3 stayed pending for ever on a 4-CPU node) while using one member's at a time.
MODEL_SLOT = "model_slot"
workflow.resource_scopes.update({MODEL_SLOT: "local"})


@planned
def model_group_size(wildcards):
    """No input: make `model.samples_per_job` the size of the model job group (`--group-components model=N`,
    unless the command line gives one), its members one at a time (:data:`MODEL_SLOT`). Snakemake replaces
    the workflow's group settings with the command line's after reading the Snakefile, so this runs while the
    DAG is built, before the groups are formed."""
    components = workflow.group_settings.group_components
    if SAMPLES_PER_JOB > 1 and MODEL_GROUP not in components:
        workflow.group_settings = dataclasses.replace(
            workflow.group_settings, group_components={**components, MODEL_GROUP: SAMPLES_PER_JOB})
    if SAMPLES_PER_JOB > 1 and not workflow.local_exec and workflow.global_resources.get(MODEL_SLOT).value is None:
        workflow.global_resources[MODEL_SLOT] = 1
    return []


@planned
def model_gpu(wildcards):
    """`gpu` of a model job: 1 (local runs: at most `--resources gpu` at once), 0 in a cluster job group."""
    return 1 if SAMPLES_PER_JOB == 1 or workflow.local_exec else 0


@planned
def model_gres(wildcards):
    """`gres` of a model job: the group's one GPU (a string: the same for the group, not a sum)."""
    return "" if model_gpu(wildcards) else "gpu:1"


#: Config keys that only size cluster jobs and change no output: left out of what every job sees, so
#: editing them reruns nothing.
JOB_SIZE_KEYS = {"model": ("samples_per_job",), "search": ("samples_per_job",)}


def section_settings(section):
    """A config section without its JOB_SIZE_KEYS: what a stage's outputs depend on."""
    return {key: value for key, value in config[section].items() if key not in JOB_SIZE_KEYS.get(section, ())}


def cfg_json(section):
    """A config section as canonical JSON: the one params value through which a stage sees it."""
    return json.dumps(section_settings(section), sort_keys=True)


def sections_json(*sections):
    """Several config sections as one canonical JSON object (a job that runs several stages)."""
    return json.dumps({section: section_settings(section) for section in sections}, sort_keys=True)


#: Every sample's non-empty cells (a dict lookup per input function call: pandas' `.at` cost a tenth of a
#: millisecond, 2 s of planning for a thousand family members).
SAMPLE_CELLS = {
    sample: {column: value for column, value in row.items() if not pd.isna(value)}
    for sample, row in zip(SAMPLES.index, SAMPLES.to_dict("records"))
}


def sample_value(sample, column):
    """A sample sheet cell, or None when the column is absent or the cell is empty."""
    return SAMPLE_CELLS[sample].get(column)


@planned
def sample_description(wildcards):
    """The sample's free-text description for its report ('' when the sheet gives none)."""
    return sample_value(wildcards.sample, "description") or ""


def query_alignment(sample):
    """The alignment whose row is the sample's query (its own `msa`, or its family's, when the sheet gives no
    `fasta` or `sequence`), else None."""
    if sample_value(sample, "fasta") is not None or sample_value(sample, "sequence") is not None:
        return None
    return sample_value(sample, "alignment") or sample_value(sample, "msa")


def query_from_msa(sample):
    """True when the sample's query is a row of an alignment (see query_alignment)."""
    return query_alignment(sample) is not None


@planned
def query_input(wildcards):
    """The file that holds the sample's query: its FASTA, or its alignment (inline sequences need no file)."""
    sample = wildcards.sample
    path = query_alignment(sample) or sample_value(sample, "fasta")
    return {"query": path} if path else {}


@planned
def query_source_args(wildcards):
    """Arguments of `rnamsm validate-input` that say where the sample's query comes from."""
    sample = wildcards.sample
    record = sample_value(sample, "record")
    by_record = f" --id {shlex.quote(record)}" if record else ""
    if query_from_msa(sample):
        return f"--msa {shlex.quote(query_alignment(sample))}{by_record}"
    fasta = sample_value(sample, "fasta")
    if fasta is None:
        return f"--sequence {shlex.quote(sample_value(sample, 'sequence'))} --id {shlex.quote(sample)}"
    return f"{shlex.quote(fasta)}{by_record}"


#: Family members run in chunks (`msa: alignment`): sample -> (family, chunk); family -> its chunks in order.
CHUNK_OF = {sample: (sample_value(sample, "family_id"), sample_value(sample, "chunk"))
            for sample in SAMPLES.index if sample_value(sample, "chunk")}
FAMILY_CHUNKS = {}
for family_chunk in dict.fromkeys(CHUNK_OF.values()):
    FAMILY_CHUNKS.setdefault(family_chunk[0], []).append(family_chunk[1])
#: Samples with per-sample jobs (a sheet's samples, members with `msa: search`).
PER_SAMPLE = [sample for sample in SAMPLES.index if sample not in CHUNK_OF]
#: Samples whose sheet row names an alignment (`msa` column), imported by import_msa; the others are searched.
IMPORTED = [sample for sample in PER_SAMPLE if sample_value(sample, "msa")]
IMPORTED_SAMPLES = names_pattern(IMPORTED)
SEARCHED_SAMPLES = names_pattern([sample for sample in PER_SAMPLE if sample not in IMPORTED])


@planned
def sample_msa(wildcards):
    """The sample's own alignment file (`msa` column)."""
    return sample_value(wildcards.sample, "msa")


@planned
def import_record_args(wildcards):
    """`--record` of `rnamsm import-msa` when the query is the alignment's row named by `record`."""
    record = sample_value(wildcards.sample, "record")
    return f"--record {shlex.quote(record)}" if record and query_from_msa(wildcards.sample) else ""


@functools.lru_cache(maxsize=None)
def _content_sha256(path, mtime_ns, size):
    """SHA-256 of a file, once per (path, mtime, size): a family's members share their alignment."""
    return file_sha256(path)


def content_sha256(path):
    """SHA-256 of an input file ('missing' when absent): a params value, so new content reruns whatever the mtime."""
    try:
        stat = os.stat(path)
    except OSError:
        return "missing"
    return _content_sha256(path, stat.st_mtime_ns, stat.st_size)


@planned
def sample_msa_sha256(wildcards):
    """SHA-256 of the sample's alignment (see content_sha256)."""
    return content_sha256(sample_msa(wildcards))


@planned
def query_alignment_sha256(wildcards):
    """SHA-256 of the alignment that holds the sample's query ('' when the query is not a row of one)."""
    path = query_alignment(wildcards.sample)
    return content_sha256(path) if path else ""


@planned
def family_alignment_sha256(wildcards):
    """SHA-256 of the family's alignment (see content_sha256)."""
    return content_sha256(FAMILIES.at[wildcards.family, "alignment"])


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


def databases_of(sample):
    """What the sample's search reads: its database files, or their prepared folder when databases_dir is set."""
    files = sample_database_files(sample)
    if not config["databases_dir"]:
        return files
    return [str(prepared_database(config["databases_dir"], prepared_name(tuple(files))))]


@planned
def sample_databases(wildcards):
    """What the sample's search reads (databases_of)."""
    return databases_of(wildcards.sample)


@functools.lru_cache(maxsize=None)
def _shard_jobs(files):
    """Shard jobs per round for a database of these files (rnamsm.search_jobs.shard_job_count)."""
    try:
        residues = estimated_residues(files)
    except OSError as error:
        raise WorkflowError(f"{error.filename}: cannot read the search database ({error.strerror})") from None
    return shard_job_count(config["search"]["shards"], residues, config["search"]["db"]["shard_nt"])


def shard_jobs(sample):
    """Jobs per search round of the sample: `search.shards` when databases_dir prepares its database, else 1."""
    if not config["databases_dir"] or sample in IMPORTED:
        return 1
    return _shard_jobs(tuple(sample_database_files(sample)))


#: The rounds of a search (round 1, then at most cm.max_rounds CM rounds).
SEARCH_ROUNDS = 1 + config["search"]["cm"]["max_rounds"]


def search_groups():
    """The round-job groups of the samples whose searches run in shard jobs: group name (its first sample) ->
    its samples. Samples of one database set are cut in sheet order into groups of `search.samples_per_job`,
    those whose search finished before (msa_stats.json present) apart from the others: a sample added to a
    finished batch, or left unfinished by a failed run, never shares a round job with a finished search."""
    by_database = {}
    for sample in PER_SAMPLE:
        if sample not in IMPORTED and shard_jobs(sample) > 1:
            finished = os.path.exists(sample_layout(sample).msa.stats)
            by_database.setdefault((tuple(sample_database_files(sample)), finished), []).append(sample)
    size = config["search"]["samples_per_job"]
    return {members[start]: members[start:start + size]
            for members in by_database.values() for start in range(0, len(members), size)}


SEARCH_GROUPS = search_groups()
#: Sample -> the round-job group it is searched in.
SEARCH_GROUP_OF = {sample: group for group, members in SEARCH_GROUPS.items() for sample in members}


def round_receipts(group, number):
    """The receipts of every shard job of round `number` of the group's searches."""
    msa = sample_layout(group).msa
    return [str(msa.round_receipt(number, job)) for job in range(shard_jobs(group))]


@planned
def final_round_receipts(wildcards):
    """What homology_search waits for: every shard job of the last round of its group (none when the search is
    one job)."""
    group = SEARCH_GROUP_OF.get(wildcards.sample)
    return round_receipts(group, SEARCH_ROUNDS) if group else []


@planned
def round_job_after(wildcards):
    """The receipts a round job follows: none in round 1, its round's model job for a shard job, every shard
    job of the round before for a model job."""
    number = int(wildcards.round)
    if number == 1:
        return []
    if wildcards.job != "model":
        return [str(sample_layout(wildcards.group).msa.round_receipt(number, "model"))]
    return round_receipts(wildcards.group, number - 1)


@planned
def round_job_args(wildcards, input):
    """`--job K --jobs N` of a shard job (none for the model job) and `--after` the first receipt it follows."""
    args = [] if wildcards.job == "model" else [f"--job {wildcards.job}", f"--jobs {shard_jobs(wildcards.group)}"]
    return " ".join(args + ([f"--after {shlex.quote(input.after[0])}"] if input.after else []))


@planned
def group_queries(wildcards):
    """The query files of a round-job group's samples, in the group's order."""
    return [str(sample_layout(sample).query) for sample in SEARCH_GROUPS[wildcards.group]]


@planned
def group_databases(wildcards):
    """What a round-job group's searches read: its samples' one prepared database."""
    return databases_of(wildcards.group)


@planned
def group_resume_dirs(wildcards):
    """The resume folders of a round-job group's samples (`--resume-dir`), in the group's order."""
    return [str(sample_layout(sample).msa.resume) for sample in SEARCH_GROUPS[wildcards.group]]


@functools.lru_cache(maxsize=None)
def _manifest(path, mtime_ns):
    """A prepared database's manifest, read once per content (rnamsm.formats.db_manifest)."""
    return db_manifest.read(path)


def search_request(wildcards, input, threads, attempt):
    """`(mem_mb, runtime)` of a search job (rnamsm.search_jobs.search_cost, times the attempt): the shards it
    searches (a shard job: its own, in its round; a one-job search: all, in every round; the merge after shard
    jobs and a round's model job: none) and the length of its queries (a round job's samples, one after
    another). Before the queries exist, FileNotFoundError: Snakemake asks again when the job is ready."""
    queries = input.queries if "job" in wildcards.keys() else [input.query]
    for path in queries:
        os.stat(path)
    query_length = sum(len(query_format.read(path).sequence) for path in queries)  # the samples in turn
    database, rounds = input.databases[0], (1, SEARCH_ROUNDS - 1)  # (nhmmer rounds, CM rounds)
    if not db_manifest.is_prepared(database):
        residues = estimated_residues(input.databases)
        largest = min(residues, config["search"]["db"]["volume_nt"] or residues)
    else:
        path = db_manifest.manifest_path(database)
        shards = _manifest(str(path), os.stat(path).st_mtime_ns).shards
        jobs = shard_jobs(wildcards.group if "job" in wildcards.keys() else wildcards.sample)
        if "job" not in wildcards.keys():
            indices = [] if jobs > 1 else range(len(shards))
        else:
            number = int(wildcards.round)
            rounds = (int(number == 1), int(number > 1))
            indices = [] if wildcards.job == "model" else job_shards(int(wildcards.job), jobs, len(shards))
        residues = sum(shards[index].residues for index in indices)
        largest = max((shards[index].residues for index in indices), default=0)
    mem_mb, minutes = search_cost(residues=residues, largest_shard=largest, query_length=query_length,
                                  threads=threads, nhmmer_rounds=rounds[0], cm_rounds=rounds[1],
                                  samples=len(queries))
    return scaled(1000, mem_mb, 64000, attempt), scaled(10, minutes, 7 * 24 * 60, attempt)


@planned
def search_mem_mb(wildcards, input, threads, attempt):
    """`mem_mb` of a search job (search_request)."""
    return search_request(wildcards, input, threads, attempt)[0]


@planned
def search_runtime(wildcards, input, threads, attempt):
    """`runtime` of a search job, minutes (search_request)."""
    return search_request(wildcards, input, threads, attempt)[1]


@planned
def search_resume(wildcards):
    """The sample's search resume folder (`--resume-dir`)."""
    return sample_layout(wildcards.sample).msa.resume


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


#: Host memory of a model job (one sample: RNA-MSM and both heads), fitted to the peak RSS of `rnamsm run-samples`
#: with the released model's sizes (docs/cluster.md, "Sizing the model job"): a base, bytes per row x column of
#: the MSA the model reads, bytes per column squared (attention maps, contacts, the SS head).
MODEL_MEMORY_BASE_MB, MODEL_BYTES_PER_ROW_COLUMN, MODEL_BYTES_PER_COLUMN_SQUARED = 900, 6000, 1800


def model_memory_mb(input):
    """The model job's memory estimate in MB from its query and MSA sizes (os.stat only): the query file's bytes
    bound the query length L, the MSA file's bytes (capped at `model.max_seqs` rows of L) its rows x columns."""
    columns = os.path.getsize(input.query)
    cells = min(os.path.getsize(input.msa), config["model"]["max_seqs"] * columns)
    pairs = columns**2
    return MODEL_MEMORY_BASE_MB + (MODEL_BYTES_PER_ROW_COLUMN * cells + MODEL_BYTES_PER_COLUMN_SQUARED * pairs) / 2**20


@planned
def checkpoint_input(wildcards):
    """The checkpoint as a file input (demo or local path); a hub id is no file."""
    weights = config["model"]["checkpoint"]
    if weights == "demo":
        return DEMO_CHECKPOINT
    return weights if Path(weights).exists() else []


@planned
def checkpoint_argument(wildcards):
    """What `rnamsm features --checkpoint` gets: the demo folder, a local path, or a hub id."""
    weights = config["model"]["checkpoint"]
    return DEMO_CHECKPOINT if weights == "demo" else weights


@planned
def ss_head_input(wildcards):
    """The SS head file: the demo head or the configured path."""
    head = config["heads"]["ss_head"]
    return f"{DEMO_HEADS}/ss.safetensors" if head == "demo" else head


@planned
def rsa_head_inputs(wildcards):
    """The RSA head files (one to three): the demo heads or the configured paths."""
    heads = config["heads"]["rsa_heads"]
    if heads == "demo":
        return [f"{DEMO_HEADS}/rsa_{index}.safetensors" for index in range(3)]
    return heads


@planned
def rsa_stats_inputs(wildcards):
    """Statistics pickles of the official RSA heads (none for rnamsm head files)."""
    return config["heads"]["rsa_stats"]


@planned
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


def remove_unreached_group_outputs():
    """After a failed cluster run, delete the outputs of the model jobs that this run was to remake but that
    no job remade (their files are older than the run): the members of a failed group job that it never
    reached. Snakemake records every member of a failed group as finished with today's settings, and the
    profile's `keep-incomplete` keeps their files, so without this they would pass as up to date under a
    config they were not made with. Members that finished keep their files (written during this run)."""
    if SAMPLES_PER_JOB == 1 or workflow.local_exec or workflow.dag is None:
        return
    for job in workflow.dag.needrun_jobs(exclude_finished=False):
        outputs = [Path(path) for path in job.output]
        if job.rule.name == "run_model" and any(
            path.exists() and path.stat().st_mtime < RUN_STARTED for path in outputs
        ):
            for path in outputs:
                path.unlink(missing_ok=True)


def write_batch_status(path):
    """Write `sample, status, reason` for every sample: ok, or the first stage that has no output, with the
    last line of its log and, for a Slurm job, its job id, what ended it (time, memory, other) and its log."""
    rows = []
    for sample in SAMPLES.index:
        status, reason = "ok", ""
        for stage_rule, output in sample_layout(sample).stage_outputs():
            stage_rule = msa_rule(sample) if stage_rule == "homology_search" else stage_rule
            if not output.exists():
                job_name = sample
                if sample in CHUNK_OF:  # its chunk's status file, when written, gives the reason
                    stage_rule, job_name = "family_chunk", ".".join(CHUNK_OF[sample])
                log = log_file(stage_rule, job_name)
                message = last_log_line(log) if log.exists() else "not run (an earlier job failed)"
                job = last_job_end(slurm_log_folder(stage_rule, job_name), since=RUN_STARTED)
                group_member = SAMPLES_PER_JOB > 1 and stage_rule == "run_model"  # its job is its group job
                if job is None and group_member:
                    job = last_group_job_end(slurm_group_log_folder(MODEL_GROUP, ["run_model"]), sample,
                                             since=RUN_STARTED)
                if job is not None:
                    # the rule's log says why, when this run wrote it (a group's member may not have started)
                    this_run = log.exists() and log.stat().st_mtime >= RUN_STARTED
                    message = job.describe() + (f": {message}" if job.kind == "failed" and this_run and message else "")
                status, reason = "failed", f"{stage_rule}: {message}"
                break
        rows.append(sample_status.SampleStatus(sample, status, reason))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sample_status.write(rows, path)


def family_samples(family):
    """The sample ids of a family's members, in alignment order."""
    return [sample for sample in SAMPLES.index if sample_value(sample, "family_id") == family]


def chunk_statuses(family):
    """The status files of a family's chunks (none when its members have per-sample jobs)."""
    return [family_layout(family).chunk_status(chunk) for chunk in FAMILY_CHUNKS.get(family, ())]


def all_chunk_statuses():
    """The status files of every family's chunks."""
    return [path for family in FAMILIES.index for path in chunk_statuses(family)]


def status_args(paths):
    """`--status FILE ...` of `rnamsm index` / `family-report` ('' without files)."""
    return f"--status {' '.join(shlex.quote(str(path)) for path in paths)}" if paths else ""


@planned
def family_inputs(wildcards):
    """What a family report reads: the family alignment and its chunks' status files, or (members with
    per-sample jobs) every member's data outputs."""
    family = wildcards.family
    if family in FAMILY_CHUNKS:
        return {"alignment": FAMILIES.at[family, "alignment"], "chunks": chunk_statuses(family)}
    return {
        "alignment": FAMILIES.at[family, "alignment"],
        "members": [path for sample in family_samples(family) for path in sample_layout(sample).report_inputs()],
    }


@planned
def family_members_spec(wildcards):
    """The family's `members` value (which records are members), for `rnamsm family-report --members`."""
    return FAMILIES.at[wildcards.family, "members"]


@planned
def family_description(wildcards):
    """The family's free-text description ('' when the sheet gives none)."""
    value = FAMILIES.at[wildcards.family, "description"] if "description" in FAMILIES.columns else None
    return "" if value is None or pd.isna(value) else value


def sample_reports():
    """The reports of the samples with per-sample jobs (a chunk writes its members' reports)."""
    return [sample_layout(sample).report for sample in PER_SAMPLE]


def all_outputs():
    """Every final output: each sample's report, each family's report and the batch index."""
    return sample_reports() + [family_layout(family).report for family in FAMILIES.index] + [INDEX]
