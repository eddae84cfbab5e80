"""Time `snakemake -n` (planning) of a batch whose searches run as shard jobs: N samples x S shard jobs per round.

    .venv/bin/python benchmarks/shard_dag.py --samples 20 50 --shards 16 [--max-rounds 2]

Each sheet has N real queries (inline sequences) searching the demo database through `databases_dir` with
`search.shards: S`, so each sample plans (1 + cm.max_rounds) rounds of S shard jobs, cm.max_rounds model jobs
and the merge, besides its other jobs; the database is not prepared yet (its prepare_db job is planned too,
as on a first run). Every figure is the best of ``--repeats`` runs (default 2): wall seconds and CPU seconds
(user + system of the Snakemake process). ``per_job_ms`` is the CPU time per planned job above a one-sample
sheet's (Snakemake's start-up), and ``extrapolated_1000`` what 1,000 samples would take at that rate. Writes
benchmarks/results/shard_dag.json with the commit that was measured. Goal: 1,000 samples x 16 shards < 60 s.
``--floor`` times a bare Snakefile of the same jobs instead (:data:`FLOOR_SNAKEFILE`): Snakemake's own share.
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


def time_sheet(samples: int, shards: int, max_rounds: int, repeats: int = 2, timeout: int = 4 * 3600,
               samples_per_job: int | None = None) -> dict:
    """Best of ``repeats`` dry runs of a sheet of ``samples`` searches in ``shards`` shard jobs per round, with
    ``search.samples_per_job`` set when given (else its default)."""
    with tempfile.TemporaryDirectory() as folder:
        workdir = copy_workflow(Path(folder) / "run")
        config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
        config["databases_dir"] = str(Path(folder) / "databases")
        config["search"] = {**config.get("search", {}), "shards": shards, "cm": {"max_rounds": max_rounds}}
        if samples_per_job is not None:
            config["search"]["samples_per_job"] = samples_per_job
        (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
        queries = real_queries()
        write_sheet(workdir, [(f"s{number:05d}", queries[number % len(queries)][1]) for number in range(samples)])
        loads, runs = [], []
        for _ in range(repeats):
            loads.append(os.getloadavg()[0])
            runs.append(time_dry_run(workdir, timeout=timeout, allow_timeout=True))
    return summary(samples, shards, runs, loads)


#: ``--floor``: a Snakefile of the same jobs and files as the workflow's sheet (validate, the round jobs, the
#: merge, model, baselines, report per sample; the database, the index), with plain path patterns and
#: ``touch`` as every command: no params, resources, logs, benchmarks or conda. What Snakemake itself costs
#: per job of this DAG, whatever the rules hold.
FLOOR_SNAKEFILE = """\
# The bare DAG: plain patterns, no params, resources, log, benchmark or conda; `touch` as the command.
N, S, R = config["samples"], config["shards"], 1 + config["max_rounds"]
SAMPLES = [f"s{n:05d}" for n in range(N)]

rule all:
    input: expand("results/{sample}/report.html", sample=SAMPLES), "results/index.stub"

rule index:
    output: "results/index.stub"
    shell: "touch {output}"

rule prepare_db:
    output: directory("databases/demo")
    shell: "mkdir -p {output}"

rule validate_input:
    output: "results/{sample}/query.fa"
    shell: "touch {output}"

def after(wildcards):
    number = int(wildcards.round)
    if number == 1:
        return []
    if wildcards.job != "model":
        return [f"results/{wildcards.sample}/msa/rounds/round{number}.model.json"]
    return [f"results/{wildcards.sample}/msa/rounds/round{number - 1}.{k}.json" for k in range(S)]

rule search_round:
    wildcard_constraints: round=r"[1-9][0-9]*", job=r"model|[0-9]+"
    input: query="results/{sample}/query.fa", db="databases/demo", after=after
    output: temp("results/{sample}/msa/rounds/round{round}.{job}.json")
    shell: "touch {output}"

rule homology_search:
    input: query="results/{sample}/query.fa", db="databases/demo",
           rounds=expand("results/{{sample}}/msa/rounds/round{r}.{k}.json", r=R, k=range(S))
    output: "results/{sample}/msa/{sample}.a3m", "results/{sample}/msa/{sample}.sto",
            "results/{sample}/msa/{sample}.a2m_msa2", "results/{sample}/msa/msa_stats.json"
    shell: "touch {output}"

rule run_model:
    input: "results/{sample}/msa/{sample}.a2m_msa2", "results/{sample}/query.fa"
    output: "results/{sample}/features/features.npz", "results/{sample}/structure/{sample}.bpseq",
            "results/{sample}/structure/{sample}.ct", "results/{sample}/structure/{sample}.dbn",
            "results/{sample}/structure/{sample}.prob.npy", "results/{sample}/structure/ss.json",
            "results/{sample}/rsa/{sample}.rsa.tsv"
    shell: "touch {output}"

