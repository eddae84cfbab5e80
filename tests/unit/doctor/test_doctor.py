"""``rnamsm doctor`` on the shipped demo config and on overlays that break one thing each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from rnamsm.cli import main
from tests.conftest import REPO_ROOT, require_program

INFERNAL = ("cmbuild", "cmcalibrate", "cmalign")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """A demo checkpoint and demo heads written by their commands (real files for the loaders)."""
    folder = tmp_path_factory.mktemp("weights")
    assert main(["make-demo-checkpoint", str(folder / "ckpt"), "--seed", "0"]) == 0
    assert main(["make-demo-heads", str(folder / "heads"), "--like-checkpoint", str(folder / "ckpt")]) == 0
    return folder


def doctor(capsys, tmp_path: Path, overlay: str | None = None) -> tuple[int, dict[str, tuple[str, str]]]:
    """Run ``rnamsm doctor`` in the repository (the demo workflow) -> (exit status, {what: (status, detail)})."""
    args = ["doctor"]
    if overlay is not None:
        (tmp_path / "overlay.yaml").write_text(overlay)
        args += ["--configfile", str(tmp_path / "overlay.yaml")]
    capsys.readouterr()
    status = main(args)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("doctor: ")
    checks = {}
    for line in lines[:-1]:
        state, _, rest = line.partition(" ")
        what, _, detail = rest.strip().partition(": ")
        checks[what] = (state, detail)
    return status, checks


@pytest.fixture(autouse=True)
def in_workflow(monkeypatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU whatever the machine has: the answers are fixed


def test_the_demo_config_is_all_ok(capsys, tmp_path) -> None:
    require_program(*INFERNAL)
    status, checks = doctor(capsys, tmp_path)
    assert status == 0
    assert [what for what, (state, _) in checks.items() if state == "FAIL"] == []
    assert checks["config"] == ("ok", "config/config.yaml valid")
    assert checks["sample sheet"] == ("ok", "config/samples.tsv: 4 sample(s)")
    assert checks["database resources/demo/db/demo_db.fa.gz"][0] == "ok"
    assert all(checks[f"program {name}"][0] == "ok" for name in INFERNAL)
    assert checks["checkpoint"][0] == checks["heads"][0] == "ok"
    assert checks["device auto"] == ("warn", "no CUDA device (CUDA_VISIBLE_DEVICES=); device auto will use the CPU")


def test_real_weight_files_are_loaded_and_a_missing_checkpoint_fails(capsys, tmp_path, weights) -> None:
    heads = weights / "heads"
    files = (f"model: {{checkpoint: {weights / 'ckpt'}}}\nheads: {{ss_head: {heads / 'ss.safetensors'}, "
             f"rsa_heads: [{heads / 'rsa_0.safetensors'}, {heads / 'rsa_1.safetensors'}]}}\n")
    status, checks = doctor(capsys, tmp_path, files)
    state, detail = checks["checkpoint"]
    assert state == "ok" and str(weights / "ckpt" / "model.safetensors") in detail
    assert "(hf-folder, 2 layers, sha256 " in detail and "random weights (demo only)" in detail
    assert checks["heads"][0] == "ok" and "(2 head(s))" in checks["heads"][1]

    missing = weights / "gone" / "RNA_MSM_pretrained.ckpt"
    status, checks = doctor(capsys, tmp_path, f"model: {{checkpoint: {missing}}}\n")
    assert status == 1
    assert checks["checkpoint"] == ("FAIL", f"{missing}: no such checkpoint file or folder (nor a Hugging Face "
                                            "hub id like multimolecule/rnamsm)")
    assert [what for what, (state, _) in checks.items() if state == "FAIL"] == ["checkpoint"]


def test_a_hub_checkpoint_not_in_the_cache_fails_offline_and_warns_online(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    status, checks = doctor(capsys, tmp_path, "model: {checkpoint: multimolecule/rnamsm}\n")
    assert status == 1 and checks["checkpoint"][0] == "FAIL"
    assert checks["checkpoint"][1].startswith(f"multimolecule/rnamsm: not in {tmp_path / 'empty-cache'} and "
                                              "HF_HUB_OFFLINE is set")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    status, checks = doctor(capsys, tmp_path, "model: {checkpoint: multimolecule/rnamsm}\n")
    assert checks["checkpoint"][0] == "warn" and "the first model job downloads it" in checks["checkpoint"][1]


def test_a_program_missing_from_path_fails(capsys, tmp_path, monkeypatch) -> None:
    require_program("cmbuild", "cmalign", "hhfilter")
    bin_dir = tmp_path / "bin"  # every program the demo needs but cmcalibrate
    bin_dir.mkdir()
    for name in ("cmbuild", "cmalign", "hhfilter"):
        os.symlink(os.path.realpath(__import__("shutil").which(name)), bin_dir / name)
    monkeypatch.setenv("PATH", str(bin_dir))
    status, checks = doctor(capsys, tmp_path)
    assert status == 1
    assert [what for what, (state, _) in checks.items() if state == "FAIL"] == ["program cmcalibrate"]
    assert checks["program cmcalibrate"][1].startswith("not on PATH; the search or the placement of an imported")
    assert checks["program cmbuild"] == ("ok", str(bin_dir / "cmbuild"))
    # without hhfilter, depth_method auto falls back with a warning; hhfilter asked for by name fails
    (bin_dir / "hhfilter").unlink()
    status, checks = doctor(capsys, tmp_path, "model: {depth_method: hhfilter}\nsearch: {cm: {max_rounds: 0}, "
                                              "align: hits}\n")
    assert status == 1
    assert [what for what, (state, _) in checks.items() if state == "FAIL"] == ["program hhfilter"]
    assert "program cmcalibrate" not in checks  # a search without CM rounds nor cmalign runs no Infernal program


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_device_cuda_without_a_gpu_fails(capsys, tmp_path) -> None:
    status, checks = doctor(capsys, tmp_path, "model: {device: cuda}\n")
    assert status == 1
    assert checks["device cuda"] == ("FAIL", "device 'cuda' requested but no CUDA GPU is available "
                                             "(CUDA_VISIBLE_DEVICES=); use --device auto or cpu")


def test_a_bad_config_or_sheet_is_its_one_line(capsys, tmp_path) -> None:
    status, checks = doctor(capsys, tmp_path, "model: {devices: cpu}\n")
    assert status == 1 and list(checks) == ["config"] and "devices" in checks["config"][1]
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample_id\tfasta\nq1\tnowhere.fa\n")
    status, checks = doctor(capsys, tmp_path, f"samples: {sheet}\n")
    assert status == 1
    assert checks["sample sheet"] == ("FAIL", f"{sheet}: sample 'q1': FASTA file 'nowhere.fa' not found")
