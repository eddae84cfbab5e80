"""The first workflow stage, ``rnamsm validate-input``: a sample's query checked and written as ``query.fa``.

Library: :func:`~rnamsm.input.validate.validate_input` with
:class:`~rnamsm.input.validate.InputSettings`; command line: :mod:`rnamsm.input.cli`. Reading and
writing query FASTA is :mod:`rnamsm.formats.query`.
"""
