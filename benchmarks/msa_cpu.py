"""Where the CPU time of ``rnamsm search`` and of the RNAcmap3 pipeline goes, step by step, on a few queries.

The MSA-quality benchmark (``benchmarks/msa_quality.py``) records each run's CPU seconds as a whole and its
steps' wall seconds, which on a shared machine move with the load. This script runs both pipelines on the
same queries and databases in this process and records the CPU seconds (this process and its children:
pyinfernal's and pyhmmer's threads, Infernal's programs) of every step:

    .venv/bin/python benchmarks/msa_cpu.py --only tRNA-3 PK-HAV-2 [--engine] [--work-dir DIR] [--out FILE]
    .venv/bin/python benchmarks/msa_cpu.py --report

``rnamsm search`` runs through :func:`rnamsm.homology.pipeline.run_search` at its defaults with its own step
timer extended to CPU time; the RNAcmap3 runner (``benchmarks/rnacmap3.py``, ``-L 0.02``) with its step
record extended the same way. With ``--engine``, each query's kept round-2 CMs (ours and RNAcmap3's) are also
searched once more with Infernal's ``cmsearch`` program and with pyinfernal (rnamsm's code), to tell the
cost of a CM from the cost of the search engine. Results: ``benchmarks/results/msa_cpu.json`` (appended,
one entry per query and pipeline), summarised in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import msa_quality, rnacmap3  # noqa: E402
from rnamsm.atomic import atomic_open  # noqa: E402
from rnamsm.homology import infernal_cli, pipeline  # noqa: E402
from rnamsm.homology.cm_search import cm_chunk  # noqa: E402
from rnamsm.homology.settings import SearchSettings  # noqa: E402

OUT = msa_quality.ROOT / "benchmarks" / "results" / "msa_cpu.json"


def cpu_seconds() -> float:
    """CPU seconds of this process (all its threads) and of its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuTimer(pipeline._Timer):
    """The search's step timer, also adding each step's CPU seconds to :attr:`cpu`."""

    def __init__(self) -> None:
        super().__init__()
        self.cpu: dict[str, float] = {}
        CpuTimer.last = self

    last: CpuTimer | None = None

    def run(self, step: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        start = cpu_seconds()
        try:
            return super().run(step, function, *args, **kwargs)
        finally:
            self.cpu[step] = self.cpu.get(step, 0.0) + cpu_seconds() - start


class CpuSteps(rnacmap3.Steps):
    """The RNAcmap3 runner's step record, also adding each step's CPU seconds to :attr:`cpu`."""

    def __init__(self, progress: Path) -> None:
        super().__init__(progress)
        self.cpu: dict[str, float] = {}
        self._start = cpu_seconds()
        CpuSteps.last = self

    last: CpuSteps | None = None

    def started(self, step: str) -> None:
        self._start = cpu_seconds()
        super().started(step)

    def add(self, step: str, seconds: float) -> None:
        self.cpu[step] = self.cpu.get(step, 0.0) + cpu_seconds() - self._start
        super().add(step, seconds)


def profile(which: str, query_fa: Path, database: Path, folder: Path, threads: int) -> dict:
    """One pipeline on one query: CPU and wall seconds in all and per step."""
    out = folder / which
    shutil.rmtree(out, ignore_errors=True)
    load_before = os.getloadavg()[0]
    if which == "rnamsm":
        pipeline._Timer = CpuTimer  # type: ignore[misc]
        start, wall = cpu_seconds(), time.perf_counter()
        pipeline.run_search(query_fa, [database], out, threads=threads, work_dir=out / "work")
        steps, timings = CpuTimer.last.cpu, CpuTimer.last.timings
    else:
        blast_db = folder / "blastdb" / "db"
        if not blast_db.with_suffix(".nsq").exists():
            subprocess.run(["makeblastdb", "-in", str(database), "-dbtype", "nucl", "-out", str(blast_db)],
                           check=True, capture_output=True)
        rnacmap3.Steps = CpuSteps  # type: ignore[misc]
        start, wall = cpu_seconds(), time.perf_counter()
        rnacmap3.run(query_fa, database, str(blast_db), out, threads, SearchSettings().calibrate_L)
        steps, timings = CpuSteps.last.cpu, CpuSteps.last.timings
    return {"cpu_seconds": round(cpu_seconds() - start, 2), "wall_seconds": round(time.perf_counter() - wall, 2),
            "step_cpu_seconds": {step: round(value, 2) for step, value in steps.items()},
            "step_wall_seconds": {step: round(value, 2) for step, value in timings.items()},
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def engines(cm: Path, database: Path, length: int, threads: int, scratch: Path) -> dict:
    """CPU seconds and hits of one calibrated CM searched with the ``cmsearch`` program and with pyinfernal."""
    table = scratch / "cmsearch.tbl"
    before = cpu_seconds()
    subprocess.run(["cmsearch", "--cpu", str(threads), "--incE", "10", "--tblout", str(table), "-o", os.devnull,
                    str(cm), str(database)], check=True, capture_output=True)
    program = {"cpu_seconds": round(cpu_seconds() - before, 2),
               "hits": sum(1 for line in table.read_text().splitlines() if not line.startswith("#"))}
    settings = SearchSettings()
    searched = pipeline.open_database([database], settings, length)
    model = infernal_cli.read_cm(cm, length)
    before, hits = cpu_seconds(), 0
    for chunk in searched.chunks():
        hits += len(cm_chunk(model, chunk, z_residues=searched.z_residues, E=settings.cm.E, incE=settings.cm.incE,
                             max_hits=settings.filter.max_rows, threads=threads, round_number=2))
    return {"cmsearch_program": program, "pyinfernal": {"cpu_seconds": round(cpu_seconds() - before, 2),
                                                         "hits": hits}}


def report(results: dict) -> str:
    """The markdown table of ``docs/benchmarks.md``: CPU seconds per step group (``msa_quality.STAGES``)."""
    labels = [label for label, _ in msa_quality.STAGES]
    lines = ["| query | nt | pipeline | CPU s | " + " | ".join(labels) + " | load |",
             "|---|---:|---|---:|" + "---:|" * len(labels) + "---|"]
    for run in results["runs"]:
        groups = msa_quality.stage_seconds(run["step_cpu_seconds"])
        load = "–".join(f"{value:g}" for value in run["load_average"])
        lines.append(f"| {run['query']} | {run['length']} | {run['pipeline']} | {run['cpu_seconds']:.1f} | "
                     + " | ".join(f"{groups[label]:.1f}" for label in labels) + f" | {load} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=[], metavar="ID", help="query ids of the MSA-quality draw")
    parser.add_argument("--shared", type=Path, default=msa_quality.ROOT.parent / "shared" / "data")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "rnamsm-msa-cpu")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--engine", action="store_true", help="also search the round-2 CMs with both engines")
    parser.add_argument("--report", action="store_true", help="print the table of the results file and exit")
    args = parser.parse_args()
    if args.report:
        print(report(json.loads(args.out.read_text())), end="")
        return 0
    families = {family.name: msa_quality.read_family(args.shared, family) for family in msa_quality.FAMILIES}
    members = [member for family in msa_quality.FAMILIES for member in families[family.name]]
    drawn = dict(msa_quality.draw_queries(families, msa_quality.SEED))
    args.work_dir.mkdir(parents=True, exist_ok=True)
    msa_quality.prepare_databases(args.work_dir, members, msa_quality.SEED)
    results = json.loads(args.out.read_text()) if args.out.exists() else {"runs": []}
    results.update(machine={"cpus": os.cpu_count(), "note": "shared 2-core VM; see each run's load_average"},
                   tools=msa_quality.tool_versions())
    for query_id in args.only:
        query = drawn[query_id]
        folder = args.work_dir / "queries" / query_id
        folder.mkdir(parents=True, exist_ok=True)
        query_fa = folder / f"{query_id}.fa"
        query_fa.write_text(f">{query_id} {query.name}\n{query.sequence}\n")
        database = msa_quality.query_database(args.work_dir, members, query, folder)
        try:
            for which in ("rnamsm", "rnacmap3"):
                run = {"query": query_id, "length": len(query.sequence), "pipeline": which,
                       "code": msa_quality.code_version(), **profile(which, query_fa, database, folder, args.threads)}
                if args.engine:
                    run["round2_cm_search"] = engines(folder / which / "work" / "round2.cm", database,
                                                      len(query.sequence), args.threads, folder)
                results["runs"].append(run)
                with atomic_open(args.out) as handle:
                    json.dump(results, handle, indent=2, sort_keys=True)
                    handle.write("\n")
                print(f"msa_cpu: {query_id} {which}: {run['cpu_seconds']} CPU s", file=sys.stderr)
        finally:
            database.unlink()
            shutil.rmtree(folder / "blastdb", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
