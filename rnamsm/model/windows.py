"""Deterministic overlapping windows for MSAs longer than one forward (1023 nt), and their merge.

Instead of the official random 1023-column crop (ours):

- windows of width ``W`` start at ``0, S, 2S, ...`` while ``start + W < L``, plus one at ``L - W``
  (``S = W - overlap``); every window takes the same columns of all rows and gets its own ``<cls>``;
- position ``p`` of the window starting at ``s`` weighs ``w(p) = min(p - s + 1, s + W - p)`` (highest in
  the middle), a pair ``(i, j)`` weighs ``min(w(i), w(j))``;
- embeddings, attention maps and contacts are weighted averages over the windows that hold the position
  (pair); pairs that share no window stay 0 and are False in the coverage mask.

An MSA no longer than ``W`` is one window and gives exactly the unwindowed features.
"""

from __future__ import annotations

import numpy as np


def window_starts(length: int, width: int, overlap: int) -> list[int]:
    """Start columns of the windows covering ``length`` columns."""
    if length <= width:
        return [0]
    if not 0 <= overlap < width:
        raise ValueError(f"window overlap must be in [0, {width}), got {overlap}")
    stride = width - overlap
    starts = [start for start in range(0, length, stride) if start + width < length]
    return sorted(set(starts) | {length - width})


def position_weights(width: int) -> np.ndarray:
    """``w`` for the positions of one window: ``min(k + 1, width - k)``, shape ``(width,)``."""
    offsets = np.arange(width)
    return np.minimum(offsets + 1, width - offsets).astype(np.float64)


class WindowMerger:
    """Accumulates per-window features and returns their weighted averages over the full length."""

    def __init__(self, length: int, embed_dim: int, num_maps: int):
        self.length = length
        self.embedding = np.zeros((length, embed_dim), dtype=np.float64)
        self.embedding_weight = np.zeros(length, dtype=np.float64)
        self.maps = np.zeros((num_maps, length, length), dtype=np.float32)
        self.contacts = np.zeros((length, length), dtype=np.float64)
        self.pair_weight = np.zeros((length, length), dtype=np.float64)

    def add(self, start: int, embedding: np.ndarray, maps: np.ndarray, contacts: np.ndarray) -> None:
        """Add one window's ``embedding`` ``(W, D)``, ``maps`` ``(M, W, W)`` and ``contacts`` ``(W, W)``."""
        width = embedding.shape[0]
        stop = start + width
        weight = position_weights(width)
        pair = np.minimum.outer(weight, weight)
        self.embedding[start:stop] += weight[:, None] * embedding
        self.embedding_weight[start:stop] += weight
        self.maps[:, start:stop, start:stop] += maps * pair.astype(np.float32)
        self.contacts[start:stop, start:stop] += pair * contacts
        self.pair_weight[start:stop, start:stop] += pair

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(embedding (L, D), maps (M, L, L), contacts (L, L), coverage (L, L) bool)``, float32."""
        coverage = self.pair_weight > 0
        safe = np.where(coverage, self.pair_weight, 1.0)
        embedding = (self.embedding / self.embedding_weight[:, None]).astype(np.float32)
        maps = self.maps
        maps /= safe.astype(np.float32)
        contacts = (self.contacts / safe).astype(np.float32)
        return embedding, maps, contacts, coverage
