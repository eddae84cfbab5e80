"""Query FASTA (``results/{sample}/query.fa``) and the one sequence alphabet of every stage.

A query is normalised once, when it is read: upper case, DNA turned into RNA (``T`` -> ``U``), IUPAC
ambiguity codes kept (:data:`IUPAC_NUCLEOTIDES`). The stages that need a narrower alphabet map the
normalised sequence with the named functions here and nowhere else:

- :func:`search_sequence`: the homology search (nhmmer, cmsearch, ViennaRNA) sees ``ACGU`` and ``N``;
- :func:`model_residues`: RNA-MSM's tokens, the official ``R Y K M S W B D H V N`` -> ``X`` (also
  applied to every MSA row, see :mod:`rnamsm.model.msa`).

The reader takes plain or gzipped FASTA (recognised by content), CRLF or CR line ends, blank lines and
blanks inside sequence lines. A line whose first non-blank character is ``>`` is a header: the id is
its first word, the description the rest. Anything else is refused with one
:class:`~rnamsm.errors.RnamsmError` line naming the file, the record and the problem.
"""

from __future__ import annotations

import gzip
import os
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rnamsm.atomic import atomic_open
from rnamsm.errors import RnamsmError
from rnamsm.textfile import check_regular_file

#: IUPAC nucleotide codes accepted in a query (upper case, after ``T`` -> ``U``).
IUPAC_NUCLEOTIDES = frozenset("ACGUTRYKMSWBDHVN")
#: IUPAC ambiguity codes, which RNA-MSM reads as the one token ``X``.
AMBIGUITY_CODES = "RYKMSWBDHVN"
#: Shortest query accepted by default (nt).
MIN_QUERY_LENGTH = 10
#: Longest query accepted by default (nt): what the windowed model, the SS head and the report hold on a
#: 24 GiB node with the official RNA-MSM (120 attention maps); docs/reliability.md has the estimate.
MAX_QUERY_LENGTH = 3500
#: Longest record id accepted (characters).
MAX_ID_LENGTH = 128

#: ASCII letters to upper case and ``T`` to ``U``; any other character is left as it is (and refused).
_NORMALISE = str.maketrans({**{chr(code): chr(code - 32) for code in range(ord("a"), ord("z") + 1)},
                            "t": "U", "T": "U"})
_MODEL = str.maketrans({**dict.fromkeys(AMBIGUITY_CODES, "X"), "T": "U"})
_ID_END = re.compile(r"[ \t\v\f]")
_BLANKS = b" \t"


@dataclass(frozen=True)
class Query:
    """One normalised query: ``id`` (first word of the header), ``description`` (the rest) and ``sequence``."""

    id: str
    description: str
    sequence: str

    def __len__(self) -> int:
        return len(self.sequence)


def normalise_sequence(raw: str) -> str:
    """Upper-case and turn DNA into RNA (``T`` -> ``U``); only ASCII letters change."""
    return raw.translate(_NORMALISE)


def search_sequence(sequence: str) -> str:
    """The sequence as the homology search sees it: ``ACGU`` kept, every other letter ``N``."""
    return "".join(base if base in "ACGU" else "N" for base in sequence)


def model_residues(text: str) -> str:
    """RNA-MSM's alphabet: ``T`` -> ``U`` and the IUPAC codes ``R Y K M S W B D H V N`` -> ``X``.

    Other characters (``A C G U``, gaps, anything invalid) are left for the caller to check.
    """
    return text.translate(_MODEL)


def check_record_id(record_id: str) -> str | None:
    """Return why ``record_id`` is unsafe as a file name, or ``None`` when it is fine.

    The one id-safety rule, applied wherever a record id becomes a file name (the query that
    ``validate-input`` writes, ``rnamsm search``'s outputs); other records of a file may hold any
    id (Rfam's ``AB001721.1/2-116``). Unsafe: empty, longer than :data:`MAX_ID_LENGTH`, a path
    separator or ``..``, and any character of Unicode category C or Z (C0/C1 controls, DEL,
    bidirectional overrides such as U+202E, zero-width and other format characters, private-use,
    unassigned, spaces and line separators), which are invisible or reorder what a file listing shows.
    """
    if not record_id:
        return "empty id"
    if len(record_id) > MAX_ID_LENGTH:
        return f"id longer than {MAX_ID_LENGTH} characters"
    hidden = next((char for char in record_id if unicodedata.category(char)[0] in "CZ"), None)
    if hidden is not None:
        name = unicodedata.name(hidden, unicodedata.category(hidden))
        return f"id contains an invisible or control character U+{ord(hidden):04X} ({name})"
    if "/" in record_id or "\\" in record_id:
        return "id contains a path separator"
    if ".." in record_id:
        return "id contains '..'"
    return None


def _invalid_character(sequence: str) -> tuple[int, str] | None:
    """The 1-based position and character of the first non-IUPAC character of ``sequence``, if any."""
    bad = set(sequence) - IUPAC_NUCLEOTIDES
    if not bad:
        return None
    position = min(sequence.index(char) for char in bad)
    return position + 1, sequence[position]


