"""Search databases: FASTA, FASTA.gz or Stockholm files read as deduplicated, windowed RNA chunks.

:class:`SequenceDatabase` streams its files record by record and yields :class:`Chunk` objects
holding at most ``volume_nt`` residues (all of them when ``volume_nt`` is ``None``), so memory is
bounded by one chunk however large the database is. Each pass applies the same deterministic
rules: records with a duplicate name or an exact duplicate sequence are dropped (duplicates can
abort cmsearch), empty records are dropped, records longer than ``split_above`` are cut into
overlapping windows named ``<name>@<offset>`` and every chunk is shuffled with a fixed seed so that
threads get balanced work. A chunk may end inside a long record: its :attr:`Chunk.split` names the
records whose windows continue in another chunk, whose hits are resolved only when the chunks' hits
are merged (:func:`rnamsm.homology.hits.merge_hits`). E-values use the search space of the whole
database (:attr:`residues`). Prepared databases (:mod:`rnamsm.homology.prepared_db`) are these chunks
written once as shards.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import random
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyhmmer.easel import Alphabet, DigitalSequence, DigitalSequenceBlock, SequenceFile

from rnamsm.checksums import file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.textfile import check_regular_file

#: Formats accepted as a search database (Stockholm files are read as unaligned sequences).
DATABASE_FORMATS = ("fasta", "stockholm")


@dataclass(frozen=True)
class DatabaseFile:
    """Manifest entry of one database file: records and residues as read, sha256 of the file bytes."""

    path: str
    records: int
    residues: int
    sha256: str


@dataclass(frozen=True)
class Piece:
    """Where a searched sequence comes from: its source record and the 0-based offset in it."""

    source: str
    accession: str
    offset: int
    length: int
    description: str


@dataclass
class Chunk:
    """One volume of the database: an RNA block (shuffled) and the origin of each of its sequences."""

    block: DigitalSequenceBlock
    pieces: dict[str, Piece]
    #: Source records with windows in other chunks too.
    split: frozenset[str] = frozenset()
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {sequence.name: position for position, sequence in enumerate(self.block)}

    def sequence(self, name: str) -> DigitalSequence:
        """The searched sequence (record or window) called ``name``."""
        return self.block[self.index[name]]


@dataclass
class DatabaseSummary:
    """Totals of one complete pass: unique records/residues searched and what was dropped."""

    files: list[DatabaseFile]
    records: int
    residues: int
    windows: int
    duplicate_names: list[str]
    duplicate_sequences: list[str]
    empty_records: list[str]

    def warnings(self) -> list[str]:
        """Human-readable notes about dropped records."""
        notes = []
        for label, names in (
            ("duplicate name (kept the first)", self.duplicate_names),
            ("exact duplicate sequence", self.duplicate_sequences),
            ("zero length", self.empty_records),
        ):
            if names:
                shown = ", ".join(repr(name) for name in names[:3])
                more = f" and {len(names) - 3} more" if len(names) > 3 else ""
                notes.append(f"database: dropped {len(names)} record(s) with {label}: {shown}{more}")
        return notes


def window_starts(length: int, window: int, overlap: int) -> list[int]:
    """0-based starts of overlapping windows of ``window`` residues covering ``length`` residues."""
    if length <= window:
        return [0]
    step = window - overlap
    return list(range(0, length - overlap, step))


def check_gzip(path: Path) -> None:
    """Raise unless ``path`` is a complete gzip stream (every member's CRC and length check out).

    Easel reads ``.gz`` files through a ``gzip -dc`` pipe and does not notice when it stops early, so a
    truncated download would be searched as a shorter database without a word. Decompressing once up
    front costs seconds per GB, far less than the search.
    """
    try:
        with gzip.open(path, "rb") as handle:
            while handle.read(1 << 24):
                pass
    except (EOFError, OSError, zlib.error) as error:
        raise RnamsmError(f"{path}: truncated or corrupt gzip file ({error})") from None


def _check_gzip_content(path: Path) -> None:
    """Raise unless the decompressed ``path`` starts like FASTA (``>``) or Stockholm (``# STOCKHOLM``)."""
    with gzip.open(path, "rb") as handle:
        head = handle.read(1 << 16).lstrip()
    if not head:
        raise RnamsmError(f"{path}: empty database file (no records)")
    if not head.startswith((b">", b"# STOCKHOLM")):
        raise RnamsmError(f"{path}: not a FASTA, FASTA.gz or Stockholm file (it does not start with '>' or "
                          "'# STOCKHOLM')")


class SequenceDatabase:
    """Database files streamed as deduplicated, windowed and shuffled RNA chunks.

    Arguments:
        paths: FASTA, FASTA.gz or Stockholm files, searched as one database.
        split_above: records longer than this (nt) are cut into windows.
        window: window length (nt).
        overlap: overlap of consecutive windows (nt); at least twice the query length.
        shuffle_seed: seed of the per-chunk shuffle.
        volume_nt: residues per chunk; ``None`` puts everything in one chunk.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        split_above: int,
        window: int,
        overlap: int,
        shuffle_seed: int,
        volume_nt: int | None,
    ) -> None:
        if not paths:
            raise RnamsmError("search: no database given (--db)")
        if overlap >= window:
            raise RnamsmError(f"database: window overlap {overlap} nt must be shorter than the window ({window} nt)")
        self.paths = [Path(path) for path in paths]
        for path in self.paths:
            check_regular_file(path, "a database file (FASTA, FASTA.gz or Stockholm)")
        self.alphabet = Alphabet.rna()
        self.split_above = split_above
        self.window = window
        self.overlap = overlap
        self.shuffle_seed = shuffle_seed
        self.volume_nt = volume_nt
        self.summary: DatabaseSummary | None = None
        self._intact: set[Path] = set()  # files checked by :meth:`check`

    def _read(self, path: Path) -> Iterator[DigitalSequence]:
        """Yield every record of one file as an RNA sequence; format problems become RnamsmError."""
        if path.stat().st_size == 0:
            raise RnamsmError(f"{path}: empty database file (no records)")
        try:
            handle = SequenceFile(os.fspath(path), digital=True, alphabet=self.alphabet)
        except EOFError as error:
            raise RnamsmError(f"{path}: empty database file (no records)") from error
        except ValueError as error:
            raise RnamsmError(f"{path}: not a FASTA, FASTA.gz or Stockholm file ({error})") from error
        with handle:
            if handle.format not in DATABASE_FORMATS:
                raise RnamsmError(
                    f"{path}: database format {handle.format!r} is not supported (use FASTA, FASTA.gz or Stockholm)"
                )
            last = "before the first record"
            try:
                for sequence in handle:
                    last = f"after record {sequence.name!r}"
                    yield sequence
            except (ValueError, OSError) as error:
                raise RnamsmError(f"{path}: cannot parse the database {last}: {error}") from error

    def _pieces(self, sequence: DigitalSequence) -> Iterator[tuple[DigitalSequence, Piece]]:
        length = len(sequence)
        accession = sequence.accession or sequence.name
        if length <= self.split_above:
            yield sequence, Piece(sequence.name, accession, 0, length, sequence.description)
            return
        for start in window_starts(length, self.window, self.overlap):
            stop = min(start + self.window, length)
            name = f"{sequence.name}@{start}"
            piece = DigitalSequence(
                self.alphabet, name=name, description=sequence.description, sequence=sequence.sequence[start:stop]
            )
            yield piece, Piece(sequence.name, accession, start, length, sequence.description)

    def _chunk(
        self, sequences: list[DigitalSequence], pieces: dict[str, Piece], number: int, split: frozenset[str]
    ) -> Chunk:
        random.Random(self.shuffle_seed + number).shuffle(sequences)
        return Chunk(DigitalSequenceBlock(self.alphabet, sequences), pieces, split)

    def check(self) -> None:
        """Refuse a truncated ``.gz`` or a file that is not FASTA/Stockholm before anything is read for use."""
        for path in self.paths:
            if path in self._intact:
                continue
            if path.suffix == ".gz":
                check_gzip(path)
                _check_gzip_content(path)  # not through Easel: its gzip pipe complains when closed early
            else:
                with contextlib.closing(self._read(path)) as records:
                    next(records, None)  # the format is known from the first record
            self._intact.add(path)

    def chunks(self) -> Iterator[Chunk]:
        """Yield the database as chunks; a complete pass also sets :attr:`summary`."""
        self.check()  # before the first chunk: a bad file stops the run before any search
        names: set[str] = set()
        hashes: set[bytes] = set()
        files: list[DatabaseFile] = []
        duplicate_names: list[str] = []
        duplicate_sequences: list[str] = []
        empty: list[str] = []
        records = residues = windows = 0
        batch: list[DigitalSequence] = []
        pieces: dict[str, Piece] = {}
        batch_residues = 0
        number = 0
        split: frozenset[str] = frozenset()
        for path in self.paths:
            file_records = file_residues = 0
            for sequence in self._read(path):
                file_records += 1
                file_residues += len(sequence)
                if sequence.name in names:
                    duplicate_names.append(sequence.name)
                    continue
                names.add(sequence.name)
                if len(sequence) == 0:
                    empty.append(sequence.name)
                    continue
                key = hashlib.blake2b(bytes(sequence.sequence), digest_size=16).digest()
                if key in hashes:
                    duplicate_sequences.append(sequence.name)
                    continue
                hashes.add(key)
                records += 1
                residues += len(sequence)
                record_pieces = list(self._pieces(sequence))
                del sequence
                for index, (piece, origin) in enumerate(record_pieces):
                    windows += 1
                    batch.append(piece)
                    pieces[piece.name] = origin
                    batch_residues += len(piece)
                    if self.volume_nt is not None and batch_residues >= self.volume_nt:
                        more = index + 1 < len(record_pieces)  # the record goes on in the next chunk
                        chunk = self._chunk(batch, pieces, number, split | {origin.source} if more else split)
                        number += 1
                        batch, pieces, batch_residues = [], {}, 0
                        split = frozenset({origin.source}) if more else frozenset()
                        yield chunk
                        del chunk  # so that the consumer's release frees it before the next volume is read
                del record_pieces
            files.append(DatabaseFile(os.fspath(path), file_records, file_residues, file_sha256(path)))
        if batch or number == 0:
            yield self._chunk(batch, pieces, number, split)
        self.summary = DatabaseSummary(
            files, records, residues, windows, duplicate_names, duplicate_sequences, empty
        )

    def scan(self) -> DatabaseSummary:
        """Read the whole database once (chunk by chunk) to fill :attr:`summary`; return it."""
        for chunk in self.chunks():
            del chunk  # one volume in memory at a time
        assert self.summary is not None
        return self.summary
