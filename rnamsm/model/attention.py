"""Axial attention of RNA-MSM: tied row attention and column attention, with in-place residuals.

Both modules keep the official parameter names (``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``) and
work on activations laid out ``(B, R, C, D)``. They add their output to ``x`` in place, chunk by chunk,
so that no tensor of size R*R*C or R*C*C per head is ever materialised and memory stays linear in R*C:

- row attention builds one ``(H, C, C)`` map per MSA (scores summed over row chunks) and applies it to
  every row;
- column attention runs :func:`torch.nn.functional.scaled_dot_product_attention` over column chunks.

Padding follows the official code: ``q`` is zeroed on padded tokens, key columns where row 0 is padding
and padded key rows get a finite ``-10000`` score (never ``-inf``, so fully padded columns stay finite).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

Norm = Callable[[torch.Tensor], torch.Tensor]

#: Score given to masked keys (the official finite fill).
MASKED_SCORE = -10000.0


def chunk_ranges(total: int, size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(total)`` in steps of ``size``."""
    return [(start, min(start + size, total)) for start in range(0, total, size)]


class _Projections(nn.Module):
    """The four ``embed_dim x embed_dim`` projections of one attention module, split into heads."""

    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)


class RowSelfAttention(_Projections):
    """Tied row attention: one attention map per head shared by all rows, scaled by ``d**-0.5 / sqrt(R)``."""

    def _by_head(self, t: torch.Tensor) -> torch.Tensor:
        """``(B, n, C, D)`` -> ``(B, H, C, n*d)``: the rows of a chunk concatenated per column and head."""
        batch, rows, cols, _ = t.shape
        t = t.view(batch, rows, cols, self.num_heads, self.head_dim).permute(0, 3, 2, 1, 4)
        return t.reshape(batch, self.num_heads, cols, rows * self.head_dim)

    def residual_(self, x: torch.Tensor, norm: Norm, padding_mask: torch.Tensor | None,
                  rows_per_chunk: int) -> torch.Tensor:
        """``x += out_proj(attention(norm(x)))`` in place; returns the maps ``(B, H, C, C)`` in float32.

        ``x``: ``(B, R, C, D)``; ``padding_mask``: ``(B, R, C)`` bool, True on padding, or None.
        """
        batch, rows, cols, _ = x.shape
        scale = self.head_dim**-0.5 / math.sqrt(rows)  # R counts padded rows, as in the official code
        scores = torch.zeros(batch, self.num_heads, cols, cols, dtype=torch.float32, device=x.device)
        # V' = values of all rows per column and head (B, H, C, R*d): the size of x, needed after the softmax.
        values = torch.empty(batch, self.num_heads, cols, rows * self.head_dim, dtype=x.dtype, device=x.device)
        chunks = chunk_ranges(rows, rows_per_chunk)
        for start, stop in chunks:
            h = norm(x[:, start:stop])
            q = self.q_proj(h).mul_(scale)
            if padding_mask is not None:
                q.mul_(~padding_mask[:, start:stop, :, None])
            scores += torch.matmul(self._by_head(q), self._by_head(self.k_proj(h)).transpose(-1, -2)).float()
            values[..., start * self.head_dim : stop * self.head_dim] = self._by_head(self.v_proj(h))
            del h, q
        if padding_mask is not None:
            scores.masked_fill_(padding_mask[:, 0][:, None, None, :], MASKED_SCORE)
        probs = scores.softmax(-1)
        probs_x = probs.to(x.dtype)
        for start, stop in chunks:
            n = stop - start
            context = torch.matmul(probs_x, values[..., start * self.head_dim : stop * self.head_dim])
            context = context.view(batch, self.num_heads, cols, n, self.head_dim).permute(0, 3, 2, 1, 4)
            x[:, start:stop] += self.out_proj(context.reshape(batch, n, cols, -1))
        return probs


class ColumnSelfAttention(_Projections):
    """Standard attention over the rows of each column, scaled by ``d**-0.5``."""

    def _by_column(self, t: torch.Tensor) -> torch.Tensor:
        """``(B, R, m, D)`` -> ``(B*m, H, R, d)``."""
        batch, rows, cols, _ = t.shape
        t = t.view(batch, rows, cols, self.num_heads, self.head_dim).permute(0, 2, 3, 1, 4)
        return t.reshape(batch * cols, self.num_heads, rows, self.head_dim)

    def residual_(self, x: torch.Tensor, norm: Norm, padding_mask: torch.Tensor | None, cols_per_chunk: int,
                  query_rows: int | None = None, need_weights: bool = False) -> torch.Tensor | None:
        """``x[:, :query_rows] += out_proj(attention(norm(x)))`` in place, chunked over columns.

        ``query_rows`` limits the rows whose output is computed (all by default; keys and values always
        use every row). With ``need_weights`` the maps ``(B, H, C, R, R)`` are returned (tests only: this
        is the one tensor that grows as C*R*R).
        """
        batch, rows, cols, dim = x.shape
        query_rows = rows if query_rows is None else query_rows
        maps = []
        for start, stop in chunk_ranges(cols, cols_per_chunk):
            width = stop - start
            h = norm(x[:, :, start:stop])
            if rows == 1:  # one key: softmax is 1, output = out_proj(v_proj(x)), as in the official code
                x[:, :, start:stop] += self.out_proj(self.v_proj(h))
                if need_weights:
                    maps.append(torch.ones(batch, self.num_heads, width, 1, 1, device=x.device))
                continue
            q = self._by_column(self.q_proj(h[:, :query_rows]))
            k = self._by_column(self.k_proj(h))
            v = self._by_column(self.v_proj(h))
            mask = None
            if padding_mask is not None:
                key_pad = padding_mask[:, :, start:stop].transpose(1, 2).reshape(batch * width, 1, 1, rows)
                mask = torch.zeros(key_pad.shape, dtype=x.dtype, device=x.device).masked_fill_(key_pad, MASKED_SCORE)
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B*m, H, Rq, d)
            context = context.view(batch, width, self.num_heads, query_rows, self.head_dim).permute(0, 3, 1, 2, 4)
            x[:, :query_rows, start:stop] += self.out_proj(context.reshape(batch, query_rows, width, dim))
            if need_weights:
                scores = torch.matmul(q.float() * self.head_dim**-0.5, k.float().transpose(-1, -2))
                if padding_mask is not None:
                    scores.masked_fill_(key_pad, MASKED_SCORE)
                probs = scores.softmax(-1).view(batch, width, self.num_heads, query_rows, rows)
                maps.append(probs.transpose(1, 2))
        return torch.cat(maps, dim=2) if need_weights else None
