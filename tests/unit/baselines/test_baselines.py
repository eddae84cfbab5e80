"""rnamsm baselines: its settings (the config's `baselines` section), its command line and baselines.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnamsm.baselines.run import run_baselines
from rnamsm.baselines.settings import BaselineSettings
from rnamsm.cli import main
from rnamsm.errors import RnamsmError
from rnamsm.formats import baselines as baselines_json
from rnamsm.homology.settings import AlifoldSettings
from tests.conftest import RNAMSM_EXAMPLE
from tests.support.schema import assert_defaults_match

QUERY, MSA = RNAMSM_EXAMPLE / "2DRB_1.fasta", RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2"  # MSA: 1,176 rows


def test_settings_defaults_are_the_schema_defaults() -> None:
    assert_defaults_match(BaselineSettings, "baselines")


def test_command_alone_caps_rnaalifold_rows_as_the_workflow_does(tmp_path: Path) -> None:
    """Without options the command used 512 rows while the workflow's default was 500."""
    assert main(["baselines", str(QUERY), "--msa", str(MSA), "--out-dir", str(tmp_path / "default")]) == 0
    assert baselines_json.read(tmp_path / "default" / "baselines.json").rnaalifold.num_sequences == 500
    assert main(["baselines", str(QUERY), "--msa", str(MSA), "--out-dir", str(tmp_path / "json"),
                 "--config-json", json.dumps({"max_rows": 40})]) == 0
    assert baselines_json.read(tmp_path / "json" / "baselines.json").rnaalifold.num_sequences == 40
    assert main(["baselines", str(QUERY), "--msa", str(MSA), "--out-dir", str(tmp_path / "flag"),
                 "--config-json", json.dumps({"max_rows": 40}), "--max-rows", "30"]) == 0
    assert baselines_json.read(tmp_path / "flag" / "baselines.json").rnaalifold.num_sequences == 30


@pytest.mark.parametrize(("config", "message"), [
    ('{"max_rows": 0}', "--config-json: max_rows must be at least 1, got 0"),
    ('{"max_row": 10}', "--config-json: unknown key(s) 'max_row'"),
    ('{"max_rows": "all"}', "--config-json.max_rows: expected an integer, got 'all'"),
    ("[500]", "--config-json: must be a JSON object"),
])
def test_bad_config_json_is_one_line(config: str, message: str, tmp_path: Path, capsys) -> None:
    assert main(["baselines", str(QUERY), "--msa", str(MSA), "--out-dir", str(tmp_path),
                 "--config-json", config]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"rnamsm baselines: error: {message}") and "\n" not in error
    assert not any(tmp_path.iterdir())


def test_baselines_json_round_trips_through_its_record(tmp_path: Path) -> None:
    written = run_baselines(QUERY, MSA, tmp_path, BaselineSettings(max_rows=50))
    path = tmp_path / "baselines.json"
    assert baselines_json.read(path) == written
    assert path.read_text() == written.to_json()
    data = json.loads(path.read_text())
    assert list(data) == sorted(data) and data["rnaalifold"]["num_sequences"] == 50
    assert data["rnafold"]["mfe"] == written.rnafold.mfe == round(written.rnafold.mfe, 2)
    copy = tmp_path / "copy" / "baselines.json"
    baselines_json.write(written, copy)
    assert copy.read_bytes() == path.read_bytes()


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.pop("rnafold"), "the document: missing key(s) rnafold"),
    (lambda d: d["rnaalifold"].pop("energy"), "rnaalifold: missing key(s) energy"),
    (lambda d: d.update(extra=1), "the document: unknown key(s) extra"),
    (lambda d: d["rnafold"].update(dbn="((.))"), "rnafold.dbn must be a dot-bracket of the sequence's length 35"),
    (lambda d: d["rnafold"].update(mfe="low"), 'rnafold.mfe must be a finite number, found "low"'),
    (lambda d: d["rnaalifold"].update(consensus_dbn="((.)"), "rnaalifold.consensus_dbn: unbalanced '('"),
    (lambda d: d["rnafold"].update(dbn=")" + d["rnafold"]["dbn"][1:]), "rnafold.dbn: unbalanced ')' at position 1"),
    (lambda d: d["rnaalifold"].update(num_sequences=0), "rnaalifold.num_sequences must be a count >= 1"),
    (lambda d: d.update(sequence=7), "sequence must be a non-empty string"),
    (lambda d: d.update(rnaalifold=[]), "rnaalifold must be a JSON object"),
])
def test_a_bad_baselines_json_is_refused_on_read(edit, message: str, tmp_path: Path) -> None:
    run_baselines(QUERY, MSA, tmp_path, BaselineSettings(max_rows=20))
    path = tmp_path / "baselines.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(RnamsmError) as error:
        baselines_json.read(path)
    assert str(error.value).startswith(f"{path}: {message}") and "\n" not in str(error.value)
    path.write_text("{not json")
    with pytest.raises(RnamsmError, match="not valid JSON"):
        baselines_json.read(path)


@pytest.mark.parametrize(("settings", "globals_"), [
    (AlifoldSettings(ribosum=False), {}),
    (AlifoldSettings(), {"ribo": 1}),
    (AlifoldSettings(cfactor=0.6, nfactor=0.5), {"ribo": 1, "cv_fact": 0.6, "nc_fact": 0.5}),
    (AlifoldSettings(ribosum=False, no_lonely_pairs=True), {"noLP": 1}),
])
def test_rnaalifold_scores_as_the_rnaalifold_options_do(settings: AlifoldSettings, globals_: dict) -> None:
    """The settings give what RNAalifold gives with -r / --cfactor / --nfactor / --noLP (its global options)."""
    import RNA

    from rnamsm.baselines.vienna import rnaalifold
    from rnamsm.model.msa import read_msa

    msa = read_msa(MSA)
    rows = list(msa.rows[:500])
    saved = {name: getattr(RNA.cvar, name) for name in globals_}
    try:
        for name, value in globals_.items():
            setattr(RNA.cvar, name, value)
        expected = RNA.alifold(rows)
    finally:
        for name, value in saved.items():
            setattr(RNA.cvar, name, value)
    consensus, energy, _projected = rnaalifold(msa, 500, settings)
    assert (consensus, round(energy, 4)) == (expected[0], round(expected[1], 4))


def test_the_default_scoring_is_ribosum_and_the_config_can_turn_it_off(tmp_path: Path) -> None:
    """Plain RNAalifold finds 4 of the 2DRB_1 acceptor-stem pairs, RIBOSUM scoring (the default) 5."""
    assert main(["baselines", str(QUERY), "--msa", str(MSA), "--out-dir", str(tmp_path / "default")]) == 0
    assert main(["baselines", str(QUERY), "--msa", str(MSA), "--out-dir", str(tmp_path / "plain"),
                 "--config-json", json.dumps({"alifold": {"ribosum": False}})]) == 0
    default = baselines_json.read(tmp_path / "default" / "baselines.json").rnaalifold.consensus_dbn
    plain = baselines_json.read(tmp_path / "plain" / "baselines.json").rnaalifold.consensus_dbn
    assert (default.count("("), plain.count("(")) == (5, 4)
