"""Overlapping windows for long MSAs: placement, coverage, and the weighted merge (tiny random models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnamsm.errors import RnamsmError
from rnamsm.model.export import DEMO_CONFIG, demo_state
from rnamsm.model.extract import compute_features, forward_window
from rnamsm.model.msa import Msa
from rnamsm.model.rnamsm import RnaMsm, RnaMsmConfig
from rnamsm.model.windows import window_starts


def _model(config: RnaMsmConfig, seed: int = 0) -> RnaMsm:
    model = RnaMsm(config)
    state = demo_state(config, seed)
    state["lm_head.weight"] = state["embed_tokens.weight"]
    model.load_state_dict(state)
    return model.eval()


def _random_msa(rows: int, length: int, seed: int) -> Msa:
    rng = np.random.default_rng(seed)
    letters = np.array(list("AGCU-"))
    matrix = letters[rng.integers(0, 5, size=(rows, length))]
    matrix[0][matrix[0] == "-"] = "A"  # a gapless query, as from a search
    return Msa(tuple(f"s{i}" for i in range(rows)), tuple("".join(row) for row in matrix))


def test_window_starts_follow_the_spec():
    assert window_starts(35, 1023, 512) == [0]
    assert window_starts(1023, 1023, 512) == [0]
    assert window_starts(1024, 1023, 512) == [0, 1]
    assert window_starts(1500, 1023, 512) == [0, 477]
    assert window_starts(2000, 1023, 512) == [0, 511, 977]
    with pytest.raises(ValueError, match="overlap"):
        window_starts(2000, 1023, 1023)


@settings(max_examples=200, deadline=None)
@given(length=st.integers(1, 6000), width=st.integers(8, 1100), data=st.data())
def test_every_pair_within_the_overlap_shares_a_window(length, width, data):
    overlap = data.draw(st.integers(0, width - 1))
    starts = window_starts(length, width, overlap)
    assert starts[0] == 0 and min(starts[-1] + width, length) == length
    assert all(b - a <= width - overlap for a, b in zip(starts, starts[1:], strict=False))
    # for every i, the last window starting at or before i holds i .. i + overlap (or the end)
    for i in data.draw(st.lists(st.integers(0, length - 1), min_size=1, max_size=20)):
        start = max(s for s in starts if s <= i)
        assert min(i + overlap, length - 1) < start + width


def test_short_msa_is_one_window_identical_to_the_plain_forward():
    model = _model(DEMO_CONFIG)
    msa = _random_msa(6, 40, seed=1)
    features = compute_features(model, msa)
    embedding, maps, contacts = forward_window(model, msa)
    assert features.windows == ((0, 40),)
    assert np.array_equal(features.embedding, embedding) and np.array_equal(features.attention_maps, maps)
    assert np.array_equal(features.contacts, contacts) and features.coverage.all()
    # and the plain forward is the official semantics: query row after the final LN, maps without <cls>
    from rnamsm.model.alphabet import tokenize_msa

    out = model(tokenize_msa(msa.rows)[None], repr_layers=(2,), return_contacts=True)
    assert np.allclose(embedding, out["representations"][2][0, 0, 1:].numpy(), atol=1e-6)
    assert np.array_equal(maps, out["row_attentions"][0, :, :, 1:, 1:].reshape(8, 40, 40).numpy())
    assert np.allclose(contacts, out["contacts"][0].numpy(), atol=1e-6)


def test_long_msa_merge_is_the_weighted_average_of_its_windows():
    """Window 24 (a model with 25 positions), overlap 12, 60 columns: windows at 0, 12, 24, 36."""
    config = RnaMsmConfig(num_layers=2, embed_dim=16, num_heads=2, ffn_dim=32, max_positions=25)
    model = _model(config, seed=3)
    msa = _random_msa(4, 60, seed=2)
    features = compute_features(model, msa, window_overlap=12)
    assert features.windows == ((0, 24), (12, 36), (24, 48), (36, 60))

    length, width = 60, 24
    emb_sum = np.zeros((length, 16))
    emb_weight = np.zeros(length)
    map_sum = np.zeros((4, length, length))
    pair_weight = np.zeros((length, length))
    for start, stop in features.windows:
        embedding, maps, _ = forward_window(model, msa.columns(start, stop))
        for p in range(start, stop):
            w = min(p - start + 1, start + width - p)
            emb_sum[p] += w * embedding[p - start]
            emb_weight[p] += w
        for i in range(start, stop):
            for j in range(start, stop):
                w = min(min(i - start + 1, start + width - i), min(j - start + 1, start + width - j))
                map_sum[:, i, j] += w * maps[:, i - start, j - start]
                pair_weight[i, j] += w
    covered = pair_weight > 0
    assert np.array_equal(features.coverage, covered)
    assert np.allclose(features.embedding, emb_sum / emb_weight[:, None], atol=1e-6)
    assert np.allclose(features.attention_maps[:, covered], (map_sum[:, covered] / pair_weight[covered]), atol=1e-6)
    assert not features.attention_maps[:, ~covered].any() and not features.contacts[~covered].any()
    distance = np.abs(np.subtract.outer(np.arange(length), np.arange(length)))
    assert covered[distance <= 12].all() and not covered[distance >= 36].any()
    # a position inside only the first window keeps that window's embedding
    first, _, _ = forward_window(model, msa.columns(0, 24))
    assert np.allclose(features.embedding[:12], first[:12], atol=1e-6)
    assert features.embedding.dtype == np.float32 and features.attention_maps.dtype == np.float32


def test_msa_longer_than_1023_runs_in_overlapping_windows():
    model = _model(DEMO_CONFIG)
    msa = _random_msa(2, 1100, seed=4)
    with pytest.raises(RnamsmError, match="at most 1023"):
        forward_window(model, msa)
    features = compute_features(model, msa)
    assert features.windows == ((0, 1023), (77, 1100))
    assert features.embedding.shape == (1100, 64) and features.attention_maps.shape == (8, 1100, 1100)
    distance = np.abs(np.subtract.outer(np.arange(1100), np.arange(1100)))
    assert features.coverage[distance <= 512].all()
    assert not features.coverage[0, 1099] and features.contacts[0, 1099] == 0
    assert torch.isfinite(torch.from_numpy(features.attention_maps)).all()
