"""Self-contained HTML QC reports: one page per sample and a batch index.

``rnamsm report`` reads a sample's output folder (:mod:`rnamsm.report.sample`) and writes
``report.html``; ``rnamsm index`` writes the batch ``index.html``. Both only read the files the other
stages write (the shared interface in ``CONTRIBUTING.md``), never their modules.
"""
