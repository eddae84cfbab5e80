"""``rnamsm import-msa``: the user's alignment -> the MSA files and msa_stats.json a search writes.

Real data: the search's own Cobalamin outputs (tests/data/rnamsm_outputs), the Infernal tutorial's tRNA
alignments (tests/data/infernal) and the official RNA-MSM example 2DRB_1.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from rnamsm.checksums import file_sha256
from rnamsm.cli import main
from rnamsm.evaluation.structure_metrics import score_sequence, scores
from rnamsm.formats import msa as msa_format
from rnamsm.formats import msa_stats
from rnamsm.formats.query import Query
from rnamsm.formats.query import write as write_query
from rnamsm.formats.structure import Structure, dbn_to_pairs
from rnamsm.homology.import_msa import place_query
from rnamsm.report.family_report import MemberColumns, member_columns
from tests.conftest import INFERNAL_DATA, RNAMSM_EXAMPLE, RNAMSM_OUTPUTS

COBALAMIN_QUERY = RNAMSM_OUTPUTS / "Cobalamin.query.fa"
TRNA_QUERY = INFERNAL_DATA / "mrum-tRNA.1.fa"
#: Statistics an import computes exactly as the search does.
SAME_STATS = ("query_id", "query_sequence", "depth", "neff", "nf", "coverage", "identity_to_query", "structure")


def _import(argv: list[str | Path], capsys) -> tuple[int, list[str]]:
    capsys.readouterr()
    status = main(["import-msa", *map(str, argv)])
    return status, capsys.readouterr().err.strip().splitlines()


def _refused(
    capsys, tmp_path: Path, alignment: Path, query: Path, *fragments: str, extra: tuple[str, ...] = ()
) -> None:
    """One error line naming the alignment and holding ``fragments``; exit 1; nothing written."""
    status, lines = _import([alignment, "--query", query, "--out-dir", tmp_path / "out", *extra], capsys)
    assert status == 1 and len(lines) == 1, lines
    assert lines[0].startswith("rnamsm import-msa: error: ") and str(alignment) in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def _aligned_fasta(alignment: msa_format.Alignment) -> str:
    """The alignment as aligned FASTA: inserts expanded, every row upper case with '-' gaps."""
    expanded, _rf = msa_format.expand_inserts(alignment.rows, alignment.length)
    return msa_format.format_fasta(alignment.names, [row.upper().replace(".", "-") for row in expanded])


@pytest.fixture(scope="module")
def demo_checkpoint(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ckpt") / "demo"
    assert main(["make-demo-checkpoint", str(folder), "--seed", "0"]) == 0
    return folder


def test_search_outputs_fed_back_give_the_same_files_and_features(tmp_path, capsys, demo_checkpoint):
    """The search's .a2m_msa2, .a3m, .sto and the same alignment as aligned FASTA (gzipped) all give the search's
    .a2m_msa2 byte for byte, hence byte-identical features.npz; the statistics equal the search's."""
    aligned = tmp_path / "Cobalamin.aligned.fa.gz"
    aligned.write_bytes(gzip.compress(_aligned_fasta(msa_format.read(RNAMSM_OUTPUTS / "Cobalamin.a3m")).encode()))
    searched = json.loads((RNAMSM_OUTPUTS / "Cobalamin.msa_stats.json").read_text())
    features = []
    for number, source in enumerate([RNAMSM_OUTPUTS / f"Cobalamin.{suffix}" for suffix in ("a2m_msa2", "a3m", "sto")]
                                    + [aligned]):
        out = tmp_path / f"out{number}"
        status, lines = _import([source, "--query", COBALAMIN_QUERY, "--out-dir", out], capsys)
        assert status == 0, lines
        assert (out / "Cobalamin.a2m_msa2").read_bytes() == (RNAMSM_OUTPUTS / "Cobalamin.a2m_msa2").read_bytes()
        stats = json.loads((out / "msa_stats.json").read_text())
        assert {key: stats[key] for key in SAME_STATS} == {key: searched[key] for key in SAME_STATS}
        assert stats["source"] == {"kind": "user", "path": str(source), "sha256": file_sha256(source),
                                   "record": "Cobalamin", "placement": "sequence", "rows": 10}
        assert msa_stats.read(out / "msa_stats.json").source is not None
        if source.suffix != ".a2m_msa2":  # inserts kept: the a3m and Stockholm are the search's too
            assert (out / "Cobalamin.a3m").read_bytes() == (RNAMSM_OUTPUTS / "Cobalamin.a3m").read_bytes()
            assert (out / "Cobalamin.sto").read_bytes() == (RNAMSM_OUTPUTS / "Cobalamin.sto").read_bytes()
        target = tmp_path / f"features{number}.npz"
        assert main(["features", str(out / "Cobalamin.a2m_msa2"), "--checkpoint", str(demo_checkpoint),
                     "--out", str(target), "--device", "cpu"]) == 0
        features.append(target)
    reference = tmp_path / "features-search.npz"
    assert main(["features", str(RNAMSM_OUTPUTS / "Cobalamin.a2m_msa2"), "--checkpoint", str(demo_checkpoint),
                 "--out", str(reference), "--device", "cpu"]) == 0
    with np.load(reference) as expected:
        for target in features:
            with np.load(target) as data:
                assert sorted(data.files) == sorted(expected.files)
                for key in expected.files:
                    assert np.array_equal(data[key], expected[key]), key


