"""The local single-node Slurm (tests/slurm/local-slurm.sh) and the shipped Snakemake profiles.

The cluster tests need the daemons up (``make test`` starts them); outside CI they skip without them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from rnamsm.layout import SLURM_LOGS
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
    assert profile["slurm-logdir"] == str(SLURM_LOGS) == "logs/slurm"  # where the batch status reads job logs
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
    assert slurm_cluster.gpu_type != "h100"
    submitted = slurm_command("sbatch", "--parsable", "--gpus=h100:1", "-t", "1", "--wrap", "true")
    assert submitted.returncode != 0, f"sbatch accepted an h100 job: {submitted.stdout}"
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
        "echo CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES-unset}} > {output}"


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


def test_snakemake_profile_sends_gpu_request_only_for_gpu_rule(variant_runs: dict[str, VariantRun]) -> None:
    """The shipped profile as it is (its run shares the cluster with the variants' runs, :func:`variant_runs`)."""
    run = variant_runs[SHIPPED]
    result = run.result
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

    assert (run.workdir / "gpu.txt").read_text().strip() == "CUDA_VISIBLE_DEVICES=0"
    assert (run.workdir / "cpu.txt").read_text().strip() == "SLURM_CPUS_PER_TASK=2"
    assert list((run.workdir / "logs" / "slurm").glob("rule_run_model/*.log"))


# ---------------------------------------------------------------------------------------------
# The profile's commented variants, uncommented one at a time as a site would

#: GPU options of sbatch: a variant's comment names the ones run_model gets; the others must be absent.
GPU_OPTIONS = ("--gpus", "--gres", "--cpus-per-gpu")
#: Stands in for sacct (and sacctmgr) on a cluster without accounting: logs its arguments, then fails
#: with the message the profile quotes.
NO_ACCOUNTING_TOOL = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
echo "$(basename "$0"): error: Slurm accounting storage is disabled" >&2
exit 1
"""


@dataclass(frozen=True)
class ProfileVariant:
    """Commented lines of profiles/slurm/config.yaml that, uncommented together, make one variant."""

    name: str
    lines: tuple[str, ...]  # verbatim, with their "# "
    settings: dict  # what the uncommented lines add to the profile
    present: dict[str, str]  # sbatch options the comment documents for run_model (option -> value)
    absent: tuple[str, ...]  # sbatch options run_model must not get


def _documented_options(comment: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """``--gres=gpu:a100:1 -p gpu, no --gpus`` -> ({"--gres": "gpu:a100:1", "-p": "gpu"}, ("--gpus",))."""
    absent = re.findall(r"\bno (--[a-z-]+)", comment)
    present = dict(re.findall(r"(?<![\w-])(--[a-z-]+)=([^\s,;)]+)", comment))
    present.update(("-p", value) for value in re.findall(r"(?<![\w-])-p ([^\s,;)]+)", comment))
    absent = (*absent, *(option for option in GPU_OPTIONS if option not in present and option not in absent))
    return present, absent


def profile_variants(text: str) -> list[ProfileVariant]:
    """The commented ``set-resources`` lines for run_model and the commented status-command line."""
    lines = text.splitlines()
    header = [line for line in lines if re.fullmatch(r"# set-resources:\s*", line)]
    variants = []
    for line in lines:
        match = re.fullmatch(r"#(\s+run_model: \{.*\})\s+#\s*(.+)", line)
        if match and header:
            settings = yaml.safe_load("set-resources:\n" + match.group(1))
            present, absent = _documented_options(match.group(2))
            name = f"set-resources-{len(variants) + 1}"
            variants.append(ProfileVariant(name, (header[0], line), settings, present, absent))
    for line in lines:
        match = re.fullmatch(r"# (slurm-status-command: \S+)\s*", line)
        if match:
            variants.append(ProfileVariant("status-command", (line,), yaml.safe_load(match.group(1)), {}, ()))
    return variants


def uncommented_profile(text: str, lines: Sequence[str]) -> str:
    """The profile text with ``lines`` uncommented (their leading "# " removed), as a site would edit it."""
    edited = text.splitlines(keepends=True)
    for line in lines:
        found = [index for index, existing in enumerate(edited) if existing.rstrip("\n") == line]
        assert len(found) == 1, f"not exactly one line {line!r} in the profile"
        edited[found[0]] = line.removeprefix("# ") + "\n"
    return "".join(edited)


PROFILE_TEXT = (SLURM_PROFILE / "config.yaml").read_text()
VARIANTS = {variant.name: variant for variant in profile_variants(PROFILE_TEXT)}
SET_RESOURCES_VARIANTS = sorted(name for name in VARIANTS if name.startswith("set-resources-"))


def test_profile_documents_three_gpu_variants_and_the_squeue_status_command() -> None:
    assert len(SET_RESOURCES_VARIANTS) == 3 and "status-command" in VARIANTS, sorted(VARIANTS)
    gpu_model, gres, cpu_only = (VARIANTS[name] for name in SET_RESOURCES_VARIANTS)
    assert gpu_model.settings == {"set-resources": {"run_model": {
        "gpu_model": "a100", "cpus_per_gpu": 4, "slurm_partition": "gpu"}}}
    assert gpu_model.present == {"--gpus": "a100:1", "--cpus-per-gpu": "4", "-p": "gpu"}
    assert gres.present == {"--gres": "gpu:a100:1", "-p": "gpu"} and "--gpus" in gres.absent
    assert cpu_only.settings["set-resources"]["run_model"] == {"gpu": 0} and cpu_only.present == {}
    assert {"--gpus", "--gres"} <= set(cpu_only.absent)
    assert VARIANTS["status-command"].settings == {"slurm-status-command": "squeue"}
    for variant in VARIANTS.values():
        profile = yaml.safe_load(uncommented_profile(PROFILE_TEXT, variant.lines))
        assert profile == {**yaml.safe_load(PROFILE_TEXT), **variant.settings}


@dataclass(frozen=True)
class VariantRun:
    workdir: Path
    result: subprocess.CompletedProcess
    sacct_log: Path  # calls of the stand-in sacct/sacctmgr (status-command variant only)


def _run_variant(variant: ProfileVariant, root: Path) -> VariantRun:
    workdir = root / variant.name
    profile = workdir / "profile"
    profile.mkdir(parents=True)
    (profile / "config.yaml").write_text(uncommented_profile(PROFILE_TEXT, variant.lines))
    (workdir / "Snakefile").write_text(TWO_RULE_SNAKEFILE)
    sacct_log = workdir / "sacct-calls.txt"
    extra_env = {}
    if "slurm-status-command" in variant.settings:
        tools = workdir / "no-accounting-bin"
        tools.mkdir()
        for tool in ("sacct", "sacctmgr"):
            (tools / tool).write_text(NO_ACCOUNTING_TOOL.format(log=sacct_log))
            (tools / tool).chmod(0o755)
        extra_env["PATH"] = f"{tools}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    result = run_snakemake_on_slurm([], cwd=workdir, timeout=300, profile=profile, **extra_env)
    return VariantRun(workdir, result, sacct_log)


#: The shipped profile as it is: a "variant" with no line uncommented.
SHIPPED = "shipped"


@pytest.fixture(scope="module")
def variant_runs(slurm_cluster: SlurmCluster, tmp_path_factory) -> dict[str, VariantRun]:
    """The two-rule workflow under each profile variant and under the shipped profile (:data:`SHIPPED`); the
    runs share the cluster at the same time."""
    root = tmp_path_factory.mktemp("profile-variants")
    runs = {**VARIANTS, SHIPPED: ProfileVariant(SHIPPED, (), {}, {}, ())}
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = {name: pool.submit(_run_variant, variant, root) for name, variant in runs.items()}
        return {name: future.result() for name, future in futures.items()}


def _submitted_jobs(output: str) -> dict[str, str]:
    """Rule -> Slurm job id, from the plugin's "submitted with SLURM jobid N (log: .../rule_<rule>/...)" lines."""
    found = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_([^/]+)/", output)
    return {rule: job_id for job_id, rule in found}


def _slurm_job(job_id: str) -> dict[str, str]:
    """``scontrol show job`` fields (finished jobs stay for MinJobAge = 300 s)."""
    shown = slurm_command("scontrol", "show", "job", job_id).stdout
    return dict(re.findall(r"(\w[\w/:]*)=(\S*)", shown))


@pytest.mark.parametrize("name", SET_RESOURCES_VARIANTS)
def test_profile_gpu_variant_reaches_sbatch_for_run_model_only(
    name: str, slurm_cluster: SlurmCluster, variant_runs: dict[str, VariantRun]
) -> None:
    variant, run = VARIANTS[name], variant_runs[name]
    log = run.result.stdout[-8000:]
    assert run.result.returncode == 0, log
    calls = {sbatch_rule(call): call for call in sbatch_calls(run.result.stdout)}
    assert sorted(calls) == ["cpu_step", "run_model"], log
    model, other = calls["run_model"], calls["cpu_step"]
    for option, value in variant.present.items():
        assert sbatch_option(model, option) == value, f"{variant.lines[1]}\n{model}"
    for option in variant.absent:
        assert sbatch_option(model, option) is None, f"{variant.lines[1]}\n{model}"
    partition = variant.present.get("-p", slurm_cluster.default_partition)
    assert sbatch_option(model, "-p") == partition
    assert sbatch_option(model, "--mem") == "200" and sbatch_option(model, "-t") == "5"  # the rule's own values
    # The other rule is submitted as without the variant.
    assert all(sbatch_option(other, option) is None for option in GPU_OPTIONS), other
    assert sbatch_option(other, "-p") == slurm_cluster.default_partition
    assert sbatch_option(other, "--cpus-per-task") == "2"

    # What Slurm made of the request.
    jobs = _submitted_jobs(run.result.stdout)
    job = _slurm_job(jobs["run_model"])
    assert job.get("JobState") == "COMPLETED" and job.get("Partition") == partition, job
    wants_gpu = "--gpus" in variant.present or "--gres" in variant.present
    assert ("gres/gpu=1" in job.get("TRES", "").split(",")) == wants_gpu, job
    if "--gpus" in variant.present:
        assert job.get("TresPerJob") == f"gres:gpu:{variant.present['--gpus']}", job
    if "--gres" in variant.present:
        assert job.get("TresPerNode") == f"gres:{variant.present['--gres']}", job
    if "--cpus-per-gpu" in variant.present:
        assert job.get("NumCPUs") == variant.present["--cpus-per-gpu"], job
    gpu_env = (run.workdir / "gpu.txt").read_text().strip()
    assert gpu_env == ("CUDA_VISIBLE_DEVICES=0" if wants_gpu else "CUDA_VISIBLE_DEVICES=unset")
    assert _slurm_job(jobs["cpu_step"]).get("Partition") == slurm_cluster.default_partition


def test_profile_squeue_status_command_runs_without_accounting(variant_runs: dict[str, VariantRun]) -> None:
    run = variant_runs["status-command"]
    log = run.result.stdout[-8000:]
    assert run.result.returncode == 0, log
    assert (run.workdir / "gpu.txt").is_file() and (run.workdir / "cpu.txt").is_file()
    assert sorted(_submitted_jobs(run.result.stdout)) == ["cpu_step", "run_model"], log
    # Every status poll went through squeue; sacct (which fails here, as without accounting) polled nothing.
    polls = re.findall(r"Status query timing \(cycle\): command=(\w+)", run.result.stdout)
    assert polls and set(polls) == {"squeue"}, log
    run_name = sbatch_option(sbatch_calls(run.result.stdout)[0], "--job-name")
    sacct_calls = run.sacct_log.read_text().splitlines() if run.sacct_log.exists() else []
    assert not [call for call in sacct_calls if run_name in call], sacct_calls
