"""Which round and which alignment make the final MSA: a structure-aware alignment even when round 1
(nhmmer) already reaches neff.stop, on a real Rfam family (the Cobalamin seed, one member as the query,
the other 430, or the first 140 of them, as the database), and msa_stats.json saying which and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnamsm.formats import msa as msa_format
from rnamsm.formats import msa_stats
from rnamsm.formats.msa import match_columns
from rnamsm.homology.pipeline import run_search
from rnamsm.homology.realign import residues
from rnamsm.homology.settings import SearchSettings, resolve_search_options
from tests.conftest import INFERNAL_DATA, require_program

pytestmark = pytest.mark.system

QUERY = "AE016853.1/3679925-3680123"  # 199 nt; its nhmmer round has Neff about 95 against the others
SHORT_QUERY = "CP000716.1/891454-891623"  # 170 nt: a cheaper CM round
#: The first 140 other members of the seed as the database of SHORT_QUERY: its nhmmer round has Neff 55.4, still
#: above neff.stop (50; 72 with 200 members, about 100 against all 430), and the CM round and cmalign have a third
#: of the residues and rows to align (the CM round's cmsearch, on so small a database, costs in proportion to it).
SHORT_QUERY_MEMBERS = 140


def _family(tmp_path: Path, family: str, query: str, members: int | None = None) -> tuple[Path, Path]:
    """``query.fa`` (one member, ungapped) and ``db.fa`` (every other member, or the first ``members`` of them
    in the alignment's order) of a seed alignment."""
    alignment = msa_format.read(INFERNAL_DATA / family)
    sequences = {name: residues(row) for name, row in alignment.records}
    (tmp_path / "query.fa").write_text(f">q {query}\n{sequences[query]}\n")
    others = [(n, s) for n, s in sequences.items() if n != query][:members]
    (tmp_path / "db.fa").write_text("".join(f">{n}\n{s}\n" for n, s in others))
    return tmp_path / "query.fa", tmp_path / "db.fa"


def _search(tmp_path: Path, name: str, family: str, query: str, members: int | None = None, **overrides: object):
    query_fa, db = _family(tmp_path, family, query, members)
    settings, _ = resolve_search_options(("test", overrides))
    return run_search(query_fa, [db], tmp_path / name, settings, threads=2, work_dir=tmp_path / f"{name}-work")


@pytest.fixture(scope="module")
def hmm_and_cmalign(tmp_path_factory) -> tuple:
    """The Cobalamin query with the HMM alignment kept (cm.min_rounds 0) and with the rows realigned."""
    require_program("cmbuild", "cmalign")
    tmp_path = tmp_path_factory.mktemp("final")
    kept = _search(tmp_path, "hits", "Cobalamin.sto.gz", QUERY, cm={"min_rounds": 0}, align="hits")
    realigned = _search(tmp_path, "cmalign", "Cobalamin.sto.gz", QUERY, cm={"min_rounds": 0}, align="cmalign")
    return kept, realigned, tmp_path


def test_round1_reaching_neff_stop_alone_keeps_its_hmm_alignment_and_says_so(hmm_and_cmalign) -> None:
    kept, _realigned, tmp_path = hmm_and_cmalign
    assert [r.method for r in kept.rounds] == ["nhmmer"] and kept.rounds[0].neff >= 50
    stats = msa_stats.read(tmp_path / "hits" / "msa_stats.json")
    assert (stats.final_round, stats.final_alignment) == (1, "nhmmer")
    assert "reached neff.stop (50)" in stats.final_reason and "cm.min_rounds is 0" in stats.final_reason


def test_cmalign_realigns_exactly_the_same_homologs_into_a_cm_alignment(hmm_and_cmalign) -> None:
    kept, realigned, tmp_path = hmm_and_cmalign
    stats = msa_stats.read(tmp_path / "cmalign" / "msa_stats.json")
    assert (stats.final_round, stats.final_alignment, stats.structure_source) == (1, "cmalign", "alifold")
    assert "realigned with cmalign" in stats.final_reason
    before = msa_format.read(tmp_path / "hits" / "q.a3m")
    after = msa_format.read(tmp_path / "cmalign" / "q.a3m")
    assert after.names == before.names and after.rows[0] == before.rows[0]  # query row untouched
    assert [residues(row) for row in after.rows] == [residues(row) for row in before.rows]
    assert all(len(match_columns(row)) == 199 for row in after.rows)
    changed = sum(a != b for a, b in zip(after.rows, before.rows, strict=True))
    assert changed > len(after.rows) // 10  # the CM places residues differently from the profile HMM
    written = msa_format.read(tmp_path / "cmalign" / "q.sto")
    assert written.structure == stats.structure and "(" in stats.structure
    assert stats.neff == pytest.approx(realigned.final.neff, abs=1e-3) and stats.depth == len(after.rows)
    assert "final.cmalign" in stats.timings


def test_min_rounds_runs_a_cm_round_even_after_round1_reached_neff_stop(tmp_path: Path) -> None:
    """Vault seed, neff.stop 5: round 1 passes it, one CM round still runs and makes the MSA."""
    require_program("cmbuild", "cmcalibrate")
    result = _search(tmp_path, "out", "Vault.sto", "AAKN02009897.1/69401-69496", calibrate_L=0.01,
                     neff={"stop": 5}, cm={"min_rounds": 1, "max_rounds": 2}, align="hits")
    assert result.rounds[0].neff >= 5
    assert [r.method for r in result.rounds] == ["nhmmer", "cmsearch"]  # neff.stop tested after the CM round
    stats = json.loads((tmp_path / "out" / "msa_stats.json").read_text())
    assert (stats["final_round"], stats["final_alignment"]) == (2, "cmsearch")
    assert stats["final_reason"].startswith("round 2 (cmsearch)")


def test_the_defaults_give_a_structure_aware_final_msa(tmp_path: Path) -> None:
    """The acceptance case at the defaults (``cm.min_rounds: 1``, ``align: auto``): round 1's Neff is >= 50,
    a CM round runs anyway and its own alignment is the final MSA, not realigned."""
    require_program("cmbuild", "cmcalibrate", "cmalign")
    defaults = SearchSettings()
    result = _search(tmp_path, "out", "Cobalamin.sto.gz", SHORT_QUERY, SHORT_QUERY_MEMBERS)
    assert result.rounds[0].neff >= defaults.neff.stop
    assert [r.method for r in result.rounds][:2] == ["nhmmer", "cmsearch"]  # a CM round ran anyway
    assert result.stats.final_alignment == "cmsearch" and result.stats.final_round >= 2
    assert "final.cmalign" not in result.stats.timings
