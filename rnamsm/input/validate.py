"""Validating a sample's query: from a FASTA file (optionally one record of it), an inline sequence, or a row of
the sample's own alignment (the row named ``record_id``, else the first row)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rnamsm.errors import RnamsmError
from rnamsm.formats import msa as msa_format
from rnamsm.formats import query as query_format
from rnamsm.formats.query import MAX_QUERY_LENGTH, MIN_QUERY_LENGTH, Query
from rnamsm.options import check_at_least


@dataclass(frozen=True)
class InputSettings:
    """The ``input`` section (defaults and documentation: ``workflow/schemas/config.schema.yaml``)."""

    #: Shortest query accepted (nt).
    min_length: int = MIN_QUERY_LENGTH
    #: Longest query written (nt), sized for a 24 GiB node.
    max_length: int = MAX_QUERY_LENGTH

    def __post_init__(self) -> None:
        check_at_least(self.min_length, 1, "min_length")
        check_at_least(self.max_length, 1, "max_length")


def validate_input(
    output: str | os.PathLike[str],
    *,
    fasta: str | os.PathLike[str] | None = None,
    sequence: str | None = None,
    msa: str | os.PathLike[str] | None = None,
    record_id: str | None = None,
    single: bool = False,
    rename: str | None = None,
    settings: InputSettings | None = None,
) -> list[Query]:
    """Check and normalise the query records and write them to ``output``; return them.

    The records come from ``fasta`` (all of them, or the one named ``record_id``), from ``sequence``
    (named ``record_id``) or from the alignment ``msa`` (the residues of its row named ``record_id``, else
    of its first row, read by :func:`rnamsm.formats.msa.read`). ``single`` or ``rename`` require exactly
    one record; ``rename`` writes it under that id, with its old header as the description. What is written
    must be usable by the later stages: at most ``settings.max_length`` nt, and an id safe as a file name
    (unless ``rename`` gives one).
    """
    settings = settings or InputSettings()
    if sum(source is not None for source in (fasta, sequence, msa)) != 1:
        raise RnamsmError("give one of an input FASTA file, --sequence (with --id) or --msa")
    if msa is not None:
        records = [_alignment_query(msa, record_id, settings.min_length)]
    elif sequence is not None:
        if not record_id:
            raise RnamsmError("--sequence needs --id")
        records = [query_format.query_from_sequence(record_id, sequence, settings.min_length)]
    else:
        records = list(query_format.read_queries(fasta, settings.min_length))
        if record_id:
            records = [record for record in records if record.id == record_id]
            if not records:
                raise RnamsmError(f"{fasta}: no record with id {record_id!r}")
    if (single or rename) and len(records) != 1:
        raise RnamsmError(f"{fasta}: expected one record, found {len(records)} (use --id to pick one)")
    if rename:
        problem = query_format.check_record_id(rename)
        if problem:
            raise RnamsmError(f"--rename {rename!r}: {problem}")
        old = records[0]
        if rename != old.id:
            records = [Query(rename, f"{old.id} {old.description}".rstrip(), old.sequence)]
    source = "--sequence" if sequence is not None else str(fasta if msa is None else msa)
    _check_written(records, source, bool(rename), settings.max_length)
    query_format.write_queries(records, output)
    return records


def _alignment_query(path: str | os.PathLike[str], record_id: str | None, min_length: int) -> Query:
    """The query held by a row of the alignment ``path``: the row named ``record_id``, else the first row."""
    alignment = msa_format.read(path)
    if record_id is None:
        index = 0
    elif record_id in alignment.names:
        index = alignment.names.index(record_id)
    else:
        raise RnamsmError(f"{path}: no row named {record_id!r}")
    residues = "".join(char for char in alignment.rows[index] if char not in "-.*")
    name = alignment.names[index]
    try:  # the sequence checks of an inline query; the row's name need not be a safe id (--rename gives one)
        checked = query_format.query_from_sequence("row", residues, min_length)
    except RnamsmError as error:
        raise RnamsmError(f"{path}: row {name!r}: {str(error).split(': ', 1)[-1]}") from None
    return Query(name, "", checked.sequence)


def _check_written(records: list[Query], source: str, renamed: bool, max_length: int) -> None:
    """Refuse queries that would be written but that later stages cannot use.

    Their ids name the search's files (:func:`~rnamsm.formats.query.check_record_id`), and a query
    longer than ``max_length`` would exhaust the memory of the model, the SS head or the report.
    """
    for record in records:
        where = f"sample {record.id!r} ({source})" if renamed else f"{source}: record {record.id!r}"
        if len(record.sequence) > max_length:
            raise RnamsmError(f"{where}: sequence is {len(record.sequence):,} nt, longer than the maximum of "
                              f"{max_length:,} nt (--max-length, config input.max_length)")
        if not renamed:
            problem = query_format.check_record_id(record.id)
            if problem:
                raise RnamsmError(f"{where}: {problem}; the id names the output files (give a safe one with --rename)")
