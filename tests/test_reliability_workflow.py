"""Reliability of workflow runs: killed jobs, transient and permanent failures, locks, bad inputs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.outputs import differences
from tests.workflow_support import copy_workflow, run_command, workflow_env

#: One real tRNA query and a cheap search (one nhmmer round against the ten M. ruminantium tRNAs).
SMALL_SHEET = "sample_id\tfasta\trecord\nmrum-tRNA-1\tresources/demo/queries/mrum-tRNAs10.fa\tmrum-tRNA.1\n"
SMALL_CONFIG = {"databases": ["resources/demo/queries/mrum-tRNAs10.fa"], "search": {"cm": {"max_rounds": 0}}}


def small_workflow(path: Path, sheet: str = SMALL_SHEET) -> Path:
    workdir = copy_workflow(path)
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config.update(SMALL_CONFIG)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (workdir / "config" / "samples.tsv").write_text(sheet)
    return workdir


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory) -> Path:
    """An uninterrupted run of the small workflow."""
    workdir = small_workflow(tmp_path_factory.mktemp("reference") / "run")
    result = run_command("snakemake --cores 2", workdir)
    assert result.returncode == 0, result.stdout[-5000:]
    return workdir


def start_snakemake(command: str, workdir: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        command, shell=True, cwd=workdir, env=workflow_env(**env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )


def wait_for(condition, timeout: float = 300, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize("stage", ["homology_search", "run_model", "predict_ss"])
def test_sigkill_mid_stage_then_rerun_incomplete(stage: str, reference_run: Path, tmp_path: Path) -> None:
    workdir = small_workflow(tmp_path / "run")
    log = workdir / "logs" / stage / "mrum-tRNA-1.log"
    process = start_snakemake("snakemake --cores 2", workdir)
    wait_for(log.exists, what=f"{stage} to start")
    time.sleep(1.0)  # into the job's work (its imports and computation)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    # The killed stage left no output behind, only possibly a hidden temporary.
    stage_outputs = {"homology_search": "msa/msa_stats.json", "run_model": "features/features.npz",
                     "predict_ss": "structure/ss.json"}
    partial = workdir / "results" / "mrum-tRNA-1" / stage_outputs[stage]
    assert not partial.exists() or partial.stat().st_size > 0

    assert run_command("snakemake --unlock", workdir).returncode == 0
    result = run_command("snakemake --cores 2 --rerun-incomplete", workdir)
    assert result.returncode == 0, result.stdout[-5000:]
    assert differences(reference_run / "results", workdir / "results") == []
    assert not list((workdir / "results").rglob(".*.part*"))


def test_transient_failure_is_retried(reference_run: Path, tmp_path: Path) -> None:
    workdir = small_workflow(tmp_path / "run")
    marker = tmp_path / "features-failed-once"
    result = run_command("snakemake --cores 2 --retries 1", workdir, RNAMSM_FAIL_ONCE=f"features:{marker}")
    assert result.returncode == 0, result.stdout[-5000:]
    assert marker.exists(), "the injected failure did not happen"
    assert "Error in rule run_model" in result.stdout and "Trying to restart job" in result.stdout
    assert differences(reference_run / "results", workdir / "results") == []


def test_permanent_failures_do_not_stop_other_samples(tmp_path: Path) -> None:
    sheet = (
        SMALL_SHEET
        + "bad-database\tresources/demo/queries/2DRB_1.fasta\t\n"
        + "too-short\tresources/demo/queries/short.fa\t\n"
    )
    workdir = small_workflow(tmp_path / "run", sheet.replace("record\n", "record\tdatabase\n", 1))
    sheet_lines = (workdir / "config" / "samples.tsv").read_text().splitlines()
    sheet_lines[2] += "\tREADME.md"
    (workdir / "config" / "samples.tsv").write_text("\n".join(sheet_lines) + "\n")
    shutil.copy(workdir / "config" / "config.yaml", workdir / "README.md")
    (workdir / "resources" / "demo" / "queries" / "short.fa").write_text(">short\nACGUACGUA\n")

    result = run_command("snakemake --cores 2 --keep-going", workdir)
    assert result.returncode != 0
    assert (workdir / "results" / "mrum-tRNA-1" / "report.html").is_file()
    index = (workdir / "results" / "index.html").read_text()
    assert "mrum-tRNA-1/report.html" in index
    status = (workdir / "results" / "batch_status.tsv").read_text().splitlines()
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in status[1:]}
    assert rows["mrum-tRNA-1"] == ["ok", ""]
    assert rows["bad-database"][0] == "failed" and rows["bad-database"][1].startswith("homology_search: ")
    assert "README.md" in rows["bad-database"][1]
    assert rows["too-short"][0] == "failed"
    assert "shorter than the minimum of 10 nt" in rows["too-short"][1]
    for sample in ("bad-database", "too-short"):
        assert sample in index
    assert "shorter than the minimum of 10 nt" in index


def test_second_run_on_the_same_results_is_refused(reference_run: Path, tmp_path: Path) -> None:
    workdir = small_workflow(tmp_path / "run")
    first = start_snakemake("snakemake --cores 2", workdir)
    wait_for(lambda: any((workdir / ".snakemake" / "locks").glob("*")), what="the first run's lock")
    second = run_command("snakemake --cores 2", workdir)
    assert second.returncode != 0
    assert "cannot be locked" in second.stdout or "LockException" in second.stdout, second.stdout[-3000:]
    output, _ = first.communicate(timeout=900)
    assert first.returncode == 0, output[-5000:]
    assert differences(reference_run / "results", workdir / "results") == []


BAD_WORKFLOW_INPUTS = {
    "unknown-sheet-column": (
        lambda workdir: (workdir / "config" / "samples.tsv").write_text(
            "sample_id\tsequence\tcolour\ns1\tACGUACGUACGU\tred\n"),
        "row 1 ('s1'): unknown key(s) ('colour' was unexpected)",
    ),
    "missing-sheet-values": (
        lambda workdir: (workdir / "config" / "samples.tsv").write_text("sample_id\tsequence\tfasta\ns1\t\t\n"),
        "row 1 ('s1'): give exactly one of 'sequence' or 'fasta'",
    ),
    "sample-id-traversal": (
        lambda workdir: (workdir / "config" / "samples.tsv").write_text(
            "sample_id\tsequence\n../../etc\tACGUACGUACGU\n"),
        "sample_id: '../../etc' is not allowed",
    ),
    "config-wrong-type": (
        lambda workdir: (workdir / "config" / "config.yaml").write_text(
            (workdir / "config" / "config.yaml").read_text().replace("min_length: 10", "min_length: ten")),
        "input.min_length: 'ten' is not of type 'integer'",
    ),
    "missing-sheet": (
        lambda workdir: (workdir / "config" / "samples.tsv").unlink(),
        "config/samples.tsv: sample sheet not found",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_WORKFLOW_INPUTS))
def test_bad_workflow_input_is_one_clear_message(case: str, tmp_path: Path) -> None:
    workdir = small_workflow(tmp_path / "run")
    damage, expected = BAD_WORKFLOW_INPUTS[case]
    damage(workdir)
    result = run_command("snakemake -n", workdir)
    assert result.returncode != 0
    assert expected in result.stdout, result.stdout[-3000:]
    assert "Traceback" not in result.stdout
    assert not (workdir / "results").exists()
