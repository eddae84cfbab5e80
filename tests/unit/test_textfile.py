"""Unreadable text inputs (binary, broken gzip, a directory, missing) give one line through the CLI."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from rnamsm.errors import RnamsmError
from rnamsm.textfile import read_text
from tests.conftest import RNAMSM_EXAMPLE

BINARY = b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00"


def test_read_text_plain_and_gzip(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("ACGU\n", encoding="utf-8")
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(b"ACGU\n"))
    assert read_text(tmp_path / "a.txt", "a file") == read_text(tmp_path / "a.txt.gz", "a file") == "ACGU\n"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: None, "no such file, expected a thing"),
        (lambda path: path.mkdir(), "is a directory, expected a thing"),
        (lambda path: path.write_bytes(BINARY), "cannot read a thing: not UTF-8 text"),
    ],
)
def test_read_text_errors_name_the_file(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "input.txt"
    make(path)
    with pytest.raises(RnamsmError) as error:
        read_text(path, "a thing")
    assert str(error.value) == f"{path}: {message}"


def test_broken_gzip_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "msa.a3m.gz"
    path.write_bytes(gzip.compress(b">q\nACGU\n")[:-6])  # truncated stream
    with pytest.raises(RnamsmError, match=r"msa\.a3m\.gz: cannot read an MSA file: "):
        read_text(path, "an MSA file")


def _rnamsm(*arguments: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnamsm", *map(str, arguments)], capture_output=True, text=True)


def test_binary_inputs_through_the_cli(tmp_path: Path) -> None:
    """evaluate (structure and RSA table readers) and search's --config: exit 1, one line, no traceback."""
    binary = tmp_path / "2DRB_1.bpseq"
    binary.write_bytes(BINARY)
    rsa = tmp_path / "2DRB_1.rsa.tsv"
    rsa.write_bytes(BINARY)
    config = tmp_path / "search.yaml"
    config.write_bytes(BINARY)
    runs = {
        "structure": (_rnamsm("evaluate", "--pred", binary, "--ref", RNAMSM_EXAMPLE / "2DRB_1.bpseq"),
                      "a structure file"),
        "rsa": (_rnamsm("evaluate", "--pred", rsa, "--ref", RNAMSM_EXAMPLE / "2DRB_1_ensemble.txt", "--task", "rsa"),
                "an RSA table"),
        "config": (_rnamsm("search", RNAMSM_EXAMPLE / "2DRB_1.fasta", "--db", RNAMSM_EXAMPLE / "2DRB_1.fasta",
                           "--out-dir", tmp_path / "out", "--config", config), "a YAML config file"),
    }
    for name, (result, what) in runs.items():
        assert result.returncode == 1, (name, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, (name, result.stderr)
        assert f"cannot read {what}: not UTF-8 text" in lines[0], (name, lines[0])
    assert not (tmp_path / "out").exists()
