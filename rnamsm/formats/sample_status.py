"""The status TSV: one ``sample<TAB>status<TAB>reason`` row per sample (a header line ``sample...`` optional).

Written by ``rnamsm run-members`` (a family chunk's outcome: ``ok``, or ``failed`` with the one-line
reason, ``results/families/{family_id}/chunks/{chunk}.tsv``) and by the workflow after a failed run
(``results/batch_status.tsv``); read by ``rnamsm index`` and ``rnamsm family-report``. A status is a
lower-case word (``ok``, ``failed``, ``skipped``); lines starting with ``#`` and empty lines are skipped.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass

from rnamsm.atomic import atomic_open
from rnamsm.errors import RnamsmError
from rnamsm.textfile import read_text

WHAT = "a status file (TSV)"
HEADER = ("sample", "status", "reason")
#: Status words (e.g. ok, failed, skipped).
STATUS_WORD = re.compile(r"[a-z][a-z0-9_-]*")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SampleStatus:
    """What became of one sample: ``status`` (``ok``, ``failed``...) and, when it failed, the one-line reason."""

    sample: str
    status: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def format_rows(rows: list[SampleStatus]) -> str:
    """The TSV text of ``rows`` (header first; whitespace runs in a reason become one space)."""
    lines = ["\t".join(HEADER)]
    for row in rows:
        if not STATUS_WORD.fullmatch(row.status) or _WHITESPACE.search(row.sample):
            raise ValueError(f"sample {row.sample!r}: invalid status row ({row.status!r})")
        lines.append(f"{row.sample}\t{row.status}\t{_WHITESPACE.sub(' ', row.reason).strip()}")
    return "\n".join(lines) + "\n"


def write(rows: list[SampleStatus], path: str | os.PathLike[str]) -> None:
    """Write the status file atomically (see :func:`format_rows`)."""
    text = format_rows(rows)
    with atomic_open(path) as handle:
        handle.write(text)


def read(path: str | os.PathLike[str]) -> list[SampleStatus]:
    """The rows of a status file, in file order; a malformed row is one :class:`RnamsmError` naming the line."""
    reader = csv.reader(io.StringIO(read_text(path, WHAT), newline=""), delimiter="\t")
    try:
        rows = list(reader)
    except csv.Error as error:
        raise RnamsmError(f"{path}: line {reader.line_num}: cannot read {WHAT}: {error}") from None
    statuses = []
    for number, row in enumerate(rows, start=1):
        if not row or not "".join(row).strip() or row[0].startswith("#"):
            continue
        if number == 1 and row[0].strip().lower() == HEADER[0]:
            continue
        if len(row) < 2 or not row[1].strip():
            raise RnamsmError(f"{path}: line {number}: expected 'sample<TAB>status<TAB>reason'")
        sample, status = row[0].strip(), row[1].strip().lower()
        if not STATUS_WORD.fullmatch(status):
            raise RnamsmError(f"{path}: line {number}: sample {sample!r}: invalid status {row[1]!r}")
        statuses.append(SampleStatus(sample, status, row[2].strip() if len(row) > 2 else ""))
    return statuses
