"""The MSA-quality benchmark's own logic: reference structures, leave-one-out databases, the background,
and the RNAcmap3 runner (BLAST rows, the whole pipeline on a small real database)."""

from __future__ import annotations

import collections
import json
import subprocess
from pathlib import Path

from benchmarks import msa_quality, rnacmap3
from rnamsm.formats.msa import match_columns
from rnamsm.formats.query import Query
from rnamsm.homology.settings import SearchSettings
from rnamsm.model.msa import read_msa
from rnamsm.settings import settings_to_mapping
from tests.conftest import INFERNAL_DATA, require_program


def test_reference_is_ss_cons_projected_onto_each_member_pseudoknot_letters_included() -> None:
    family = msa_quality.Family("PK-HAV", "PK-HAV.sto", 2)
    first, second = msa_quality.read_family(INFERNAL_DATA, family)
    assert first.name == "AB020564.1/7423-7477" and len(first.sequence) == 55  # one gap, at column 48
    helix = {(column, 39 - column) for column in range(2, 12)}  # '<' columns 2-11 with '>' columns 37-28
    # 'A' columns 21-27 with 'a' columns 47, 49, 50, 51, 53, 54, 55: after the gap at 48 the positions shift by 1
    knot = {(27, 47), (26, 48), (25, 49), (24, 50), (23, 52), (22, 53), (21, 54)}
    assert first.pairs == helix | knot
    assert len(second.sequence) == 56 and len(second.pairs) == 17


def test_a_pair_with_a_gapped_column_in_the_member_is_not_in_its_reference(tmp_path: Path) -> None:
    (tmp_path / "toy.sto").write_text(
        "# STOCKHOLM 1.0\n\n"
        "a            GGCAAAGC.\n"
        "b            GGC-AAGCG\n"
        "#=GC SS_cons <<A...>>a\n"
        "//\n"
    )
    a, b = msa_quality.read_family(tmp_path, msa_quality.Family("toy", "toy.sto", 1))
    assert a.pairs == {(1, 8), (2, 7)}  # column 9 is a gap in a: the pseudoknot pair (3, 9) is dropped
    assert b.pairs == {(1, 7), (2, 6), (3, 8)}


def test_query_database_holds_the_background_and_every_member_but_the_query(tmp_path: Path) -> None:
    (tmp_path / "background.fa").write_text(">bg\nACGT\n")
    members = [msa_quality.Member("f", name, "ACGUACGU", frozenset()) for name in ("m1", "m2", "m3")]
    database = msa_quality.query_database(tmp_path, members, members[1], tmp_path)
    assert database.read_text() == ">bg\nACGT\n>m1\nACGUACGU\n>m3\nACGUACGU\n"


def test_background_is_deterministic_and_each_copy_keeps_what_it_should() -> None:
    first = dict(msa_quality.background_records(0))
    assert first == dict(msa_quality.background_records(0))
    genome = first["mrum"]
    assert set(first) == {"mrum", "mrum_reversed", "mrum_shuffled1", "mrum_shuffled2", "mrum_shuffled3",
                          "mrum_mutated10", "mrum_mutated20", "mrum_mutated30"}
    assert all(len(sequence) == len(genome) for sequence in first.values())
    assert first["mrum_reversed"] == genome[::-1]
    window = msa_quality.SHUFFLE_WINDOW
    shuffled = first["mrum_shuffled1"]
    assert shuffled != genome
    for start in range(0, 200 * window, window):  # each window keeps its composition
        window_of = slice(start, start + window)
        assert collections.Counter(shuffled[window_of]) == collections.Counter(genome[window_of])
    for rate in msa_quality.MUTATION_RATES:
        mutated = first[f"mrum_mutated{int(rate * 100)}"]
        changed = sum(a != b for a, b in zip(mutated[:200_000], genome[:200_000], strict=True)) / 200_000
        assert abs(changed - rate) < 0.01


def _reverse_complement(sequence: str) -> str:
    return sequence[::-1].translate(str.maketrans("ACGU", "UGCA"))


