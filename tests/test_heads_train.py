"""train-head ss on Rfam seed alignments (SS_cons projected onto each sequence) with a tiny random backbone."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnamsm.cli import main
from rnamsm.heads.head_file import load_head
from rnamsm.heads.stockholm_labels import labelled_msas
from rnamsm.heads.structure import Structure, write_structure_files
from rnamsm.heads.train import TrainingOptions, examples_from_stockholm, train_ss_head
from rnamsm.model.rnamsm import RnaMsm, RnaMsmConfig
from tests.conftest import INFERNAL_DATA

SEEDS = [INFERNAL_DATA / "tRNA5.sto", INFERNAL_DATA / "PK-HAV.sto", INFERNAL_DATA / "Vault.sto"]


@pytest.fixture(scope="module")
def examples():
    torch.manual_seed(0)
    backbone = RnaMsm(RnaMsmConfig(num_layers=2, embed_dim=64, num_heads=4, ffn_dim=256)).eval()
    return examples_from_stockholm(SEEDS, backbone, max_rows=6, max_per_file=6)


def test_ss_cons_projection_onto_a_sequence() -> None:
    first = labelled_msas(INFERNAL_DATA / "tRNA5.sto", max_rows=3)[0]
    assert first.structure.name == "tRNA1" and len(first.structure.sequence) == 73
    assert len(first.rows) == 3 and all(len(row) == 73 for row in first.rows)
    assert first.structure.sequence == first.rows[0]
    # acceptor stem of tRNA1: positions 1-7 pair with 66-72
    assert {(1, 72), (7, 66)} <= first.structure.pairs and len(first.structure.pairs) == 21
    pk = labelled_msas(INFERNAL_DATA / "PK-HAV.sto")[0].structure
    crossing = [(a, b) for a in pk.pairs for b in pk.pairs if a[0] < b[0] < a[1] < b[1]]
    assert crossing, "the HAV consensus is pseudoknotted"


def test_train_ss_lowers_validation_loss_and_is_deterministic(tmp_path, examples) -> None:
    assert len(examples) == 5 + 2 + 6
    options = TrainingOptions(epochs=4, patience=2, learning_rate=3e-3, validation_fraction=0.3, seed=0, device="cpu")
    head, record = train_ss_head(examples, options, width=8, blocks=2)
    assert record["best_validation_loss"] < 0.5 * record["initial_validation_loss"]
    assert len(record["validation_ids"]) == 4 and not set(record["validation_ids"]) & set(record["train_ids"])
    from rnamsm.heads.head_file import save_head

    save_head(tmp_path / "a.safetensors", head)
    again, _ = train_ss_head(examples, options, width=8, blocks=2)
    save_head(tmp_path / "b.safetensors", again)
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    loaded = load_head(tmp_path / "a.safetensors", "ss")
    assert loaded.model.num_maps == 8 and not loaded.untrained
    assert json.loads(loaded.metadata["training"])["best_epoch"] == record["best_epoch"]
    assert 0.05 <= float(loaded.metadata["threshold"]) <= 0.95


def test_train_head_cli_on_features_and_labels(tmp_path, examples) -> None:
    features, labels = tmp_path / "features", tmp_path / "labels"
    for example in examples[:6]:
        features.mkdir(exist_ok=True)
        np.savez(features / f"{example.name}.npz", embedding=example.embedding, attention_maps=example.attention_maps,
                 sequence=np.array(example.sequence), weights_untrained=np.array(True))
        write_structure_files(Structure(example.name, example.sequence, set(example.pairs)), labels)
    out = tmp_path / "ss.safetensors"
    argv = ["train-head", "ss", "--features", str(features), "--labels", str(labels), "--out", str(out),
            "--width", "8", "--blocks", "1", "--epochs", "2", "--device", "cpu"]
    assert main(argv) == 0
    record = json.loads(load_head(out, "ss").metadata["training"])
    assert record["epochs_run"] == 2 and len(record["train_ids"]) + len(record["validation_ids"]) == 6
