"""Real query sequences for batch tests and benchmarks, and a sample sheet that lists them."""

from __future__ import annotations

from pathlib import Path

import pyhmmer.easel

from tests.conftest import INFERNAL_DATA


def real_queries() -> list[tuple[str, str]]:
    """Real RNAs from Rfam seed alignments (Vault RNA, tRNA, HAV pseudoknot): (sample_id, sequence)."""
    queries = []
    for name in ("tRNA5", "PK-HAV", "Vault"):
        with pyhmmer.easel.SequenceFile(str(INFERNAL_DATA / f"{name}.sto"), format="stockholm") as records:
            for number, record in enumerate(records, start=1):
                queries.append((f"{name}-{number}", record.sequence))
    return queries


def write_sheet(workdir: Path, queries: list[tuple[str, str]]) -> None:
    lines = ["sample_id\tsequence"] + [f"{sample_id}\t{sequence}" for sample_id, sequence in queries]
    (workdir / "config" / "samples.tsv").write_text("\n".join(lines) + "\n")


def append_to_sheet(sheet: Path, queries: list[tuple[str, str]]) -> None:
    """Add ``queries`` to an existing sample sheet with a `sequence` column (its other columns left empty);
    the rows above are kept byte for byte."""
    text = sheet.read_text()
    header = next(line for line in text.splitlines() if line and not line.startswith("#")).split("\t")
    rows = []
    for sample_id, sequence in queries:
        fields = {"sample_id": sample_id, "sequence": sequence}
        rows.append("\t".join(fields.get(column, "") for column in header))
    sheet.write_text(text + ("" if text.endswith("\n") else "\n") + "\n".join(rows) + "\n")
