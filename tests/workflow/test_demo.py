"""The README's demo command, run in a fresh copy of the workflow, and what it writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rnamsm.formats.query import read_queries


def test_demo_writes_every_sample(demo_run: Path) -> None:
    samples = pd.read_csv(demo_run / "config" / "samples.tsv", sep="\t", dtype=str)
    assert len(samples) >= 4
    for sample_id in samples["sample_id"]:
        query = demo_run / "results" / sample_id / "query.fa"
        records = list(read_queries(query))
        assert [record.id for record in records] == [sample_id]
        assert set(records[0].sequence) <= set("ACGU")
        assert (demo_run / "logs" / "validate_input" / f"{sample_id}.log").exists()


def test_demo_query_is_the_source_record(demo_run: Path) -> None:
    trna = list(read_queries(demo_run / "results" / "mrum-tRNA-5" / "query.fa"))[0]
    source = {r.id: r for r in read_queries(demo_run / "resources" / "demo" / "queries" / "mrum-tRNAs10.fa")}
    assert trna.sequence == source["mrum-tRNA.5"].sequence
    assert trna.description == "mrum-tRNA.5"
