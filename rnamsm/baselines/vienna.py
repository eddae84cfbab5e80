"""The two ViennaRNA predictions: RNAfold of a sequence, RNAalifold of an MSA projected onto its query."""

from __future__ import annotations

import numpy as np
import RNA

from rnamsm.formats.structure import dbn_to_pairs, pairs_to_dbn
from rnamsm.homology.query import alifold_consensus
from rnamsm.homology.settings import AlifoldSettings
from rnamsm.model.msa import Msa
from rnamsm.options import check_at_least


def rnafold(sequence: str) -> tuple[str, float, np.ndarray]:
    """MFE structure, MFE (kcal/mol) and symmetric base-pair probabilities -> float32 (L, L)."""
    compound = RNA.fold_compound(sequence)
    structure, mfe = compound.mfe()
    compound.exp_params_rescale(mfe)
    compound.pf()
    upper = np.array(compound.bpp(), dtype=np.float64)[1:, 1:]  # 1-based upper triangle -> (L, L)
    return structure, float(mfe), (upper + upper.T).astype(np.float32)


def rnaalifold(msa: Msa, max_rows: int, settings: AlifoldSettings) -> tuple[str, float, str]:
    """Consensus structure over the alignment columns, its energy, and its projection onto the query.

    Rows are the MSA's first ``max_rows`` (normalised: ``X`` is passed as ``N``), scored as ``settings``
    say. ``max_rows`` below 1 is refused (RNAalifold crashes the process on an empty alignment).
    """
    check_at_least(max_rows, 1, "max_rows")
    rows = [row.replace("X", "N") for row in msa.rows[:max_rows]]
    consensus, energy = alifold_consensus(rows, settings)
    query = msa.query
    position = np.cumsum([char != "-" for char in query])  # column -> 1-based query position
    projected = {
        (int(position[i - 1]), int(position[j - 1]))
        for i, j in dbn_to_pairs(consensus, "RNAalifold consensus")
        if query[i - 1] != "-" and query[j - 1] != "-"
    }
    return consensus, float(energy), pairs_to_dbn(projected, int(position[-1]))
