"""SS post-processing: the official example and hand-made multiplet, canonical and hairpin cases."""

from __future__ import annotations

import numpy as np

from rnamsm.formats.structure import read_prob_text, read_structure
from rnamsm.heads.postprocess import PairCallOptions, call_pairs, remove_multiplets, threshold_pairs
from tests.conftest import RNAMSM_EXAMPLE


def test_official_2drb1_prob_reproduces_official_bpseq_and_ct() -> None:
    prob = read_prob_text(RNAMSM_EXAMPLE / "2DRB_1.prob")
    reference = read_structure(RNAMSM_EXAMPLE / "2DRB_1.bpseq")
    assert prob.shape == (35, 35)
    thresholded = threshold_pairs(prob, 0.516)
    assert len(thresholded) == 14
    assert (13, 17) in thresholded and (13, 19) in thresholded
    assert round(prob[12, 16], 3) == 0.595 and round(prob[12, 18], 3) == 0.517
    pairs = call_pairs(prob, reference.sequence, PairCallOptions())
    assert (13, 19) not in pairs
    assert len(pairs) == 13
    assert set(pairs) == reference.pairs
    assert set(pairs) == read_structure(RNAMSM_EXAMPLE / "2DRB_1.ct").pairs


def test_only_upper_triangle_is_used() -> None:
    prob = np.zeros((5, 5))
    prob[4, 0] = 0.99  # lower triangle: ignored
    prob[0, 1] = 0.6  # neighbours are allowed
    assert call_pairs(prob, "GCAUG", PairCallOptions()) == [(1, 2)]


def test_threshold_is_strict() -> None:
    prob = np.zeros((4, 4), dtype=np.float32)
    prob[0, 3] = np.float32(0.516)
    assert threshold_pairs(prob, 0.516) == []
    prob[0, 3] = np.nextafter(np.float32(0.516), np.float32(1))
    assert threshold_pairs(prob, 0.516) == [(1, 4)]


def test_multiplets_removed_round_by_round_lowest_first() -> None:
    # base 1 pairs with 5 (0.9) and 6 (0.7); base 6 also pairs with 2 (0.8).
    # Round 1: base 1 marks (1,6) (lowest of its group), base 6 marks (1,6) too -> only (1,6) goes.
    prob = np.zeros((8, 8))
    prob[0, 4], prob[0, 5], prob[1, 5] = 0.9, 0.7, 0.8
    assert remove_multiplets([(1, 5), (1, 6), (2, 6)], prob) == [(1, 5), (2, 6)]
    # A chain 1-5 (0.6), 2-5 (0.9), 2-7 (0.8): base 2 marks (2,7), base 5 marks (1,5): both removed at once.
    prob = np.zeros((8, 8))
    prob[0, 4], prob[1, 4], prob[1, 6] = 0.6, 0.9, 0.8
    assert remove_multiplets([(1, 5), (2, 5), (2, 7)], prob) == [(2, 5)]


def test_multiplet_tie_drops_the_first_in_row_major_order() -> None:
    prob = np.zeros((6, 6))
    prob[0, 3] = prob[0, 4] = 0.7
    assert remove_multiplets([(1, 4), (1, 5)], prob) == [(1, 5)]


def test_canonical_filter_and_minimum_hairpin() -> None:
    sequence = "GAAACAAAAU"
    prob = np.zeros((10, 10))
    prob[0, 4] = 0.9  # G-C, 3 enclosed bases
    prob[1, 9] = 0.9  # A-U
    prob[2, 3] = 0.9  # A-A, non-canonical, 0 enclosed
    assert call_pairs(prob, sequence, PairCallOptions()) == [(1, 5), (2, 10), (3, 4)]
    assert call_pairs(prob, sequence, PairCallOptions(canonical_only=True)) == [(1, 5), (2, 10)]
    assert call_pairs(prob, sequence, PairCallOptions(min_hairpin=4)) == [(2, 10)]
