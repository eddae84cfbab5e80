"""Why a Slurm job of the workflow ended, from the job log that the Slurm profile keeps.

The Slurm executor writes one log per submitted job, ``logs/slurm/rule_{rule}/{sample}/{jobid}.log``
(:func:`rnamsm.layout.slurm_log_folder`; array tasks ``{jobid}_{task}.log``). Slurm's own lines in it say
whether the job ran out of time (``slurmstepd: error: *** JOB 12 ON node CANCELLED AT ... DUE TO TIME
LIMIT ***``) or of memory (``Exceeded job memory limit`` from the accounting plugin's memory kill, ``oom-kill
event(s)`` from the cgroup's, ``Out Of Memory`` from srun); any other failure is ``failed``.
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


def last_job_end(folder: Path, since: float | None = None) -> SlurmJobEnd | None:
    """The job with the highest id among the ``{jobid}.log`` files of ``folder``, or None.

    ``since`` (a time, e.g. when the workflow run started): a log last written before it belongs to an
    earlier run, and None is returned (the failure is not this run's Slurm job).
    """
    try:
        logs = [(tuple(int(part) for part in match.groups() if part), path)
                for path in Path(folder).iterdir() if (match := _JOB_LOG.fullmatch(path.name))]
    except OSError:
        return None
    if not logs:
        return None
    _key, path = max(logs)
    try:
        if since is not None and path.stat().st_mtime < since:
            return None
        text = _tail(path)
    except OSError:
        return None
    return SlurmJobEnd(path.name.removesuffix(".log"), classify(text), path, len(logs))
