"""The RNA-MSM SS head: a 2-D pre-activation ResNet over one-hot pairs and attention maps.

Parameter names follow the official ``renet_b16`` ``state_dict`` (``model/rna-msm_attention.pt``)
so that file loads with ``strict=True``: ``conv1`` (stem, with bias), ``layer1.N.{bn1, conv1, bn2,
conv2}`` (bias-free 3x3 then 5x5 convolutions), ``bn1`` and ``fc1`` (tail). Every ``bn*`` is a
LayerNorm over channels (eps 1e-5). The official sizes are 128 input channels (8 one-hot + 120
attention maps), width 48 and 16 blocks; ours are read from the weights.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: One-hot alphabet of the heads (alphabetical, unlike the language model's A G C U).
HEAD_ALPHABET = "ACGU"
#: Pairwise one-hot channels in front of the attention maps: one-hot(i) then one-hot(j).
PAIR_ONEHOT_CHANNELS = 8


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channel axis of (B, C, H, W) maps, as the official permute-LN-permute."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class PreActBlock(nn.Module):
    """``x + conv5x5(drop(relu(LN(conv3x3(drop(relu(LN(x))))))))``, bias-free convolutions."""

    def __init__(self, width: int, dropout: float = 0.25) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, kernel_size=3, padding=1, bias=False)
        self.bn1 = ChannelLayerNorm(width)
        self.conv2 = nn.Conv2d(width, width, kernel_size=5, padding=2, bias=False)
        self.bn2 = ChannelLayerNorm(width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.drop(torch.relu(self.bn1(x))))
        out = self.conv2(self.drop(torch.relu(self.bn2(out))))
        return x + out


class SSResNet(nn.Module):
    """Pair features (B, C_in, L, L) -> base-pair logits (B, L, L); apply a sigmoid for probabilities."""

    def __init__(self, in_channels: int = 128, width: int = 48, num_blocks: int = 16) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, padding=1)
        self.layer1 = nn.Sequential(*[PreActBlock(width) for _ in range(num_blocks)])
        self.bn1 = ChannelLayerNorm(width)
        self.fc1 = nn.Linear(width, 1)

    @property
    def num_maps(self) -> int:
        """Attention maps the head expects after the 8 one-hot channels."""
        return self.conv1.in_channels - PAIR_ONEHOT_CHANNELS

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.layer1(self.conv1(features))  # (B, width, L, L)
        x = torch.relu(self.bn1(x)).permute(0, 2, 3, 1)  # (B, L, L, width)
        return self.fc1(x).squeeze(-1)  # (B, L, L)

    @classmethod
    def from_state_dict(cls, state_dict: dict[str, torch.Tensor]) -> SSResNet:
        """Build a network whose sizes match ``state_dict`` and load it strictly."""
        width, in_channels = state_dict["conv1.weight"].shape[:2]
        num_blocks = len({key.split(".")[1] for key in state_dict if key.startswith("layer1.")})
        model = cls(int(in_channels), int(width), num_blocks)
        model.load_state_dict(state_dict, strict=True)
        return model.eval()


def one_hot(sequence: str) -> np.ndarray:
    """One-hot in A C G U order (any other letter gives zeros) -> float32 (L, 4)."""
    codes = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
    letters = np.frombuffer(HEAD_ALPHABET.encode("ascii"), dtype=np.uint8)
    return (codes[:, None] == letters[None, :]).astype(np.float32)


def ss_features(sequence: str, attention_maps: np.ndarray) -> torch.Tensor:
    """SS head input: one-hot(i), one-hot(j), then the raw attention maps -> float32 (1, 8+M, L, L).

    ``attention_maps``: (M, L, L), channel = layer * heads + head.
    """
    length = len(sequence)
    if attention_maps.shape[1:] != (length, length):
        raise ValueError(f"attention maps are {attention_maps.shape[1:]} for a sequence of {length} nt")
    onehot = one_hot(sequence)  # (L, 4)
    pair_i = np.broadcast_to(onehot.T[:, :, None], (4, length, length))
    pair_j = np.broadcast_to(onehot.T[:, None, :], (4, length, length))
    stacked = np.concatenate([pair_i, pair_j, attention_maps.astype(np.float32, copy=False)], axis=0)
    return torch.from_numpy(np.ascontiguousarray(stacked))[None]


@torch.inference_mode()
def predict_ss_probabilities(model: SSResNet, sequence: str, attention_maps: np.ndarray) -> np.ndarray:
    """Run the SS head in eval mode -> float32 (L, L) probabilities (not symmetric)."""
    if attention_maps.shape[0] != model.num_maps:
        raise ValueError(
            f"the head expects {model.num_maps} attention maps, the features have {attention_maps.shape[0]}"
        )
    model.eval()
    device = next(model.parameters()).device
    logits = model(ss_features(sequence, attention_maps).to(device))
    return torch.sigmoid(logits)[0].float().cpu().numpy()
