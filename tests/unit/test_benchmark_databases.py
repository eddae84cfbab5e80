"""The large-database benchmarks' helpers: one generator of the real-sequence database (the same bytes for the
same size and seed, reused rather than rebuilt), Slurm's CPU accounting, and results merged per size."""

from __future__ import annotations

import json

from benchmarks import prepare_db, realistic_db, shard_slurm

#: ``sacct -n -P -j 27,35 --format=JobID,TotalCPU`` of a round-1 shard job and a model job of the 1-Gb run.
SACCT = """27|00:08.080
27.batch|00:02.110
27.0|00:05.970
35|00:15.887
35.batch|00:02.360
35.0|00:13.526
"""


def test_the_generator_writes_the_same_bytes_for_a_size_and_reuses_a_file_it_built(shared_dir, tmp_path) -> None:
    data = shared_dir / "data"
    first = realistic_db.ensure_database(tmp_path / "a.fa", 1, data)
    again = realistic_db.ensure_database(tmp_path / "a.fa", 1, data)
    other = realistic_db.ensure_database(tmp_path / "b.fa", 1, data)
    assert (first["reused"], again["reused"], other["reused"]) == (False, True, False)
    assert (tmp_path / "a.fa").read_bytes() == (tmp_path / "b.fa").read_bytes()
    # it stops at the record that reaches the size; the longest records are 1.5 Mb
    assert 1_000_000 <= first["residues"] < 2_560_000 and first["bytes"] == (tmp_path / "a.fa").stat().st_size
    smaller = realistic_db.ensure_database(tmp_path / "a.fa", 0.2, data)  # another size: rebuilt, a prefix
    assert not smaller["reused"] and smaller["residues"] < first["residues"]
    assert (tmp_path / "b.fa").read_bytes().startswith((tmp_path / "a.fa").read_bytes())


def test_slurm_accounting_sums_each_allocation_and_reads_slurm_durations() -> None:
    assert shard_slurm.allocation_cpu(SACCT) == {"27": 8.08, "35": 15.887}
    assert [shard_slurm.slurm_seconds(text) for text in ("00:04.724", "01:02:03.5", "1-00:00:01")] == [
        4.724, 3723.5, 86401.0]


def test_results_are_merged_per_size_and_the_first_files_search_is_kept(tmp_path, monkeypatch) -> None:
    results = tmp_path / "prepare_db.json"
    row = {"size_Mb": 50.0, "prepare_cpu_s": 1.38}
    results.write_text(json.dumps({"command": "benchmarks/prepare_db.py --sizes 50 100", "shard_nt": 20_000_000,
                                   "runs": [row, {"size_Mb": 100.0, "prepare_cpu_s": 2.08}],
                                   "search_run": {"size_Mb": 50.0, "search": {"plain": {"cpu_s": 2.43},
                                                                                  "prepared": {"cpu_s": 2.3}}}}))
    monkeypatch.setattr(prepare_db, "RESULTS", results)
    prepare_db.merge_results([{"size_Mb": 100.0, "prepare_cpu_s": 2.5}, {"size_Mb": 1000.0, "prepare_cpu_s": 11.7}],
                             [{"size_Mb": 1000.0, "cm_rounds": 0, "plain": {"cpu_s": 30.9}}])
    merged = json.loads(results.read_text())
    assert [(run["size_Mb"], run["prepare_cpu_s"]) for run in merged["runs"]] == [(50.0, 1.38), (100.0, 2.5),
                                                                                  (1000.0, 11.7)]
    assert merged["runs"][0]["command"] == "benchmarks/prepare_db.py --sizes 50 100"
    assert [(search["size_Mb"], search["plain"]["cpu_s"]) for search in merged["searches"]] == [(50.0, 2.43),
                                                                                                (1000.0, 30.9)]
    assert merged["searches"][0]["prepared"] == {"cpu_s": 2.3} and "search" not in merged["searches"][0]
