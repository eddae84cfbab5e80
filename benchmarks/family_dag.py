"""Time `snakemake -n` planning a batch of families: every member of the two largest Infernal alignments.

    .venv/bin/python benchmarks/family_dag.py [--shared ../shared] [--families tRNA.sto 5S_rRNA.sto] [--run 100]

The families sheet lists ``infernal_testsuite/tRNA.sto`` (967 members) and ``infernal_tutorial/5S_rRNA.sto``
(712 members) of ``../shared/data`` (copied into the work folder), with a header-only sample sheet: 1,679
member samples, each re-anchored on its family alignment (``msa: alignment``), run
``family_members_per_job`` (the schema's default, recorded) per ``family_chunk`` job. Every figure is the
best of two runs (wall and CPU seconds of the Snakemake process, with the load average). With ``--run N``
the first N members of tRNA.sto also run end to end with the demo weights (``snakemake --cores 2``: the
chunk jobs, the family report, the index), timed once, with the chunk jobs' own seconds (their Snakemake
benchmark files) (``--no-plan``: only that, e.g. ``--no-plan --run 100 --out
benchmarks/results/family_run.json``). Writes benchmarks/results/family_dag.json. Goal: the two families
plan in under 30 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.workflow import (  # noqa: E402
    DRY_RUN,
    REPO_ROOT,
    WORKFLOW_FILES,
    copy_workflow,
    run_command,
    time_dry_run,
)

#: The two largest alignments of ../shared/data and where they are.
FAMILIES = {"tRNA.sto": "infernal_testsuite", "5S_rRNA.sto": "infernal_tutorial"}
#: Members per family_chunk job: the schema's default (the benchmark runs at the defaults).
MEMBERS_PER_JOB = yaml.safe_load((REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())[
    "properties"]["family_members_per_job"]["default"]


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()


def write_families(workdir: Path, data: Path, names: list[str], members: str = "all") -> None:
    """A families sheet of ``names`` (copied into ``families/``) and a header-only sample sheet."""
    folder = workdir / "families"
    folder.mkdir(exist_ok=True)
    lines = ["family_id\talignment\tmembers\tdescription"]
    for name in names:
        shutil.copy(data / FAMILIES[name] / name, folder / name)
        lines.append(f"{name.split('.')[0]}\tfamilies/{name}\t{members}\t{name} (Infernal)")
    (workdir / "config" / "families.tsv").write_text("\n".join(lines) + "\n")
    (workdir / "config" / "samples.tsv").write_text("sample_id\tsequence\n")


def best_of_two(workdir: Path) -> dict:
    loads, runs = [], []
    for _ in range(2):
        loads.append(round(os.getloadavg()[0], 1))
        runs.append(time_dry_run(workdir))
    return {"seconds": round(min(run[0] for run in runs), 2), "cpu_seconds": round(min(run[1] for run in runs), 2),
            "jobs": runs[0][2], "load_average": loads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared", help="the ../shared folder")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--plan", action=argparse.BooleanOptionalAction, default=True,
                        help="time the dry runs (--no-plan: only --run)")
    parser.add_argument("--run", type=int, default=0, metavar="N",
                        help="also run the first N members of tRNA.sto end to end (demo weights)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "family_dag.json")
    args = parser.parse_args()
    data = args.shared / "data"
    commit = git("rev-parse", "HEAD") + ("+modified" if git("status", "--porcelain", "--", *WORKFLOW_FILES) else "")
    runs = {}
    with tempfile.TemporaryDirectory() as folder:
        workdir = copy_workflow(Path(folder) / "run")
        if args.plan:
            write_families(workdir, data, [])
            runs["startup"] = best_of_two(workdir)
            print(runs, flush=True)
            write_families(workdir, data, args.families)
            runs["families"] = {"families": args.families, **best_of_two(workdir)}
            print(runs["families"], flush=True)
        if args.run:
            write_families(workdir, data, ["tRNA.sto"], f"first {args.run}")
            load = round(os.getloadavg()[0], 1)
            start = time.perf_counter()
            result = run_command("snakemake --cores 2", workdir, timeout=24 * 3600)
            if result.returncode != 0:
                raise SystemExit(result.stdout[-3000:])
            seconds = time.perf_counter() - start
            report = workdir / "results" / "families" / "tRNA" / "report.html"
            chunks = sorted((workdir / "results" / "benchmarks" / "family_chunk").glob("*.tsv"))
            chunk_seconds = [float(path.read_text().splitlines()[1].split("\t")[0]) for path in chunks]
            runs["run"] = {"command": "snakemake --cores 2", "family": "tRNA.sto", "members": args.run,
                           "seconds": round(seconds, 1), "seconds_per_member": round(seconds / args.run, 2),
                           "chunk_jobs": len(chunks), "chunk_job_seconds": [round(s, 1) for s in chunk_seconds],
                           "family_report": report.is_file(), "load_average_at_start": load,
                           "load_average_at_end": round(os.getloadavg()[0], 1)}
            print(runs["run"], flush=True)
    document = {
        "commit": commit,
        "command": DRY_RUN if args.plan else None,
        "snakemake": version("snakemake"),
        "family_members_per_job": MEMBERS_PER_JOB,
        "machine": f"{platform.machine()}, {sys.platform}, {os.cpu_count()} CPUs",
        "runs": runs,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
