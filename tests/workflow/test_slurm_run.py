"""`snakemake --profile slurm` runs the demo end to end on the local single-node Slurm."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from rnamsm.formats import ss_summary
from rnamsm.layout import benchmark_file, sample_layout, slurm_group_log_folder
from tests.conftest import INFERNAL_DATA
from tests.slurm.fixtures import (
    run_snakemake_on_slurm,
    sbatch_calls,
    sbatch_option,
    sbatch_rule,
    slurm_snakemake_command,
)
from tests.support.outputs import differences
from tests.support.readme import readme_commands
from tests.support.workflow import (
    copy_workflow,
    finish_command,
    interrupt_command,
    run_command,
    seed_demo_weights,
    start_command,
    workflow_env,
)

SLURM_COMMAND = "snakemake --profile slurm"
SLURM_SAMPLES = ("mrum-tRNA-1", "2DRB_1")
#: What `sbatch_rule` reads from the comment of the model job group's sbatch call (group `model`, rule run_model).
MODEL_GROUP = "model_run_model"


@dataclass
class BackgroundRun:
    """A Snakemake run started before the tests that read it, so that its waiting overlaps theirs."""

    process: subprocess.Popen
    workdir: Path
    output: Path


def run_in_background(command: str, workdir: Path, **extra_env: str) -> Iterator[BackgroundRun]:
    """Start ``command`` in ``workdir`` (``extra_env`` set in its environment) and yield it; stop it (Ctrl-C)
    afterwards if no test finished it."""
    output = workdir.parent / "snakemake.txt"
    run = BackgroundRun(start_command(command, workdir, output, **extra_env), workdir, output)
    yield run
    if run.process.poll() is None:
        interrupt_command(run.process)
        run.process.wait(timeout=60)


@pytest.fixture(scope="module")
def memory_limit_run(slurm_cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundRun]:
    """One sample whose first job (validate_input) gets 40 MB (``--set-resources``), less than its Python
    needs: the cluster's accounting kills it within seconds. Started at once, beside the demo's cluster run."""
    workdir = copy_workflow(tmp_path_factory.mktemp("memory-limit") / "checkout")
    (workdir / "config" / "samples.tsv").write_text(
        "sample_id\tfasta\trecord\tsequence\tdatabase\tdescription\n"
        "big\tresources/demo/queries/mrum-tRNAs10.fa\tmrum-tRNA.2\t\t\tneeds more than it asks for\n"
    )
    command = slurm_snakemake_command(
        ["results/big/query.fa", "--set-resources", "validate_input:mem_mb=40", "--retries", "0"],
        profile=Path("slurm"))
    yield from run_in_background(command, workdir)


#: A ``cmcalibrate`` first on the time-limit run's PATH: the real one, at the lowest CPU priority.
NICE_CMCALIBRATE = """#!/bin/sh
exec nice -n 19 {program} "$@"
"""


@pytest.fixture(scope="module")
def time_limit_run(slurm_cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundRun]:
    """One sample whose search job gets one minute (``--set-resources``) and a calibration that takes far
    longer (``search.calibrate_L: 160``, one thread), started at once: Slurm needs 60-90 s to kill it at its
    time limit, and the demo's cluster run below uses that time. The calibration runs at nice 19 (a
    ``cmcalibrate`` on the run's PATH that runs the real one so), so that its minute on the cluster leaves the
    CPU to the runs beside it: it is still hours of work, killed by Slurm at the time limit."""
    root = tmp_path_factory.mktemp("time-limit")
    tools = root / "bin"
    tools.mkdir()
    program = shutil.which("cmcalibrate")
    assert program is not None, "cmcalibrate is not on PATH"
    (tools / "cmcalibrate").write_text(NICE_CMCALIBRATE.format(program=shlex.quote(program)))
    (tools / "cmcalibrate").chmod(0o755)
    workdir = copy_workflow(root / "checkout")
    (workdir / "config" / "samples.tsv").write_text(
        "sample_id\tfasta\trecord\tsequence\tdatabase\tdescription\n"
        "slow\tresources/demo/queries/mrum-tRNAs10.fa\tmrum-tRNA.1\t\t\tcalibrates for hours\n"
    )
    config_path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["search"].update(calibrate_L=160, calibrate_cache=None)
    config_path.write_text(yaml.safe_dump(config))
    command = slurm_snakemake_command(
        ["results/slow/msa/msa_stats.json", "--set-resources", "homology_search:runtime=1",
         "--set-threads", "homology_search=1", "--retries", "0"], profile=Path("slurm"))
    yield from run_in_background(command, workdir, PATH=f"{tools}{os.pathsep}{workflow_env()['PATH']}")


def test_demo_on_slurm_equals_local_run(
    slurm_cluster, demo_run: Path, time_limit_run: BackgroundRun, memory_limit_run: BackgroundRun,
    grouped_run: Future, tmp_path: Path
) -> None:
    assert SLURM_COMMAND in readme_commands()
    workdir = copy_workflow(tmp_path / "slurm-run")
    # Two of the demo's samples keep the cluster run short; every stage still runs as a Slurm job.
    targets = [f"results/{sample}/report.html" for sample in SLURM_SAMPLES]
    result = run_snakemake_on_slurm(targets, workdir, timeout=1500, profile=Path("slurm"))
    assert result.returncode == 0, result.stdout[-8000:]

    calls = sbatch_calls(result.stdout)
    submitted = [sbatch_rule(call) for call in calls]
    assert {"validate_input", "homology_search", MODEL_GROUP, "baselines"} <= set(submitted)
    assert not set(submitted) & {"sample_report", "batch_index", "all"}, "local rules must not be queued"
    # model.samples_per_job (default 8): both samples' model jobs are one Slurm job with one GPU request
    assert submitted.count(MODEL_GROUP) == 1 and "run_model" not in submitted, submitted
    for call in calls:
        assert sbatch_option(call, "--gpus") is None, call
        assert (sbatch_option(call, "--gres") == "gpu:1") == (sbatch_rule(call) == MODEL_GROUP), call
        cpus = sbatch_option(call, "--cpus-per-task")
        assert cpus is None or int(cpus) <= 2 * len(SLURM_SAMPLES), call

    for log in sorted((workdir / "logs" / "run_model").glob("*.log")):
        assert re.search(r"device=cpu CUDA_VISIBLE_DEVICES=0\b", log.read_text()), log

    for sample in SLURM_SAMPLES:
        assert differences(demo_run / "results" / sample, workdir / "results" / sample) == []
        assert (workdir / "results" / sample / "report.html").is_file()


def assert_ended_job_in_index(run: BackgroundRun, rule: str, sample: str, slurm_line: str, ended: str) -> None:
    """``run``'s one ``rule`` job was ended by Slurm (``slurm_line`` in its Slurm log): the batch status and the
    index name the job id, what ended it and the log."""
    result = finish_command(run.process, run.output, timeout=600)
    assert result.returncode != 0, result.stdout[-8000:]
    job_id = re.findall(rf"submitted with SLURM jobid (\d+) \(log: \S*/rule_{rule}/", result.stdout)
    assert len(job_id) == 1, result.stdout[-8000:]
    log = Path("logs") / "slurm" / f"rule_{rule}" / sample / f"{job_id[0]}.log"
    assert slurm_line in (run.workdir / log).read_text()
    reason = f"{rule}: Slurm job {job_id[0]} {ended} (log {log})"
    status = (run.workdir / "results" / "batch_status.tsv").read_text().splitlines()
    assert status[1] == f"{sample}\tfailed\t{reason}"
    assert f"<td>{reason}</td>" in (run.workdir / "results" / "index.html").read_text()


def test_job_over_its_time_limit_is_named_in_the_index(time_limit_run: BackgroundRun) -> None:
    """The search job of :func:`time_limit_run` is killed by Slurm at its time limit."""
    assert_ended_job_in_index(time_limit_run, "homology_search", "slow", "DUE TO TIME LIMIT", "ran out of time")


def test_job_over_its_memory_is_named_in_the_index(memory_limit_run: BackgroundRun) -> None:
    """The validate_input job of :func:`memory_limit_run` is killed for its memory (the test cluster enforces
    ``--mem`` as production clusters do; ``tests/unit/test_slurm_logs.py`` classifies the cgroup's lines)."""
    assert_ended_job_in_index(memory_limit_run, "validate_input", "big", "memory limit", "ran out of memory")


#: The grouped-jobs test's samples: real tRNAs of one Stockholm file, imported as their own alignment (the
#: `msa` column, no search), t1 the finished batch and t2-t4 the 3 samples added to it: a group job of the
#: three, then of all four, whose killed run has a finished member, the killed one and two it never reached.
GROUP_ALIGNMENT = INFERNAL_DATA / "mrum-tRNAs10.cmalign.sto"
GROUPED = tuple(f"t{number}" for number in range(1, 5))
#: The model rule's outputs, the targets of the grouped runs (the model jobs are what is grouped; baselines and
#: reports are per-sample jobs whatever `model.samples_per_job` is).
MODEL_OUTPUT_FOLDERS = ("features", "structure", "rsa")


def edit_heads_threshold(workdir: Path) -> None:
    """The heads edit of the grouped test: `heads.threshold: 0.6` in the checkout's config."""
    config_path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["heads"]["threshold"] = 0.6
    config_path.write_text(yaml.safe_dump(config))


def write_group_sheet(workdir: Path, samples: Sequence[str]) -> None:
    rows = [f"{sample}\t\tmrum-tRNA.{sample[1:]}\tresources/tRNAs.sto" for sample in samples]
    (workdir / "config" / "samples.tsv").write_text("\n".join(["sample_id\tfasta\trecord\tmsa", *rows]) + "\n")


def model_targets(samples: Sequence[str]) -> list[str]:
    return [str(sample_layout(sample).rsa) for sample in samples]


def local_model_run(samples: Sequence[str]) -> str:
    """The model jobs of ``samples`` (and what they need), one job per sample, through the local profile."""
    return f"snakemake --profile profiles/local --cores 2 {' '.join(model_targets(samples))}"


def model_files(workdir: Path, samples: Sequence[str]) -> dict[Path, tuple[int, bytes]]:
    """(mtime in ns, bytes) of every model output of ``samples``."""
    return {path: (path.stat().st_mtime_ns, path.read_bytes())
            for sample in samples for folder in MODEL_OUTPUT_FOLDERS
            for path in sorted((workdir / "results" / sample / folder).iterdir())}


def group_members(call: str) -> list[str]:
    """The samples a model group's sbatch call runs (its `--target-jobs 'run_model:sample=...'`)."""
    return sorted(re.findall(r"run_model:sample=([A-Za-z0-9_.-]+)", call))


def sbatch_sample(call: str) -> str:
    """The sample of a per-sample job's sbatch call (its `--comment rule_<rule>_wildcards_<sample>`)."""
    words = shlex.split(call)
    return words[words.index("--comment") + 1].split("_wildcards_", 1)[1]


def finished_since(workdir: Path, samples: Sequence[str], since_ns: int) -> list[str]:
    """The samples whose run_model job finished after ``since_ns`` (Snakemake writes the benchmark file last)."""
    benchmarks = {sample: workdir / benchmark_file("run_model", sample) for sample in samples}
    return [sample for sample, path in benchmarks.items() if path.exists() and path.stat().st_mtime_ns > since_ns]


def running_member(workdir: Path) -> tuple[int, str] | None:
    """(pid, sample) of a model job's `rnamsm run-samples` process running in ``workdir``, or None."""
    for proc in Path("/proc").iterdir():
        try:
            words = (proc / "cmdline").read_bytes().decode().split("\0")
            if "run-samples" in words and Path(os.readlink(proc / "cwd")) == workdir:
                return int(proc.name), words[words.index("--sample") + 1]
        except (OSError, ValueError):
            continue
    return None


def grouped_scenario(demo_weights: Path, tmp_path: Path) -> None:
    """Model jobs grouped (default `model.samples_per_job: 8`) on the local Slurm, in one results folder:
    a finished batch (t1, made through the local profile) gets 3 samples: only their jobs run, their 3 model
    jobs in one group job with one GPU request and one member's CPUs and memory, and t1 is untouched. A heads
    edit then reruns the 4 model jobs, and nothing else, as one group job; once a member has finished, the
    next one is killed (SIGKILL). The batch status names the group's Slurm job and its log for each unfinished
    member, the members the job never reached included, whose files of the earlier settings are gone; the
    rerun runs exactly the unfinished ones in one group job, the finished ones are untouched, and every output
    has the edited setting and is byte-identical to a local per-sample run. (`scancel` of the group job is not
    used: executor plugin slurm 2.8.0 does not see a cancelled job end, docs/cluster.md.) The local
    per-sample reference run starts, in the background, from a copy of the results folder once the 4 samples'
    queries and alignments are made, so that it runs beside the cluster runs of the edit."""
    workdir = copy_workflow(tmp_path / "groups")
    seed_demo_weights(workdir, demo_weights)
    shutil.copy(GROUP_ALIGNMENT, workdir / "resources" / "tRNAs.sto")
    write_group_sheet(workdir, GROUPED[:1])
    result = run_command(local_model_run(GROUPED[:1]), workdir)
    assert result.returncode == 0, result.stdout[-5000:]
    finished_batch = model_files(workdir, GROUPED[:1])

    # 3 samples added: only their jobs run, and their model jobs are one group job
    added = GROUPED[1:]
    write_group_sheet(workdir, GROUPED)
    result = run_snakemake_on_slurm([*model_targets(GROUPED), "--retries", "0"], workdir, timeout=1500,
                                    profile=Path("slurm"))
    assert result.returncode == 0, result.stdout[-8000:]
    calls = sbatch_calls(result.stdout)
    per_sample = sorted((sbatch_rule(call), sbatch_sample(call)) for call in calls if sbatch_rule(call) != MODEL_GROUP)
    assert per_sample == sorted((rule, sample) for rule in ("validate_input", "import_msa") for sample in added)
    (group,) = [call for call in calls if sbatch_rule(call) == MODEL_GROUP]
    assert group_members(group) == list(added)
    # one GPU; the members take turns, so one member's CPUs and memory and the members' times added up
    assert sbatch_option(group, "--gres") == "gpu:1" and sbatch_option(group, "--gpus") is None, group
    assert (sbatch_option(group, "--cpus-per-task"), sbatch_option(group, "--mem")) == ("2", "3000"), group
    assert sbatch_option(group, "-t") == str(20 * len(added)), group
    assert model_files(workdir, GROUPED[:1]) == finished_batch

    # the reference: the same samples with the edit below, one model job per sample, locally, in a copy whose
    # queries and alignments are these (the edit reruns only the model jobs, whose outputs the copy drops)
    reference = shutil.copytree(workdir, tmp_path / "local", symlinks=True)
    for sample in GROUPED:
        for folder in MODEL_OUTPUT_FOLDERS:
            shutil.rmtree(reference / "results" / sample / folder)
    edit_heads_threshold(reference)
    reference_output = tmp_path / "local.txt"
    reference_run = start_command(local_model_run(GROUPED), reference, reference_output)

    try:
        heads_edit_killed_then_resumed(workdir, tmp_path)
        result = finish_command(reference_run, reference_output, timeout=1200)
    finally:
        if reference_run.poll() is None:  # a failed check above: stop the reference run too
            interrupt_command(reference_run)
            reference_run.wait(timeout=60)
    assert result.returncode == 0, result.stdout[-5000:]
    for sample in GROUPED:
        assert differences(reference / "results" / sample, workdir / "results" / sample) == [], sample


def heads_edit_killed_then_resumed(workdir: Path, tmp_path: Path) -> None:
    """The second half of :func:`grouped_scenario`, from the heads edit to the finished rerun."""
    # a heads edit reruns the model job of every sample, and nothing else, as one group job: killed mid-way
    edit_heads_threshold(workdir)
    inputs = {path: path.stat().st_mtime_ns for sample in GROUPED for path in (workdir / "results" / sample).rglob("*")
              if path.is_file() and path.relative_to(workdir / "results" / sample).parts[0] not in MODEL_OUTPUT_FOLDERS}
    assert len(inputs) >= 4 * len(GROUPED)  # query.fa and the MSA files
    before = model_files(workdir, GROUPED)
    started = time.time_ns()
    output = tmp_path / "killed.txt"
    command = slurm_snakemake_command([*model_targets(GROUPED), "--retries", "0"], profile=Path("slurm"))
    process = start_command(command, workdir, output)
    deadline = time.monotonic() + 1200
    while not (finished_since(workdir, GROUPED, started) and (member := running_member(workdir))):
        assert process.poll() is None and time.monotonic() < deadline, output.read_text()[-8000:]
        time.sleep(0.2)
    os.kill(member[0], signal.SIGKILL)  # a member dies mid-way (as the kernel's OOM killer would do it)
    result = finish_command(process, output, timeout=600)
    assert result.returncode != 0, result.stdout[-8000:]
    (edited,) = sbatch_calls(result.stdout)
    assert sbatch_rule(edited) == MODEL_GROUP and group_members(edited) == list(GROUPED), edited
    job_id = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/group_model_run_model/", result.stdout)[0]
    finished = finished_since(workdir, GROUPED, started)
    unfinished = [sample for sample in GROUPED if sample not in finished]
    assert member[1] in unfinished and finished, (member, finished)
    log = slurm_group_log_folder("model", ["run_model"]) / f"{job_id}.log"
    status = dict(line.split("\t", 1) for line in (workdir / "results" / "batch_status.tsv").read_text().splitlines())
    for sample in unfinished:  # each unfinished member's reason names its group's Slurm job and log
        assert status[sample].startswith(f"failed\trun_model: Slurm job {job_id} failed (log {log})"), status
        # the killed member's files and those of the members never reached: none of the earlier settings is left
        left = [path for folder in MODEL_OUTPUT_FOLDERS for path in (workdir / "results" / sample).glob(f"{folder}/*")]
        assert left == [], left
    kept = model_files(workdir, finished)

    result = run_snakemake_on_slurm([*model_targets(GROUPED), "--retries", "0"], workdir, timeout=1500,
                                    profile=Path("slurm"))
    assert result.returncode == 0, result.stdout[-8000:]
    (resumed,) = sbatch_calls(result.stdout)
    assert sbatch_rule(resumed) == MODEL_GROUP and group_members(resumed) == unfinished, resumed
    assert model_files(workdir, finished) == kept
    assert {path: path.stat().st_mtime_ns for path in inputs} == inputs  # queries and alignments not redone
    after = model_files(workdir, GROUPED)
    for sample in GROUPED:
        layout = sample_layout(sample)
        assert ss_summary.read(workdir / layout.structure.summary).threshold == 0.6
        features = workdir / layout.features
        assert after[features][0] > before[features][0] and after[features][1] == before[features][1]


@pytest.fixture(scope="module")
def grouped_run(slurm_cluster, demo_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Future]:
    """:func:`grouped_scenario`, started at once in a thread beside the demo's cluster run (most of both is
    waiting for Slurm); its assertions are raised by the test that reads it."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(grouped_scenario, demo_weights, tmp_path_factory.mktemp("grouped"))


def test_grouped_model_jobs_add_samples_and_a_killed_edit_resumes_exactly(grouped_run: Future) -> None:
    """See :func:`grouped_scenario`."""
    grouped_run.result(timeout=3600)
