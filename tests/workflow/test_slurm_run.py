"""`snakemake --profile slurm` runs the demo end to end on the local single-node Slurm."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.slurm.fixtures import (
    run_snakemake_on_slurm,
    sbatch_calls,
    sbatch_option,
    sbatch_rule,
    slurm_snakemake_command,
)
from tests.support.outputs import differences
from tests.support.readme import readme_commands
from tests.support.workflow import copy_workflow, finish_command, start_command

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


@pytest.fixture(scope="module")
def time_limit_run(slurm_cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundRun]:
    """One sample whose search job gets one minute (``--set-resources``) and a calibration that takes far
    longer (``search.calibrate_L: 160``, one thread), started at once: Slurm needs 60-90 s to kill it at its
    time limit, and the demo's cluster run below uses that time."""
    workdir = copy_workflow(tmp_path_factory.mktemp("time-limit") / "checkout")
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
    output = workdir.parent / "snakemake.txt"
    run = BackgroundRun(start_command(command, workdir, output), workdir, output)
    yield run
    if run.process.poll() is None:
        run.process.send_signal(signal.SIGINT)
        run.process.wait(timeout=60)


def test_demo_on_slurm_equals_local_run(
    slurm_cluster, demo_run: Path, time_limit_run: BackgroundRun, tmp_path: Path
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


def test_job_over_its_time_limit_is_named_in_the_index(time_limit_run: BackgroundRun) -> None:
    """The search job of :func:`time_limit_run` is killed by Slurm at its time limit; the batch status and
    the index say so with the job id and the job's Slurm log. (Memory is not enforced on the local cluster:
    no cgroups; ``tests/unit/test_slurm_logs.py`` classifies Slurm's memory-kill lines.)"""
    result = finish_command(time_limit_run.process, time_limit_run.output, timeout=600)
    workdir = time_limit_run.workdir
    assert result.returncode != 0, result.stdout[-8000:]
    job_id = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_homology_search/", result.stdout)
    assert len(job_id) == 1, result.stdout[-8000:]
    log = Path("logs") / "slurm" / "rule_homology_search" / "slow" / f"{job_id[0]}.log"
    assert "DUE TO TIME LIMIT" in (workdir / log).read_text()
    status = (workdir / "results" / "batch_status.tsv").read_text().splitlines()
    assert status[1] == f"slow\tfailed\thomology_search: Slurm job {job_id[0]} ran out of time (log {log})"
    index = (workdir / "results" / "index.html").read_text()
    assert f"<td>homology_search: Slurm job {job_id[0]} ran out of time (log {log})</td>" in index
