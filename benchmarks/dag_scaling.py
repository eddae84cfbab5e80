"""Time `snakemake -n` (planning a batch) for sample sheets of growing size, in two shapes.

    .venv/bin/python benchmarks/dag_scaling.py --samples 200 1000 --fasta-samples 300 [--baseline REV]

Shapes: ``inline`` (each sample's sequence in the sheet) and ``fasta`` (one FASTA file per sample, named
in the sheet's ``fasta`` column). Every figure is the best of two runs: wall seconds and CPU seconds
(user + system of the Snakemake process, less sensitive to other jobs on a shared machine); ``startup`` is a
one-sample sheet, the fixed cost of every Snakemake command. With
``--baseline REV`` the workflow of git revision REV is timed on the same sheets, alternating with this
checkout, and the ratios are recorded. Writes benchmarks/results/dag_scaling.json with the commit that
was measured. Goal: 1,000 samples in under 30 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.queries import real_queries, write_sheet  # noqa: E402
from tests.support.workflow import (  # noqa: E402
    DRY_RUN,
    REPO_ROOT,
    WORKFLOW_FILES,
    copy_workflow,
    time_dry_run,
)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()


def checkout(destination: Path, revision: str | None) -> Path:
    """The workflow of this checkout (``revision`` None) or of a git revision, copied to ``destination``."""
    if revision is None:
        return copy_workflow(destination)
    files = [name for name in WORKFLOW_FILES if git("ls-tree", "--name-only", revision, name)]
    archive = subprocess.run(["git", "archive", "--format=tar", revision, *files], cwd=REPO_ROOT,
                             capture_output=True, check=True).stdout
    destination.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="tar")
    return destination


def write_fasta_sheet(workdir: Path, queries: list[tuple[str, str]]) -> None:
    """A sheet naming one FASTA file per sample (``queries/<id>.fa``)."""
    folder = workdir / "queries"
    folder.mkdir()
    lines = ["sample_id\tfasta"]
    for sample_id, sequence in queries:
        (folder / f"{sample_id}.fa").write_text(f">{sample_id}\n{sequence}\n")
        lines.append(f"{sample_id}\tqueries/{sample_id}.fa")
    (workdir / "config" / "samples.tsv").write_text("\n".join(lines) + "\n")


def prepare(workdir: Path, shape: str, samples: int) -> None:
    queries = real_queries()
    sheet = [(f"s{number:05d}", queries[number % len(queries)][1]) for number in range(samples)]
    if shape == "inline":
        write_sheet(workdir, sheet)
    else:
        write_fasta_sheet(workdir, sheet)


def time_shape(shape: str, samples: int, baseline: str | None) -> dict:
    """Best of two dry runs of this checkout (and of ``baseline``, alternating) on one sheet."""
    variants = {"current": None} if baseline is None else {"current": None, "baseline": baseline}
    with tempfile.TemporaryDirectory() as folder:
        workdirs = {}
        for name, revision in variants.items():
            workdirs[name] = checkout(Path(folder) / name, revision)
            prepare(workdirs[name], shape, samples)
        timings: dict[str, list[tuple[float, float, int]]] = {name: [] for name in variants}
        loads = []
        for _ in range(2):
            for name in variants:
                loads.append(os.getloadavg()[0])
                timings[name].append(time_dry_run(workdirs[name]))
    best = {name: {"seconds": round(min(t[0] for t in runs), 2), "cpu_seconds": round(min(t[1] for t in runs), 2)}
            for name, runs in timings.items()}
    run = {"shape": shape, "samples": samples, "jobs": timings["current"][0][2], **best["current"],
           "load_average": [round(load, 1) for load in loads]}
    if baseline is not None:
        run["baseline"] = best["baseline"]
        run["ratio"] = round(run["seconds"] / run["baseline"]["seconds"], 2)
        run["cpu_ratio"] = round(run["cpu_seconds"] / run["baseline"]["cpu_seconds"], 2)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="*", default=[200, 1000], help="inline-sequence sheets")
    parser.add_argument("--fasta-samples", type=int, nargs="*", default=[300], help="one-FASTA-per-sample sheets")
    parser.add_argument("--baseline", metavar="REV", help="also time the workflow of this git revision")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "dag_scaling.json")
    args = parser.parse_args()
    modified = bool(git("status", "--porcelain", "--", *WORKFLOW_FILES))
    startup = time_shape("inline", 1, None)  # Snakemake's fixed cost: start-up, plugins, the Snakefile
    print({"startup": startup}, flush=True)
    runs = []
    for shape, counts in (("inline", args.samples), ("fasta", args.fasta_samples)):
        for count in counts:
            runs.append(time_shape(shape, count, args.baseline))
            print(runs[-1], flush=True)
    document = {
        "commit": git("rev-parse", "HEAD") + ("+modified" if modified else ""),
        "baseline": git("rev-parse", args.baseline) if args.baseline else None,
        "command": DRY_RUN,
        "snakemake": version("snakemake"),
        "machine": f"{platform.machine()}, {sys.platform}, {os.cpu_count()} CPUs",
        "startup": {key: startup[key] for key in ("seconds", "cpu_seconds", "load_average")},
        "runs": runs,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
