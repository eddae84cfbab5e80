"""From an SS probability matrix to base pairs, as the official RNA-MSM SS predictor does.

The official rules (``processing_output.py``): use the upper triangle only (``i < j``, neighbours
allowed), call a pair when ``P[i, j] > threshold`` (0.516 for the released head), then resolve
multiplets round by round. Optional filters of ours: canonical pairs only and a minimum hairpin loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnamsm.formats.structure import Pair, is_canonical

#: Threshold of the released RNA-MSM SS head (chosen on its validation set).
OFFICIAL_THRESHOLD = 0.516


@dataclass(frozen=True)
class PairCallOptions:
    """How to turn probabilities into pairs.

    ``threshold``: a pair needs ``P[i, j] > threshold``. ``canonical_only``: keep AU/GC/GU only
    (the official predictor does not filter). ``min_hairpin``: keep only pairs that enclose at
    least this many bases (``j - i - 1 >= min_hairpin``; 0 = official behaviour, no limit).
    """

    threshold: float = OFFICIAL_THRESHOLD
    canonical_only: bool = False
    min_hairpin: int = 0


def threshold_pairs(prob: np.ndarray, threshold: float) -> list[Pair]:
    """Upper-triangle pairs with ``P[i, j] > threshold`` in row-major order, 1-based.

    The comparison happens in the matrix's own dtype (as the official torch code compares a
    float32 tensor with a Python float).
    """
    rows, cols = np.triu_indices(prob.shape[0], k=1)
    values = prob[rows, cols]
    called = values > np.asarray(threshold, dtype=prob.dtype)
    return [(int(i) + 1, int(j) + 1) for i, j in zip(rows[called], cols[called])]


def remove_multiplets(pairs: list[Pair], prob: np.ndarray) -> list[Pair]:
    """Resolve bases in two or more pairs by dropping the lowest-probability pair, round by round.

    Each round: for every such base (in increasing position), mark the lowest-``P`` pair among the
    pairs that contain it (ties: the first in the current pair order); remove all marked pairs at
    once; repeat until no base is shared. ``pairs`` are 1-based and keep their order.
    """
    current = list(pairs)
    while True:
        members: dict[int, list[int]] = {}
        for index, (i, j) in enumerate(current):
            members.setdefault(i, []).append(index)
            members.setdefault(j, []).append(index)
        marked: set[int] = set()
        for base in sorted(base for base, group in members.items() if len(group) > 1):
            group = members[base]
            scores = [prob[current[k][0] - 1, current[k][1] - 1] for k in group]
            marked.add(group[scores.index(min(scores))])
        if not marked:
            return current
        current = [pair for index, pair in enumerate(current) if index not in marked]


def call_pairs(prob: np.ndarray, sequence: str, options: PairCallOptions) -> list[Pair]:
    """Pairs from an (L, L) probability matrix: threshold, optional filters, multiplet removal.

    The filters run before multiplet removal, so a filtered-out pair cannot evict a kept one.
    Returns 1-based pairs sorted by ``(i, j)``.
    """
    pairs = threshold_pairs(prob, options.threshold)
    if options.canonical_only:
        pairs = [pair for pair in pairs if is_canonical(sequence, pair)]
    if options.min_hairpin > 0:
        pairs = [(i, j) for i, j in pairs if j - i - 1 >= options.min_hairpin]
    return sorted(remove_multiplets(pairs, prob))
