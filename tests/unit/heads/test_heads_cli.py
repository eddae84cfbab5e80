"""predict-ss, predict-rsa, make-demo-heads, convert-heads and baselines through the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnamsm.cli import main
from rnamsm.formats import rsa_table
from rnamsm.formats.structure import dbn_to_pairs, read_structure
from rnamsm.heads.official_formats import save_official_rsa, save_official_ss, save_statistics_pickle
from rnamsm.heads.rsa_net import RSANet
from rnamsm.heads.ss_resnet import SSResNet
from rnamsm.model.extract import compute_features
from rnamsm.model.msa import read_msa
from rnamsm.model.rnamsm import RnaMsm, RnaMsmConfig
from tests.conftest import RNAMSM_EXAMPLE


@pytest.fixture(scope="module")
def features_npz(tmp_path_factory):
    """features.npz of 2DRB_1 (first 16 MSA rows) from a tiny random backbone (8 maps, D = 64)."""
    torch.manual_seed(0)
    model = RnaMsm(RnaMsmConfig(num_layers=2, embed_dim=64, num_heads=4, ffn_dim=256)).eval()
    msa = read_msa(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2").select(list(range(16)))
    features = compute_features(model, msa, progress=False)
    path = tmp_path_factory.mktemp("features") / "features.npz"
    np.savez(path, embedding=features.embedding, attention_maps=features.attention_maps,
             sequence=np.array(msa.query), weights_untrained=np.array(True), msa_depth=np.array(16))
    return path


def test_demo_heads_predict_ss_and_rsa(tmp_path, features_npz) -> None:
    heads = tmp_path / "heads"
    assert main(["make-demo-heads", str(heads), "--features-like", str(features_npz)]) == 0
    out = tmp_path / "structure"
    assert main(["predict-ss", str(features_npz), "--head", str(heads / "ss.safetensors"), "--out-dir", str(out),
                 "--id", "2DRB_1"]) == 0
    summary = json.loads((out / "ss.json").read_text())
    assert summary["weights_untrained"] is True and summary["threshold"] == 0.516
    assert {tuple(pair) for pair in summary["pairs"]} == dbn_to_pairs(summary["dbn"], "x")
    assert read_structure(out / "2DRB_1.bpseq").pairs == {tuple(pair) for pair in summary["pairs"]}
    prob = np.load(out / "2DRB_1.prob.npy")
    assert prob.shape == (35, 35) and prob.dtype == np.float32
    assert all(prob[i - 1, j - 1] > 0.516 for i, j in summary["pairs"])
    tsv = tmp_path / "rsa" / "2DRB_1.rsa.tsv"
    heads_rsa = [str(heads / f"rsa_{k}.safetensors") for k in range(3)]
    assert main(["predict-rsa", str(features_npz), "--heads", *heads_rsa, "--out", str(tsv)]) == 0
    text = tsv.read_text()
    assert "# WARNING: weights_untrained: true" in text and "\nindex\tnt\tASA\tRSA\n" in text
    table = rsa_table.read(tsv)
    assert len(table.rsa) == 35 and np.all((table.rsa >= 0) & (table.rsa <= 1))


def test_official_layout_heads_convert_and_predict_alike(tmp_path, features_npz) -> None:
    torch.manual_seed(1)
    official = tmp_path / "official"
    official.mkdir()
    save_official_ss(SSResNet(8 + 8, 48, 2).eval(), official / "rna-msm_attention.pt")
    for k in range(2):
        save_official_rsa(RSANet(4 + 64 + 1).eval(), official / f"model_pcc_{k}.pt")
    save_statistics_pickle(np.zeros(64, np.float32), np.ones(64, np.float32), official / "statistic_dict_emb.pickle")
    save_statistics_pickle(np.full(4, 0.25), np.full(4, 0.43), official / "statistic_dict_oh.pickle")
    stats = [str(official / "statistic_dict_oh.pickle"), str(official / "statistic_dict_emb.pickle")]
    rsa_files = [str(official / f"model_pcc_{k}.pt") for k in range(2)]
    converted = tmp_path / "converted"
    assert main(["convert-heads", "--out-dir", str(converted), "--ss", str(official / "rna-msm_attention.pt"),
                 "--rsa", *rsa_files, "--stats", *stats]) == 0
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    assert main(["predict-rsa", str(features_npz), "--heads", *rsa_files, "--stats", *stats, "--out", str(a)]) == 0
    assert main(["predict-rsa", str(features_npz), "--heads", str(converted / "rsa_0.safetensors"),
                 str(converted / "rsa_1.safetensors"), "--out", str(b)]) == 0
    assert np.array_equal(rsa_table.read(a).rsa, rsa_table.read(b).rsa)
    for name, head in (("pt", official / "rna-msm_attention.pt"), ("st", converted / "ss.safetensors")):
        assert main(["predict-ss", str(features_npz), "--head", str(head), "--out-dir", str(tmp_path / name),
                     "--id", "q"]) == 0
    assert np.array_equal(np.load(tmp_path / "pt" / "q.prob.npy"), np.load(tmp_path / "st" / "q.prob.npy"))


def test_wrong_head_size_is_a_one_line_error(tmp_path, features_npz, capsys) -> None:
    heads = tmp_path / "heads"
    assert main(["make-demo-heads", str(heads), "--num-maps", "120", "--embed-dim", "768"]) == 0
    assert main(["predict-ss", str(features_npz), "--head", str(heads / "ss.safetensors"), "--out-dir",
                 str(tmp_path), "--id", "q"]) == 1
    error = capsys.readouterr().err.strip()
    assert "expects 120 attention maps, the features have 8" in error and "\n" not in error


def test_baselines_on_the_official_example(tmp_path) -> None:
    out = tmp_path / "baselines"
    assert main(["baselines", str(RNAMSM_EXAMPLE / "2DRB_1.fasta"), "--msa", str(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2"),
                 "--out-dir", str(out)]) == 0
    summary = json.loads((out / "baselines.json").read_text())
    assert summary["sequence"] == "GGCCCGGGGCGGUUCGAUUCCGCCCUGGGCCACCA"
    assert summary["rnafold"]["mfe"] < -20
    rnafold = read_structure(out / "2DRB_1.rnafold.dbn").pairs
    official = read_structure(RNAMSM_EXAMPLE / "2DRB_1.bpseq").pairs
    assert len(rnafold & official) == 12  # RNAfold finds 12 of the 13 official pairs
    bpp = np.load(out / "2DRB_1.rnafold_bpp.npy")
    assert bpp.shape == (35, 35) and np.allclose(bpp, bpp.T) and np.all(bpp.sum(axis=1) <= 1 + 1e-6)
    assert all(bpp[i - 1, j - 1] > 0.5 for i, j in rnafold)


def test_alifold_consensus_is_projected_onto_query_positions(tmp_path) -> None:
    (tmp_path / "q.fa").write_text(">q\nGGGAAAACCCC\n")
    (tmp_path / "msa.fa").write_text(">q\n-GGGAAAACCCC\n>a\nGGGGAAAACCCC\n>b\nGCGGAAAACCGC\n>c\nGGCGAAAACGCC\n")
    assert main(["baselines", str(tmp_path / "q.fa"), "--msa", str(tmp_path / "msa.fa"),
                 "--out-dir", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "baselines.json").read_text())
    assert summary["rnaalifold"]["consensus_dbn"] == "((((....))))"
    # column 1 is a gap in the query: its pair is dropped and columns 2..12 become positions 1..11
    assert summary["rnaalifold"]["dbn"] == "(((....)))."


def test_baselines_take_a_query_shorter_than_the_default_minimum(tmp_path, capsys) -> None:
    """The minimum length is applied once, by validate-input (``input.min_length``); baselines refused a
    query under 10 nt validated with a lower minimum. The MSA must still start with the query."""
    (tmp_path / "q.fa").write_text(">q\nGGGAAACCC\n")
    (tmp_path / "msa.fa").write_text(">q\nGGGAAACCC\n>a\nGGGAAACCC\n")
    assert main(["baselines", str(tmp_path / "q.fa"), "--msa", str(tmp_path / "msa.fa"),
                 "--out-dir", str(tmp_path / "out")]) == 0
    assert json.loads((tmp_path / "out" / "baselines.json").read_text())["sequence"] == "GGGAAACCC"
    (tmp_path / "other.fa").write_text(">q\nGGGAAACCA\n")
    assert main(["baselines", str(tmp_path / "other.fa"), "--msa", str(tmp_path / "msa.fa"),
                 "--out-dir", str(tmp_path / "out2")]) == 1
    assert "row 1 ('q') is not the query of" in capsys.readouterr().err
