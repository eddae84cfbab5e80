"""Reducing an MSA deeper than the model's budget to ``max_seqs`` rows, query always kept.

Official inference runs ``hhfilter -id 90 -diff 512 -cov 0 -qid 0 -qsc -20`` and keeps the first 512
surviving rows. We do the same when ``hhfilter`` (HH-suite) is on ``PATH``. Otherwise a deterministic
identity filter stands in (features then differ from the official ones):

1. walk the rows in order and keep a row if its identity to every kept row is below 90%, identity
   being measured over the columns where both rows have a residue (no shared residue: identity 0);
2. keep the first ``max_seqs``; if fewer survive, top up with the removed rows in their original order.

The result keeps the rows' original order, so the query stays first.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnamsm.errors import RnamsmError
from rnamsm.formats import msa as msa_format
from rnamsm.model.msa import Msa
from rnamsm.textfile import read_text

#: Official defaults (``DataConfig.max_seqs_per_msa`` and the hhfilter call).
DEFAULT_MAX_SEQS = 512
IDENTITY_THRESHOLD = 0.9
#: The MSA-row embedding has 1024 slots.
MAX_ROWS = 1024
METHODS = ("auto", "hhfilter", "identity")

_RESIDUES = np.frombuffer(b"AGCUX", dtype=np.uint8)


@dataclass(frozen=True)
class Reduction:
    """The reduced MSA and how it was obtained (``method`` is ``none``, ``hhfilter`` or ``identity-filter``)."""

    msa: Msa
    method: str
    input_depth: int
    #: Rows that passed the filter itself (the identity filter tops up to ``max_seqs`` with removed rows).
    survivors: int


def reduce_depth(msa: Msa, max_seqs: int = DEFAULT_MAX_SEQS, method: str = "auto") -> Reduction:
    """Reduce ``msa`` to at most ``max_seqs`` rows (see the module docstring)."""
    if not 1 <= max_seqs <= MAX_ROWS:
        raise RnamsmError(f"max_seqs must be between 1 and {MAX_ROWS} (the model's row slots), got {max_seqs}")
    if method not in METHODS:
        raise RnamsmError(f"unknown depth-reduction method {method!r}; choose one of {', '.join(METHODS)}")
    if msa.depth <= max_seqs:
        return Reduction(msa, "none", msa.depth, msa.depth)
    hhfilter = shutil.which("hhfilter")
    if method == "hhfilter" and hhfilter is None:
        raise RnamsmError("depth reduction 'hhfilter' requested but hhfilter (HH-suite) is not on PATH")
    if method != "identity" and hhfilter is not None:
        kept = hhfilter_indices(msa, max_seqs, hhfilter)
        return Reduction(msa.select(kept), "hhfilter", msa.depth, len(kept))
    kept, top_up = identity_filter(msa, max_seqs)
    return Reduction(msa.select(sorted(kept + top_up)), "identity-filter", msa.depth, len(kept))


def hhfilter_indices(msa: Msa, max_seqs: int, binary: str = "hhfilter") -> list[int]:
    """Row indices kept by the official ``hhfilter`` call, first ``max_seqs`` of them."""
    with tempfile.TemporaryDirectory(prefix="rnamsm-hhfilter-") as tmp:
        source = Path(tmp) / "input.a2m"
        target = Path(tmp) / "output.a2m"
        source.write_text(msa_format.format_fasta([str(index) for index in range(msa.depth)], msa.rows))
        command = [binary, "-i", str(source), "-M", "a2m", "-o", str(target), "-id", "90",
                   "-diff", str(max_seqs), "-cov", "0", "-qid", "0", "-qsc", "-20"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not target.exists():
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise RnamsmError(f"{msa.source}: hhfilter failed ({detail[-1] if detail else result.returncode})")
        kept = msa_format.parse_fasta(read_text(target, "hhfilter output"), f"{msa.source}: hhfilter output")
    indices = [int(name) for name in kept.names]
    if not indices or indices[0] != 0:
        raise RnamsmError(f"{msa.source}: hhfilter did not keep the query first")
    return indices[:max_seqs]


def identity_filter(msa: Msa, max_seqs: int, threshold: float = IDENTITY_THRESHOLD,
                    block: int = 256) -> tuple[list[int], list[int]]:
    """Greedy in-order identity filter (deterministic hhfilter stand-in): ``(kept rows, top-up rows)``."""
    codes = np.frombuffer("".join(msa.rows).encode("ascii"), dtype=np.uint8).reshape(msa.depth, msa.length)
    # One-hot over the residues (R, L*5) and a residue mask (R, L): identities become matrix products.
    onehot = (codes[:, :, None] == _RESIDUES).reshape(msa.depth, -1).astype(np.float32)
    present = (codes != ord("-")).astype(np.float32)
    kept: list[int] = []
    for start in range(0, msa.depth, block):
        stop = min(start + block, msa.depth)
        candidates = np.arange(start, stop)
        # identity of each candidate to every earlier row that may be kept: (block, start + block)
        pool = np.array(kept + list(candidates), dtype=np.int64)
        same = onehot[candidates] @ onehot[pool].T
        shared = present[candidates] @ present[pool].T
        identity = np.divide(same, shared, out=np.zeros_like(same), where=shared > 0)
        similar = identity >= threshold
        n_old = len(kept)
        kept_in_block: list[int] = []
        for offset, row in enumerate(candidates):
            columns = list(range(n_old)) + [n_old + k for k in kept_in_block]
            if not similar[offset, columns].any():
                kept_in_block.append(offset)
                kept.append(int(row))
                if len(kept) == max_seqs:
                    return kept, []
    chosen = set(kept)
    return kept, [index for index in range(msa.depth) if index not in chosen][: max_seqs - len(kept)]


def identity_filter_indices(msa: Msa, max_seqs: int, threshold: float = IDENTITY_THRESHOLD,
                            block: int = 256) -> list[int]:
    """Rows chosen by :func:`identity_filter` (kept and topped up), in their original order."""
    kept, top_up = identity_filter(msa, max_seqs, threshold, block)
    return sorted(kept + top_up)
