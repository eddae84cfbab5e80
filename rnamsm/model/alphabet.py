"""The official RNA-MSM vocabulary and MSA tokenisation.

RNA-MSM (``msm/data.py``, architecture ``"rna language"``) uses 12 tokens in a fixed order. Every
MSA row becomes ``<cls>`` followed by its aligned characters: BOS on every row, no EOS.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

#: The official token order; a token's id is its index.
OFFICIAL_TOKENS: tuple[str, ...] = ("<cls>", "<pad>", "<eos>", "<unk>", "A", "G", "C", "U", "X", "N", "-", "<mask>")
BOS_IDX = 0
PAD_IDX = 1

_TOKEN_TO_ID = {token: index for index, token in enumerate(OFFICIAL_TOKENS)}
#: Single characters an (already normalised) MSA row may contain.
ROW_CHARACTERS = frozenset(token for token in OFFICIAL_TOKENS if len(token) == 1)


def tokenize_msa(rows: Sequence[str]) -> torch.Tensor:
    """Tokenise equal-length normalised rows (query first) into int64 ``(R, L + 1)`` with ``<cls>`` first.

    Rows must only contain :data:`ROW_CHARACTERS` (see :func:`rnamsm.model.msa.normalise_row`).
    """
    if not rows:
        raise ValueError("an MSA needs at least one row")
    length = len(rows[0])
    table = torch.full((256,), -1, dtype=torch.int64)
    for char in ROW_CHARACTERS:
        table[ord(char)] = _TOKEN_TO_ID[char]
    tokens = torch.empty((len(rows), length + 1), dtype=torch.int64)
    tokens[:, 0] = BOS_IDX
    for index, row in enumerate(rows):
        if len(row) != length:
            raise ValueError(f"row {index + 1} has {len(row)} columns, expected {length}")
        codes = torch.frombuffer(bytearray(row.encode("ascii")), dtype=torch.uint8).long()
        ids = table[codes]
        if bool((ids < 0).any()):
            bad = row[int((ids < 0).nonzero()[0])]
            raise ValueError(f"row {index + 1}: character {bad!r} is not in the RNA-MSM vocabulary")
        tokens[index, 1:] = ids
    return tokens


def pad_msas(msas: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack tokenised MSAs ``(R_k, C_k)`` into ``(B, max R, max C)`` padded with ``<pad>``.

    Padding the depth changes results (the tied row-attention scale uses the padded depth), so the
    pipeline runs one MSA per forward; this exists for batch-semantics tests.
    """
    depth = max(msa.shape[0] for msa in msas)
    width = max(msa.shape[1] for msa in msas)
    batch = torch.full((len(msas), depth, width), PAD_IDX, dtype=torch.int64)
    for index, msa in enumerate(msas):
        batch[index, : msa.shape[0], : msa.shape[1]] = msa
    return batch
