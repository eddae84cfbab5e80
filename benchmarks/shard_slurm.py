"""One query's search (or a batch's) through the local Slurm (tests/slurm/): the prepared database searched by
1 job vs by S shard jobs per round: identical MSA files, total CPU time, and the critical path.

    .venv/bin/python benchmarks/shard_slurm.py [--shards 8] [--max-rounds 1] [--size 1000 [--db-dir DIR]]
        [--queries N]

The database is the demo one (`resources/demo/db/demo_db.fa.gz`, 3.3 Mb of windows) or, with `--size N`, the
N-Mb database of `benchmarks/realistic_db.py` (the generator `benchmarks/prepare_db.py` uses), built in
`--db-dir` (reused there when it holds the same size and seed; default: a temporary folder, removed). It is
prepared once in S shards (`db.shard_nt` = its residues / S; for a generated database its residues + 3% for
windows) into a shared `databases_dir` by the workflow's `prepare_db` job; the query is `mrum-tRNA.1`
(`--queries N`: the first N tRNAs of that file, one sample each, whose round jobs are shared when
`search.samples_per_job`, default 8, allows; one job per search in the 1-job run). With
`--size`, the search jobs' Slurm time limits are raised (`--runtime-minutes`) so that a loaded node cannot cut
a run short; their requests from the formula are recorded beside the measured times. Both runs use one
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

from benchmarks.realistic_db import ensure_database  # noqa: E402
from rnamsm.formats import db_manifest  # noqa: E402
from tests.support.workflow import REPO_ROOT, copy_workflow, run_command  # noqa: E402

#: Windowed residues of the demo database (tests/unit/homology/test_prepared_db.py).
DEMO_WINDOW_RESIDUES = 3280706
#: The first sample; it names the round-job group of a batch (`--queries`).
SAMPLE = "trna-1"


def sheet(queries: int) -> str:
    """The sample sheet of the first ``queries`` tRNAs of the demo's query file, `trna-1` ... `trna-N`."""
    rows = [f"trna-{number}\tresources/demo/queries/mrum-tRNAs10.fa\tmrum-tRNA.{number}"
            for number in range(1, queries + 1)]
    return "\n".join(["sample_id\tfasta\trecord", *rows]) + "\n"
SLURM = ("--profile", "slurm", "--slurm-init-seconds-before-status-checks", "2", "--max-threads", "1")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()


def benchmark(path: Path) -> dict[str, float]:
    with open(path, newline="") as handle:
        row = next(csv.DictReader(handle, delimiter="\t"))
    return {"s": float(row["s"]), "cpu_time": float(row["cpu_time"])}


def slurm_seconds(text: str) -> float:
    """Seconds of a Slurm duration (``[D-][HH:]MM:SS[.mmm]``, as ``sacct`` prints TotalCPU)."""
    days, _, clock = text.rpartition("-")
    parts = [float(part) for part in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    return (int(days) if days else 0) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]


def slurm_cpu(workdir: Path, rules: tuple[str, ...]) -> dict[str, float]:
    """Slurm's own CPU accounting (``sacct`` TotalCPU of the allocation: every process of the job, its batch
    step's Snakemake included) of every job of ``rules`` this run submitted, from the job ids in the profile's
    log names (``logs/slurm/rule_<rule>/<wildcards>/<job id>.log``); job id -> CPU seconds."""
    ids = sorted(path.stem for rule in rules for path in (workdir / "logs" / "slurm" / f"rule_{rule}").glob("*/*.log"))
    if not ids:
        return {}
    out = subprocess.run(["sacct", "-n", "-P", "-j", ",".join(ids), "--format=JobID,TotalCPU"],
                         capture_output=True, text=True, check=True).stdout
    return allocation_cpu(out)


def allocation_cpu(text: str) -> dict[str, float]:
    """Job id -> CPU seconds from ``sacct -n -P --format=JobID,TotalCPU`` output: the allocation's line (no
    ``.step`` suffix), the sum of its steps (with ``-X`` this cluster's sacct prints 0 for it)."""
    return {job: slurm_seconds(cpu) for job, cpu in (line.split("|")[:2] for line in text.splitlines() if line)
            if "." not in job}


