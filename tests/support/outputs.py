"""Compare the data outputs of two workflow runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: Run facts allowed to differ between runs: wall-clock timings inside msa_stats.json.
TIMING_KEYS = frozenset({"timings", "seconds"})


def data_outputs(results: Path) -> list[Path]:
    """Every data output under ``results/`` (relative paths): not reports, benchmarks or scratch."""
    paths = []
    for path in sorted(results.rglob("*")):
        relative = path.relative_to(results)
        if not path.is_file() or relative.parts[0] == "benchmarks" or "work" in relative.parts:
            continue
        if path.suffix == ".html" or path.name.startswith(".") or relative.name == "batch_status.tsv":
            continue
        paths.append(relative)
    return paths


def _without_timings(value):
    if isinstance(value, dict):
        return {key: _without_timings(item) for key, item in value.items() if key not in TIMING_KEYS}
    if isinstance(value, list):
        return [_without_timings(item) for item in value]
    return value


def differences(first: Path, second: Path) -> list[str]:
    """Data outputs that differ between two ``results/`` folders (byte for byte, except timings)."""
    found = []
    first_files, second_files = data_outputs(first), data_outputs(second)
    if first_files != second_files:
        found.append(f"different files: {sorted(set(first_files) ^ set(second_files))}")
    for relative in first_files:
        a, b = first / relative, second / relative
        if not b.exists() or a.read_bytes() == b.read_bytes():
            continue
        if relative.name == "msa_stats.json":
            if _without_timings(json.loads(a.read_text())) == _without_timings(json.loads(b.read_text())):
                continue
        elif relative.suffix == ".npz":
            with np.load(a) as x, np.load(b) as y:
                if sorted(x.files) == sorted(y.files) and all(np.array_equal(x[k], y[k]) for k in x.files):
                    found.append(f"{relative}: same arrays but different bytes")
                    continue
        found.append(str(relative))
    return found
