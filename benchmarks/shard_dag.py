"""Time `snakemake -n` (planning) of a batch whose searches run as shard jobs: N samples x S shard jobs per round.

    .venv/bin/python benchmarks/shard_dag.py --samples 20 50 --shards 16 [--max-rounds 2]

Each sheet has N real queries (inline sequences) searching the demo database through `databases_dir` with
`search.shards: S`, so each sample plans (1 + cm.max_rounds) rounds of S shard jobs, cm.max_rounds model jobs
and the merge, besides its other jobs; the database is not prepared yet (its prepare_db job is planned too,
as on a first run). Every figure is the best of ``--repeats`` runs (default 2): wall seconds and CPU seconds
(user + system of the Snakemake process). ``per_job_ms`` is the CPU time per planned job above a one-sample
sheet's (Snakemake's start-up), and ``extrapolated_1000`` what 1,000 samples would take at that rate. Writes
benchmarks/results/shard_dag.json with the commit that was measured. Goal: 1,000 samples x 16 shards < 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.queries import real_queries, write_sheet  # noqa: E402
from tests.support.workflow import DRY_RUN, REPO_ROOT, WORKFLOW_FILES, copy_workflow, time_dry_run  # noqa: E402


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()


def time_sheet(samples: int, shards: int, max_rounds: int, repeats: int = 2) -> dict:
    """Best of ``repeats`` dry runs of a sheet of ``samples`` searches in ``shards`` shard jobs per round."""
    with tempfile.TemporaryDirectory() as folder:
        workdir = copy_workflow(Path(folder) / "run")
        config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
        config["databases_dir"] = str(Path(folder) / "databases")
        config["search"] = {**config.get("search", {}), "shards": shards, "cm": {"max_rounds": max_rounds}}
        (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
        queries = real_queries()
        write_sheet(workdir, [(f"s{number:05d}", queries[number % len(queries)][1]) for number in range(samples)])
        loads, runs = [], []
        for _ in range(repeats):
            loads.append(os.getloadavg()[0])
            runs.append(time_dry_run(workdir, timeout=TIMEOUT))
    return {"samples": samples, "shards": shards, "jobs": runs[0][2], "seconds": round(min(r[0] for r in runs), 2),
            "cpu_seconds": round(min(r[1] for r in runs), 2), "load_average": [round(load, 1) for load in loads]}


#: Wall seconds a dry run may take: 1,000 samples took over 20 minutes on the loaded 2-core VM.
TIMEOUT = 4 * 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[20, 50], help="samples per sheet")
    parser.add_argument("--shards", type=int, default=16, help="search.shards (shard jobs per round)")
    parser.add_argument("--max-rounds", type=int, default=2, help="search.cm.max_rounds (the default: 2)")
    parser.add_argument("--repeats", type=int, default=2, help="dry runs per sheet (the best is kept)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "shard_dag.json")
    args = parser.parse_args()
    modified = bool(git("status", "--porcelain", "--", *WORKFLOW_FILES))
    startup = time_sheet(1, args.shards, args.max_rounds, args.repeats)
    print({"startup": startup}, flush=True)
    runs = []
    for samples in args.samples:
        run = time_sheet(samples, args.shards, args.max_rounds, args.repeats)
        extra_jobs = run["jobs"] - startup["jobs"]
        run["per_job_ms"] = round(1000 * (run["cpu_seconds"] - startup["cpu_seconds"]) / extra_jobs, 2)
        per_sample = (run["jobs"] - startup["jobs"]) / (samples - 1)
        run["extrapolated_1000"] = {"jobs": round(startup["jobs"] + 999 * per_sample),
                                    "cpu_seconds": round(startup["cpu_seconds"] + 999 * per_sample
                                                         * run["per_job_ms"] / 1000, 1)}
        runs.append(run)
        print(run, flush=True)
    document = {
        "commit": git("rev-parse", "HEAD") + ("+modified" if modified else ""),
        "command": DRY_RUN,
        "snakemake": version("snakemake"),
        "machine": f"{platform.machine()}, {sys.platform}, {os.cpu_count()} CPUs",
        "max_rounds": args.max_rounds,
        "repeats": args.repeats,
        "startup": startup,
        "runs": runs,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
