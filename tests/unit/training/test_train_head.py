"""train-head ss and rsa with a tiny random backbone.

SS labels: Rfam seed alignments (SS_cons projected onto each sequence). RSA labels: the official
RNA-MSM RSA output for 2DRB_1, and for the seed sequences values derived from it (the mean official
RSA of 2DRB_1's residues with the same base and pairing state, per the official 2DRB_1 structure).
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict

import numpy as np
import pytest
import torch

from rnamsm.cli import main
from rnamsm.formats import rsa_table
from rnamsm.formats.rsa_table import RsaChain
from rnamsm.formats.structure import Structure, read_structure, write_structure_files
from rnamsm.heads.head_file import load_head, save_head
from rnamsm.heads.official_formats import save_official_rsa, save_statistics_pickle
from rnamsm.heads.rsa_net import RSANet, asa_scale, predict_rsa
from rnamsm.model.extract import compute_features
from rnamsm.model.msa import read_msa
from rnamsm.model.rnamsm import RnaMsm, RnaMsmConfig
from rnamsm.training.examples import Example, examples_from_files, examples_from_stockholm, split_examples
from rnamsm.training.options import TrainingOptions
from rnamsm.training.stockholm_labels import labelled_msas
from rnamsm.training.trainers import train_rsa_head, train_ss_head
from tests.conftest import INFERNAL_DATA, RNAMSM_EXAMPLE

SEEDS = [INFERNAL_DATA / "tRNA5.sto", INFERNAL_DATA / "PK-HAV.sto", INFERNAL_DATA / "Vault.sto"]
#: The official RSA output for 2DRB_1 (ensemble of the three official heads), ``index nt ASA RSA``.
OFFICIAL_RSA = RNAMSM_EXAMPLE / "2DRB_1_ensemble.txt"


@pytest.fixture(scope="module")
def backbone() -> RnaMsm:
    torch.manual_seed(0)
    return RnaMsm(RnaMsmConfig(num_layers=2, embed_dim=64, num_heads=4, ffn_dim=256)).eval()


@pytest.fixture(scope="module")
def examples(backbone):
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


# --- rsa ------------------------------------------------------------------------------------------


def official_rsa_by_pairing() -> dict[tuple[str, bool], float]:
    """Mean official RSA of 2DRB_1 per (base, paired in the official 2DRB_1 structure)."""
    official = rsa_table.read(OFFICIAL_RSA, name="2DRB_1")
    structure = read_structure(RNAMSM_EXAMPLE / "2DRB_1.bpseq")
    assert structure.sequence == official.sequence
    paired = {index for pair in structure.pairs for index in pair}
    groups: dict[tuple[str, bool], list[float]] = defaultdict(list)
    for index, (base, value) in enumerate(zip(official.sequence, official.rsa), 1):
        groups[base, index in paired].append(value)
    return {key: float(np.mean(values)) for key, values in groups.items()}


@pytest.fixture(scope="module")
def rsa_examples(backbone, examples) -> list[Example]:
    """The seed sequences with RSA derived from their SS_cons, plus 2DRB_1 with the official RSA."""
    means = official_rsa_by_pairing()
    assert len(means) == 8, "2DRB_1 has every base both paired and unpaired"
    derived = []
    for example in examples:
        paired = {index for pair in example.pairs for index in pair}
        rsa = np.array([means.get((base, index in paired), -1.0) for index, base in enumerate(example.sequence, 1)])
        derived.append(Example(example.name, example.sequence, example.embedding, example.attention_maps, rsa=rsa))
    msa = read_msa(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2").select(list(range(6)))
    features = compute_features(backbone, msa, progress=False)
    official = rsa_table.read(OFFICIAL_RSA, name="2DRB_1")
    assert official.sequence == msa.query and len(official.rsa) == 35
    return [*derived, Example("2DRB_1", msa.query, features.embedding, features.attention_maps, rsa=official.rsa)]


def validation_mse(model: RSANet, stats, validation: list[Example]) -> float:
    """Mean over examples of the per-example mean squared error on valid residues (the training loss)."""
    errors = []
    for example in validation:
        valid = example.rsa >= 0
        predicted = predict_rsa(model, stats, example.sequence, example.embedding)
        errors.append(np.mean((predicted - example.rsa)[valid] ** 2))
    return float(np.mean(errors))


def test_train_rsa_lowers_validation_loss_and_is_deterministic(tmp_path, rsa_examples) -> None:
    assert len(rsa_examples) == 5 + 2 + 6 + 1
    options = TrainingOptions(epochs=4, patience=2, learning_rate=3e-3, validation_fraction=0.3, seed=0, device="cpu")
    head, record = train_rsa_head(rsa_examples, options, planes=16)
    training, validation = split_examples(rsa_examples, 0.3, 0)
    assert record["task"] == "rsa" and record["validation_ids"] == sorted(example.name for example in validation)
    assert len(validation) == 4 and not set(record["validation_ids"]) & set(record["train_ids"])
    assert record["best_validation_loss"] < 0.5 * record["initial_validation_loss"]
    # Better than predicting the training mean everywhere: the head learned more than the average RSA.
    mean = np.mean(np.concatenate([example.rsa[example.rsa >= 0] for example in training]))
    baseline = np.mean([np.mean((example.rsa[example.rsa >= 0] - mean) ** 2) for example in validation])
    assert record["best_validation_loss"] < 0.8 * baseline

    save_head(tmp_path / "a.safetensors", head)
    again, _ = train_rsa_head(rsa_examples, options, planes=16)
    save_head(tmp_path / "b.safetensors", again)
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()

    loaded = load_head(tmp_path / "a.safetensors", "rsa")
    assert not loaded.untrained and loaded.stats.uses_onehot and "threshold" not in loaded.metadata
    assert json.loads(loaded.metadata["training"])["best_epoch"] == record["best_epoch"]
    # The file holds the best epoch's head: it reproduces the recorded validation loss.
    assert validation_mse(loaded.model, loaded.stats, validation) == pytest.approx(record["best_validation_loss"],
                                                                                    abs=2e-6)
    for example in rsa_examples:
        predicted = predict_rsa(loaded.model, loaded.stats, example.sequence, example.embedding)
        assert predicted.shape == (len(example.sequence),)
        assert np.all((predicted >= 0) & (predicted <= 1)), example.name


def write_rsa_training_files(examples: list[Example], features, labels) -> None:
    """``ID.npz`` features; labels as our RSA TSV, and for 2DRB_1 the official ``.txt`` file itself."""
    features.mkdir()
    labels.mkdir()
    for example in examples:
        np.savez(features / f"{example.name}.npz", embedding=example.embedding, attention_maps=example.attention_maps,
                 sequence=np.array(example.sequence), weights_untrained=np.array(True))
        if example.name == "2DRB_1":
            shutil.copyfile(OFFICIAL_RSA, labels / "2DRB_1.txt")
        else:
            asa = example.rsa * asa_scale(example.sequence)
            rsa_table.write(RsaChain(example.name, example.sequence, example.rsa, asa, ("derived RSA",)),
                            labels / f"{example.name}.rsa.tsv")


def test_train_head_rsa_cli_on_features_and_labels(tmp_path, rsa_examples, capsys) -> None:
    chosen = [*rsa_examples[:5], rsa_examples[-1]]
    features, labels = tmp_path / "features", tmp_path / "labels"
    write_rsa_training_files(chosen, features, labels)
    out = tmp_path / "rsa.safetensors"
    argv = ["train-head", "rsa", "--features", str(features), "--labels", str(labels), "--out", str(out),
            "--epochs", "2", "--lr", "3e-3", "--validation-fraction", "0.34", "--device", "cpu"]
    assert main([*argv, "--width", "8"]) == 1
    assert "--width (the RSA head's planes) must be a multiple of 16, got 8" in capsys.readouterr().err
    assert not out.exists()
    assert main([*argv, "--width", "16"]) == 0
    head = load_head(out, "rsa")
    record = json.loads(head.metadata["training"])
    assert record["task"] == "rsa" and record["epochs_run"] == 2
    assert sorted(record["train_ids"] + record["validation_ids"]) == sorted(example.name for example in chosen)
    assert record["best_validation_loss"] < record["initial_validation_loss"]
    # The written head drives predict-rsa: an RSA table for 2DRB_1 with values in [0, 1].
    table_path = tmp_path / "2DRB_1.rsa.tsv"
    assert main(["predict-rsa", str(features / "2DRB_1.npz"), "--heads", str(out), "--out", str(table_path),
                 "--device", "cpu"]) == 0
    table = rsa_table.read(table_path)
    assert table.sequence == rsa_examples[-1].sequence and np.all((table.rsa >= 0) & (table.rsa <= 1))


def test_train_head_rsa_fine_tunes_an_official_head(tmp_path, rsa_examples, capsys) -> None:
    chosen = [*rsa_examples[5:9], rsa_examples[-1]]
    features, labels = tmp_path / "features", tmp_path / "labels"
    write_rsa_training_files(chosen, features, labels)
    torch.manual_seed(3)
    official = tmp_path / "model_pcc_0.pt"
    save_official_rsa(RSANet(4 + 64 + 1, 16).eval(), official)
    stats = [tmp_path / "statistic_dict_oh.pickle", tmp_path / "statistic_dict_emb.pickle"]
    save_statistics_pickle(np.full(4, 0.25), np.full(4, 0.43), stats[0])
    save_statistics_pickle(np.zeros(64, np.float32), np.full(64, 0.5, np.float32), stats[1])
    out = tmp_path / "tuned.safetensors"
    argv = ["train-head", "rsa", "--features", str(features), "--labels", str(labels), "--out", str(out),
            "--init", str(official), "--epochs", "1", "--device", "cpu"]
    assert main(argv) == 1 and "statistics pickles (--stats)" in capsys.readouterr().err
    assert main([*argv, "--stats", *map(str, stats)]) == 0
    tuned = load_head(out, "rsa")
    assert np.array_equal(tuned.stats.embedding_std, np.full(64, 0.5, np.float32))
    assert np.array_equal(tuned.stats.onehot_mean, np.full(4, 0.25))
    # Training started from the official weights: their loss is the recorded initial validation loss.
    record = json.loads(tuned.metadata["training"])
    start = load_head(official, "rsa", tuned.stats)
    by_name = {example.name: example for example in examples_from_files([features], labels, "rsa")}
    initial = validation_mse(start.model, start.stats, [by_name[name] for name in record["validation_ids"]])
    assert initial == pytest.approx(record["initial_validation_loss"], abs=2e-6)
