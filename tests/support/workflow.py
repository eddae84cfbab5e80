"""Helpers for tests that run the workflow in a temporary copy of the repository."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from rnamsm.layout import DEMO_CHECKPOINT
from tests.conftest import REPO_ROOT

#: What a checkout needs to run the workflow. pyproject.toml is left out on purpose: without it
#: `make demo` uses the test session's venv as it is instead of reinstalling the package from the copy.
WORKFLOW_FILES = (
    "Snakefile", "Makefile", "workflow", "config", "envs", "resources", "profiles", "rnamsm",
    "tests/install-debian-packages.sh",
)
VENV = Path(sys.executable).parent.parent
#: The folder of a results folder's demo weights: the random checkpoint and the heads made to match it.
DEMO_WEIGHTS = DEMO_CHECKPOINT.parent


def copy_workflow(destination: Path) -> Path:
    """Copy the workflow into ``destination`` (like a fresh checkout); return it."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source = REPO_ROOT / name
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    for link in ("slurm",):
        if (REPO_ROOT / link).is_symlink():
            os.symlink(os.readlink(REPO_ROOT / link), destination / link)
    return destination


def workflow_env(**extra: str) -> dict[str, str]:
    """Environment for workflow commands: the project venv first on PATH, byte-stable reports."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VENV"] = str(VENV)
    env.setdefault("SOURCE_DATE_EPOCH", "1700000000")
    env.update(extra)
    return env


def start_command(command: str, cwd: Path, output: Path, **extra_env: str) -> subprocess.Popen:
    """Start a shell command as a user would type it, its stdout and stderr going to ``output``."""
    with output.open("w") as sink:
        return subprocess.Popen(
            command,
            shell=True,
            cwd=cwd,
            env=workflow_env(**extra_env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


def interrupt_command(process: subprocess.Popen) -> None:
    """Ctrl-C for a command started by :func:`start_command`: SIGINT to its shell and to the shell's children
    (the shell does not pass it on, and Snakemake cancels its Slurm jobs only when it gets it itself)."""
    try:
        children = psutil.Process(process.pid).children()
    except psutil.NoSuchProcess:
        children = []
    for child in children:
        try:
            child.send_signal(signal.SIGINT)
        except psutil.NoSuchProcess:
            pass
    process.send_signal(signal.SIGINT)


def finish_command(process: subprocess.Popen, output: Path, timeout: int) -> subprocess.CompletedProcess:
    """Wait for a command started by :func:`start_command`; interrupt it (:func:`interrupt_command`) on
    timeout."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        interrupt_command(process)
        process.wait(timeout=60)
        raise AssertionError(f"{process.args!r} timed out after {timeout} s:\n{output.read_text()[-5000:]}") from None
    return subprocess.CompletedProcess(process.args, process.returncode, output.read_text(), "")


def run_command(command: str, cwd: Path, timeout: int = 1200, **extra_env: str) -> subprocess.CompletedProcess:
    """Run a shell command as a user would type it; interrupt it with SIGINT on timeout."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "output.txt"
        return finish_command(start_command(command, cwd, output, **extra_env), output, timeout)


def seed_demo_weights(workdir: Path, weights: Path) -> None:
    """Copy demo weights (the ``demo_weights`` fixture: a finished run's :data:`DEMO_WEIGHTS`) into ``workdir``
    (times kept): its run then starts with those two jobs done (their outputs present and newer than their
    inputs)."""
    shutil.copytree(weights, workdir / DEMO_WEIGHTS, symlinks=True)


#: The dry run the planning benchmarks time: every job planned, nothing printed but the job table.
DRY_RUN = "snakemake -n --quiet rules"


def time_dry_run(workdir: Path, timeout: int = 1200, allow_timeout: bool = False) -> tuple[float, float, int | None]:
    """(wall s, CPU s, jobs) of one :data:`DRY_RUN` in ``workdir``. After ``timeout`` wall seconds the run is
    killed: with ``allow_timeout`` ``jobs`` is then None and the CPU seconds what it used until then (a lower
    bound), else it is an error."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "output.txt"
        process = start_command(DRY_RUN, workdir, output)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(process.pid).children():  # Snakemake, reaped by the shell
                child.kill()
            process.wait()
        text = output.read_text()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if wall >= timeout:
        if not allow_timeout:
            raise SystemExit(f"{DRY_RUN} in {workdir} did not finish in {timeout} s")
        return wall, cpu, None
    if process.returncode != 0:
        raise SystemExit(text[-3000:])
    jobs = next(int(line.split()[1]) for line in text.splitlines() if line.startswith("total "))
    return wall, cpu, jobs
