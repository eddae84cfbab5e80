"""Fuzz the input readers: any bytes give a parsed result or a clear RnamsmError, never a crash.

Run by hand (the unit suite runs the same properties with a small budget):

    .venv/bin/python benchmarks/fuzz_readers.py --examples 10000

Writes benchmarks/results/fuzz_readers.json: per reader, the number of cases tried, how many were
accepted and how many were refused with a clear error, and the wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnamsm.errors import RnamsmError  # noqa: E402
from tests.support.fuzzing import READERS, fuzz_inputs  # noqa: E402


def fuzz(kind: str, suffix: str, reader: Callable[[Path], object], examples: int, workdir: Path) -> dict[str, float]:
    """Feed ``examples`` generated files to ``reader``; count accepted and refused inputs."""
    counts = {"cases": 0, "accepted": 0, "refused": 0}

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=fuzz_inputs(kind))
    def run(data: bytes) -> None:
        path = workdir / f"input{suffix}"
        path.write_bytes(data)
        counts["cases"] += 1
        try:
            reader(path)
        except RnamsmError as error:
            assert "\n" not in str(error), str(error)
            counts["refused"] += 1
        else:
            counts["accepted"] += 1

    start = time.perf_counter()
    run()
    return {**counts, "seconds": round(time.perf_counter() - start, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10000, help="cases per reader")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "fuzz_readers.json")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name, (suffix, reader) in READERS.items():
            results[name] = fuzz(name, suffix, reader, args.examples, Path(workdir))
            print(name, results[name], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"examples_per_reader": args.examples, "readers": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
