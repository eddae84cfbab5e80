"""Homolog search and MSA construction (RNAcmap3-style) on pyhmmer, pyinfernal and the Infernal CLI.

Entry point: :func:`~rnamsm.homology.pipeline.run_search` (what ``rnamsm search`` runs). Its MSA files
read back as A3M rows, query first, with :func:`rnamsm.model.msa.read_records`.
"""

from rnamsm.homology.formats import match_columns
from rnamsm.homology.pipeline import SearchResult, run_search

__all__ = ["SearchResult", "match_columns", "run_search"]
