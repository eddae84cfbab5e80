"""The files the stages hand each other: one module per file, each the only reader and writer of it.

Modules here depend only on the standard library, NumPy and rnamsm's utilities (``errors``,
``atomic``, ``textfile``, ``arrays``, ``checksums``, ``settings``), so the torch-free report
environment can use them. Each holds a frozen record, ``read(path)`` (which validates, failing with
one :class:`~rnamsm.errors.RnamsmError` line naming the file and the problem) and ``write``
(atomic, through :mod:`rnamsm.atomic`).

- :mod:`rnamsm.formats.query`: the query FASTA (``query.fa``) and THE sequence alphabet, with the
  stage-specific mappings (search: non-ACGU -> ``N``; model: IUPAC -> ``X``).
- :mod:`rnamsm.formats.msa`: MSA files (A3M, Stockholm, ``.a2m_msa2``, aligned FASTA): one parser, the
  writers and the match-column rule.
- :mod:`rnamsm.formats.msa_stats`: ``msa_stats.json``, the search's provenance and statistics.
- :mod:`rnamsm.formats.features`: ``features.npz``.
- :mod:`rnamsm.formats.structure`: base-pair structures (bpseq, ct, dot-bracket).
- :mod:`rnamsm.formats.rsa_table`: the RSA TSV.
- :mod:`rnamsm.formats.ss_summary`: ``ss.json``.
- :mod:`rnamsm.formats.baselines`: ``baselines.json``.
"""
