"""Training losses of one example: SS binary cross-entropy over the upper triangle, RSA squared error."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rnamsm.evaluation.rsa_metrics import valid_mask
from rnamsm.heads.rsa_net import RSANet, RsaStatistics, rsa_features
from rnamsm.heads.ss_resnet import SSResNet, ss_features
from rnamsm.training.examples import Example


def _ss_target(example: Example) -> tuple[torch.Tensor, torch.Tensor]:
    length = len(example.sequence)
    target = torch.zeros(length, length)
    for i, j in example.pairs or ():
        target[i - 1, j - 1] = 1.0
    upper = torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)
    return target, upper


def ss_loss(model: SSResNet, example: Example, device: torch.device) -> torch.Tensor:
    """Mean binary cross-entropy over the upper triangle of one example."""
    target, upper = _ss_target(example)
    logits = model(ss_features(example.sequence, example.attention_maps).to(device))[0]  # (L, L)
    return nn.functional.binary_cross_entropy_with_logits(logits[upper.to(device)], target.to(device)[upper.to(device)])


def rsa_loss(model: RSANet, stats: RsaStatistics, example: Example, device: torch.device) -> torch.Tensor:
    """Mean squared error over the valid residues of one example."""
    valid = torch.from_numpy(valid_mask(example.sequence, example.rsa)).to(device)
    prediction = model(rsa_features(example.sequence, example.embedding, stats).to(device))[0]  # (L,)
    target = torch.from_numpy(example.rsa.astype(np.float32)).to(device)
    return ((prediction - target)[valid] ** 2).mean() if bool(valid.any()) else prediction.sum() * 0.0
