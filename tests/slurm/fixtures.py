"""Pytest plugin for tests that run jobs on the local Slurm of ``tests/slurm/local-slurm.sh``.

Registered from ``tests/conftest.py`` (``pytest_plugins``). ``make test`` brings the cluster up
before pytest starts; a test that needs it takes the session fixture :func:`slurm_cluster`, which
skips outside CI and fails with ``CI=true`` when the cluster is not up.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, require_system
from tests.support.workflow import run_command

#: The script that starts and stops the test cluster.
LOCAL_SLURM = REPO_ROOT / "tests" / "slurm" / "local-slurm.sh"
#: The shipped Slurm profile (the repo-root ``slurm`` symlink points here).
SLURM_PROFILE = REPO_ROOT / "profiles" / "slurm"
#: Options every test run under the Slurm profile adds: log the sbatch calls, poll after 2 s
#: instead of 40 s, and fit every job into the 2-CPU test node.
SLURM_TEST_OPTIONS = ("--verbose", "--slurm-init-seconds-before-status-checks", "2", "--max-threads", "2")
#: ``python -c`` program that runs Snakemake (its arguments follow) with the Slurm plugin polling job states
#: every ``--slurm-init-seconds-before-status-checks`` seconds. The plugin adds 10 s to the interval after each
#: poll in which no job finished (up to 180 s, for hour-long jobs): with the test's jobs of some seconds that
#: left each job finished but unnoticed for up to 20 s, idle time of every cluster test.
STEADY_POLLING_SNAKEMAKE = """\
import sys
from snakemake.cli import main
from snakemake_executor_plugin_slurm import Executor
interval = Executor.next_seconds_between_status_checks
def steady(self, seconds):
    interval.fset(self, min(seconds, self.workflow.executor_settings.init_seconds_before_status_checks))
Executor.next_seconds_between_status_checks = property(interval.fget, steady)
sys.argv[0] = "snakemake"
main()
"""
#: Job states after which a job will not change any more.
FINAL_STATES = frozenset(
    {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}
)
USABLE_NODE_STATES = frozenset({"idle", "mixed", "allocated", "completing"})
CLUSTER_DOWN_REASON = "the local Slurm is not up: run `tests/slurm/local-slurm.sh up` as root (make test does)"


@dataclass(frozen=True)
class SlurmCluster:
    """What the test cluster offers (read from ``sinfo`` and ``scontrol`` when the session starts)."""

    node: str  # node name, "localhost"
    state: str  # node state when checked, e.g. "idle"
    cpus: int
    memory_mb: int  # the node's RealMemory
    gpus: int  # fake GPUs on the node (0 when it has no gres)
    gpu_type: str | None  # e.g. "a100": `--gpus=<gpu_type>:1` is satisfiable, other types are not
    partitions: tuple[str, ...]  # every partition; the default one first
    accounting: bool  # slurmdbd accounting on (sacct works)
    profile: Path  # the shipped Slurm profile to pass to `snakemake --profile`

    @property
    def default_partition(self) -> str:
        """The partition that jobs without ``-p`` land in."""
        return self.partitions[0]


def slurm_command(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run a Slurm client command; never raises for a non-zero exit (check ``returncode``)."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def cluster_is_up() -> bool:
    """True when the controller answers ``scontrol ping`` and ``sinfo`` shows a usable node."""
    try:
        ping = slurm_command("scontrol", "ping", timeout=15)
        nodes = slurm_command("sinfo", "-h", "-N", "-o", "%T", timeout=15)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    states = {state.rstrip("*~#!%$@^-") for state in nodes.stdout.split()}
    return ping.returncode == 0 and "is UP" in ping.stdout and bool(states & USABLE_NODE_STATES)


def _gres_gpus(gres: str) -> tuple[int, str | None]:
    """``gpu:a100:1`` -> (1, "a100"); ``gpu:2`` -> (2, None); ``(null)`` -> (0, None)."""
    for item in gres.split(","):
        fields = item.split("(")[0].split(":")
        if fields[0] == "gpu" and len(fields) >= 2:
            count = int(fields[-1]) if fields[-1].isdigit() else 1
            return count, fields[1] if len(fields) == 3 else None
    return 0, None


def cluster_info() -> SlurmCluster:
    """Describe the (single-node) cluster; call only when :func:`cluster_is_up` is true."""
    rows = slurm_command("sinfo", "-h", "-N", "-o", "%N|%T|%c|%m|%G|%P").stdout.split()
    node, state, cpus, memory, gres, _ = rows[0].split("|")
    partitions = [row.split("|")[5] for row in rows if row.split("|")[0] == node]
    # The default partition carries a "*"; list it first.
    partitions.sort(key=lambda name: not name.endswith("*"))
    gpus, gpu_type = _gres_gpus(gres)
    config = slurm_command("scontrol", "show", "config").stdout
    storage = re.search(r"^AccountingStorageType\s*=\s*(\S+)", config, re.MULTILINE)
    return SlurmCluster(
        node=node,
        state=state,
        cpus=int(cpus),
        memory_mb=int(memory),
        gpus=gpus,
        gpu_type=gpu_type,
        partitions=tuple(name.rstrip("*") for name in partitions),
        accounting=bool(storage) and storage.group(1) != "accounting_storage/none",
        profile=SLURM_PROFILE,
    )


def job_state(job_id: str) -> str:
    """The job's state from ``scontrol show job`` (kept for MinJobAge=300 s), e.g. "COMPLETED"."""
    shown = slurm_command("scontrol", "show", "job", job_id).stdout
    match = re.search(r"JobState=(\S+)", shown)
    return match.group(1) if match else "UNKNOWN"