def test_blast_round_rows_are_query_anchored_with_inserts_in_lower_case(tmp_path: Path) -> None:
    require_program("blastn", "makeblastdb")
    member = next(m for m in msa_quality.read_family(INFERNAL_DATA, msa_quality.Family("Vault", "Vault.sto", 1))
                  if len(m.sequence) > 90)
    homolog = member.sequence[:50] + "ACG" + member.sequence[50:]  # 3 extra residues inside
    flank = "UUAGCCAUGCAUCGAUCGGAUCCGAUACGAUC" * 4
    (tmp_path / "db.fa").write_text(f">minus_strand\n{flank}{_reverse_complement(homolog)}{flank}\n")
    subprocess.run(["makeblastdb", "-in", str(tmp_path / "db.fa"), "-dbtype", "nucl", "-out", str(tmp_path / "db")],
                   check=True, capture_output=True)
    steps = rnacmap3.Steps(tmp_path / "progress.json")
    rows = rnacmap3.blast_round(Query("q", "", member.sequence), str(tmp_path / "db"), 1, tmp_path, steps)
    assert len(rows) == 1
    name, row = rows[0]
    start, end = len(flank) + len(homolog), len(flank) + 1  # minus strand: start > end
    assert name == f"minus_strand({start}-{end}:{2 * len(flank) + len(homolog)})"
    assert match_columns(row) == member.sequence
    assert sum(char.islower() for char in row) == 3
    assert row.replace("-", "").upper() == homolog


def test_rnacmap3_runner_builds_a_query_first_msa_from_a_small_real_database(tmp_path: Path) -> None:
    require_program("blastn", "makeblastdb", "seqkit", "cmbuild", "cmcalibrate", "cmsearch")
    members = msa_quality.read_family(INFERNAL_DATA, msa_quality.Family("Vault", "Vault.sto", 1))
    query = next(m for m in members if len(m.sequence) > 90)
    (tmp_path / "query.fa").write_text(f">q\n{query.sequence}\n")
    database = tmp_path / "db.fa"
    database.write_text("".join(f">{m.name}\n{m.sequence}\n" for m in members if m.name != query.name))
    subprocess.run(["makeblastdb", "-in", str(database), "-dbtype", "nucl", "-out", str(tmp_path / "db")],
                   check=True, capture_output=True)
    stats = rnacmap3.run(tmp_path / "query.fa", database, str(tmp_path / "db"), tmp_path / "out", 2, 0.01)
    msa = read_msa(tmp_path / "out" / "q.a2m_msa2")
    assert msa.names[0] == "q" and msa.query == query.sequence
    assert msa.depth == stats["depth"] > 10  # the CM finds the other Vault RNAs
    assert len(set(msa.rows[1:])) == msa.depth - 1  # duplicates removed
    assert {name.rsplit("/", 1)[0] for name in msa.names[1:]} <= {m.name for m in members}
    assert [entry["method"] for entry in stats["rounds"]][:2] == ["blastn", "cmsearch"]
    if stats["rounds"][1]["neff"] <= rnacmap3.NEFF_STOP:
        assert stats["final_round"] == 3
    assert json.loads((tmp_path / "out" / "rnacmap3_stats.json").read_text()) == stats


def test_the_headline_is_each_querys_run_at_todays_defaults_and_the_older_runs_stay_labelled() -> None:
    """On the committed results: each query's headline run is the one that recorded today's defaults (its
    ``rnamsm:drop`` run, CMs from the query columns); the older runs, whose CMs had insert columns, are not
    today's and stay in the file, labelled in the report; every figure is one of the file's runs."""
    results = json.loads(msa_quality.RESULTS.read_text())
    queries = results["queries"]
    assert len(queries) == 42
    assert {msa_quality.todays_default(record) for record in queries.values()} == {"rnamsm:drop"}
    for record in queries.values():
        assert record["rnamsm:drop"]["parameters"]["cm"]["inserts"] == SearchSettings().cm.inserts == "drop"
        assert msa_quality.cm_inserts(record["rnamsm"]) == msa_quality.cm_inserts(record["rnamsm:hits"]) == "keep"
    summary = msa_quality.summarise(queries)["all"]
    done = [r for r in queries.values() if r["rnamsm:drop"]["status"] == r["rnacmap3"]["status"] == "ok"]
    scored = [r for r in done if r["reference_pairs"]]
    assert summary["queries"] == len(done) and summary["rnamsm"]["default_runs"] == {"rnamsm:drop": len(done)}
    assert summary["rnamsm"]["f1"] == msa_quality.mean([r["rnamsm:drop"]["f1"] for r in scored])
    assert summary["rnamsm"]["cpu_seconds"] == round(sum(r["rnamsm:drop"]["cpu_seconds"] for r in done), 1)
    assert summary["rnamsm_as_measured"]["f1"] == msa_quality.mean([r["rnamsm"]["f1"] for r in scored])
    report = msa_quality.markdown_report(results)
    assert "cmsearch; `rnamsm:drop` run)" in report
    assert '| `rnamsm:hits` `{"align": "hits"}`, `cm.inserts: keep` |' in report
    assert "| `rnamsm` as measured, at the defaults of its commit, all, `cm.inserts: keep` |" in report

    # a query without a run at today's defaults is left out
    lone = {key: value for key, value in queries["Cobalamin-1"].items() if key != "rnamsm:drop"}
    assert msa_quality.todays_default(lone) is None
    assert msa_quality.summarise({"Cobalamin-1": lone})["all"]["queries"] == 0


