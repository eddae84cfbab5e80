"""``rnamsm.slurm_logs``: what ended a failed Slurm job, from the job logs the Slurm profile keeps.

Real logs of the local test cluster and Slurm's own memory-kill lines (tests/data/slurm).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rnamsm.layout import slurm_group_log_folder, slurm_log_folder
from rnamsm.slurm_logs import classify, last_group_job_end, last_job_end
from tests.conftest import SLURM_LOGS_DATA


@pytest.mark.parametrize(("log", "kind"), [
    ("time-limit.log", "out of time"), ("memory-limit.log", "out of memory"), ("oom-kill.log", "out of memory"),
    ("failed.log", "failed"),
])
def test_classify_real_slurm_logs(log: str, kind: str) -> None:
    assert classify((SLURM_LOGS_DATA / log).read_text()) == kind


def test_last_job_is_the_highest_id_and_names_its_log(tmp_path: Path) -> None:
    """Two attempts of a rule for a sample (job 9 failed, job 151 ran out of time): the later one is reported."""
    folder = tmp_path / slurm_log_folder("homology_search", "s1")
    folder.mkdir(parents=True)
    shutil.copy(SLURM_LOGS_DATA / "failed.log", folder / "9.log")
    shutil.copy(SLURM_LOGS_DATA / "time-limit.log", folder / "151.log")
    (folder / "notes.txt").write_text("not a job log")
    job = last_job_end(folder)
    assert job is not None
    assert (job.job_id, job.kind, job.log, job.jobs) == ("151", "out of time", folder / "151.log", 2)
    assert job.describe() == f"Slurm job 151 ran out of time (log {folder / '151.log'}, attempt 2)"
    assert slurm_log_folder("homology_search", "s1") == Path("logs/slurm/rule_homology_search/s1")


def test_array_task_logs_and_stale_or_missing_logs(tmp_path: Path) -> None:
    """An array task's ``{job}_{task}.log`` counts; a log older than the rule's own log (an earlier run) or no
    log folder gives None."""
    folder = tmp_path / "rule_run_model" / "s1"
    folder.mkdir(parents=True)
    shutil.copy(SLURM_LOGS_DATA / "oom-kill.log", folder / "160_3.log")
    job = last_job_end(folder)
    assert job is not None and (job.job_id, job.kind, job.jobs) == ("160_3", "out of memory", 1)
    assert job.describe() == f"Slurm job 160_3 ran out of memory (log {folder / '160_3.log'})"
    os.utime(folder / "160_3.log", (1_000_000, 1_000_000))
    assert last_job_end(folder, since=2_000_000) is None
    assert last_job_end(tmp_path / "missing") is None


def test_a_group_job_is_found_by_its_members(tmp_path: Path) -> None:
    """Real logs of model job groups (one Slurm job for several samples, one log folder for all): job 48 had
    t1-t3 (t1 failed, t2 and t3 not reached), job 60 had t1-t6 (sent `scancel -s KILL`: no Slurm line, so
    'failed'). A sample gets the latest group job that had it, with the number of group jobs that had it;
    a sample in none, or a prefix of a member's id, gets None; with ``since``, the jobs of earlier runs do
    not count."""
    folder = tmp_path / slurm_group_log_folder("model", ["run_model"])
    assert slurm_group_log_folder("model", ["run_model"]) == Path("logs/slurm/group_model_run_model")
    folder.mkdir(parents=True)
    shutil.copy(SLURM_LOGS_DATA / "group-member-failed.log", folder / "48.log")
    shutil.copy(SLURM_LOGS_DATA / "group-cancelled.log", folder / "60.log")
    assert classify((SLURM_LOGS_DATA / "group-member-failed.log").read_text()) == "failed"
    first = last_group_job_end(folder, "t1")
    assert first is not None
    assert (first.job_id, first.kind, first.log, first.jobs) == ("60", "failed", folder / "60.log", 2)
    assert first.describe() == f"Slurm job 60 failed (log {folder / '60.log'}, attempt 2)"
    fifth = last_group_job_end(folder, "t5")
    assert fifth is not None and (fifth.job_id, fifth.jobs) == ("60", 1)
    assert last_group_job_end(folder, "t") is None and last_group_job_end(folder, "t7") is None
    (folder / "60.log").unlink()
    second = last_group_job_end(folder, "t2")
    assert second is not None and (second.job_id, second.kind, second.jobs) == ("48", "failed", 1)
    os.utime(folder / "48.log", (1_000_000, 1_000_000))
    assert last_group_job_end(folder, "t2", since=2_000_000) is None
    shutil.copy(SLURM_LOGS_DATA / "group-cancelled.log", folder / "60.log")  # only this run's jobs count
    first = last_group_job_end(folder, "t1", since=2_000_000)
    assert first is not None and (first.job_id, first.jobs) == ("60", 1)
    assert last_group_job_end(tmp_path / "missing", "t1") is None
