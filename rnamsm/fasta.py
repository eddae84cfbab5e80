"""Query FASTA validation and normalisation: the first workflow stage, ``rnamsm validate-input``.

Reading uses Easel's FASTA parser (through :mod:`pyhmmer.easel`), which handles plain or gzipped
files, CRLF line ends and blank lines. Every accepted sequence is normalised to upper-case RNA
(``T`` becomes ``U``); IUPAC ambiguity codes are kept. Anything else is refused with a one-line
:class:`~rnamsm.errors.RnamsmError` that names the file, the record and the problem.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyhmmer.easel

from rnamsm.atomic import atomic_open
from rnamsm.errors import RnamsmError
from rnamsm.options import check_at_least
from rnamsm.textfile import check_regular_file

#: IUPAC nucleotide codes accepted in a query (upper case, after ``T`` -> ``U``).
IUPAC_NUCLEOTIDES = frozenset("ACGUTRYKMSWBDHVN")
#: Shortest query accepted by default (nt).
MIN_QUERY_LENGTH = 10
#: Longest query accepted by default (nt): what the windowed model, the SS head and the report hold on a
#: 24 GiB node with the official RNA-MSM (120 attention maps); docs/reliability.md has the estimate.
MAX_QUERY_LENGTH = 3500
#: Longest record id accepted (characters).
MAX_ID_LENGTH = 128

_EASEL_LINE = re.compile(r"Line (\d+)")


@dataclass(frozen=True)
class Record:
    """One normalised query: ``id`` (FASTA name), ``description`` and upper-case RNA ``sequence``."""

    id: str
    description: str
    sequence: str


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


def normalise_sequence(raw: str) -> str:
    """Upper-case and turn DNA into RNA (``T`` -> ``U``)."""
    return raw.upper().replace("T", "U")


def _record_at_line(path: Path, line_number: int) -> str:
    """Name the record that contains ``line_number`` (1-based), for error messages only."""
    opener = _open_text(path)
    header = None
    with opener as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith(">"):
                header = line[1:].split(maxsplit=1)[0] if line[1:].strip() else ""
            if number >= line_number:
                break
    return "before the first record" if header is None else f"record {header!r}"


def _open_binary(path: Path) -> IO[bytes]:
    """Open a plain or gzipped file for reading bytes."""
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _open_text(path: Path) -> IO[str]:
    return io.TextIOWrapper(_open_binary(path), encoding="utf-8", errors="replace")


def _easel_records(path: Path) -> Iterator[pyhmmer.easel.TextSequence]:
    """Yield Easel text sequences from a FASTA file, turning parser failures into RnamsmError."""
    check_regular_file(path, "a FASTA file")
    if not os.access(path, os.R_OK):
        raise RnamsmError(f"{path}: file is not readable (permission denied)")
    with _open_binary(path) as handle:
        try:
            head = handle.read(8192)
        except (OSError, EOFError) as error:
            raise RnamsmError(f"{path}: cannot read ({error})") from None
    if b"\0" in head:
        raise RnamsmError(f"{path}: binary file, not FASTA")
    if head.strip() and not head.lstrip().startswith(b">"):
        raise RnamsmError(f"{path}: not FASTA (the first non-blank line must start with '>')")
    try:
        with pyhmmer.easel.SequenceFile(os.fspath(path), format="fasta") as sequences:
            yield from sequences
    except EOFError as error:
        raise RnamsmError(f"{path}: empty input (no FASTA records)") from error
    except (ValueError, UnicodeDecodeError, OSError) as error:
        # Easel's message is one line such as "Line 4: illegal character -"; anything else is
        # reduced to its printable first line.
        message = (str(error).removeprefix("Could not parse file: ").splitlines() or [""])[0]
        message = "".join(char for char in message if char.isprintable()).strip()
        match = _EASEL_LINE.search(message)
        where = f"{_record_at_line(path, int(match.group(1)))}: " if match else ""
        if "expected FASTA to start with >" in message or "unexpected char" in message:
            raise RnamsmError(f"{path}: not FASTA (the first non-blank line must start with '>')") from error
        elif "illegal character" in message:
            char = message.rsplit("illegal character", 1)[1].strip()
            message = f"invalid character {char!r} ({message.split(':')[0].lower()})"
        elif "no FASTA name found" in message:
            message = f"empty id ({message.split(':')[0].lower()})"
        elif not match:
            message = f"not valid FASTA ({message or type(error).__name__})"
        raise RnamsmError(f"{path}: {where}{message}") from error


def read_queries(path: str | os.PathLike[str], min_length: int = MIN_QUERY_LENGTH) -> Iterator[Record]:
    """Read, check and normalise every record of a query FASTA file.

    Raises :class:`RnamsmError` on the first problem: empty or non-FASTA input, a character
    outside the IUPAC nucleotide alphabet, a duplicate id, or a sequence shorter than
    ``min_length``. Ids are not checked for use as file names here: that is :func:`check_record_id`,
    where an id becomes one.
    """
    path = Path(path)
    seen: set[str] = set()
    count = 0
    for easel_record in _easel_records(path):
        try:
            record_id, description = easel_record.name, easel_record.description
            raw_sequence = easel_record.sequence
        except UnicodeDecodeError:
            raise RnamsmError(f"{path}: record {count + 1}: header is not valid UTF-8 text") from None
        if record_id in seen:
            raise RnamsmError(f"{path}: record {record_id!r}: duplicate id")
        seen.add(record_id)
        sequence = normalise_sequence(raw_sequence)
        bad = sorted(set(sequence) - IUPAC_NUCLEOTIDES)
        if bad:
            position = min(sequence.index(char) for char in bad) + 1
            raise RnamsmError(
                f"{path}: record {record_id!r}: invalid character {sequence[position - 1]!r} at position "
                f"{position} (allowed: IUPAC nucleotide codes {''.join(sorted(IUPAC_NUCLEOTIDES))})"
            )
        if len(sequence) < min_length:
            raise RnamsmError(
                f"{path}: record {record_id!r}: sequence is {len(sequence)} nt, shorter than the "
                f"minimum of {min_length} nt"
            )
        count += 1
        yield Record(record_id, description, sequence)
    if count == 0:
        raise RnamsmError(f"{path}: empty input (no FASTA records)")


def format_fasta(records: Iterable[Record]) -> str:
    """Format records as FASTA, one sequence line per record."""
    lines = []
    for record in records:
        header = f"{record.id} {record.description}".rstrip()
        lines.append(f">{header}\n{record.sequence}\n")
    return "".join(lines)


def write_fasta(records: Iterable[Record], out: str | os.PathLike[str]) -> int:
    """Write records atomically; return how many were written."""
    records = list(records)
    with atomic_open(out) as handle:
        handle.write(format_fasta(records))
    return len(records)


def record_from_sequence(record_id: str, sequence: str, min_length: int = MIN_QUERY_LENGTH) -> Record:
    """Check and normalise a query given inline (a sample sheet's ``sequence`` column)."""
    problem = check_record_id(record_id)
    if problem:
        raise RnamsmError(f"sample {record_id!r}: {problem}")
    normalised = normalise_sequence("".join(sequence.split()))
    bad = sorted(set(normalised) - IUPAC_NUCLEOTIDES)
    if bad:
        raise RnamsmError(f"sample {record_id!r}: invalid character {bad[0]!r} in the sequence")
    if len(normalised) < min_length:
        raise RnamsmError(
            f"sample {record_id!r}: sequence is {len(normalised)} nt, shorter than the minimum of {min_length} nt"
        )
    return Record(record_id, "", normalised)


def _check_written(records: list[Record], source: str, renamed: bool, max_length: int) -> None:
    """Refuse queries that ``validate-input`` would write but later stages cannot use.

    Their ids name the search's files (:func:`check_record_id`), and a query longer than
    ``max_length`` would exhaust the memory of the model, the SS head or the report.
    """
    for record in records:
        where = f"sample {record.id!r} ({source})" if renamed else f"{source}: record {record.id!r}"
        if len(record.sequence) > max_length:
            raise RnamsmError(f"{where}: sequence is {len(record.sequence):,} nt, longer than the maximum of "
                              f"{max_length:,} nt (--max-length, config input.max_length)")
        if not renamed:
            problem = check_record_id(record.id)
            if problem:
                raise RnamsmError(f"{where}: {problem}; the id names the output files (give a safe one with --rename)")


def _run_validate_input(args: argparse.Namespace) -> int:
    if (args.input is None) == (args.sequence is None):
        raise RnamsmError("give either an input FASTA file or --sequence (with --id)")
    check_at_least(args.max_length, 1, "--max-length")
    if args.sequence is not None:
        if not args.id:
            raise RnamsmError("--sequence needs --id")
        records = [record_from_sequence(args.id, args.sequence, args.min_length)]
    else:
        records = list(read_queries(args.input, args.min_length))
        if args.id:
            records = [record for record in records if record.id == args.id]
            if not records:
                raise RnamsmError(f"{args.input}: no record with id {args.id!r}")
    if (args.single or args.rename) and len(records) != 1:
        raise RnamsmError(f"{args.input}: expected one record, found {len(records)} (use --id to pick one)")
    if args.rename:
        problem = check_record_id(args.rename)
        if problem:
            raise RnamsmError(f"--rename {args.rename!r}: {problem}")
        old = records[0]
        if args.rename != old.id:
            records = [Record(args.rename, f"{old.id} {old.description}".rstrip(), old.sequence)]
    source = "--sequence" if args.sequence is not None else str(args.input)
    _check_written(records, source, bool(args.rename), args.max_length)
    write_fasta(records, args.output)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rnamsm validate-input``."""
    parser = subparsers.add_parser(
        "validate-input",
        help="check and normalise query FASTA (upper-case RNA)",
        description="Read query RNA sequences (FASTA, plain or .gz), check them and write them as "
        "upper-case RNA (T->U). Refuses empty or non-FASTA input, non-IUPAC characters, duplicate ids, "
        "sequences shorter than --min-length, and written queries longer than --max-length or whose id "
        "is unsafe as a file name (other records of the file may have any id, e.g. Rfam's 'AB001721.1/2-116').",
    )
    parser.add_argument("input", nargs="?", type=Path, help="query FASTA (plain or .gz)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="normalised FASTA to write")
    parser.add_argument("--id", help="keep only this record (or name the --sequence record)")
    parser.add_argument("--sequence", help="take the query from this string instead of a file")
    parser.add_argument("--single", action="store_true", help="require exactly one record")
    parser.add_argument(
        "--rename", metavar="NEW_ID", help="write the record under this id (the old header becomes its description)"
    )
    parser.add_argument(
        "--min-length", type=int, default=MIN_QUERY_LENGTH, help="shortest sequence accepted (nt)"
    )
    parser.add_argument(
        "--max-length", type=int, default=MAX_QUERY_LENGTH,
        help=f"longest query written (nt; default {MAX_QUERY_LENGTH}, sized for a 24 GiB node)",
    )
    parser.set_defaults(func=_run_validate_input)
