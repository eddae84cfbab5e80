"""The SS head's recorded threshold: the one with the best pooled F1 on the validation set."""

from __future__ import annotations

import torch

from rnamsm.evaluation.structure_metrics import Counts, scores
from rnamsm.heads.postprocess import OFFICIAL_THRESHOLD, PairCallOptions, call_pairs
from rnamsm.heads.ss_resnet import SSResNet, ss_features
from rnamsm.training.examples import Example

#: Thresholds tried on the validation set for the SS head's recorded threshold.
THRESHOLD_GRID = tuple(round(0.05 + 0.01 * step, 2) for step in range(91))


def choose_threshold(model: SSResNet, validation: list[Example], device: torch.device) -> tuple[float, float]:
    """(threshold, its F1): the grid threshold with the best pooled F1 on the validation set (ties: the lower)."""
    with torch.no_grad():
        probabilities = [
            torch.sigmoid(model(ss_features(ex.sequence, ex.attention_maps).to(device)))[0].cpu().numpy()
            for ex in validation
        ]
    best = (OFFICIAL_THRESHOLD, -1.0)
    for threshold in THRESHOLD_GRID:
        total = Counts(0, 0, 0, 0)
        for example, prob in zip(validation, probabilities):
            called = set(call_pairs(prob, example.sequence, PairCallOptions(threshold)))
            tp = len(called & set(example.pairs or ()))
            total = total + Counts(tp, len(called) - tp, len(example.pairs or ()) - tp, 0)
        f1 = scores(total)["f1"]
        if f1 > best[1]:
            best = (threshold, f1)
    return best
