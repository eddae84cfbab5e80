"""The RNA-MSM MSA Transformer (inference only), faithful to the official graph.

Forward pass for tokens ``(B, R, C)`` (official ids, ``<cls>`` first on every row, query at row 0):
token embedding + learned positions (``cumsum(~pad) * ~pad + 1``, so ``<cls>`` gets 2) + one learned
*scalar* per MSA row; LayerNorm; padded tokens zeroed; ``num_layers`` axial layers; final LayerNorm; LM
head tied to the token embedding; the official contact head on request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from rnamsm.errors import RnamsmError
from rnamsm.model.alphabet import OFFICIAL_TOKENS, PAD_IDX
from rnamsm.model.contact_head import ContactPredictionHead
from rnamsm.model.modules import CHUNK_TOKENS, AxialTransformerLayer, RobertaLMHead


@dataclass(frozen=True)
class RnaMsmConfig:
    """Hyper-parameters; the defaults are the released model (95,911,301 parameters)."""

    num_layers: int = 10
    embed_dim: int = 768
    num_heads: int = 12
    ffn_dim: int = 3072
    vocab_size: int = len(OFFICIAL_TOKENS)
    #: Tokens per row including ``<cls>`` (the position table has ``max_positions + 2`` rows).
    max_positions: int = 1024
    #: MSA-row embedding slots.
    max_rows: int = 1024
    #: Residual-block LayerNorms (1e-5 in the official code and in multimolecule).
    layer_norm_eps: float = 1e-5
    #: Embedding, final and LM-head LayerNorms: 1e-5 officially; multimolecule's config says 1e-12.
    emb_layer_norm_eps: float = 1e-5
    final_layer_norm_eps: float = 1e-5
    lm_head_layer_norm_eps: float = 1e-5
    #: The official chunking threshold (R*C tokens); ours chunks at ``min(this, CHUNK_TOKENS)``.
    max_tokens_per_msa: int = 16384

    @property
    def max_length(self) -> int:
        """Longest MSA (nt, without ``<cls>``) one forward accepts."""
        return self.max_positions - 1


class RnaMsm(nn.Module):
    """RNA-MSM with official parameter names (the official ``state_dict`` loads with ``strict=True``)."""

    def __init__(self, config: RnaMsmConfig = RnaMsmConfig()):
        super().__init__()
        if config.embed_dim % config.num_heads:
            raise ValueError(f"embed_dim {config.embed_dim} is not divisible by num_heads {config.num_heads}")
        self.config = config
        dim = config.embed_dim
        self.embed_tokens = nn.Embedding(config.vocab_size, dim, padding_idx=PAD_IDX)
        self.embed_positions = nn.Embedding(config.max_positions + PAD_IDX + 1, dim, padding_idx=PAD_IDX)
        self.msa_position_embedding = nn.Parameter(torch.zeros(1, config.max_rows, 1, 1))
        self.emb_layer_norm_before = nn.LayerNorm(dim, eps=config.emb_layer_norm_eps)
        self.layers = nn.ModuleList(
            AxialTransformerLayer(dim, config.ffn_dim, config.num_heads, config.layer_norm_eps,
                                  config.max_tokens_per_msa)
            for _ in range(config.num_layers)
        )
        self.emb_layer_norm_after = nn.LayerNorm(dim, eps=config.final_layer_norm_eps)
        self.lm_head = RobertaLMHead(dim, self.embed_tokens.weight, config.lm_head_layer_norm_eps)
        self.contact_head = ContactPredictionHead(config.num_layers * config.num_heads)
        self.contact_head.requires_grad_(False)

    @property
    def device(self) -> torch.device:
        return self.embed_tokens.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.embed_tokens.weight.dtype

    def embed(self, tokens: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """``representations[0]``: ``(B, R, C, D)`` from tokens ``(B, R, C)``, built in row chunks."""
        batch, rows, cols = tokens.shape
        real = ~padding_mask
        positions = torch.cumsum(real, dim=-1) * real + PAD_IDX
        x = torch.empty(batch, rows, cols, self.config.embed_dim, dtype=self.dtype, device=tokens.device)
        budget = min(self.config.max_tokens_per_msa, CHUNK_TOKENS)
        step = rows if rows * cols <= budget else max(1, budget // cols)
        for start in range(0, rows, step):
            stop = min(start + step, rows)
            chunk = self.embed_tokens(tokens[:, start:stop]) + self.embed_positions(positions[:, start:stop])
            chunk += self.msa_position_embedding[:, start:stop]
            x[:, start:stop] = self.emb_layer_norm_before(chunk).mul_(real[:, start:stop, :, None])
        return x

    @torch.no_grad()
    def forward(
        self,
        tokens: torch.Tensor,
        repr_layers: tuple[int, ...] = (),
        need_head_weights: bool = False,
        return_contacts: bool = False,
        need_column_weights: bool = False,
        return_logits: bool = True,
        query_only: bool = False,
        on_layer: Callable[[int], None] | None = None,
    ) -> dict[str, torch.Tensor | dict[int, torch.Tensor]]:
        """Run the model on int64 tokens ``(B, R, C)``; results follow the official dict.

        - ``logits`` ``(B, R, C, vocab)`` unless ``return_logits`` is False;
        - ``representations[k]`` ``(B, R, C, D)`` for each ``k`` in ``repr_layers`` (0 = embeddings; the
          last layer's is after the final LayerNorm, earlier ones are not);
        - ``row_attentions`` ``(B, layers, H, C, C)`` (float32) with ``need_head_weights``;
        - ``column_attentions`` ``(B, layers, H, C, R, R)`` with ``need_column_weights`` (tests: C*R*R);
        - ``contacts`` ``(B, C-1, C-1)`` with ``return_contacts``.

        ``query_only`` carries only row 0 past the last layer's row attention (the other rows no longer
        influence row 0 or the maps): representations and logits then have one row. ``on_layer(k)`` is
        called after each layer (progress reporting).
        """
        config = self.config
        if tokens.ndim != 3:
            raise ValueError(f"tokens must be (batch, rows, columns), got shape {tuple(tokens.shape)}")
        _, rows, cols = tokens.shape
        if rows > config.max_rows:
            raise RnamsmError(f"MSA has {rows} rows; the model's row embedding has {config.max_rows} slots")
        if cols > config.max_positions:
            raise RnamsmError(
                f"MSA rows have {cols - 1} columns; one forward takes at most {config.max_length} (use windows)"
            )
        need_head_weights = need_head_weights or return_contacts
        repr_layers = set(repr_layers)
        padding_mask = tokens.eq(PAD_IDX)
        x = self.embed(tokens, padding_mask)
        mask = padding_mask if bool(padding_mask.any()) else None
        representations: dict[int, torch.Tensor] = {}
        if 0 in repr_layers:
            representations[0] = x.clone()
        row_maps, column_maps = [], []
        for index, layer in enumerate(self.layers):
            last = index == len(self.layers) - 1
            x, row, column = layer(x, mask, 1 if (query_only and last) else None, need_column_weights)
            if need_head_weights:
                row_maps.append(row)
            if need_column_weights:
                column_maps.append(column)
            if index + 1 in repr_layers and not last:
                representations[index + 1] = x.clone()
            if on_layer is not None:
                on_layer(index + 1)
        x = self.emb_layer_norm_after(x)
        if config.num_layers in repr_layers:
            representations[config.num_layers] = x
        result: dict[str, torch.Tensor | dict[int, torch.Tensor]] = {"representations": representations}
        if return_logits:
            result["logits"] = self.lm_head(x)
        if need_head_weights:
            result["row_attentions"] = torch.stack(row_maps, dim=1)
        if need_column_weights:
            result["column_attentions"] = torch.stack(column_maps, dim=1)
        if return_contacts:
            result["contacts"] = self.contact_head(result["row_attentions"])
        return result
