"""One query's search through the local Slurm (tests/slurm/): the prepared database searched by 1 job vs by
S shard jobs per round: identical MSA files, total CPU time, and the critical path.

    .venv/bin/python benchmarks/shard_slurm.py [--shards 8] [--max-rounds 1]

The demo database (`resources/demo/db/demo_db.fa.gz`, 3.3 Mb of windows) is prepared once in S shards
(`db.shard_nt` = its residues / S) into a shared `databases_dir`; the query is `mrum-tRNA.1`. Both runs use one
thread per job (`--max-threads 1`). CPU time is the sum of the search jobs' `cpu_time` in their Snakemake
benchmark files (`search_round` and `homology_search`, not `prepare_db` or `validate_input`); the critical
path is, per round, the longest shard job plus the model job, plus the merge (wall seconds): what a cluster
with S free cores would take. Writes benchmarks/results/shard_slurm.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.workflow import REPO_ROOT, copy_workflow, run_command  # noqa: E402

#: Windowed residues of the demo database (tests/unit/homology/test_prepared_db.py).
DEMO_WINDOW_RESIDUES = 3280706
SAMPLE = "trna-1"
SHEET = f"sample_id\tfasta\trecord\n{SAMPLE}\tresources/demo/queries/mrum-tRNAs10.fa\tmrum-tRNA.1\n"
SLURM = ("--profile", "slurm", "--slurm-init-seconds-before-status-checks", "2", "--max-threads", "1")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()


def benchmark(path: Path) -> dict[str, float]:
    with open(path, newline="") as handle:
        row = next(csv.DictReader(handle, delimiter="\t"))
    return {"s": float(row["s"]), "cpu_time": float(row["cpu_time"])}


def run(folder: Path, databases: Path, jobs: int, shards: int, max_rounds: int) -> dict:
    """One search of the sample through Slurm with ``jobs`` shard jobs per round; its figures and MSA bytes."""
    workdir = copy_workflow(folder / f"jobs-{jobs}")
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config["databases_dir"] = str(databases)
    config["search"] = {**config.get("search", {}), "shards": jobs, "cm": {"max_rounds": max_rounds},
                        "db": {"shard_nt": -(-DEMO_WINDOW_RESIDUES // shards)}}
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (workdir / "config" / "samples.tsv").write_text(SHEET)
    target = f"results/{SAMPLE}/msa/msa_stats.json"
    command = " ".join([sys.executable, "-m", "snakemake", *SLURM, target])
    result = run_command(command, workdir, timeout=3000)
    if result.returncode != 0:
        raise SystemExit(result.stdout[-5000:])
    bench = workdir / "results" / "benchmarks"
    rounds: dict[str, dict[str, dict[str, float]]] = {}
    for path in sorted((bench / "search_round").glob(f"{SAMPLE}.round*.tsv")):
        number, job = path.name[len(SAMPLE) + len(".round"):-len(".tsv")].split(".")
        rounds.setdefault(number, {})[job] = benchmark(path)
    merge = benchmark(bench / "homology_search" / f"{SAMPLE}.tsv")
    cpu = merge["cpu_time"] + sum(job["cpu_time"] for jobs_ in rounds.values() for job in jobs_.values())
    critical = merge["s"] + sum(
        max((job["s"] for name, job in jobs_.items() if name != "model"), default=0.0)
        + jobs_.get("model", {"s": 0.0})["s"] for jobs_ in rounds.values())
    msa = workdir / "results" / SAMPLE / "msa"
    return {
        "jobs_per_round": jobs, "search_jobs": 1 + sum(len(jobs_) for jobs_ in rounds.values()),
        "cpu_seconds": round(cpu, 2), "critical_path_seconds": round(critical, 2),
        "wall_seconds_of_slowest_job": round(max([merge["s"], *(j["s"] for r in rounds.values() for j in r.values())]),
                                             2),
        "msa": {path.name: path.read_bytes() for path in sorted(msa.glob(f"{SAMPLE}.*"))},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=8, help="shards of the prepared database, and shard jobs")
    parser.add_argument("--max-rounds", type=int, default=1, help="search.cm.max_rounds")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "shard_slurm.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        databases = Path(folder) / "databases"
        runs = [run(Path(folder), databases, jobs, args.shards, args.max_rounds) for jobs in (args.shards, 1)]
    sharded, single = runs
    identical = sharded.pop("msa") == single.pop("msa")
    document = {
        "commit": git("rev-parse", "HEAD"),
        "machine": f"{platform.machine()}, {sys.platform}, {os.cpu_count()} CPUs",
        "load_average": [round(load, 1) for load in os.getloadavg()],
        "database": "resources/demo/db/demo_db.fa.gz", "shards": args.shards, "max_rounds": args.max_rounds,
        "identical_msa": identical,
        "cpu_ratio": round(sharded["cpu_seconds"] / single["cpu_seconds"], 2),
        "runs": {"one_job": single, "sharded": sharded},
    }
    print(json.dumps(document, indent=2))
    args.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
