"""The official RNA-MSM contact head: sum-symmetrised, APC-corrected row attentions -> logistic regression.

Input maps keep ``<cls>`` (dropped here); channel order is ``layer * heads + head``. The regression's
released values may not be fitted (official inference never uses the head); it is reproduced exactly.
"""

from __future__ import annotations

import torch
from torch import nn


def symmetrize(maps: torch.Tensor) -> torch.Tensor:
    """``a + a^T`` over the last two axes."""
    return maps + maps.transpose(-1, -2)


def apc(maps: torch.Tensor) -> torch.Tensor:
    """Average product correction per channel: ``a - rowsum * colsum / total``."""
    row = maps.sum(-1, keepdim=True)
    col = maps.sum(-2, keepdim=True)
    total = maps.sum((-1, -2), keepdim=True)
    return maps - row * col / total


class ContactPredictionHead(nn.Module):
    """``sigmoid(regression(apc(symmetrize(maps))))`` over ``layers*heads`` channels."""

    def __init__(self, in_features: int):
        super().__init__()
        self.regression = nn.Linear(in_features, 1)

    def forward(self, row_attentions: torch.Tensor) -> torch.Tensor:
        """``row_attentions`` ``(B, layers, heads, C, C)`` with ``<cls>`` first -> contacts ``(B, C-1, C-1)``."""
        batch, layers, heads, cols, _ = row_attentions.shape
        maps = row_attentions[..., 1:, 1:].reshape(batch, layers * heads, cols - 1, cols - 1)
        return self.from_maps(maps)

    def from_maps(self, maps: torch.Tensor) -> torch.Tensor:
        """Maps without ``<cls>`` ``(B, layers*heads, L, L)`` -> contacts ``(B, L, L)``, computed in float32."""
        features = apc(symmetrize(maps.float()))
        weight = self.regression.weight.float()[0]
        logits = torch.einsum("bcij,c->bij", features, weight) + self.regression.bias.float()
        return torch.sigmoid(logits)
