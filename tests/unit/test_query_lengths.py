"""Query lengths at the edges: 1, 9, 10, 1023, 1024 and 3000 nt through the command line."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def rnamsm(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnamsm", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def query_of_length(length: int) -> str:
    """A random RNA of ``length`` nt (seeded by the length)."""
    generator = random.Random(length)
    return "".join(generator.choice("ACGU") for _ in range(length))


@pytest.fixture(scope="module")
def demo_checkpoint(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("weights") / "demo"
    result = rnamsm("make-demo-checkpoint", folder, cwd=folder.parent)
    assert result.returncode == 0, result.stderr
    return folder


@pytest.mark.parametrize("length", [1, 9])
def test_too_short_query_is_refused(length: int, tmp_path: Path) -> None:
    source = tmp_path / "query.fa"
    source.write_text(f">q\n{query_of_length(length)}\n")
    result = rnamsm("validate-input", source, "-o", tmp_path / "out.fa", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"rnamsm validate-input: error: {source}: record 'q': sequence is {length} nt, shorter than the "
        "minimum of 10 nt"
    )
    assert not (tmp_path / "out.fa").exists()


@pytest.mark.parametrize("length", [10, 1023, 1024, 3000])
def test_query_is_validated_and_featurised(length: int, tmp_path: Path, demo_checkpoint: Path) -> None:
    """Lengths above the model's 1023 nt run in overlapping windows merged back to full length."""
    sequence = query_of_length(length)
    source = tmp_path / "query.fa"
    source.write_text(f">q\n{sequence.lower().replace('u', 't')}\n")
    assert rnamsm("validate-input", source, "-o", tmp_path / "q.fa", cwd=tmp_path).returncode == 0
    assert (tmp_path / "q.fa").read_text() == f">q\n{sequence}\n"

    # A one-row MSA (what a query without homologs gets) with one extra gapped row.
    msa = tmp_path / "q.a2m_msa2"
    msa.write_text(f">q\n{sequence}\n>h\n{'-' * (length // 2)}{sequence[length // 2:]}\n")
    out = tmp_path / "features.npz"
    result = rnamsm("features", msa, "--checkpoint", demo_checkpoint, "--out", out, "--device", "auto", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with np.load(out) as features:
        assert str(features["sequence"]) == sequence
        assert features["embedding"].shape == (length, 64)
        assert features["attention_maps"].shape == (8, length, length)
        assert np.isfinite(features["attention_maps"]).all() and np.isfinite(features["contacts"]).all()
        windows = features["windows"]
        coverage = features["attention_coverage"]
    if length <= 1023:
        assert windows.tolist() == [[0, length]] and coverage.all()
    else:
        assert windows[0].tolist() == [0, 1023] and windows[-1].tolist() == [length - 1023, length]
        assert not coverage.all() and coverage[0, :513].all()


def test_msa_whose_first_row_is_not_the_query_is_refused(tmp_path: Path, demo_checkpoint: Path) -> None:
    query = query_of_length(40)
    other = query_of_length(41)[:40]
    (tmp_path / "q.fa").write_text(f">q\n{query}\n")
    msa = tmp_path / "swapped.a2m_msa2"
    msa.write_text(f">homolog\n{other}\n>q\n{query}\n")
    out = tmp_path / "features.npz"
    result = rnamsm("features", msa, "--query", tmp_path / "q.fa", "--checkpoint", demo_checkpoint, "--out", out,
                    cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert error_lines == [line for line in result.stderr.splitlines() if line.startswith("rnamsm features: error")]
    assert len(error_lines) == 1 and "row 1 ('homolog') is not the query of" in error_lines[0]
    assert not out.exists()
    msa.write_text(f">q\n{query[:10]}-{query[11:]}\n")
    assert rnamsm("features", msa, "--query", tmp_path / "q.fa", "--checkpoint", demo_checkpoint, "--out", out,
                  cwd=tmp_path).returncode == 1
    msa.write_text(f">q\n{query}\n>homolog\n{other}\n")
    result = rnamsm("features", msa, "--query", tmp_path / "q.fa", "--checkpoint", demo_checkpoint, "--out", out,
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
