"""MSA files (rnamsm.formats.msa): a3m <-> sto <-> a2m_msa2 round trips, real files, checks on read."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnamsm.errors import RnamsmError
from rnamsm.formats import msa as msa_format
from rnamsm.formats.msa import Alignment, expand_inserts, match_columns
from rnamsm.model.msa import read_msa
from tests.conftest import INFERNAL_DATA, RNAMSM_EXAMPLE, RNAMSM_OUTPUTS

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


@settings(max_examples=60, deadline=None)
@given(a3m_rows())
def test_round_trip_preserves_rows_and_query_columns(tmp_path_factory, data) -> None:
    length, rows = data
    tmp = tmp_path_factory.mktemp("rt")
    names = ["query"] + [f"hit{i}/1-{i + 5}" for i in range(1, len(rows))]
    structure = "(" + "." * (length - 2) + ")" if length >= 2 else "."
    paths = msa_format.write(Alignment(tuple(names), tuple(rows), structure), tmp / "query", "query")
    from_a3m = msa_format.read(paths["a3m"])
    from_sto = msa_format.read(paths["sto"])
    from_a2m = msa_format.read(paths["a2m_msa2"])
    assert from_a3m.records == list(zip(names, rows, strict=True))
    # Stockholm keeps inserts (their placement inside one insert slot is left-justified).
    assert from_sto.records == from_a3m.records
    assert from_a2m.records == [(name, match_columns(row)) for name, row in zip(names, rows, strict=True)]
    assert from_sto.structure == structure and from_a3m.structure == ""
    # a2m_msa2 -> sto -> a2m_msa2
    again = msa_format.write(Alignment(from_a2m.names, from_a2m.rows, structure), tmp / "again", "q")
    assert msa_format.read(again["a2m_msa2"]).records == from_a2m.records
    assert paths["a2m_msa2"].read_text() == again["a2m_msa2"].read_text()


def test_expand_inserts_rf_marks_query_columns() -> None:
    expanded, rf = expand_inserts(["ACGU", "AcC-Ggu", "uuA-CG"], 4)
    assert rf == "..x.xxx.."
    assert expanded == ["..A.CGU..", "..AcC-Ggu", "uuA.-CG.."]
    with pytest.raises(ValueError, match="5 match columns"):
        expand_inserts(["ACGU", "ACGUA"], 4)


def test_official_rnacmap3_msa_reads_and_round_trips(tmp_path: Path) -> None:
    alignment = msa_format.read(OFFICIAL)
    assert len(alignment.rows) == 1176 and alignment.names[0] == "2DRB_1" and alignment.length == 35
    assert {len(row) for row in alignment.rows} == {35}
    paths = msa_format.write(Alignment(alignment.names, alignment.rows, "." * 35), tmp_path / "2DRB_1", "2DRB_1")
    assert paths["a2m_msa2"].read_bytes() == b"".join(
        f">{name}\n{row}\n".encode() for name, row in alignment.records
    )
    assert msa_format.read(paths["sto"]).records == alignment.records


@pytest.mark.parametrize("sample", ["Cobalamin"])
def test_search_outputs_of_the_demo_round_trip_byte_for_byte(tmp_path: Path, sample: str) -> None:
    """The demo's real ``rnamsm search`` files: read the a3m or the sto, write all three, get the same bytes."""
    structure = msa_format.read(RNAMSM_OUTPUTS / f"{sample}.sto").structure
    assert len(structure) == 103 and structure.count("(") == structure.count(")") > 10
    for suffix in msa_format.SEARCH_SUFFIXES:
        alignment = msa_format.read(RNAMSM_OUTPUTS / f"{sample}.{suffix}")
        assert alignment.names[0] == sample and len(alignment.rows) == 10 and alignment.length == 103
        if suffix == "a2m_msa2":
            continue  # inserts are gone: only its own bytes can come back
        paths = msa_format.write(dataclasses.replace(alignment, structure=structure), tmp_path / suffix / sample,
                                 sample)
        for written in msa_format.SEARCH_SUFFIXES:
            assert paths[written].read_bytes() == (RNAMSM_OUTPUTS / f"{sample}.{written}").read_bytes(), written


def test_cmalign_and_rfam_stockholm() -> None:
    """cmalign output (RF with insert columns) and an Rfam seed (no RF, two blocks, SS_cons)."""
    cmalign = msa_format.read(INFERNAL_DATA / "mrum-tRNAs10.cmalign.sto")
    assert cmalign.length == 72 and len(cmalign.rows) == 10
    assert any(char.islower() for row in cmalign.rows for char in row)
    assert len(cmalign.structure) == 72
    rfam = msa_format.read(INFERNAL_DATA / "tRNA5.sto")
    assert (len(rfam.rows), rfam.length, len(rfam.structure)) == (5, 74, 74)


def test_reading_back_is_by_content_and_gzip(tmp_path: Path) -> None:
    import gzip

    source = RNAMSM_OUTPUTS / "Cobalamin.sto"
    renamed = tmp_path / "cobalamin.txt.gz"
    renamed.write_bytes(gzip.compress(source.read_bytes()))
    assert msa_format.read(renamed).records == msa_format.read(source).records
    shutil.copy(RNAMSM_OUTPUTS / "Cobalamin.a3m", tmp_path / "plain.fasta")
    expected = msa_format.read(RNAMSM_OUTPUTS / "Cobalamin.a3m").records
    assert msa_format.read(tmp_path / "plain.fasta").records == expected


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.a2m_msa2", ">q\nACGU\n>h1\nACG\n", r"bad.a2m_msa2: row 2 \('h1'\) has 3 match columns, the query has 4"),
        ("ins.a3m", ">q\nACGU\n>h1\nAcCGu\n", r"row 2 \('h1'\) has 3 match columns, the query has 4"),
        ("digit.a3m", ">q\nACGU\n>h1\nAC1GU\n", r"row 2 \('h1'\): invalid character '1' at match column 3"),
        ("empty.a3m", "\n\n", "no sequences found"),
        ("gaps.a3m", ">q\n----\n", r"the query \(row 1, 'q'\) is all gaps"),
        ("ragged.sto", "# STOCKHOLM 1.0\nq ACGU\nh ACG\n//\n", r"row 2 \('h'\) has 3 columns, expected 4"),
        ("empty.sto", "# STOCKHOLM 1.0\n//\n", "no sequences found"),
        ("rf.sto", "# STOCKHOLM 1.0\nq ACGU\n#=GC RF xx\n//\n", "#=GC RF has 2 columns, the alignment has 4"),
    ],
)
def test_bad_msa_is_one_error_naming_the_file_and_row(tmp_path: Path, name: str, text: str, message: str) -> None:
    bad = tmp_path / name
    bad.write_text(text)
    with pytest.raises(RnamsmError, match=message) as error:
        msa_format.read(bad)
    assert str(bad) in str(error.value) and "\n" not in str(error.value)


def test_ragged_msa_is_an_error_naming_the_row_for_the_model_too(tmp_path: Path) -> None:
    bad = tmp_path / "bad.a2m_msa2"
    bad.write_text(">q\nACGU\n>h1\nACG\n")
    with pytest.raises(RnamsmError, match=r"bad.a2m_msa2: row 2 \('h1'\) has 3 match columns, the query has 4"):
        read_msa(bad)


def test_match_columns_is_the_one_rule() -> None:
    """Inserts are lower-case letters, '.' and '*'; everything else is a query column."""
    assert match_columns("a.C-g*GuU") == "C-GU"
    assert match_columns("ACGU") == "ACGU"
