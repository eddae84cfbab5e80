"""The status TSV (``rnamsm.formats.sample_status``): what a chunk of family members writes and the index reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnamsm.errors import RnamsmError
from rnamsm.formats import sample_status
from rnamsm.formats.sample_status import SampleStatus


def test_rows_round_trip_with_one_line_reasons(tmp_path: Path) -> None:
    """A reason with a tab or a newline (a multi-line error) is kept on its line; the header is written."""
    path = tmp_path / "0001.tsv"
    rows = [SampleStatus("tRNA.A_1", "ok"), SampleStatus("tRNA.B_2", "failed", "import_msa: x.sto:\trow 'B'\n  empty")]
    sample_status.write(rows, path)
    reason = "import_msa: x.sto: row 'B' empty"
    assert path.read_text() == f"sample\tstatus\treason\ntRNA.A_1\tok\t\ntRNA.B_2\tfailed\t{reason}\n"
    assert sample_status.read(path) == [rows[0], SampleStatus("tRNA.B_2", "failed", reason)]
    assert [row.ok for row in sample_status.read(path)] == [True, False]


def test_bad_rows_are_one_line_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "status.tsv"
    path.write_text("sample\tstatus\treason\nq1\n")
    with pytest.raises(RnamsmError, match=r"status.tsv: line 2: expected 'sample<TAB>status<TAB>reason'"):
        sample_status.read(path)
    path.write_text("q1\tFailed!\tboom\n")
    with pytest.raises(RnamsmError, match=r"line 1: sample 'q1': invalid status 'Failed!'"):
        sample_status.read(path)
    with pytest.raises(ValueError, match="invalid status row"):
        sample_status.write([SampleStatus("q1", "not ok")], path)