rule baselines:
    input: "results/{sample}/query.fa", "results/{sample}/msa/{sample}.a2m_msa2"
    output: "results/{sample}/baselines/{sample}.rnafold.dbn", "results/{sample}/baselines/{sample}.rnafold_bpp.npy",
            "results/{sample}/baselines/{sample}.rnaalifold.dbn", "results/{sample}/baselines/baselines.json"
    shell: "touch {output}"

rule sample_report:
    input: "results/{sample}/msa/msa_stats.json", "results/{sample}/features/features.npz",
           "results/{sample}/structure/ss.json", "results/{sample}/rsa/{sample}.rsa.tsv",
           "results/{sample}/baselines/baselines.json"
    output: "results/{sample}/report.html"
    shell: "touch {output}"
"""


def time_floor(samples: int, shards: int, max_rounds: int, repeats: int = 2, timeout: int = 4 * 3600) -> dict:
    """Best of ``repeats`` dry runs of :data:`FLOOR_SNAKEFILE` for ``samples`` samples."""
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        config = {"samples": samples, "shards": shards, "max_rounds": max_rounds}
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        (workdir / "Snakefile").write_text('configfile: "config.yaml"\n' + FLOOR_SNAKEFILE)
        loads, runs = [], []
        for _ in range(repeats):
            loads.append(os.getloadavg()[0])
            runs.append(time_dry_run(workdir, timeout=timeout, allow_timeout=True))
    return summary(samples, shards, runs, loads)


def summary(samples: int, shards: int, runs: list[tuple[float, float, int | None]], loads: list[float]) -> dict:
    """A sheet's figures: the best run; a run killed at ``--timeout`` gives ``"finished": false`` and the CPU
    seconds it had used (a lower bound)."""
    finished = [run for run in runs if run[2] is not None]
    best = finished or runs
    return {"samples": samples, "shards": shards, "jobs": best[0][2], "finished": bool(finished),
            "seconds": round(min(r[0] for r in best), 2), "cpu_seconds": round(min(r[1] for r in best), 2),
            "load_average": [round(load, 1) for load in loads]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[20, 50], help="samples per sheet")
    parser.add_argument("--shards", type=int, default=16, help="search.shards (shard jobs per round)")
    parser.add_argument("--max-rounds", type=int, default=2, help="search.cm.max_rounds (the default: 2)")
    parser.add_argument("--repeats", type=int, default=2, help="dry runs per sheet (the best is kept)")
    parser.add_argument("--timeout", type=int, default=4 * 3600,
                        help="wall seconds after which a dry run is killed (then recorded as unfinished)")
    parser.add_argument("--samples-per-job", type=int, default=None,
                        help="search.samples_per_job (default: the schema's): samples per round job")
    parser.add_argument("--floor", action="store_true",
                        help="time the bare Snakefile of the same DAG (FLOOR_SNAKEFILE) instead of the workflow")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "shard_dag.json")
    args = parser.parse_args()
    modified = bool(git("status", "--porcelain", "--", *WORKFLOW_FILES))
    if args.floor:
        timer = time_floor
    else:
        def timer(*sheet: int) -> dict:
            return time_sheet(*sheet, samples_per_job=args.samples_per_job)
    startup = timer(1, args.shards, args.max_rounds, args.repeats, args.timeout)
    print({"startup": startup}, flush=True)
    runs: list[dict] = []
    document = {
        "commit": git("rev-parse", "HEAD") + ("+modified" if modified else ""),
        "command": DRY_RUN,
        "snakemake": version("snakemake"),
        "machine": f"{platform.machine()}, {sys.platform}, {os.cpu_count()} CPUs",
        "max_rounds": args.max_rounds,
        "samples_per_job": args.samples_per_job,
        "repeats": args.repeats,
        "floor": args.floor,
        "startup": startup,
        "runs": runs,
    }
    for samples in args.samples:
        run = timer(samples, args.shards, args.max_rounds, args.repeats, args.timeout)
        if run["finished"]:
            extra_jobs = run["jobs"] - startup["jobs"]
            run["per_job_ms"] = round(1000 * (run["cpu_seconds"] - startup["cpu_seconds"]) / extra_jobs, 2)
            per_sample = (run["jobs"] - startup["jobs"]) / (samples - 1)
            run["extrapolated_1000"] = {"jobs": round(startup["jobs"] + 999 * per_sample),
                                        "cpu_seconds": round(startup["cpu_seconds"] + 999 * per_sample
                                                             * run["per_job_ms"] / 1000, 1)}
        runs.append(run)
        print(run, flush=True)
        args.out.write_text(json.dumps(document, indent=2) + "\n")  # after every sheet: a killed run keeps them


if __name__ == "__main__":
    main()
