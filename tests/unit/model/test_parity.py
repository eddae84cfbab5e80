"""Parity of our RNA-MSM with the oracle fixture (multimolecule 0.2.2 on seeded random weights).

The fixture (``tests/data/oracle``, copied from ``../shared/oracle/tiny_seed0`` with ``vocab.txt``
written from ``fixture.npz['vocab']``) is compared only where ``attention_mask`` is true, within 1e-5.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from rnamsm.model import load_checkpoint
from rnamsm.model.alphabet import OFFICIAL_TOKENS, pad_msas, tokenize_msa
from tests.conftest import ORACLE

TOL = 1e-5


@pytest.fixture(scope="module")
def fixture() -> dict[str, np.ndarray]:
    with np.load(ORACLE / "fixture.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module", params=["official", "hf-folder"])
def model(request):
    source = ORACLE / "official_format.pt" if request.param == "official" else ORACLE
    loaded = load_checkpoint(source, device="cpu")
    assert loaded.checkpoint.format == request.param
    return loaded


def _max_diff(ours: torch.Tensor, ref: np.ndarray, mask: torch.Tensor) -> float:
    return float((ours.float() - torch.from_numpy(ref)).abs()[mask.expand_as(ours)].max())


def _compare(model, fixture, prefix: str) -> dict[str, float]:
    tokens = torch.from_numpy(fixture[f"{prefix}official_input_ids"])
    real = torch.from_numpy(fixture[f"{prefix}attention_mask"])  # (B, R, C)
    out = model(tokens, repr_layers=(0, 1, 2), need_head_weights=True, return_contacts=not prefix,
                need_column_weights=True)
    diffs = {}
    for layer in range(3):
        diffs[f"hidden_{layer}"] = _max_diff(out["representations"][layer], fixture[f"{prefix}hidden_states"][layer],
                                             real[..., None])
    diffs["logits"] = _max_diff(out["logits"], fixture[f"{prefix}official_logits_lm"], real[..., None])
    query = real[:, 0]  # (B, C): row maps are compared where i and j are real in row 0
    row_mask = (query[:, None, None, :, None] & query[:, None, None, None, :])
    diffs["row_attentions"] = _max_diff(out["row_attentions"], fixture[f"{prefix}row_attentions"], row_mask)
    columns = real.transpose(1, 2)  # (B, C, R): a column map entry needs both rows real in that column
    column_mask = (columns[:, None, None, :, :, None] & columns[:, None, None, :, None, :])
    diffs["col_attentions"] = _max_diff(out["column_attentions"], fixture[f"{prefix}col_attentions"], column_mask)
    if not prefix:
        expected = torch.from_numpy(fixture["contacts_official_formula"])
        diffs["contacts"] = float((out["contacts"] - expected).abs().max())
    return diffs


@pytest.mark.parametrize("prefix", ["", "pad_"], ids=["single", "padded-batch"])
def test_oracle_parity(model, fixture, prefix):
    diffs = _compare(model, fixture, prefix)
    assert max(diffs.values()) <= TOL, diffs
    assert len(diffs) == (7 if not prefix else 6)


def test_tokenizer_reproduces_oracle_ids(fixture):
    """Our tokeniser, from the meta MSA strings, gives the official ids (the N stays token N here)."""
    import json

    meta = json.loads((ORACLE / "meta.json").read_text())
    assert torch.equal(tokenize_msa(meta["msa"])[None], torch.from_numpy(fixture["official_input_ids"]))
    batch = pad_msas([tokenize_msa(meta["msa"]), tokenize_msa(meta["msa_pad"])])
    assert torch.equal(batch, torch.from_numpy(fixture["pad_official_input_ids"]))
    hf_vocab = list(fixture["vocab"])
    as_hf = torch.from_numpy(fixture["official_input_ids"]).clone().apply_(lambda i: hf_vocab.index(OFFICIAL_TOKENS[i]))
    assert torch.equal(as_hf, torch.from_numpy(fixture["input_ids"]))


def test_chunked_path_matches(model, fixture):
    """The official chunking threshold (tiny here) changes only the summation order."""
    tokens = torch.from_numpy(fixture["pad_official_input_ids"])
    full = model(tokens, repr_layers=(2,), need_head_weights=True)
    config = model.config
    model.config = dataclasses.replace(config, max_tokens_per_msa=20)  # embedding: one row per chunk
    for layer in model.layers:
        layer.max_tokens_per_msa = 20  # rows of one column / columns of one row per chunk
    try:
        chunked = model(tokens, repr_layers=(0, 2), need_head_weights=True)
    finally:
        model.config = config
        for layer in model.layers:
            layer.max_tokens_per_msa = config.max_tokens_per_msa
    assert torch.equal(chunked["representations"][0], model(tokens, repr_layers=(0,))["representations"][0])
    real = torch.from_numpy(fixture["pad_attention_mask"])[..., None].expand(2, 4, 21, 64)
    assert float((full["representations"][2] - chunked["representations"][2]).abs()[real].max()) < 1e-6
    assert float((full["row_attentions"] - chunked["row_attentions"]).abs().max()) < 1e-6


def test_query_only_matches_full(model, fixture):
    """Carrying only row 0 past the last row attention gives the same query row, maps and logits."""
    tokens = torch.from_numpy(fixture["official_input_ids"])
    full = model(tokens, repr_layers=(2,), need_head_weights=True)
    query = model(tokens, repr_layers=(2,), need_head_weights=True, query_only=True)
    assert query["representations"][2].shape == (1, 1, 21, 64)
    assert float((full["representations"][2][:, :1] - query["representations"][2]).abs().max()) < 1e-6
    assert torch.equal(full["row_attentions"], query["row_attentions"])
    assert float((full["logits"][:, :1] - query["logits"]).abs().max()) < 1e-5


def test_depth_padding_changes_results(model, fixture):
    """Spec pitfall 1: a 3-row MSA alone differs from the same MSA padded to 4 rows (tied scale uses R)."""
    import json

    meta = json.loads((ORACLE / "meta.json").read_text())
    alone = model(tokenize_msa(meta["msa_pad"])[None], repr_layers=(2,))["representations"][2][0]
    padded = torch.from_numpy(fixture["pad_last_hidden_state"][1, :3, :17])
    assert float((alone - padded).abs().max()) > 1e-3


def test_hf_eps_parity_uses_config_epsilons(tmp_path, fixture):
    """A published-style config (1e-12) is ignored by default and honoured with ``hf_eps_parity``."""
    import json
    import shutil

    folder = tmp_path / "hf"
    shutil.copytree(ORACLE, folder)
    config = json.loads((folder / "config.json").read_text())
    config["layer_norm_eps"] = config["lm_head"]["layer_norm_eps"] = 1e-12
    (folder / "config.json").write_text(json.dumps(config))
    default = load_checkpoint(folder, device="cpu")
    parity = load_checkpoint(folder, device="cpu", hf_eps_parity=True)
    assert (default.config.emb_layer_norm_eps, default.config.lm_head_layer_norm_eps) == (1e-5, 1e-5)
    assert (parity.config.emb_layer_norm_eps, parity.config.final_layer_norm_eps,
            parity.config.lm_head_layer_norm_eps, parity.config.layer_norm_eps) == (1e-12, 1e-12, 1e-12, 1e-5)
    tokens = torch.from_numpy(fixture["official_input_ids"])
    assert max(_compare(default, fixture, "").values()) <= TOL
    differs = float((default(tokens)["logits"] - parity(tokens)["logits"]).abs().max())
    assert 0 < differs < 1e-2


def test_fixture_copy_matches_shared(shared_dir):
    """The copy in tests/data is byte-identical to ../shared/oracle/tiny_seed0 (vocab.txt written from the npz)."""
    source = shared_dir / "oracle" / "tiny_seed0"
    for name in ("config.json", "model.safetensors", "official_format.pt", "fixture.npz", "meta.json"):
        assert (ORACLE / name).read_bytes() == (source / name).read_bytes(), name
    with np.load(source / "fixture.npz") as data:
        assert (ORACLE / "vocab.txt").read_text().split("\n") == list(data["vocab"])
