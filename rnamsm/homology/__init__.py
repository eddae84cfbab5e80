"""Homolog search and MSA construction (RNAcmap3-style) on pyhmmer, pyinfernal and the Infernal CLI.

Entry points: :func:`~rnamsm.homology.pipeline.run_search` (what ``rnamsm search`` runs) and
:func:`~rnamsm.homology.formats.read_msa` (read a written MSA back as A3M rows, query first).
"""

from rnamsm.homology.formats import match_columns, read_msa
from rnamsm.homology.pipeline import SearchResult, run_search

__all__ = ["SearchResult", "match_columns", "read_msa", "run_search"]
