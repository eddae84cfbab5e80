"""Time `snakemake -n` (DAG building) for sample sheets of growing size.

    .venv/bin/python benchmarks/dag_scaling.py --samples 200 1000

Writes benchmarks/results/dag_scaling.json. Goal: 1,000 samples in under 30 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_workflow_batch import real_queries, write_sheet  # noqa: E402
from tests.workflow_support import copy_workflow, run_command  # noqa: E402


def time_dry_run(samples: int) -> dict[str, float]:
    """Seconds for `snakemake -n` over a sheet of ``samples`` real queries (best of two); jobs = 7 per sample + 4."""
    queries = real_queries()
    with tempfile.TemporaryDirectory() as folder:
        workdir = copy_workflow(Path(folder) / "run")
        write_sheet(workdir, [(f"s{number:05d}", queries[number % len(queries)][1]) for number in range(samples)])
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            result = run_command("snakemake -n --quiet rules", workdir)
            timings.append(time.perf_counter() - start)
            if result.returncode != 0:
                raise SystemExit(result.stdout[-3000:])
    return {"samples": samples, "jobs": samples * 7 + 4, "seconds": round(min(timings), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "dag_scaling.json")
    args = parser.parse_args()
    runs = [time_dry_run(count) for count in args.samples]
    for run in runs:
        print(run, flush=True)
    document = {"machine": f"{platform.machine()}, {sys.platform}", "runs": runs}
    args.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
