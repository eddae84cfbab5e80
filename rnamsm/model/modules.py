"""Building blocks of RNA-MSM: the axial transformer layer, its FFN and residual wrapper, the LM head.

Parameter names follow the official ``modules.py`` so that ``RNA_MSM_pretrained.ckpt`` loads strictly.
Activations are ``(B, R, C, D)``; every block adds its output to ``x`` in place (pre-LN residuals) and is
chunked over rows or columns (at most :data:`CHUNK_TOKENS` tokens at a time), like the official no-grad
path does above ``max_tokens_per_msa``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rnamsm.model.attention import ColumnSelfAttention, RowSelfAttention, chunk_ranges

#: Most tokens (rows x columns) one projection or FFN chunk handles. This bounds the temporaries (the FFN
#: intermediate is 4x the chunk) at any MSA size; the official code chunks only above
#: ``max_tokens_per_msa`` (16384), and chunking changes nothing but the summation order.
CHUNK_TOKENS = 4096


class FeedForwardNetwork(nn.Module):
    """``fc2(gelu(fc1(x)))`` with the exact (erf) GELU."""

    def __init__(self, embed_dim: int, ffn_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(embed_dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, embed_dim)

    def residual_(self, x: torch.Tensor, norm: nn.Module, rows_per_chunk: int) -> None:
        """``x += fc2(gelu(fc1(norm(x))))`` in place, chunked over rows."""
        for start, stop in chunk_ranges(x.shape[1], rows_per_chunk):
            x[:, start:stop] += self.fc2(F.gelu(self.fc1(norm(x[:, start:stop]))))


class NormalizedResidualBlock(nn.Module):
    """A sub-layer with its own pre-LayerNorm (official names ``layer`` and ``layer_norm``)."""

    def __init__(self, layer: nn.Module, embed_dim: int, eps: float):
        super().__init__()
        self.layer = layer
        self.layer_norm = nn.LayerNorm(embed_dim, eps=eps)


class AxialTransformerLayer(nn.Module):
    """Tied row attention, then column attention, then FFN, each a pre-LN residual block."""

    def __init__(self, embed_dim: int, ffn_dim: int, num_heads: int, eps: float, max_tokens_per_msa: int):
        super().__init__()
        self.max_tokens_per_msa = max_tokens_per_msa
        self.row_self_attention = NormalizedResidualBlock(RowSelfAttention(embed_dim, num_heads), embed_dim, eps)
        self.column_self_attention = NormalizedResidualBlock(
            ColumnSelfAttention(embed_dim, num_heads), embed_dim, eps
        )
        self.feed_forward_layer = NormalizedResidualBlock(FeedForwardNetwork(embed_dim, ffn_dim), embed_dim, eps)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None, query_rows: int | None = None,
                need_column_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Update ``x`` ``(B, R, C, D)`` in place; return ``(x, row maps (B,H,C,C), column maps or None)``.

        With ``query_rows`` only the first rows are carried past the column attention (the others are
        no longer needed after the last layer's row attention) and the returned ``x`` has that many rows.
        """
        _, rows, cols, _ = x.shape
        budget = min(self.max_tokens_per_msa, CHUNK_TOKENS)
        rows_per_chunk = rows if rows * cols <= budget else max(1, budget // cols)
        cols_per_chunk = cols if rows * cols <= budget else max(1, budget // rows)
        row_maps = self.row_self_attention.layer.residual_(
            x, self.row_self_attention.layer_norm, padding_mask, rows_per_chunk
        )
        column_maps = self.column_self_attention.layer.residual_(
            x, self.column_self_attention.layer_norm, padding_mask, cols_per_chunk, query_rows,
            need_column_weights,
        )
        if query_rows is not None:
            x = x[:, :query_rows]
        self.feed_forward_layer.layer.residual_(x, self.feed_forward_layer.layer_norm, rows_per_chunk)
        return x, row_maps, column_maps


class RobertaLMHead(nn.Module):
    """``LN(gelu(dense(x))) @ weight.T + bias`` with ``weight`` tied to the token embedding."""

    def __init__(self, embed_dim: int, weight: nn.Parameter, eps: float):
        super().__init__()
        self.dense = nn.Linear(embed_dim, embed_dim)
        self.layer_norm = nn.LayerNorm(embed_dim, eps=eps)
        self.weight = weight
        self.bias = nn.Parameter(torch.zeros(weight.shape[0]))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.layer_norm(F.gelu(self.dense(features)))
        return F.linear(x, self.weight) + self.bias
