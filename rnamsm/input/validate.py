"""Validating a sample's query: from a FASTA file (optionally one record of it) or an inline sequence."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rnamsm.errors import RnamsmError
from rnamsm.formats import query as query_format
from rnamsm.formats.query import MIN_QUERY_LENGTH, Query
from rnamsm.options import check_at_least


@dataclass(frozen=True)
class InputSettings:
    """The ``input`` section (defaults and documentation: ``workflow/schemas/config.schema.yaml``)."""

    #: Shortest query accepted (nt).
    min_length: int = MIN_QUERY_LENGTH

    def __post_init__(self) -> None:
        check_at_least(self.min_length, 1, "min_length")


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
    that id, with its old header as the description.
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
    if rename and rename != records[0].id:
        problem = query_format.check_record_id(rename)
        if problem:
            raise RnamsmError(f"--rename {rename!r}: {problem}")
        old = records[0]
        records = [Query(rename, f"{old.id} {old.description}".rstrip(), old.sequence)]
    query_format.write_queries(records, output)
    return records
