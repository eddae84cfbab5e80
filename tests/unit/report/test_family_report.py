"""The family report on real Rfam / Infernal families, every member run through the stage commands with the
demo weights: members, column-pair support, SS_cons (pseudoknots included) scores equal to `rnamsm evaluate`,
and the page in headless Chromium (no console errors, numbers equal to family.json, hostile names as text)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rnamsm.cli import main
from rnamsm.formats import msa as msa_format
from rnamsm.formats.structure import dbn_to_pairs, read_structure
from rnamsm.input.families import family_members
from rnamsm.layout import family_layout, sample_layout
from tests.conftest import INFERNAL_DATA, require_program
from tests.support.report_browser import DevToolsPage
from tests.support.report_fixtures import build_family
from tests.unit.input.test_families import HOSTILE_NAMES, hostile_trna5

#: family id -> (alignment, members): a pseudoknot in Rfam letters (PK-HAV: Aa; RNaseP: Aa and Bb, with RF
#: columns), an SS_cons that pairs nothing (snR75) and hostile record names (tRNA5 renamed).
FAMILIES = {"PK-HAV": ("PK-HAV.sto", "all"), "RNaseP": ("RNaseP.sto", "first 1"), "snR75": ("snR75.sto", "first 1")}
HOSTILE_DESCRIPTION = "<script>document.title='PWNED'</script> & </div>"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("families")
    results = root / "results"
    weights = root / "weights"
    for family_id, (name, members) in FAMILIES.items():
        build_family(results, family_id, INFERNAL_DATA / name, weights, members)
    build_family(results, "tRNA5h", hostile_trna5(root), weights, description=HOSTILE_DESCRIPTION,
                 member_reports=True)
    return results


def summary(results: Path, family_id: str) -> dict:
    return json.loads(family_layout(family_id, results).summary.read_text())


def evaluate(tmp_path: Path, pred: Path, ref: Path) -> dict:
    out = tmp_path / f"evaluate-{len(list(tmp_path.glob('evaluate-*')))}.json"
    assert main(["evaluate", "--pred", str(pred), "--ref", str(ref), "--json", str(out)]) == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("family_id", ["PK-HAV", "RNaseP", "tRNA5h"])
def test_scores_against_ss_cons_equal_rnamsm_evaluate(results: Path, family_id: str, tmp_path: Path) -> None:
    """Per member and averaged (pooled, per-member mean), for RNA-MSM and RNAfold, on the written references."""
    data = summary(results, family_id)
    layout = family_layout(family_id, results)
    assert [row["sample"] for row in data["members"]] == [m.sample for m in family_members(
        family_id, Path(data["alignment"]["path"]), {"RNaseP": "first 1"}.get(family_id, "all")).members]
    for method, folder, suffix in (("rnamsm", "structure", ".bpseq"), ("rnafold", "baselines", ".rnafold.dbn")):
        gathered = tmp_path / method
        gathered.mkdir()
        for row in data["members"]:
            predicted = getattr(sample_layout(row["sample"], results), folder).folder / f"{row['sample']}{suffix}"
            single = evaluate(tmp_path, predicted, layout.reference(row["sample"]))
            assert {name: round(single["pooled"][name], 6) for name in row[method]} == row[method], row["sample"]
            shutil.copy(predicted, gathered / f"{row['sample']}.{'bpseq' if method == 'rnamsm' else 'dbn'}")
        pooled = evaluate(tmp_path, gathered, layout.reference("x").parent)
        for kind in ("pooled", "per_sequence_mean"):
            assert data["scores"][method][kind] == {name: round(pooled[kind][name], 6)
                                                    for name in ("precision", "recall", "f1", "mcc")}
    assert set(data["scores"]) == {"rnamsm", "rnafold", "rnaalifold"}


@pytest.mark.parametrize(("family_id", "letters"), [("PK-HAV", "Aa"), ("RNaseP", "AaBb")])
def test_pseudoknotted_ss_cons_is_projected_with_its_letter_pairs(results: Path, family_id: str,
                                                                   letters: str) -> None:
    """Every SS_cons pair, brackets and Rfam letters, reaches a member that has residues in both columns."""
    data = summary(results, family_id)
    alignment = msa_format.read(data["alignment"]["path"])
    consensus = dbn_to_pairs(alignment.structure, "SS_cons")
    letter_pairs = {pair for pair in consensus if alignment.structure[pair[0] - 1] in letters}
    assert letter_pairs and data["alignment"]["ss_cons_pairs"] == len(consensus)
    in_table = {(pair["i"], pair["j"]) for pair in data["column_pairs"] if pair["in_ss_cons"]}
    assert in_table == consensus
    first = data["members"][0]
    reference = read_structure(family_layout(family_id, results).reference(first["sample"]))
    assert len(reference.pairs) == first["reference_pairs"] > 0
    row = alignment.rows[alignment.names.index(first["record"])]
    residues_at = {}  # match column (1-based) -> residue position (1-based) of the first member
    column = position = 0
    for char in row:
        if char == "-" or char.isupper():
            column += 1
        if char.isalpha():
            position += 1
            if char.isupper():
                residues_at[column] = position
    expected = {(residues_at[i], residues_at[j]) for i, j in consensus if i in residues_at and j in residues_at}
    assert reference.pairs == expected
    assert any((residues_at.get(i), residues_at.get(j)) in reference.pairs for i, j in letter_pairs)


def test_column_pair_support_counts_every_members_pairs(results: Path) -> None:
    """tRNA5 has no RF: every residue is in a match column, so every predicted pair has a column pair."""
    data = summary(results, "tRNA5h")
    predicted = sum(row["pairs"] for row in data["members"])
    assert sum(pair["support"] for pair in data["column_pairs"]) == predicted > 0
    for pair in data["column_pairs"]:
        assert 0 <= pair["support"] <= pair["members_with_both"] <= data["num_members"] == 5
        share = pair["support"] / max(pair["members_with_both"], 1)
        assert pair["kind"] == ("conserved" if share > 0.5 else "variable" if pair["support"] else "not predicted")
    assert 0 <= data["agreement"] <= 1 and data["renamed"] == {"tRNA_5": "tRNA_5_2"}


def test_alignment_without_ss_cons_pairs_has_no_scores(results: Path) -> None:
    data = summary(results, "snR75")
    assert data["scores"] is None and data["alignment"]["ss_cons_pairs"] == 0 and len(data["members"]) == 1
    assert not family_layout("snR75", results).reference(data["members"][0]["sample"]).exists()
    assert 'id="no-ss-cons"' in family_layout("snR75", results).report.read_text()


def test_missing_member_output_is_one_line(results: Path, tmp_path: Path, capsys) -> None:
    shutil.copytree(results, tmp_path / "results")
    member = summary(results, "PK-HAV")["members"][1]["sample"]
    sample_layout(member, tmp_path / "results").structure.summary.unlink()
    capsys.readouterr()
    assert main(["family-report", str(INFERNAL_DATA / "PK-HAV.sto"), "--family-id", "PK-HAV", "--results",
                 str(tmp_path / "results")]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"member {member!r}" in lines[0] and "ss.json is missing" in lines[0], lines


def test_family_report_in_chromium(results: Path, tmp_path: Path) -> None:
    """No console errors and no network; sections present; numbers equal to family.json; hostile record names
    and description shown as text; member links resolve to the member reports."""
    require_program("chromium")
    data = summary(results, "tRNA5h")
    page = DevToolsPage(tmp_path / "profile")
    try:
        page.open(family_layout("tRNA5h", results).report.resolve().as_uri())
        assert page.errors() == [] and page.evaluate("document.title") != "PWNED"
        assert page.evaluate("document.getElementById('pwned') === null && document.scripts.length === 0")
        assert all(url.startswith("file://") for url in page.requests())
        for section in ("overview", "members", "scores", "column-pairs", "provenance"):
            assert page.evaluate(f"document.getElementById({section!r}) !== null"), section
        records = page.evaluate("Array.from(document.querySelectorAll('#member-table td.record'))"
                                ".map(e => e.textContent)")
        assert records == list(HOSTILE_NAMES)
        assert page.evaluate("document.getElementById('description').textContent") == HOSTILE_DESCRIPTION
        shown = page.evaluate(
            "Array.from(document.querySelectorAll('#score-table tr[data-method]')).map(r => [r.dataset.method,"
            " r.dataset.average, Array.from(r.querySelectorAll('td[data-metric]')).map(c => c.textContent)])")
        assert shown == [[method, kind, [f"{data['scores'][method][kind][name]:.3f}"
                                         for name in ("precision", "recall", "f1", "mcc")]]
                         for method in ("rnamsm", "rnafold", "rnaalifold")
                         for kind in ("per_sequence_mean", "pooled")]
        assert page.evaluate("document.getElementById('num-members').textContent") == str(data["num_members"])
        kinds = [pair["kind"] for pair in data["column_pairs"]]
        assert page.evaluate("document.getElementById('pair-counts').textContent") == ", ".join(
            f"{kind} {kinds.count(kind)}" for kind in ("conserved", "variable", "not predicted")) + " column pairs."
        assert page.evaluate("document.querySelectorAll('#heat-map rect.cell-ss_cons').length") == \
            data["alignment"]["ss_cons_pairs"]
        links = page.evaluate("Array.from(document.querySelectorAll('#member-table a')).map(a => a.href)")
        assert [Path(link.removeprefix("file://")).resolve() for link in links] == [
            sample_layout(row["sample"], results).report.resolve() for row in data["members"]]
        assert all(Path(link.removeprefix("file://")).is_file() for link in links)
    finally:
        page.close()


def test_index_groups_members_by_family_in_chromium(results: Path, tmp_path: Path) -> None:
    """`rnamsm index --families`: one row per family linking its report, every member a row with its family;
    choosing a family in the filter shows only its members."""
    require_program("chromium")
    sheet = tmp_path / "families.tsv"
    rows = [f"{family_id}\t{INFERNAL_DATA / name}\t{members}\t" for family_id, (name, members) in FAMILIES.items()]
    sheet.write_text("family_id\talignment\tmembers\tdescription\n" + "\n".join(rows) + "\n")
    samples = tmp_path / "samples.tsv"
    samples.write_text("sample_id\tsequence\n")
    out = results / "index-families.html"
    assert main(["index", str(results), "--samples", str(samples), "--families", str(sheet), "--out", str(out)]) == 0
    members = {family_id: [row["sample"] for row in summary(results, family_id)["members"]] for family_id in FAMILIES}
    page = DevToolsPage(tmp_path / "profile")
    try:
        page.open(out.resolve().as_uri())
        assert page.errors() == []
        families = page.evaluate(
            "Array.from(document.querySelectorAll('#family-table tbody tr')).map(r =>"
            " [r.dataset.family, r.querySelector('a').getAttribute('href'), r.cells[1].textContent])")
        assert families == [[family_id, f"families/{family_id}/report.html", str(len(members[family_id]))]
                            for family_id in FAMILIES]
        shown = ("Array.from(document.querySelectorAll('#samples tbody tr')).filter(r => !r.hidden)"
                 ".map(r => r.dataset.sample)")
        assert page.evaluate(shown) == [sample for family_id in FAMILIES for sample in members[family_id]]
        page.evaluate("(() => { const s = document.getElementById('family-filter'); s.value = 'RNaseP';"
                      " s.dispatchEvent(new Event('change')); })()")
        assert page.evaluate(shown) == members["RNaseP"]
        assert page.evaluate("document.getElementById('shown-count').textContent") == str(len(members["RNaseP"]))
    finally:
        page.close()