def test_query_not_first_is_moved_first_and_its_gap_columns_dropped(tmp_path, capsys):
    """cmalign's Stockholm (RF, inserts, local ends) with the query as row 4: query first, only its columns."""
    alignment = msa_format.read(INFERNAL_DATA / "mrum-tRNAs10.cmalign.sto")
    name = alignment.names[3]
    residues = "".join(char for char in alignment.rows[3] if char not in "-.").upper()
    query = tmp_path / "query.fa"
    write_query(Query(name, "", residues), query)
    status, lines = _import([INFERNAL_DATA / "mrum-tRNAs10.cmalign.sto", "--query", query, "--out-dir",
                             tmp_path / "out"], capsys)
    assert status == 0, lines
    result = msa_format.read(tmp_path / "out" / f"{name}.a3m")
    assert result.names[0] == name and result.rows[0] == residues
    assert sorted(result.names) == sorted(alignment.names)
    a2m = msa_format.read(tmp_path / "out" / f"{name}.a2m_msa2")
    assert {len(row) for row in a2m.rows} == {len(residues)}
    # every row keeps its residues (inserts in lower case in the .a3m)
    for row_name, row in zip(alignment.names, alignment.rows, strict=True):
        kept = result.rows[result.names.index(row_name)]
        assert kept.replace("-", "").upper() == row.replace("-", "").upper()
    stats = msa_stats.read(tmp_path / "out" / "msa_stats.json")
    assert stats.source is not None and stats.source.placement == "sequence" and stats.source.record == name