def wait_for_job(job_id: str, timeout: float = 120) -> str:
    """Poll until the job reaches a final state; return that state (fails the test on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        state = job_state(job_id)
        if state in FINAL_STATES:
            return state
        if time.monotonic() > deadline:
            slurm_command("scancel", job_id)
            pytest.fail(f"Slurm job {job_id} still {state} after {timeout:.0f} s (cancelled)")
        time.sleep(0.5)


def sbatch_calls(snakemake_output: str) -> list[str]:
    """The sbatch command lines that ``snakemake --verbose`` logged under the Slurm executor.

    Covers single jobs (``sbatch call: sbatch ...``) and arrays (``call with array: sbatch ...``).
    """
    pattern = re.compile(r"(?:sbatch call|call with array):\s*(sbatch .*)$", re.MULTILINE)
    return [call.strip() for call in pattern.findall(snakemake_output)]


def sbatch_rule(call: str) -> str:
    """The rule an sbatch call submits, from its ``--comment rule_<name>_...`` (or its log path)."""
    words = shlex.split(call)
    comment = words[words.index("--comment") + 1] if "--comment" in words else ""
    match = re.match(r"rule_(.+?)(?:_wildcards_.*)?$", comment) or re.search(r"/rule_([^/]+)/", call)
    if match is None:
        raise ValueError(f"no rule name in sbatch call: {call}")
    return match.group(1)


def sbatch_option(call: str, name: str) -> str | None:
    """The value of ``--name=value`` or ``--name value`` in an sbatch call, or None when absent."""
    words = shlex.split(call)
    for index, word in enumerate(words):
        if word.startswith(f"{name}="):
            return word.split("=", 1)[1]
        if word == name and index + 1 < len(words):
            return words[index + 1]
    return None


def slurm_snakemake_command(args: Sequence[str], profile: Path = SLURM_PROFILE) -> str:
    """``snakemake --profile <profile> <SLURM_TEST_OPTIONS> <args>``, polling steadily
    (:data:`STEADY_POLLING_SNAKEMAKE`)."""
    return shlex.join([sys.executable, "-c", STEADY_POLLING_SNAKEMAKE, "--profile", str(profile),
                       *SLURM_TEST_OPTIONS, *args])


def run_snakemake_on_slurm(
    args: Sequence[str], cwd: Path, timeout: float = 600, profile: Path = SLURM_PROFILE, **extra_env: str
) -> subprocess.CompletedProcess:
    """:func:`slurm_snakemake_command` run in ``cwd``.

    Output is stdout and stderr merged. On timeout the run gets SIGINT (Snakemake then scancels its
    jobs; SIGTERM would not) and the test fails. ``extra_env`` is set in the run's environment.
    """
    return run_command(slurm_snakemake_command(args, profile), cwd, timeout=int(timeout), **extra_env)


@pytest.fixture(scope="session")
def slurm_cluster() -> SlurmCluster:
    """The local test cluster; skips (outside CI) or fails (CI=true) when it is not up."""
    require_system(cluster_is_up(), CLUSTER_DOWN_REASON)
    return cluster_info()