def _open_binary(path: Path) -> IO[bytes]:
    """Open a plain or gzipped (recognised by its magic bytes) file for reading bytes."""
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _lines(path: Path) -> Iterator[bytes]:
    """The lines of ``path`` without their ends (``\\n``, ``\\r\\n`` or ``\\r``); one error for unreadable files."""
    check_regular_file(path, "a FASTA file")
    if not os.access(path, os.R_OK):
        raise RnamsmError(f"{path}: file is not readable (permission denied)")
    try:
        with _open_binary(path) as handle:
            for chunk in handle:
                if b"\0" in chunk:
                    raise RnamsmError(f"{path}: binary file, not FASTA")
                yield from chunk.splitlines() or [b""]
    except (OSError, EOFError, zlib.error) as error:
        raise RnamsmError(f"{path}: cannot read ({error})") from None


def _records(path: Path) -> Iterator[tuple[int, bytes, str]]:
    """``(record number, header bytes after '>', raw sequence)`` of every FASTA record of ``path``."""
    number = 0
    header: bytes | None = None
    parts: list[str] = []
    for line in _lines(path):
        stripped = line.lstrip(_BLANKS)
        if stripped.startswith(b">"):
            if header is not None:
                yield number, header, "".join(parts)
            number, header, parts = number + 1, stripped[1:], []
        elif header is not None:
            parts.append(line.replace(b" ", b"").replace(b"\t", b"").decode("utf-8", errors="replace"))
        elif stripped:
            raise RnamsmError(f"{path}: not FASTA (the first non-blank line must start with '>')")
    if header is not None:
        yield number, header, "".join(parts)


def _split_header(path: Path, number: int, header: bytes) -> tuple[str, str]:
    """The id (first word) and description (the rest) of a header."""
    try:
        text = header.decode("utf-8").strip(" \t")
    except UnicodeDecodeError:
        raise RnamsmError(f"{path}: record {number}: header is not valid UTF-8 text") from None
    end = _ID_END.search(text)
    if end is None:
        return text, ""
    return text[: end.start()], text[end.start() :].strip(" \t")


def read_queries(path: str | os.PathLike[str], min_length: int = MIN_QUERY_LENGTH) -> Iterator[Query]:
    """Read, check and normalise every record of a query FASTA file.

    Raises :class:`RnamsmError` on the first problem: empty or non-FASTA input, an empty or
    duplicate id, a character outside the IUPAC nucleotide alphabet, or a sequence shorter than
    ``min_length``. Ids are not checked for use as file names here: that is :func:`check_record_id`,
    where an id becomes one.
    """
    path = Path(path)
    seen: set[str] = set()
    count = 0
    for number, header, raw in _records(path):
        record_id, description = _split_header(path, number, header)
        if not record_id:
            raise RnamsmError(f"{path}: record {number}: empty id")
        if record_id in seen:
            raise RnamsmError(f"{path}: record {record_id!r}: duplicate id")
        seen.add(record_id)
        sequence = normalise_sequence(raw)
        invalid = _invalid_character(sequence)
        if invalid:
            raise RnamsmError(
                f"{path}: record {record_id!r}: invalid character {invalid[1]!r} at position {invalid[0]} "
                f"(allowed: IUPAC nucleotide codes {''.join(sorted(IUPAC_NUCLEOTIDES))})"
            )
        if len(sequence) < min_length:
            raise RnamsmError(
                f"{path}: record {record_id!r}: sequence is {len(sequence)} nt, shorter than the "
                f"minimum of {min_length} nt"
            )
        count += 1
        yield Query(record_id, description, sequence)
    if count == 0:
        raise RnamsmError(f"{path}: empty input (no FASTA records)")


def read(path: str | os.PathLike[str]) -> Query:
    """Read a validated query file (``query.fa``): exactly one record, checked as :func:`read_queries` does.

    The length minimum was applied when the query was validated, so any length is accepted here.
    """
    records = list(read_queries(path, min_length=1))
    if len(records) != 1:
        raise RnamsmError(f"{path}: expected exactly one query record, found {len(records)}")
    return records[0]


def query_from_sequence(record_id: str, sequence: str, min_length: int = MIN_QUERY_LENGTH) -> Query:
    """Check and normalise a query given inline (a sample sheet's ``sequence`` column); blanks are dropped."""
    problem = check_record_id(record_id)
    if problem:
        raise RnamsmError(f"sample {record_id!r}: {problem}")
    normalised = normalise_sequence("".join(sequence.split()))
    invalid = _invalid_character(normalised)
    if invalid:
        raise RnamsmError(f"sample {record_id!r}: invalid character {invalid[1]!r} in the sequence")
    if len(normalised) < min_length:
        raise RnamsmError(
            f"sample {record_id!r}: sequence is {len(normalised)} nt, shorter than the minimum of {min_length} nt"
        )
    return Query(record_id, "", normalised)


def format_fasta(records: Iterable[Query]) -> str:
    """Records as FASTA text, one sequence line per record."""
    lines = []
    for record in records:
        header = f"{record.id} {record.description}".rstrip()
        lines.append(f">{header}\n{record.sequence}\n")
    return "".join(lines)


def write_queries(records: Iterable[Query], path: str | os.PathLike[str]) -> int:
    """Write records as FASTA atomically; return how many were written."""
    records = list(records)
    with atomic_open(path) as handle:
        handle.write(format_fasta(records))
    return len(records)


def write(record: Query, path: str | os.PathLike[str]) -> None:
    """Write the one-record query file atomically."""
    write_queries([record], path)
