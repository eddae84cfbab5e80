"""ViennaRNA baselines of every query (``rnamsm baselines``), for comparison with the RNA-MSM heads.

- RNAfold on the query alone: MFE structure and energy, and the base-pair probability matrix.
- RNAalifold on the MSA (query first): the consensus structure over the MSA columns, projected onto
  the query (pairs whose two columns both hold a query residue).
"""
