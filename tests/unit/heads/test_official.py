"""Official head layouts: bit-exact round trips, safe loading, and refusal of malicious pickles."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from rnamsm.errors import RnamsmError
from rnamsm.heads.head_file import Head, load_head, save_head
from rnamsm.heads.official_formats import (
    EXPECTED_RSA_GLOBALS,
    load_official_rsa,
    load_official_ss,
    load_statistics_pickle,
    save_official_rsa,
    save_official_ss,
    save_statistics_pickle,
    statistics_from_pickles,
)
from rnamsm.heads.rsa_net import RSANet, predict_rsa
from rnamsm.heads.ss_resnet import SSResNet, predict_ss_probabilities

SEQUENCE = "GGCCCGGGGCGGUUCGAUUCCGCCCUGGGCCACCA"


def _randomise(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=generator) + 0.5 if "running_var" in name else (
                    0.1 * torch.randn(tensor.shape, generator=generator))
                tensor.copy_(values)
    return model.eval()


def _assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    left, right = a.state_dict(), b.state_dict()
    assert left.keys() == right.keys()
    for key in left:
        assert left[key].dtype == right[key].dtype
        assert torch.equal(left[key], right[key]), key


def test_official_ss_layout_keys_and_size() -> None:
    state = SSResNet().state_dict()
    assert state["conv1.weight"].shape == (48, 128, 3, 3) and state["conv1.bias"].shape == (48,)
    assert state["layer1.15.conv1.weight"].shape == (48, 48, 3, 3)
    assert state["layer1.15.conv2.weight"].shape == (48, 48, 5, 5)
    assert state["layer1.0.bn2.bias"].shape == (48,) and state["fc1.weight"].shape == (1, 48)
    assert "layer1.0.conv1.bias" not in state and "layer1.16.conv1.weight" not in state
    assert sum(tensor.numel() for tensor in state.values()) == 1_311_937


def test_ss_official_round_trip_is_bit_exact(tmp_path) -> None:
    model = _randomise(SSResNet(8 + 8, 48, 16), seed=1)
    path = tmp_path / "rna-msm_attention.pt"
    save_official_ss(model, path)
    loaded = load_official_ss(path)
    _assert_same_state(model, loaded)
    maps = np.random.default_rng(0).random((8, 35, 35), dtype=np.float32)
    expected = predict_ss_probabilities(model, SEQUENCE, maps)
    assert np.array_equal(predict_ss_probabilities(loaded, SEQUENCE, maps), expected)
    # through our safetensors format as well
    save_head(tmp_path / "ss.safetensors", Head("ss", loaded, None, {"untrained": "true"}))
    ours = load_head(tmp_path / "ss.safetensors", "ss")
    assert ours.untrained
    assert np.array_equal(predict_ss_probabilities(ours.model, SEQUENCE, maps), expected)


@pytest.mark.parametrize("onehot", [True, False])
def test_rsa_official_round_trip_is_bit_exact(tmp_path, onehot: bool) -> None:
    embed_dim = 768
    model = _randomise(RSANet(4 * onehot + embed_dim + 1), seed=2)
    path = tmp_path / "model_pcc_0_16=0.510.pt"
    save_official_rsa(model, path)
    assert set(torch.serialization.get_unsafe_globals_in_checkpoint(path)) == EXPECTED_RSA_GLOBALS
    assert len(EXPECTED_RSA_GLOBALS) == 12
    loaded = load_official_rsa(path)
    assert len(loaded.state_dict()) == 40
    assert loaded.state_dict()["net.0.0.conv1.weight"].shape == (64, 4 * onehot + embed_dim + 1, 3)
    _assert_same_state(model, loaded)

    rng = np.random.default_rng(3)
    stats_files = [tmp_path / "statistic_dict_emb.pickle"]
    save_statistics_pickle(rng.random(embed_dim, dtype=np.float32), rng.random(embed_dim, dtype=np.float32) + 0.5,
                           stats_files[0])
    if onehot:
        stats_files.append(tmp_path / "statistic_dict_oh.pickle")
        save_statistics_pickle(np.array([0.26, 0.23, 0.27, 0.24]), np.array([0.44, 0.42, 0.45, 0.43]), stats_files[1])
    stats = statistics_from_pickles(stats_files)
    assert stats.uses_onehot is onehot
    embedding = rng.standard_normal((35, embed_dim), dtype=np.float32)
    expected = predict_rsa(model, stats, SEQUENCE, embedding)
    assert np.array_equal(predict_rsa(loaded, stats, SEQUENCE, embedding), expected)
    assert np.all((expected > 0) & (expected < 1))
    # convert to our format (with the statistics) and back
    save_head(tmp_path / "rsa.safetensors", Head("rsa", loaded, stats, {}))
    ours = load_head(tmp_path / "rsa.safetensors", "rsa")
    assert np.array_equal(predict_rsa(ours.model, ours.stats, SEQUENCE, embedding), expected)


def test_statistics_pickle_round_trip(tmp_path) -> None:
    mean, std = np.arange(4, dtype=np.float64), np.ones(4)
    save_statistics_pickle(mean, std, tmp_path / "s.pickle")
    loaded_mean, loaded_std = load_statistics_pickle(tmp_path / "s.pickle")
    assert loaded_mean.dtype == np.float64 and np.array_equal(loaded_mean, mean) and np.array_equal(loaded_std, std)


class _CreatesFile:
    """Unpickling this would create a file: the marker must never appear."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_in_place_of_rsa_file_does_not_execute(tmp_path) -> None:
    marker = tmp_path / "pwned"
    torch_zip = tmp_path / "model_pcc_0.pt"
    torch.save({"model": _CreatesFile(str(marker))}, torch_zip)
    raw = tmp_path / "model_pcc_1.pt"
    raw.write_bytes(pickle.dumps(_CreatesFile(str(marker)), protocol=2))
    for path in (torch_zip, raw):
        with pytest.raises(RnamsmError, match="refusing|not a torch checkpoint"):
            load_official_rsa(path)
        assert not marker.exists()
    stats = tmp_path / "statistic_dict_emb.pickle"
    stats.write_bytes(pickle.dumps({"mu": _CreatesFile(str(marker)), "std": np.ones(3)}))
    with pytest.raises(RnamsmError, match="refusing"):
        load_statistics_pickle(stats)
    assert not marker.exists()


def test_official_named_module_with_a_foreign_global_is_refused(tmp_path) -> None:
    marker = tmp_path / "pwned"
    model = RSANet(8 + 1, 16)
    model.final.extra = _CreatesFile(str(marker))  # a stray attribute holding a reduce payload
    path = tmp_path / "model_pcc_2.pt"
    save_official_rsa(model, path)
    with pytest.raises(RnamsmError, match="unexpected pickled globals .*open"):
        load_official_rsa(path)
    assert not marker.exists()


def test_wrong_module_tree_is_refused(tmp_path) -> None:
    model = RSANet(8 + 1, 16)
    model.net[0].append(model.net[1][0])  # a transformer block where only the SE block belongs
    path = tmp_path / "model_pcc_3.pt"
    save_official_rsa(model, path)
    with pytest.raises(RnamsmError, match="unexpected module 'net.0.1'"):
        load_official_rsa(path)
