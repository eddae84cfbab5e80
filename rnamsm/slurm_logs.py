"""Why a Slurm job of the workflow ended, from the job log that the Slurm profile keeps.

The Slurm executor writes one log per submitted job, ``logs/slurm/rule_{rule}/{sample}/{jobid}.log``
(:func:`rnamsm.layout.slurm_log_folder`; array tasks ``{jobid}_{task}.log``). Slurm's own lines in it say
whether the job ran out of time (``slurmstepd: error: *** JOB 12 ON node CANCELLED AT ... DUE TO TIME
LIMIT ***``) or of memory (``Exceeded job memory limit`` from the accounting plugin's memory kill, ``oom-kill
event(s)`` from the cgroup's, ``Out Of Memory`` from srun); any other failure is ``failed``.

A Snakemake job group (the model jobs of ``model.samples_per_job`` samples) is one Slurm job whose log is
``logs/slurm/group_{group}_{rules}/{jobid}.log`` (:func:`rnamsm.layout.slurm_group_log_folder`), with no
folder per sample: the Snakemake run inside the job lists each member it runs (``wildcards: sample=s1``), and
:func:`last_group_job_end` finds a sample's job by that line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

#: What ended a failed job.
Kind = Literal["out of time", "out of memory", "failed"]
#: Bytes read from the end of a job log (Slurm's end-of-job lines are last).
TAIL_BYTES = 1 << 20
#: Bytes read from the start of a group job's log: where the Snakemake inside it lists the group's members.
HEAD_BYTES = 1 << 20
_TIME_LIMIT = re.compile(r"\*\*\* (?:JOB|STEP) \S+ ON \S+ CANCELLED AT \S+ DUE TO TIME LIMIT \*\*\*")
_OUT_OF_MEMORY = re.compile(r"Exceeded (?:job|step) memory limit|exceeded memory limit \(|oom-kill event|Out Of Memory")
_JOB_LOG = re.compile(r"(\d+)(?:_(\d+))?\.log")
_VERBS = {"out of time": "ran out of time", "out of memory": "ran out of memory", "failed": "failed"}


@dataclass(frozen=True)
class SlurmJobEnd:
    """The last Slurm job of a rule for a sample: its id, what ended it, its log and how many jobs were tried."""

    job_id: str
    kind: Kind
    log: Path
    jobs: int

    def describe(self) -> str:
        """``Slurm job 12 ran out of time (log logs/slurm/rule_x/s1/12.log)``, with the attempt when retried."""
        attempt = f", attempt {self.jobs}" if self.jobs > 1 else ""
        return f"Slurm job {self.job_id} {_VERBS[self.kind]} (log {self.log}{attempt})"


def classify(text: str) -> Kind:
    """What ended a failed job, from its log text."""
    if _TIME_LIMIT.search(text):
        return "out of time"
    if _OUT_OF_MEMORY.search(text):
        return "out of memory"
    return "failed"


def _tail(path: Path) -> str:
    with open(path, "rb") as handle:
        handle.seek(max(0, os.fstat(handle.fileno()).st_size - TAIL_BYTES))
        return handle.read().decode("utf-8", errors="replace")


def _job_logs(folder: Path) -> list[tuple[tuple[int, ...], Path]]:
    """(job id as numbers, path) of the ``{jobid}.log`` / ``{jobid}_{task}.log`` files of ``folder``, in id
    order (none when it does not exist)."""
    try:
        return sorted((tuple(int(part) for part in match.groups() if part), path)
                      for path in Path(folder).iterdir() if (match := _JOB_LOG.fullmatch(path.name)))
    except OSError:
        return []


def _job_end(path: Path, jobs: int, since: float | None) -> SlurmJobEnd | None:
    try:
        if since is not None and path.stat().st_mtime < since:
            return None
        text = _tail(path)
    except OSError:
        return None
    return SlurmJobEnd(path.name.removesuffix(".log"), classify(text), path, jobs)


def last_job_end(folder: Path, since: float | None = None) -> SlurmJobEnd | None:
    """The job with the highest id among the ``{jobid}.log`` files of ``folder``, or None.

    ``since`` (a time, e.g. when the workflow run started): a log last written before it belongs to an
    earlier run, and None is returned (the failure is not this run's Slurm job).
    """
    logs = _job_logs(folder)
    return _job_end(logs[-1][1], len(logs), since) if logs else None


def _names_member(path: Path, member: re.Pattern[str]) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    return member.search(head) is not None


def last_group_job_end(folder: Path, sample: str, since: float | None = None) -> SlurmJobEnd | None:
    """The group job with the highest id among the logs of ``folder`` (a group's log folder) that ran
    ``sample`` as a member, or None; ``jobs`` counts the group jobs that had it. ``since``: only logs
    written since then count (the group jobs of this run), as in :func:`last_job_end`."""
    member = re.compile(rf"^\s*wildcards: sample={re.escape(sample)}\s*$", re.MULTILINE)
    logs = [path for _key, path in _job_logs(folder) if _written_since(path, since) and _names_member(path, member)]
    return _job_end(logs[-1], len(logs), None) if logs else None  # `since` applied above


def _written_since(path: Path, since: float | None) -> bool:
    try:
        return since is None or path.stat().st_mtime >= since
    except OSError:
        return False
