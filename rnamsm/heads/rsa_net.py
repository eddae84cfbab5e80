"""The RNA-MSM RSA head: an SE-ResNet1D block, a transformer block and a sigmoid, per nucleotide.

Parameter names follow the official pickled ``FrameModel`` (``net.0.0.*`` SE block, ``net.1.N.*``
transformer blocks, ``final``), so the tensors read from the official files load with
``strict=True``. Inputs are ``concat[(onehot - mu) / std, (emb - mu) / std, mask]`` (773 channels
officially; 769 without the one-hot); the last channel is the mask and also flows through the net.
Always evaluated with eval semantics (BatchNorm running statistics, no dropout).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rnamsm.heads.ss_resnet import one_hot

LOGGER = logging.getLogger(__name__)

#: Maximum accessible surface area per nucleotide (Å²), the RNAsnap2 / RNA-MSM convention.
MAX_ASA = {"A": 400.0, "G": 400.0, "C": 350.0, "U": 350.0}
#: Scale used for any other letter (ours; the official code picks a random base's scale).
OTHER_BASE_ASA = 375.0
#: Attention heads of the official transformer block.
NUM_ATTENTION_HEADS = 8


class SEResBlock1d(nn.Module):
    """Two masked conv-BN-ReLU layers, squeeze-excitation, and a 1x1 conv-BN shortcut."""

    def __init__(self, in_channels: int, planes: int, dropout: float = 0.4) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(in_channels, planes, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm1d(planes)
        self.dr1 = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(planes, planes, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm1d(planes)
        self.dr2 = nn.Dropout(dropout)
        self.shortcut = nn.Sequential(nn.Conv1d(in_channels, planes, kernel_size=1, bias=False), nn.BatchNorm1d(planes))
        self.fc1 = nn.Conv1d(planes, planes // 16, kernel_size=1)
        self.fc2 = nn.Conv1d(planes // 16, planes, kernel_size=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = mask * self.dr1(F.relu(self.bn1(self.conv1(x))))  # (B, planes, L)
        out = mask * self.dr2(F.relu(self.bn2(self.conv2(out))))
        weight = torch.sigmoid(self.fc2(F.relu(self.fc1(F.avg_pool1d(out, out.shape[2])))))  # (B, planes, 1)
        return F.relu(out * weight + self.shortcut(x))


class MaskedSelfAttention(nn.Module):
    """Multi-head self-attention; pairs with ``m_i * m_j == 0`` are excluded (NaN rows become 0)."""

    def __init__(self, width: int, num_heads: int = NUM_ATTENTION_HEADS, dropout: float = 0.1) -> None:
        super().__init__()
        self.key = nn.Linear(width, width)
        self.query = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.attn_drop = nn.Dropout(dropout)
        self.resid_drop = nn.Dropout(dropout)
        self.proj = nn.Linear(width, width)
        self.num_heads = num_heads

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape  # x: (B, L, W); mask: (B, 1, L)
        head_dim = width // self.num_heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.num_heads, head_dim).transpose(1, 2)  # (B, H, L, d)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(head_dim))  # (B, H, L, L)
        pair_mask = mask.transpose(1, 2) @ mask  # (B, L, L)
        scores = scores.masked_fill(pair_mask[:, None] == 0, float("-inf"))
        attention = torch.softmax(scores, dim=-1)
        attention = self.attn_drop(attention.masked_fill(attention.isnan(), 0.0))
        out = (attention @ v).transpose(1, 2).reshape(batch, length, width)
        return self.resid_drop(self.proj(out))


class TransformerBlock(nn.Module):
    """Pre-LN transformer block on (B, W, L) features, re-masked after each residual."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.ln2 = nn.LayerNorm(width)
        self.attn = MaskedSelfAttention(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width), nn.Dropout(0.1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = x.transpose(1, 2)  # (B, L, W)
        h = h + self.attn(self.ln1(h), mask)
        h = h * mask.transpose(1, 2)
        h = h + self.mlp(self.ln2(h))
        return (h * mask.transpose(1, 2)).transpose(1, 2)  # (B, W, L)


class RSANet(nn.Module):
    """Per-nucleotide input (B, C_in, L), mask last -> RSA in [0, 1] (B, L)."""

    def __init__(self, in_channels: int = 773, planes: int = 64, depth: int = 1) -> None:
        super().__init__()
        self.net = nn.ModuleList(
            [
                nn.ModuleList([SEResBlock1d(in_channels, planes)]),
                nn.ModuleList([TransformerBlock(planes) for _ in range(depth)]),
            ]
        )
        self.final = nn.Linear(planes, 1)

    @property
    def in_channels(self) -> int:
        """Input channels, mask included."""
        return self.net[0][0].conv1.in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = x[:, -1:, :]  # (B, 1, L)
        for stage in self.net:
            for block in stage:
                x = block(x, mask)
        return torch.sigmoid(self.final(x.transpose(1, 2))).squeeze(-1)  # (B, L)

    @classmethod
    def from_state_dict(cls, state_dict: dict[str, torch.Tensor]) -> RSANet:
        """Build a network whose sizes match ``state_dict`` and load it strictly."""
        planes, in_channels = state_dict["net.0.0.conv1.weight"].shape[:2]
        depth = len({key.split(".")[2] for key in state_dict if key.startswith("net.1.")})
        model = cls(int(in_channels), int(planes), depth)
        model.load_state_dict(state_dict, strict=True)
        return model.eval()


@dataclass(frozen=True)
class RsaStatistics:
    """Z-scoring statistics: embedding ``(D,)`` float32 and, for the one-hot variant, ``(4,)`` float64."""

    embedding_mean: np.ndarray
    embedding_std: np.ndarray
    onehot_mean: np.ndarray | None = None
    onehot_std: np.ndarray | None = None

    @property
    def uses_onehot(self) -> bool:
        """True for the 773-channel (one-hot + embedding + mask) variant."""
        return self.onehot_mean is not None


def rsa_features(sequence: str, embedding: np.ndarray, stats: RsaStatistics) -> torch.Tensor:
    """RSA head input ``[(onehot-mu)/std, (emb-mu)/std, 1]`` -> float32 (1, C_in, L).

    The arithmetic follows the official script: embedding z-scores in float32, one-hot z-scores in
    float64, concatenated in float64 and cast to float32.
    """
    if embedding.shape[0] != len(sequence):
        raise ValueError(f"embedding has {embedding.shape[0]} rows for a sequence of {len(sequence)} nt")
    embedding = embedding.astype(np.float32, copy=False)
    parts = [(embedding - stats.embedding_mean) / stats.embedding_std]
    if stats.uses_onehot:
        parts.insert(0, (one_hot(sequence).astype(np.float64) - stats.onehot_mean) / stats.onehot_std)
    parts.append(np.ones((len(sequence), 1)))
    stacked = np.concatenate(parts, axis=1).astype(np.float32)  # (L, C_in)
    return torch.from_numpy(np.ascontiguousarray(stacked.T))[None]


def asa_scale(sequence: str) -> np.ndarray:
    """Per-residue maximum ASA (Å²) -> float64 (L,); logs a warning for letters other than A C G U."""
    others = sorted({base for base in sequence if base not in MAX_ASA})
    if others:
        LOGGER.warning("RSA: letters %s have no maximum ASA; using %.0f Å²", "".join(others), OTHER_BASE_ASA)
    return np.array([MAX_ASA.get(base, OTHER_BASE_ASA) for base in sequence], dtype=np.float64)


@torch.inference_mode()
def predict_rsa(model: RSANet, stats: RsaStatistics, sequence: str, embedding: np.ndarray) -> np.ndarray:
    """One model's RSA -> float32 (L,)."""
    model.eval()
    features = rsa_features(sequence, embedding, stats)
    if features.shape[1] != model.in_channels:
        raise ValueError(f"the head expects {model.in_channels} input channels, the features give {features.shape[1]}")
    device = next(model.parameters()).device
    return model(features.to(device))[0].float().cpu().numpy()


def ensemble_asa(rsa_per_model: list[np.ndarray], sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """Average ASA over models, then RSA = ASA / scale -> (asa (L,), rsa (L,)) float64."""
    scale = asa_scale(sequence)
    asa = np.mean([rsa.astype(np.float64) * scale for rsa in rsa_per_model], axis=0)
    return asa, asa / scale
