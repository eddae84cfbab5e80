"""Validating a sample's query: from a FASTA file (optionally one record of it) or an inline sequence."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rnamsm.errors import RnamsmError
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
    record_id: str | None = None,
    single: bool = False,
    rename: str | None = None,
    settings: InputSettings | None = None,
) -> list[Query]:
    """Check and normalise the query records and write them to ``output``; return them.

    The records come from ``fasta`` (all of them, or the one named ``record_id``) or from ``sequence``
    (named ``record_id``). ``single`` or ``rename`` require exactly one record; ``rename`` writes it under
    that id, with its old header as the description. What is written must be usable by the later stages:
    at most ``settings.max_length`` nt, and an id safe as a file name (unless ``rename`` gives one).
    """
    settings = settings or InputSettings()
    if (fasta is None) == (sequence is None):
        raise RnamsmError("give either an input FASTA file or --sequence (with --id)")
    if sequence is not None:
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
    _check_written(records, "--sequence" if sequence is not None else str(fasta), bool(rename), settings.max_length)
    query_format.write_queries(records, output)
    return records


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
