"""How a sharded search is cut into jobs and what a job asks Slurm for (rnamsm.search_jobs)."""

from __future__ import annotations

import math

import pytest

from rnamsm.homology.settings import DatabaseSettings
from rnamsm.search_jobs import (
    AUTO_MAX_JOBS,
    CMSEARCH_CPU_SECONDS_PER_MB_NT,
    estimated_residues,
    job_shards,
    search_cost,
    shard_job_count,
)
from tests.conftest import REPO_ROOT

DEMO_DB = REPO_ROOT / "resources" / "demo" / "db" / "demo_db.fa.gz"


def test_auto_is_one_job_for_the_demo_database_and_one_per_shard_for_large_ones() -> None:
    residues = estimated_residues([DEMO_DB])
    assert residues == 4 * DEMO_DB.stat().st_size  # .gz counted 4x: 3.6 Mb for 3.3 Mb of windows
    assert shard_job_count("auto", residues, DatabaseSettings().shard_nt) == 1  # the demo DAG does not grow
    assert shard_job_count("auto", residues, 1_200_000) == 3
    assert shard_job_count("auto", 270_000_000_000, DatabaseSettings().shard_nt) == AUTO_MAX_JOBS  # nt
    assert shard_job_count(7, residues, DatabaseSettings().shard_nt) == 7
    with pytest.raises(ValueError, match="positive integer"):
        shard_job_count(0, residues, 100)


@pytest.mark.parametrize(("jobs", "shards"), [(1, 1), (3, 3), (3, 7), (16, 5), (7, 100)])
def test_shard_jobs_search_every_shard_exactly_once(jobs: int, shards: int) -> None:
    searched = [index for job in range(jobs) for index in job_shards(job, jobs, shards)]
    assert sorted(searched) == list(range(shards))
    sizes = [len(job_shards(job, jobs, shards)) for job in range(jobs)]
    assert max(sizes) - min(sizes) <= 1  # balanced
    with pytest.raises(ValueError, match="numbered 0 to"):
        job_shards(jobs, jobs, shards)


def test_search_cost_follows_shard_size_query_length_and_threads() -> None:
    shard = dict(residues=100_000_000, largest_shard=100_000_000, threads=4, nhmmer_rounds=0, cm_rounds=1)
    mem, minutes = search_cost(query_length=72, **shard)
    assert mem == 600 + 300 + 4 * 128
    assert minutes == 10 + math.ceil(CMSEARCH_CPU_SECONDS_PER_MB_NT * 100 * 72 / 4 / 60)
    longer = search_cost(query_length=720, **shard)
    assert longer[0] == mem and longer[1] > 5 * (minutes - 10)  # time grows with the query, memory does not
    one_thread = search_cost(query_length=72, **{**shard, "threads": 1})
    assert one_thread[0] < mem and one_thread[1] > minutes
    # A one-job search of the same 100 Mb in 1 nhmmer and 2 CM rounds takes longer than one CM shard job.
    whole = search_cost(query_length=72, **{**shard, "nhmmer_rounds": 1, "cm_rounds": 2})
    assert whole[1] > minutes and whole[0] == mem
    assert search_cost(residues=0, largest_shard=0, query_length=3500, threads=1, nhmmer_rounds=0,
                       cm_rounds=1) == (600 + 128, 10)  # the merge and the model step: the floors
    # A shard job of 3 samples (72 nt each, one after another): their times added up, one sample's memory.
    group = search_cost(query_length=3 * 72, samples=3, **shard)
    assert group == (mem, 3 * 10 + math.ceil(CMSEARCH_CPU_SECONDS_PER_MB_NT * 100 * 3 * 72 / 4 / 60))