def test_record_picks_the_row_and_the_depth_cap_applies(tmp_path, capsys):
    """The official 2DRB_1 example (1,176 rows): --record names the query row; filter.max_rows caps the depth."""
    status, lines = _import([RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2", "--query", RNAMSM_EXAMPLE / "2DRB_1.fasta",
                             "--record", msa_format.read(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2").names[0],
                             "--out-dir", tmp_path / "out", "--config-json", '{"filter": {"max_rows": 100}}'], capsys)
    assert status == 0, lines
    stats = msa_stats.read(tmp_path / "out" / "msa_stats.json")
    assert stats.depth == 100 and stats.rounds[0].removed_depth_cap > 0
    assert stats.source is not None and stats.source.placement == "record" and stats.source.rows == 1176
    assert stats.parameters["filter"]["max_rows"] == 100


def _placed(tmp_path: Path, capsys, alignment: Path, query: Path, *extra: str) -> tuple[msa_stats.MsaStats, list[str]]:
    """Import with an absent query; the statistics and the stderr lines."""
    status, lines = _import([alignment, "--query", query, "--out-dir", tmp_path / "out", *extra], capsys)
    assert status == 0, lines
    return msa_stats.read(tmp_path / "out" / "msa_stats.json"), lines


def test_absent_query_is_placed_with_cmalign(tmp_path, capsys):
    """mrum-tRNA.1 is not one of tRNA5.sto's five tRNAs: aligned to a CM of them and their SS_cons (the default)."""
    stats, lines = _placed(tmp_path, capsys, INFERNAL_DATA / "tRNA5.sto", TRNA_QUERY)
    assert any("not in" in line and "placed with cmalign" in line for line in lines), lines
    result = msa_format.read(tmp_path / "out" / "mrum-tRNA.1.a3m")
    query = "".join(TRNA_QUERY.read_text().splitlines()[1:])
    assert result.names[0] == "mrum-tRNA.1" and result.rows[0] == query
    assert len(result.names) == 6
    assert stats.source is not None and stats.source.placement == "cmalign"
    assert any("cmalign" in warning for warning in stats.warnings) and "placed in it with cmalign" in stats.final_reason
    assert min(stats.identity_to_query) > 0.3  # the tRNAs line up with the placed query


def _held_out(index: int) -> tuple[msa_format.Alignment, Query, MemberColumns]:
    """tRNA5.sto without row ``index``, that row's residues as a query, and its own columns."""
    alignment = msa_format.read(INFERNAL_DATA / "tRNA5.sto")
    rest = msa_format.Alignment(alignment.names[:index] + alignment.names[index + 1:],
                                alignment.rows[:index] + alignment.rows[index + 1:], alignment.structure,
                                alignment.source)
    own = member_columns(alignment.rows[index])
    return rest, Query(alignment.names[index], "", own.sequence), own


@pytest.mark.parametrize("index", [1, 2])
def test_held_out_member_is_placed_back_in_its_own_columns_with_cmalign(index):
    """tRNA2 (tRNA3) taken out of tRNA5.sto and placed back: cmalign puts every residue in its own column, so the
    SS_cons projected through the placed row is the member's own (F1 1); hmmalign leaves its ends as inserts
    (F1 < 1). tRNA3 was refused while the hmmsearch gate ran with HMMER's acceleration filters."""
    rest, query, own = _held_out(index)
    consensus = {(i - 1, j - 1) for i, j in dbn_to_pairs(rest.structure, "tRNA5.sto SS_cons")}
    reference = Structure(query.id, query.sequence, own.projected(consensus))
    f1 = {}
    for method in ("cmalign", "hmmalign"):
        row, used = place_query(rest, query, method)
        placed = member_columns(row)
        assert used == method and placed.sequence == query.sequence  # every residue, in order
        predicted = Structure(query.id, query.sequence, placed.projected(consensus))
        f1[method] = scores(score_sequence(predicted, reference).counts["all"])["f1"]
        if method == "cmalign":
            assert placed.columns == own.columns and predicted.pairs == reference.pairs
    assert len(reference.pairs) == 21 and f1["cmalign"] == 1.0 > f1["hmmalign"], f1


@pytest.mark.parametrize("extra", [("--placement", "hmmalign"), ("--config-json", '{"placement": "hmmalign"}')])
def test_hmmalign_placement_on_request(tmp_path, capsys, extra):
    """--placement hmmalign (or the config key) places the absent query with hmmalign despite the SS_cons."""
    stats, lines = _placed(tmp_path, capsys, INFERNAL_DATA / "tRNA5.sto", TRNA_QUERY, *extra)
    assert stats.source is not None and stats.source.placement == "hmmalign"
    assert any("placed with hmmalign" in line for line in lines), lines


def test_stockholm_without_ss_cons(tmp_path, capsys):
    """tRNA5-noss.sto has no SS_cons: the absent query is placed with hmmalign (no CM without a structure);
    the structure is the query's RNAfold MFE."""
    stats, _lines = _placed(tmp_path, capsys, INFERNAL_DATA / "tRNA5-noss.sto", TRNA_QUERY)
    assert stats.source is not None and stats.source.placement == "hmmalign"
    assert stats.structure_source == "rnafold" and len(stats.structure) == stats.query_length


@pytest.mark.parametrize("alignment", ["tRNA5-noss.sto", "tRNA5.sto"])
def test_query_that_cannot_be_placed(tmp_path, capsys, alignment):
    """A Cobalamin riboswitch is no tRNA: one line, nothing written (with or without SS_cons)."""
    _refused(capsys, tmp_path, INFERNAL_DATA / alignment, INFERNAL_DATA / "Cobalamin.fa",
             "'Cobalamin.1' is not in the alignment and cannot be placed")


def test_ragged_rows(tmp_path, capsys):
    """Aligned FASTA of real rows with one row cut short: one line naming the row."""
    text = _aligned_fasta(msa_format.read(INFERNAL_DATA / "tRNA5.sto")).splitlines()
    text[3] = text[3][:-5]
    ragged = tmp_path / "ragged.fa"
    ragged.write_text("\n".join(text) + "\n")
    _refused(capsys, tmp_path, ragged, TRNA_QUERY, "row 2", "match columns")


def test_empty_alignment(tmp_path, capsys):
    empty = tmp_path / "empty.sto"
    empty.write_text("# STOCKHOLM 1.0\n//\n")
    _refused(capsys, tmp_path, empty, TRNA_QUERY, "no sequences found")


def test_record_that_is_not_the_query(tmp_path, capsys):
    """--record naming a row that is another sequence: one line."""
    _refused(capsys, tmp_path, INFERNAL_DATA / "tRNA5.sto", TRNA_QUERY, "'tRNA2'", "does not hold",
             extra=("--record", "tRNA2"))


def test_searched_msa_stats_bytes_unchanged():
    """A search's msa_stats.json (no source) reads and writes back byte for byte."""
    text = (RNAMSM_OUTPUTS / "Cobalamin.msa_stats.json").read_text()
    record = msa_stats.MsaStats.from_json(text, "Cobalamin.msa_stats.json")
    assert record.source is None and record.to_json() == text


def test_cmalign_placement_without_infernal_is_one_line(tmp_path, capsys, monkeypatch):
    """No cmbuild/cmalign on PATH: placing with cmalign is one line naming the programs; nothing written."""
    monkeypatch.setenv("PATH", str(tmp_path))
    status, lines = _import([INFERNAL_DATA / "tRNA5.sto", "--query", TRNA_QUERY, "--out-dir", tmp_path / "out"],
                            capsys)
    assert status == 1 and len(lines) == 1 and "not found on PATH: cmbuild, cmalign" in lines[0], lines
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
