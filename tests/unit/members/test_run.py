"""``rnamsm run-members``: a chunk of a real family's members in one process writes the files of the
per-sample commands, and a member whose row is empty fails alone (status file, family report, index)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnamsm.cli import main
from rnamsm.formats import sample_status
from rnamsm.layout import family_layout, sample_layout
from tests.conftest import INFERNAL_DATA

#: The sections of the workflow config that a chunk uses (the rest at their defaults).
CONFIG = {"model": {"device": "cpu"}, "heads": {"threshold": 0.5}, "baselines": {"max_rows": 50}}
EMPTY_ROW = "validate_input: {alignment}: row 'tRNA2': sequence is 0 nt, shorter than the minimum of 10 nt"


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo checkpoint and demo heads sized for it."""
    folder = tmp_path_factory.mktemp("weights")
    assert main(["make-demo-checkpoint", str(folder / "ckpt")]) == 0
    assert main(["make-demo-heads", str(folder / "heads"), "--like-checkpoint", str(folder / "ckpt")]) == 0
    return folder


def head_args(weights: Path) -> list[str]:
    return ["--head", str(weights / "heads" / "ss.safetensors"),
            "--heads", *(str(weights / "heads" / f"rsa_{k}.safetensors") for k in range(3)),
            "--checkpoint", str(weights / "ckpt"), "--head-device", "cpu"]


def trna5_with_an_empty_row(folder: Path) -> Path:
    """Infernal's tRNA5 alignment with every residue of tRNA2's row turned into a gap."""
    lines = []
    for line in (INFERNAL_DATA / "tRNA5.sto").read_text().splitlines():
        if line.startswith("tRNA2 "):
            row = line.split()[1]
            line = line[: len(line) - len(row)] + "-" * len(row)
        lines.append(line)
    path = folder / "tRNA5.sto"
    path.write_text("\n".join(lines) + "\n")
    return path


def member_files(directory: Path) -> dict[str, bytes]:
    """Every file of a member's folder but its report (which holds its generation time)."""
    return {path.relative_to(directory).as_posix(): path.read_bytes() for path in sorted(directory.rglob("*"))
            if path.is_file() and path.name != "report.html"}


def test_a_chunk_writes_the_per_sample_files_and_a_failing_member_fails_alone(tmp_path: Path, weights: Path,
                                                                              capsys) -> None:
    alignment = trna5_with_an_empty_row(tmp_path)
    results = tmp_path / "results"
    chunk = ["run-members", str(alignment), "--family-id", "tRNA5", "--members", "first 3", "--members-per-job",
             "2", "--results", str(results), *head_args(weights), "--config-json", json.dumps(CONFIG)]
    capsys.readouterr()
    assert main([*chunk, "--chunk", "1"]) == 0  # tRNA1 and tRNA2; tRNA3 is chunk 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == ("rnamsm run-members: 1 of 2 members written; failed (reasons in the status "
                                    "file): tRNA5.tRNA2")
    assert err.count("device=cpu CUDA_VISIBLE_DEVICES") == 1  # the model loaded once for the chunk
    status = family_layout("tRNA5", results).chunk_status("0001")
    assert sample_status.read(status) == [
        sample_status.SampleStatus("tRNA5.tRNA1", "ok", ""),
        sample_status.SampleStatus("tRNA5.tRNA2", "failed", EMPTY_ROW.format(alignment=alignment))]
    assert not sample_layout("tRNA5.tRNA2", results).directory.exists()
    assert sample_layout("tRNA5.tRNA1", results).report.is_file()

    # The per-sample commands, as the workflow's per-sample rules run them, write the same bytes.
    alone = sample_layout("tRNA5.tRNA1", tmp_path / "alone")
    for step in (
        ["validate-input", "--msa", str(alignment), "--id", "tRNA1", "--rename", "tRNA5.tRNA1", "-o", str(alone.query)],
        ["import-msa", str(alignment), "--query", str(alone.query), "--record", "tRNA1", "--out-dir",
         str(alone.msa.folder)],
        ["run-samples", "--results", str(tmp_path / "alone"), "--sample", "tRNA5.tRNA1", *head_args(weights),
         "--model-json", json.dumps(CONFIG["model"]), "--heads-json", json.dumps(CONFIG["heads"])],
        ["baselines", str(alone.query), "--msa", str(alone.msa.a2m_msa2), "--out-dir", str(alone.baselines.folder),
         "--config-json", json.dumps(CONFIG["baselines"])],
    ):
        assert main(step) == 0, step
    chunked = member_files(sample_layout("tRNA5.tRNA1", results).directory)
    assert chunked == member_files(alone.directory) and "features/features.npz" in chunked

    # A chunk that the partition does not have is one line, before any model is loaded.
    capsys.readouterr()
    assert main([*chunk, "--chunk", "3"]) == 1
    assert capsys.readouterr().err.strip() == (f"rnamsm run-members: error: {alignment}: family 'tRNA5' has 2 "
                                               "chunk(s) of 2 member(s), no chunk 3")

    # The family report lists the failed member with its reason; the index shows it failed, with the reason.
    assert main(["family-report", str(alignment), "--family-id", "tRNA5", "--members=first 2", "--results",
                 str(results), "--status", str(status)]) == 0
    summary = json.loads(family_layout("tRNA5", results).summary.read_text())
    assert [row["sample"] for row in summary["members"]] == ["tRNA5.tRNA1"] and summary["num_members"] == 1
    assert summary["failed"] == [{"sample": "tRNA5.tRNA2", "record": "tRNA2",
                                  "reason": EMPTY_ROW.format(alignment=alignment)}]
    page = family_layout("tRNA5", results).report.read_text()
    assert 'id="failed-members"' in page and "sequence is 0 nt, shorter than the minimum of 10 nt" in page
    (tmp_path / "samples.tsv").write_text("sample_id\tsequence\n")
    (tmp_path / "families.tsv").write_text(f"family_id\talignment\tmembers\ntRNA5\t{alignment}\tfirst 2\n")
    assert main(["index", str(results), "--samples", str(tmp_path / "samples.tsv"), "--families",
                 str(tmp_path / "families.tsv"), "--status", str(status)]) == 0
    index = (results / "index.html").read_text()
    row = index[index.index('data-sample="tRNA5.tRNA2"'):]
    row = row[: row.index("</tr>")]
    assert ">failed<" in row and "sequence is 0 nt, shorter than the minimum of 10 nt" in row