def test_a_run_that_recorded_todays_default_settings_is_todays_default_whatever_its_commit() -> None:
    """A run's ``parameters`` (its ``msa_stats.json`` settings) decide: at today's defaults it is the headline
    run itself; at ``align: hits``, at ``cm.inserts: keep`` or with no settings recorded it is not today's."""
    measured = json.loads(msa_quality.RESULTS.read_text())["queries"]["tRNA-3"]
    record = {key: value for key, value in measured.items() if key != "rnamsm:drop"}
    today = {**settings_to_mapping(SearchSettings()), "threads": 2, "shards": 7}
    del today["samples_per_job"]  # msa_stats.json leaves it out
    auto = {**record, "rnamsm": {**record["rnamsm"], "parameters": today}}
    assert msa_quality.at_todays_defaults(auto["rnamsm"]) and msa_quality.todays_default(auto) == "rnamsm"
    assert "default_from" not in msa_quality.headline_view(auto)["rnamsm"]
    hits = {**record, "rnamsm": {**record["rnamsm"], "parameters": {**today, "align": "hits"}}}
    assert not msa_quality.at_todays_defaults(hits["rnamsm"])
    assert not msa_quality.at_todays_defaults(record["rnamsm:hits"])  # an old run recorded only its commit
    # a setting recorded since: a run without it did what the code did then (CMs with insert columns)
    before = {**today, "cm": {key: value for key, value in today["cm"].items() if key != "inserts"}}
    assert not msa_quality.at_todays_defaults({"parameters": before})
    keep = {**today, "cm": {**today["cm"], "inserts": "keep"}}
    assert not msa_quality.at_todays_defaults({"parameters": keep})
    assert msa_quality.at_todays_defaults({"parameters": {**before, "cm": {**before["cm"], "inserts": "drop"}}})
    # a variant run at today's defaults is today's where the rnamsm run is not
    variant = {**hits, "rnamsm:drop": {**measured["rnamsm:drop"], "parameters": today}}
    assert msa_quality.todays_default(variant) == "rnamsm:drop"
    assert msa_quality.headline_view(variant)["rnamsm"]["default_from"] == "rnamsm:drop"
    assert msa_quality.todays_default({**record, "rnamsm": {**record["rnamsm"], "parameters": keep}}) is None


def test_the_paired_runs_reproduce_every_headline_msa_and_only_the_cpu_seconds_move() -> None:
    """The paired file holds each query's run at today's defaults and RNAcmap3 beside it, measured again:
    each MSA has the rows, Neff and F1 of the headline's, whose runs come from other commits and loads, so
    the scores stand and only CPU seconds move."""
    paired = json.loads(msa_quality.PAIRED_RESULTS.read_text())
    results = json.loads(msa_quality.RESULTS.read_text())
    assert paired["setup"] == results["setup"]
    views = {query_id: msa_quality.headline_view(record) for query_id, record in paired["queries"].items()}
    finished = {query_id: view for query_id, view in views.items()
                if all(view[method]["status"] == "ok" for method in msa_quality.METHODS)}
    assert len(finished) == len(results["queries"]) == 42
    assert len({view["family"] for view in finished.values()}) == 9
    for query_id, view in finished.items():
        headline = msa_quality.headline_view(results["queries"][query_id])
        assert view["rnamsm"]["default_from"] == headline["rnamsm"]["default_from"] == "rnamsm:drop"
        for method in msa_quality.METHODS:
            assert ({key: view[method][key] for key in ("rows", "neff", "f1", "mcc")}
                    == {key: headline[method][key] for key in ("rows", "neff", "f1", "mcc")}), (query_id, method)
    assert msa_quality.summarise(finished)["all"]["rnamsm"]["default_runs"] == {"rnamsm:drop": len(finished)}
    # the report's calibration table: each pipeline's round-3 seconds summed where both calibrated a round 3
    both = [r for r in finished.values() if all("round3.cmcalibrate" in r[m]["timings"] for m in msa_quality.METHODS)]
    report = msa_quality.markdown_report(paired)
    for method in msa_quality.METHODS:
        seconds = sum(r[method]["timings"]["round3.cmcalibrate"] for r in both)
        assert f"| {method} | " in report and f" | {seconds:,.0f} |\n" in report
    assert f"round 3 ({len(both)})" in report