def run(folder: Path, databases: Path, jobs: int, shard_nt: int, max_rounds: int, database: Path | None,
        runtime_minutes: int | None, queries: int = 1) -> dict:
    """The searches of ``queries`` samples through Slurm with ``jobs`` shard jobs per round; their figures and
    MSA bytes."""
    workdir = copy_workflow(folder / f"jobs-{jobs}")
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config["databases_dir"] = str(databases)
    if database is not None:
        config["databases"] = [str(database)]
    config["search"] = {**config.get("search", {}), "shards": jobs, "cm": {"max_rounds": max_rounds},
                        "db": {"shard_nt": shard_nt}}
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (workdir / "config" / "samples.tsv").write_text(sheet(queries))
    samples = [f"trna-{number}" for number in range(1, queries + 1)]
    targets = [f"results/{sample}/msa/msa_stats.json" for sample in samples]
    extra = [] if runtime_minutes is None else [
        "--set-resources", f"homology_search:runtime={runtime_minutes}", f"search_round:runtime={runtime_minutes}"]
    command = " ".join([sys.executable, "-m", "snakemake", *targets, *SLURM, *extra])
    result = run_command(command, workdir, timeout=6 * 3600)
    if result.returncode != 0:
        raise SystemExit(result.stdout[-5000:])
    bench = workdir / "results" / "benchmarks"
    rounds: dict[str, dict[str, dict[str, float]]] = {}
    for path in sorted((bench / "search_round").glob(f"{SAMPLE}.round*.tsv")):
        number, job = path.name[len(SAMPLE) + len(".round"):-len(".tsv")].split(".")
        rounds.setdefault(number, {})[job] = benchmark(path)
    merges = [benchmark(bench / "homology_search" / f"{sample}.tsv") for sample in samples]
    merge = max(merges, key=lambda job: job["s"])
    accounted = slurm_cpu(workdir, ("search_round", "homology_search"))
    cpu = sum(job["cpu_time"] for job in merges) + sum(
        job["cpu_time"] for jobs_ in rounds.values() for job in jobs_.values())
    critical = merge["s"] + sum(
        max((job["s"] for name, job in jobs_.items() if name != "model"), default=0.0)
        + jobs_.get("model", {"s": 0.0})["s"] for jobs_ in rounds.values())
    msa = workdir / "results" / SAMPLE / "msa"
    stats = json.loads((msa / "msa_stats.json").read_text())
    return {
        "rounds_run": [{key: entry[key] for key in ("round", "method", "reported", "hits", "depth", "neff",
                                                     "seconds")} for entry in stats["rounds"]],
        "final_round": stats["final_round"], "final_alignment": stats["final_alignment"], "depth": stats["depth"],
        "queries": queries, "depths": [json.loads((workdir / "results" / sample / "msa" / "msa_stats.json")
                                                  .read_text())["depth"] for sample in samples],
        "jobs_per_round": jobs, "search_jobs": len(merges) + sum(len(jobs_) for jobs_ in rounds.values()),
        "cpu_seconds": round(cpu, 2), "slurm_jobs": len(accounted),
        "slurm_total_cpu_seconds": round(sum(accounted.values()), 2),
        "critical_path_seconds": round(critical, 2),
        "wall_seconds_of_slowest_job": round(max([merge["s"], *(j["s"] for r in rounds.values() for j in r.values())]),
                                             2),
        "msa": {path.name: path.read_bytes() for sample in samples
                for path in sorted((workdir / "results" / sample / "msa").glob(f"{sample}.*"))},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=8, help="shards of the prepared database, and shard jobs")
    parser.add_argument("--max-rounds", type=int, default=1, help="search.cm.max_rounds")
    parser.add_argument("--size", type=float, default=None,
                        help="search the generated database of this many Mb (benchmarks/realistic_db.py), not the demo")
    parser.add_argument("--db-dir", type=Path, default=None,
                        help="folder of the generated database (kept and reused; default: temporary)")
    parser.add_argument("--runtime-minutes", type=int, default=600, help="search jobs' time limit with --size")
    parser.add_argument("--queries", type=int, default=1, choices=range(1, 11), metavar="N",
                        help="samples searched (the first N of the 10 tRNAs), default 1")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "shard_slurm.json")
    parser.add_argument("--accounting-from", type=Path, default=None, metavar="DIR",
                        help="only add Slurm's CPU accounting to the --size entry of --out, from copies of the two "
                             "runs' job logs (DIR/jobs-S/logs/slurm and DIR/jobs-1/logs/slurm) of a run made before "
                             "this script read it itself")
    args = parser.parse_args()
    if args.accounting_from is not None:
        add_accounting(args.out, f"generated_{args.size:g}Mb" if args.size is not None else "demo",
                       args.accounting_from, args.shards)
        return
    load_before = [round(load, 1) for load in os.getloadavg()]
    commit = git("rev-parse", "HEAD")  # the code that runs: read before the runs, which take long
    with tempfile.TemporaryDirectory(dir=args.db_dir) as folder:
        database, built, runtime = None, None, None
        shard_nt = -(-DEMO_WINDOW_RESIDUES // args.shards)
        if args.size is not None:
            where = args.db_dir if args.db_dir is not None else Path(folder)
            database = where / f"db-{args.size:g}Mb.fa"
            built = ensure_database(database, args.size)
            shard_nt = -(-int(built["residues"] * 1.03) // args.shards)
            runtime = args.runtime_minutes
        databases = Path(folder) / "databases"
        runs = [run(Path(folder), databases, jobs, shard_nt, args.max_rounds, database, runtime, args.queries)
                for jobs in (args.shards, 1)]
        manifest = db_manifest.read(next(databases.glob("*/manifest.json")).parent)
    sharded, single = runs
    identical = sharded.pop("msa") == single.pop("msa")
    document = {
        "commit": commit,
        "machine": f"{platform.machine()}, {sys.platform}, {os.cpu_count()} CPUs",
        "load_average": load_before, "load_average_after": [round(load, 1) for load in os.getloadavg()],
        "database": "resources/demo/db/demo_db.fa.gz" if built is None else
        f"benchmarks/realistic_db.py --size {args.size:g}",
        "generated": built, "shard_nt": shard_nt,
        "prepared": {"shards": len(manifest.shards), "records": manifest.records, "residues": manifest.residues,
                     "shard_residues": [shard.residues for shard in manifest.shards]},
        "shards": args.shards, "max_rounds": args.max_rounds, "runtime_minutes": runtime, "queries": args.queries,
        "identical_msa": identical,
        "cpu_ratio": round(sharded["cpu_seconds"] / single["cpu_seconds"], 3),
        "slurm_cpu_ratio": round(sharded["slurm_total_cpu_seconds"] / single["slurm_total_cpu_seconds"], 3)
        if single["slurm_total_cpu_seconds"] else None,
        "runs": {"one_job": single, "sharded": sharded},
    }
    print(json.dumps(document, indent=2))
    key = ("demo" if built is None else f"generated_{args.size:g}Mb") + (
        f"_{args.queries}_queries" if args.queries > 1 else "")
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if "runs" in previous:  # the file of one (demo) run, before results were kept per database
        previous = {"demo": previous}
    previous[key] = document
    args.out.write_text(json.dumps(previous, indent=2) + "\n")


def add_accounting(out: Path, key: str, logs: Path, shards: int) -> None:
    """Fill the Slurm CPU figures of entry ``key`` of ``out`` from the job logs kept under ``logs``."""
    document = json.loads(out.read_text())
    entry = document[key]
    for name, jobs in (("sharded", shards), ("one_job", 1)):
        accounted = slurm_cpu(logs / f"jobs-{jobs}", ("search_round", "homology_search"))
        entry["runs"][name].update({"slurm_jobs": len(accounted),
                                    "slurm_total_cpu_seconds": round(sum(accounted.values()), 2)})
    entry["slurm_cpu_ratio"] = round(entry["runs"]["sharded"]["slurm_total_cpu_seconds"]
                                     / entry["runs"]["one_job"]["slurm_total_cpu_seconds"], 3)
    entry["slurm_accounting"] = "added afterwards from copies of the runs' job logs (--accounting-from)"
    out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
