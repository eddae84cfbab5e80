"""The sample list of ``rnamsm run-samples`` (rnamsm.formats.sample_jobs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rnamsm.errors import RnamsmError
from rnamsm.formats import sample_jobs
from rnamsm.formats.sample_jobs import SampleJob


@pytest.mark.parametrize(("text", "problem"), [
    ("sample\tmsa\tfeatures\trsa\n", "line 1: missing column(s) structure_dir"),
    ("sample\tmsa\tfeatures\tstructure_dir\trsa\tcolour\n", "line 1: unknown column(s) colour"),
    ("sample\tmsa\tfeatures\tstructure_dir\trsa\nA\ta.a3m\tf.npz\ts\tr.tsv\nA\tb.a3m\tg.npz\tt\tq.tsv\n",
     "line 3: sample 'A' is listed twice"),
    ("sample\tmsa\tfeatures\tstructure_dir\trsa\nA\t\tf.npz\ts\tr.tsv\n", "line 2: empty msa"),
    ("# only a comment\n", "empty sample list"),
])
def test_sample_list_errors_are_one_line(tmp_path, text, problem) -> None:
    path = tmp_path / "samples.tsv"
    path.write_text(text)
    with pytest.raises(RnamsmError, match="^" + re.escape(f"{path}: {problem}")):
        sample_jobs.read(path)


def test_sample_list_round_trip(tmp_path) -> None:
    jobs = [SampleJob("S1", Path("msa/S1.a3m"), tmp_path / "S1" / "features.npz", tmp_path / "S1", tmp_path / "r.tsv",
                      Path("q.fa"), tmp_path / "S1.log"),
            SampleJob("S2", Path("msa/S2.sto"), tmp_path / "f.npz", tmp_path / "s", tmp_path / "r.tsv")]
    sample_jobs.write(jobs, tmp_path / "samples.tsv")
    assert sample_jobs.read(tmp_path / "samples.tsv") == jobs
