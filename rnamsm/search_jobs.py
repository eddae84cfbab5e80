"""How a search of a prepared database is cut into cluster jobs, and what each job costs.

A round of a sharded search runs as ``jobs`` shard jobs; job ``k`` searches the prepared database's shards
``k, k + jobs, k + 2 * jobs, ...`` (:func:`job_shards`). ``search.shards: auto`` plans one job per shard of
about ``db.shard_nt`` residues (:func:`shard_job_count`), at most :data:`AUTO_MAX_JOBS`. A job's Slurm request
comes from :func:`search_cost`. Base layer: the workflow (``common.smk``) and the search both use it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable

#: Most shard jobs per round that ``search.shards: auto`` plans.
AUTO_MAX_JOBS = 64
#: Residues per byte assumed for a gzip-compressed database file when the workflow plans (FASTA compresses
#: about 4x); a plain file counts one residue per byte. Only the shard-job count of ``auto`` uses it.
GZIP_RESIDUES_PER_BYTE = 4

#: Memory of a search job besides its shard (MB): Python, pyhmmer/pyinfernal, the query's model and hits.
BASE_MEM_MB = 600
#: MB of memory per Mb of shard residues: the digital block (1 byte/nt) and the text read of the FASTA.
MEM_MB_PER_MB = 3.0
#: MB of memory per thread: Infernal's default limit of one thread's DP matrices (cmsearch --smxsize 128).
MEM_MB_PER_THREAD = 128
#: CPU seconds per Mb of database and nt of query of one round: nhmmer (round 1) and cmsearch (a CM round;
#: an HMM-profile round of a long query costs about nhmmer's). 3x what a 72-nt tRNA took on the demo
#: database's 1.1-Mb shard with one thread (0.00077 and 0.0070; docs/cluster.md).
NHMMER_CPU_SECONDS_PER_MB_NT = 0.0025
CMSEARCH_CPU_SECONDS_PER_MB_NT = 0.02
#: Minutes every job gets on top per sample it searches for (start-up, the per-sample steps a job replays, a
#: calibration).
BASE_MINUTES = 10


def shard_job_count(setting: int | str, residues: int, shard_nt: int) -> int:
    """Shard jobs per round: ``setting`` when it is a number, else (``auto``) one per ``shard_nt`` residues
    of the database (``residues``, an estimate before it is prepared), at least 1, at most AUTO_MAX_JOBS."""
    if setting != "auto":
        if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
            raise ValueError(f"search.shards must be 'auto' or a positive integer, got {setting!r}")
        return setting
    return max(1, min(AUTO_MAX_JOBS, math.ceil(residues / shard_nt)))


def estimated_residues(paths: Iterable[str | os.PathLike[str]]) -> int:
    """Residues of database files estimated from their sizes (see GZIP_RESIDUES_PER_BYTE)."""
    total = 0
    for path in paths:
        size = os.path.getsize(path)
        total += size * GZIP_RESIDUES_PER_BYTE if str(path).endswith(".gz") else size
    return total


def job_shards(job: int, jobs: int, shards: int) -> range:
    """The shard indices (0-based) that shard job ``job`` of ``jobs`` searches in a database of ``shards``."""
    if not 0 <= job < jobs:
        raise ValueError(f"shard job {job} does not exist: jobs are numbered 0 to {jobs - 1}")
    return range(job, shards, jobs)


def search_cost(*, residues: int, largest_shard: int, query_length: int, threads: int, nhmmer_rounds: int,
                cm_rounds: int, samples: int = 1) -> tuple[int, int]:
    """``(mem_mb, runtime_minutes)`` of a job searching ``residues`` of database, read ``largest_shard`` residues
    at a time, for ``samples`` queries of ``query_length`` nt in all (searched one after another) on ``threads``
    threads, in ``nhmmer_rounds`` nhmmer rounds and ``cm_rounds`` CM rounds (a shard job: one round; a one-job
    search: 1 and cm.max_rounds)::

        mem_mb  = BASE_MEM_MB + MEM_MB_PER_MB * largest_shard / 1e6 + MEM_MB_PER_THREAD * threads
        minutes = BASE_MINUTES * samples + residues / 1e6 * query_length
                  * (NHMMER_CPU_SECONDS_PER_MB_NT * nhmmer_rounds + CMSEARCH_CPU_SECONDS_PER_MB_NT * cm_rounds)
                  / threads / 60
    """
    mem_mb = BASE_MEM_MB + MEM_MB_PER_MB * largest_shard / 1e6 + MEM_MB_PER_THREAD * threads
    per_mb_nt = NHMMER_CPU_SECONDS_PER_MB_NT * nhmmer_rounds + CMSEARCH_CPU_SECONDS_PER_MB_NT * cm_rounds
    cpu_seconds = per_mb_nt * residues / 1e6 * query_length
    return math.ceil(mem_mb), math.ceil(BASE_MINUTES * samples + cpu_seconds / threads / 60)
