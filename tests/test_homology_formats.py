"""MSA formats: a3m <-> sto <-> a2m_msa2 round trips and the official RNA-MSM example."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnamsm.atomic import write_files
from rnamsm.errors import RnamsmError
from rnamsm.homology.formats import expand_inserts, match_columns, msa_texts
from rnamsm.model.msa import parse_stockholm, read_msa, read_records
from tests.conftest import RNAMSM_EXAMPLE

OFFICIAL = RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2"

match_char = st.sampled_from("ACGUN-")
insert = st.text(alphabet="acgun", max_size=3)


@st.composite
def a3m_rows(draw):
    length = draw(st.integers(min_value=1, max_value=12))
    count = draw(st.integers(min_value=1, max_value=6))
    rows = []
    for _ in range(count):
        parts = [draw(insert)]
        for _ in range(length):
            parts += [draw(match_char), draw(insert)]
        rows.append("".join(parts))
    rows[0] = match_columns(rows[0]).replace("-", "A")  # the query: no gaps, no inserts
    return length, rows


def _write_msa_files(prefix: Path, names: list[str], rows: list[str], structure: str, msa_name: str) -> dict:
    """Write the three MSA files as ``rnamsm search`` does; return their paths by format."""
    texts = msa_texts(prefix, names, rows, structure, msa_name)
    write_files(texts)
    return {path.suffix[1:]: path for path in texts}


@settings(max_examples=60, deadline=None)
@given(a3m_rows())
def test_round_trip_preserves_rows_and_query_columns(tmp_path_factory, data) -> None:
    length, rows = data
    tmp = tmp_path_factory.mktemp("rt")
    names = ["query"] + [f"hit{i}/1-{i + 5}" for i in range(1, len(rows))]
    structure = "(" + "." * (length - 2) + ")" if length >= 2 else "."
    paths = _write_msa_files(tmp / "query", names, rows, structure, "query")
    from_a3m = read_records(paths["a3m"])
    from_sto = read_records(paths["sto"])
    from_a2m = read_records(paths["a2m_msa2"])
    assert from_a3m == list(zip(names, rows, strict=True))
    # Stockholm keeps inserts (their placement inside one insert slot is left-justified).
    assert from_sto == from_a3m
    assert from_a2m == [(name, match_columns(row)) for name, row in zip(names, rows, strict=True)]
    assert parse_stockholm(paths["sto"].read_text(), "sto")[1] == structure
    # a2m_msa2 -> sto -> a2m_msa2
    again = _write_msa_files(tmp / "again", [n for n, _ in from_a2m], [r for _, r in from_a2m], structure, "q")
    assert read_records(again["a2m_msa2"]) == from_a2m
    assert paths["a2m_msa2"].read_text() == again["a2m_msa2"].read_text()


def test_expand_inserts_rf_marks_query_columns() -> None:
    expanded, rf = expand_inserts(["ACGU", "AcC-Ggu", "uuA-CG"], 4)
    assert rf == "..x.xxx.."
    assert expanded == ["..A.CGU..", "..AcC-Ggu", "uuA.-CG.."]
    with pytest.raises(ValueError, match="5 match columns"):
        expand_inserts(["ACGU", "ACGUA"], 4)


def test_official_rnacmap3_msa_reads_and_round_trips(tmp_path: Path) -> None:
    rows = read_records(OFFICIAL)
    assert len(rows) == 1176 and rows[0][0] == "2DRB_1"
    assert {len(row) for _, row in rows} == {35}
    names = [name for name, _ in rows]
    paths = _write_msa_files(tmp_path / "2DRB_1", names, [row for _, row in rows], "." * 35, "2DRB_1")
    assert paths["a2m_msa2"].read_bytes() == b"".join(
        f">{name}\n{row}\n".encode() for name, row in rows
    )
    assert read_records(paths["sto"]) == rows


def test_ragged_msa_is_an_error_naming_the_row(tmp_path: Path) -> None:
    bad = tmp_path / "bad.a2m_msa2"
    bad.write_text(">q\nACGU\n>h1\nACG\n")
    with pytest.raises(RnamsmError, match=r"bad.a2m_msa2: row 2 \('h1'\) has 3 match columns, the query has 4"):
        read_msa(bad)
