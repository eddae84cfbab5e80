"""RNA-MSM features for one MSA, with the official semantics of ``RNA_MSM_Inference.py``.

- ``embedding`` ``(L, D)``: the query row after the final LayerNorm, ``<cls>`` dropped (``_emb.npy``);
- ``attention_maps`` ``(layers*heads, L, L)``: raw row-attention probabilities, ``<cls>`` row and column
  dropped, channel ``layer*heads + head``, not symmetrised or renormalised (``_atp.npy``);
- ``contacts`` ``(L, L)``: the official contact head;
- ``coverage`` ``(L, L)``: False for pairs that share no window (all True for L <= 1023).

One MSA per forward (padding the depth would change results). Longer MSAs go through
:mod:`rnamsm.model.windows`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from rnamsm.model.alphabet import tokenize_msa
from rnamsm.model.msa import Msa
from rnamsm.model.rnamsm import RnaMsm
from rnamsm.model.windows import WindowMerger, window_starts

DEFAULT_WINDOW_OVERLAP = 512


@dataclass(frozen=True)
class Features:
    """Features of one MSA (float32 arrays; see the module docstring)."""

    embedding: np.ndarray
    attention_maps: np.ndarray
    contacts: np.ndarray
    coverage: np.ndarray
    #: ``(start, stop)`` columns of each window used.
    windows: tuple[tuple[int, int], ...]


def forward_window(model: RnaMsm, msa: Msa, on_layer: Callable[[int], None] | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One forward on all of ``msa`` -> ``(embedding (L, D), maps (layers*heads, L, L), contacts (L, L))``."""
    tokens = tokenize_msa(msa.rows)[None].to(model.device)  # (1, R, L+1)
    out = model(tokens, repr_layers=(model.config.num_layers,), need_head_weights=True, return_logits=False,
                query_only=True, on_layer=on_layer)
    embedding = out["representations"][model.config.num_layers][0, 0, 1:].float()
    row = out["row_attentions"][0]  # (layers, heads, C, C)
    maps = row[..., 1:, 1:].reshape(-1, msa.length, msa.length)
    contacts = model.contact_head.from_maps(maps[None])[0]
    return embedding.cpu().numpy(), maps.cpu().numpy(), contacts.cpu().numpy()


def compute_features(model: RnaMsm, msa: Msa, window_overlap: int = DEFAULT_WINDOW_OVERLAP,
                     window: int | None = None, progress: bool | None = None) -> Features:
    """Features of ``msa`` (already depth-reduced), windowed when longer than the model takes.

    ``window`` defaults to the model's maximum (1023 nt); ``progress`` shows a bar per layer (default:
    only when stderr is a terminal).
    """
    width = min(window or model.config.max_length, model.config.max_length)
    starts = window_starts(msa.length, width, window_overlap)
    spans = tuple((start, min(start + width, msa.length)) for start in starts)
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=len(spans) * model.config.num_layers, desc="RNA-MSM layers", unit="layer", disable=not show,
              file=sys.stderr) as bar:
        step = lambda _layer: bar.update(1)  # noqa: E731
        if len(spans) == 1:
            embedding, maps, contacts = forward_window(model, msa, step)
            return Features(embedding, maps, contacts, np.ones(contacts.shape, dtype=bool), spans)
        merger = WindowMerger(msa.length, model.config.embed_dim, model.config.num_layers * model.config.num_heads)
        for start, stop in spans:
            merger.add(start, *forward_window(model, msa.columns(start, stop), step))
    embedding, maps, contacts, coverage = merger.result()
    return Features(embedding, maps, contacts, coverage, spans)
