"""Families: which records of a family alignment become samples, their safe ids, and the families sheet."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnamsm.errors import RnamsmError
from rnamsm.formats import msa as msa_format
from rnamsm.input.families import family_members, member_chunks, safe_member_id
from rnamsm.layout import is_run_sample_id, is_sample_id
from rnamsm.sheets import load_families
from tests.conftest import INFERNAL_DATA, REPO_ROOT

SCHEMA = REPO_ROOT / "workflow" / "schemas" / "families.schema.yaml"
#: The Rfam / Infernal families of tests/data/infernal and their numbers of records.
FAMILIES = {"tRNA5.sto": 5, "Cobalamin.sto.gz": 431, "RNaseP.sto": 5, "srp-euk.sto.gz": 37, "Vault.sto": 75,
            "snR75.sto": 62, "PK-HAV.sto": 2, "Plant_SRP.sto.gz": 64}
#: tRNA5.sto with hostile record names, two of which make the same safe id.
HOSTILE_NAMES = ("<script>alert(1)</script>", "\"quoted'name", "</div><b>x", "tRNA/5", "tRNA_5")


def hostile_trna5(folder: Path) -> Path:
    """tRNA5.sto with its records renamed to :data:`HOSTILE_NAMES` (same rows, same SS_cons)."""
    text = (INFERNAL_DATA / "tRNA5.sto").read_text()
    for number, name in enumerate(HOSTILE_NAMES, start=1):
        text = "\n".join(name + line[len(f"tRNA{number}"):] if line.startswith(f"tRNA{number} ") else line
                         for line in text.split("\n"))
    path = folder / "tRNA5-hostile.sto"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_record_of_a_real_family_is_a_member_with_a_unique_safe_id(name: str) -> None:
    family = family_members("fam", INFERNAL_DATA / name)
    records = msa_format.read(INFERNAL_DATA / name).names
    assert [member.record for member in family.members] == list(records) and len(records) == FAMILIES[name]
    samples = [member.sample for member in family.members]
    assert len(set(samples)) == len(samples) and all(is_run_sample_id(sample) for sample in samples)
    assert all(sample == f"fam.{member.member}" and is_sample_id(member.member)
               for sample, member in zip(samples, family.members, strict=True))
    assert family == family_members("fam", INFERNAL_DATA / name)  # deterministic


@pytest.mark.parametrize("size", [1, 20, 75, 100])
def test_member_chunks_cut_the_member_order(size: int) -> None:
    """Vault's 75 members in chunks of ``size``: consecutive, in member order, all full but the last; a
    family's chunks depend only on its own members."""
    members = family_members("Vault", INFERNAL_DATA / "Vault.sto").members
    chunks = member_chunks(members, size)
    assert [member for chunk in chunks for member in chunk] == list(members)
    assert [len(chunk) for chunk in chunks] == [size] * (75 // size) + ([75 % size] if 75 % size else [])
    assert member_chunks(members[:40], size)[: 40 // size] == chunks[: 40 // size]
    with pytest.raises(RnamsmError, match="members per job must be at least 1, got 0"):
        member_chunks(members, 0)


def test_rfam_names_become_safe_ids() -> None:
    family = family_members("PK-HAV", INFERNAL_DATA / "PK-HAV.sto")
    assert [(member.sample, member.record) for member in family.members] == [
        ("PK-HAV.AB020564_1_7423-7477", "AB020564.1/7423-7477"), ("PK-HAV.X15462_1_90-145", "X15462.1/90-145")]
    assert safe_member_id("__..") == "row" and len(safe_member_id("A" * 300)) == 79


def test_hostile_names_and_collisions_are_resolved_and_reported(tmp_path: Path) -> None:
    family = family_members("h", hostile_trna5(tmp_path))
    assert [member.member for member in family.members] == [
        "script_alert_1_script", "quoted_name", "div_b_x", "tRNA_5", "tRNA_5_2"]
    assert [member.record for member in family.members] == list(HOSTILE_NAMES)
    assert family.collisions == {"tRNA_5": "tRNA_5_2"}


def test_first_n_and_a_list_of_names() -> None:
    alignment = INFERNAL_DATA / "Vault.sto"
    names = msa_format.read(alignment).names
    assert [member.record for member in family_members("v", alignment, "first 3").members] == list(names[:3])
    chosen = family_members("v", alignment, f"{names[10]}; {names[2]},{names[5]}").members
    assert [member.record for member in chosen] == [names[2], names[5], names[10]]  # alignment order
    with pytest.raises(RnamsmError, match=r"Vault.sto: members: no record named 'nope'"):
        family_members("v", alignment, f"{names[0]};nope")


def test_families_sheet_defaults_and_errors(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "PK-HAV.sto").write_bytes((INFERNAL_DATA / "PK-HAV.sto").read_bytes())
    sheet = tmp_path / "families.tsv"
    sheet.write_text("family_id\talignment\tmembers\tdescription\nPK\tPK-HAV.sto\t\tpseudoknot\n")
    families = load_families(sheet, SCHEMA)
    assert families.loc["PK", "members"] == "all" and families.loc["PK", "msa"] == "alignment"
    for text, expected in (
        ("family_id\talignment\nPK.x\tPK-HAV.sto\n", "line 2 ('PK.x'): family_id: 'PK.x' is not allowed"),
        ("family_id\talignment\nPK\tmissing.sto\n", "family 'PK': alignment 'missing.sto' not found"),
        ("family_id\talignment\tmsa\nPK\tPK-HAV.sto\tsometimes\n", "line 2 ('PK'): msa: 'sometimes' is not one of"),
        ("family_id\talignment\nPK\tPK-HAV.sto\nPK\tPK-HAV.sto\n", "line 3: duplicate family_id 'PK'"),
        ("family_id\nPK\n", "line 2 ('PK'): 'alignment' is a required property"),
    ):
        sheet.write_text(text)
        with pytest.raises(RnamsmError) as error:
            load_families(sheet, SCHEMA)
        assert expected in str(error.value) and "\n" not in str(error.value), str(error.value)
    (tmp_path / "header.tsv").write_text((REPO_ROOT / "config" / "families.tsv").read_text())
    assert load_families(tmp_path / "header.tsv", SCHEMA).empty  # the shipped sheet: no families


def test_unreadable_family_alignment_is_one_line(tmp_path: Path) -> None:
    """A family alignment with ragged rows (the members cannot be listed): one line naming the file and row."""
    ragged = tmp_path / "ragged.sto"
    lines = (INFERNAL_DATA / "tRNA5.sto").read_text().split("\n")
    ragged.write_text("\n".join(line[:-3] if line.startswith("tRNA2 ") else line for line in lines))
    with pytest.raises(RnamsmError, match=r"ragged.sto: row 2 \('tRNA2'\) has \d+ columns") as error:
        family_members("t", ragged)
    assert "\n" not in str(error.value)
