"""run_evaluate: the library function behind `rnamsm evaluate`, which benchmarks and tests call directly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnamsm.cli import main
from rnamsm.errors import RnamsmError
from rnamsm.evaluation.evaluate import run_evaluate, tsv_path
from tests.conftest import RNAMSM_EXAMPLE


def test_run_evaluate_gives_what_the_command_writes(tmp_path: Path, capsys) -> None:
    rnafold = tmp_path / "pred" / "2DRB_1.dbn"
    rnafold.parent.mkdir()
    rnafold.write_text(">2DRB_1\nGGCCCGGGGCGGUUCGAUUCCGCCCUGGGCCACCA\n(((((((((((.......)))))))))))......\n")
    task, summary, rows = run_evaluate(rnafold.parent, RNAMSM_EXAMPLE / "2DRB_1.bpseq")
    assert task == "ss" and [row["id"] for row in rows] == ["2DRB_1"]
    out = tmp_path / "ss.json"
    assert main(["evaluate", "--pred", str(rnafold.parent), "--ref", str(RNAMSM_EXAMPLE / "2DRB_1.bpseq"),
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text()) == json.loads(json.dumps(summary))
    assert "sequences\t1" in capsys.readouterr().out
    task, summary, _ = run_evaluate(RNAMSM_EXAMPLE / "2DRB_1_0.txt", RNAMSM_EXAMPLE / "2DRB_1_ensemble.txt",
                                    task="rsa", json_path=tmp_path / "rsa.json")
    assert task == "rsa" and summary["num_chains"] == 1
    assert json.loads((tmp_path / "rsa.json").read_text())["pcc_mean"] == summary["pcc_mean"]
    assert tsv_path(tmp_path / "rsa.json").read_text().startswith("id\tvalid\tpcc\tmae\n")


def test_run_evaluate_refuses_an_unwritable_summary_before_scoring(tmp_path: Path) -> None:
    (tmp_path / "out.json").mkdir()
    with pytest.raises(RnamsmError, match="is a directory"):
        run_evaluate(tmp_path / "missing", tmp_path / "missing", json_path=tmp_path / "out.json")
