"""Homolog search and MSA construction (RNAcmap3-style) on pyhmmer, pyinfernal and the Infernal CLI.

Entry point: :func:`~rnamsm.homology.pipeline.run_search` (what ``rnamsm search`` runs), configured by
:class:`~rnamsm.homology.settings.SearchSettings`. Its MSA files read back with
:func:`rnamsm.formats.msa.read` (A3M rows, query first) and its ``msa_stats.json`` with
:func:`rnamsm.formats.msa_stats.read`.
"""

from rnamsm.homology.pipeline import run_search
from rnamsm.homology.result import Round, SearchResult
from rnamsm.homology.settings import SearchSettings

__all__ = ["Round", "SearchResult", "SearchSettings", "run_search"]
