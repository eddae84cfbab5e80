"""The local single-node Slurm (tests/slurm/local-slurm.sh) and the shipped Snakemake profiles.

The cluster tests need the daemons up (``make test`` starts them); outside CI they skip without them.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.slurm.fixtures import (
    LOCAL_SLURM,
    SLURM_PROFILE,
    SlurmCluster,
    run_snakemake_on_slurm,
    sbatch_calls,
    sbatch_option,
    sbatch_rule,
    slurm_command,
    wait_for_job,
)

# ---------------------------------------------------------------------------------------------
# Static checks (no cluster needed)


def test_local_slurm_script_parses() -> None:
    result = subprocess.run(["bash", "-n", str(LOCAL_SLURM)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert os.access(LOCAL_SLURM, os.X_OK)


def test_local_slurm_script_rejects_unknown_command() -> None:
    result = subprocess.run([str(LOCAL_SLURM), "restart"], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_repo_root_slurm_symlink_points_at_profile() -> None:
    """`snakemake --profile slurm` looks for ./slurm first; the symlink makes it the shipped profile."""
    link = REPO_ROOT / "slurm"
    assert link.is_symlink()
    assert os.readlink(link) == "profiles/slurm"
    assert (link / "config.yaml").resolve() == (SLURM_PROFILE / "config.yaml").resolve()


def test_slurm_profile_settings() -> None:
    profile = yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    # Every job asks for memory and time: without --mem a job may be given the whole node.
    assert profile["default-resources"]["mem_mb"] > 0
    assert profile["default-resources"]["runtime"] > 0
    assert profile["retries"] >= 1
    assert profile["keep-going"] is True
    assert profile["slurm-logdir"] == "logs/slurm"
    # Site GPU settings stay commented out: the rule's own gpu=1 must reach sbatch unchanged.
    assert "set-resources" not in profile


def test_local_profile_settings() -> None:
    profile = yaml.safe_load((REPO_ROOT / "profiles" / "local" / "config.yaml").read_text())
    assert "executor" not in profile
    assert profile["cores"] == "all"
    assert profile["resources"] == {"gpu": 1}
    assert profile["retries"] >= 1


# ---------------------------------------------------------------------------------------------
# The running cluster


def test_controller_and_node_are_up(slurm_cluster: SlurmCluster) -> None:
    ping = slurm_command("scontrol", "ping")
    assert ping.returncode == 0 and "is UP" in ping.stdout, ping.stdout + ping.stderr
    nodes = slurm_command("sinfo", "-h", "-N", "-o", "%N %T %G")
    assert slurm_cluster.node in nodes.stdout.split()
    assert slurm_cluster.cpus >= 1
    assert slurm_cluster.gpus >= 1, f"the test node has no GPU gres: {nodes.stdout}"
    assert slurm_cluster.default_partition == "main"


def test_gpu_job_gets_a_device_and_is_accounted(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    out = tmp_path / "gpu-job.out"
    submitted = slurm_command(
        "sbatch", "--parsable", "--gpus=1", "-t", "1", "--mem", "100", "-o", str(out),
        "--wrap", "echo CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES SLURM_JOB_GPUS=$SLURM_JOB_GPUS",
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().split(";")[0]
    assert wait_for_job(job_id) == "COMPLETED", out.read_text() if out.exists() else "no job output"
    assert out.read_text().split() == ["CUDA_VISIBLE_DEVICES=0", "SLURM_JOB_GPUS=0"]
    if not slurm_cluster.accounting:
        pytest.skip("accounting is off (RNAMSM_SLURM_ACCOUNTING=0): no sacct check")
    # slurmctld sends the job's fields to slurmdbd one message at a time: wait for all of them.
    deadline = time.monotonic() + 30
    while True:
        sacct = slurm_command("sacct", "-j", job_id, "-X", "-n", "-P", "-o", "ReqTRES,AllocTRES,State")
        requested, allocated, state = (sacct.stdout.strip().split("|") + ["", "", ""])[:3]
        if ("gres/gpu=1" in requested and state == "COMPLETED") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "gres/gpu=1" in requested.split(","), sacct.stdout + sacct.stderr
    assert "gres/gpu=1" in allocated.split(",")
    assert state == "COMPLETED"


def test_unknown_gpu_model_is_refused(slurm_cluster: SlurmCluster) -> None:
    assert slurm_cluster.gpu_type != "a100"
    submitted = slurm_command("sbatch", "--parsable", "--gpus=a100:1", "-t", "1", "--wrap", "true")
    assert submitted.returncode != 0, f"sbatch accepted an a100 job: {submitted.stdout}"
    assert "Requested node configuration is not available" in submitted.stderr


TWO_RULE_SNAKEFILE = """\
rule all:
    input:
        "gpu.txt",
        "cpu.txt",
    localrule: True


rule run_model:
    output:
        "gpu.txt",
    threads: 1
    resources:
        gpu=1,
        mem_mb=200,
        runtime=5,
    shell:
        "echo CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES > {output}"


rule cpu_step:
    output:
        "cpu.txt",
    threads: 8
    resources:
        mem_mb=200,
        runtime=5,
    shell:
        "echo SLURM_CPUS_PER_TASK=$SLURM_CPUS_PER_TASK > {output}"
"""


def test_snakemake_profile_sends_gpu_request_only_for_gpu_rule(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    (tmp_path / "Snakefile").write_text(TWO_RULE_SNAKEFILE)
    result = run_snakemake_on_slurm([], cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-8000:]

    calls = {sbatch_rule(call): call for call in sbatch_calls(result.stdout)}
    assert sorted(calls) == ["cpu_step", "run_model"], result.stdout[-8000:]
    assert sbatch_option(calls["run_model"], "--gpus") == "1"
    assert sbatch_option(calls["cpu_step"], "--gpus") is None
    assert "--gres" not in calls["cpu_step"]
    for rule, call in calls.items():
        cpus = sbatch_option(call, "--cpus-per-task")
        assert cpus is not None and int(cpus) <= 2, f"{rule}: {call}"
        assert sbatch_option(call, "--mem") == "200", f"{rule}: {call}"

    assert (tmp_path / "gpu.txt").read_text().strip() == "CUDA_VISIBLE_DEVICES=0"
    assert (tmp_path / "cpu.txt").read_text().strip() == "SLURM_CPUS_PER_TASK=2"
    assert list((tmp_path / "logs" / "slurm").glob("rule_run_model/*.log"))
