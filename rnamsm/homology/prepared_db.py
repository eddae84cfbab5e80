"""Prepared search databases: written once by ``rnamsm prepare-db``, read shard by shard by every search.

:func:`prepare_database` makes one streaming pass of :class:`~rnamsm.homology.database.SequenceDatabase`
(the search's own reader: empty records, duplicate names and duplicate sequences dropped, long records
windowed, each chunk shuffled) with chunks of about ``db.shard_nt`` residues, and writes each chunk as a
shard. Memory is bounded by one shard (plus the sets of names and sequence digests seen, about 100
bytes per record). The folder (format: :mod:`rnamsm.formats.db_manifest`) is written as a temporary
sibling and renamed into place, so it is complete or absent. :class:`PreparedDatabase` hands the shards
back as the same :class:`~rnamsm.homology.database.Chunk` objects, one shard at a time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyhmmer
import pyinfernal
from pyhmmer.easel import Alphabet, SequenceFile

from rnamsm import __version__
from rnamsm.atomic import ensure_directory
from rnamsm.checksums import file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.formats import db_manifest
from rnamsm.formats.db_manifest import Dropped, InputFile, Manifest, Shard
from rnamsm.homology.database import Chunk, DatabaseFile, DatabaseSummary, Piece, SequenceDatabase
from rnamsm.homology.settings import DatabaseSettings
from rnamsm.textfile import check_regular_file

#: Names of dropped records kept in the manifest for each reason.
SHOWN_DROPPED = 5


def windowing(settings: DatabaseSettings, max_query: int) -> dict[str, int]:
    """How a database is cut for queries up to ``max_query`` nt: windows overlap by twice that."""
    return {
        "split_above": settings.split_above,
        "window": settings.window,
        "overlap": max(settings.min_overlap, 2 * max_query),
        "shuffle_seed": settings.shuffle_seed,
        "shard_nt": settings.shard_nt,
    }


def prepare_database(
    paths: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    settings: DatabaseSettings | None = None,
    *,
    max_query: int,
    name: str | None = None,
) -> tuple[Manifest, bool]:
    """Write the prepared database of ``paths`` to ``out_dir``; return its manifest and whether the folder
    was already up to date (same inputs' SHA-256, windowing and name: then nothing is written).

    Every input is checked first (a truncated ``.gz``, a file that is not FASTA or Stockholm): such a
    file is one :class:`RnamsmError` line and nothing is written.
    """
    settings = DatabaseSettings() if settings is None else settings
    cut = windowing(settings, max_query)
    if cut["overlap"] >= cut["window"]:
        raise RnamsmError(f"prepare-db: windows of {cut['window']:,} nt cannot overlap by {cut['overlap']:,} nt "
                          f"(twice the longest query, {max_query:,} nt); raise db.window")
    database = SequenceDatabase(paths, split_above=cut["split_above"], window=cut["window"],
                                overlap=cut["overlap"], shuffle_seed=cut["shuffle_seed"], volume_nt=cut["shard_nt"])
    database.check()
    name = name or Path(database.paths[0]).name.split(".")[0]
    sums = [file_sha256(path) for path in database.paths]
    out = Path(out_dir)
    current = _current(out, database.paths, sums, cut, name)
    if current is not None:
        return current, True
    if out.exists() and not (out.is_dir() and (db_manifest.is_prepared(out) or not any(out.iterdir()))):
        raise RnamsmError(f"{out}: exists and is not a prepared database; give an empty or new folder")
    ensure_directory(out.parent)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    scratch.chmod(0o777 & ~umask)  # mkdtemp makes 0700; the folder is shared by runs
    try:
        shards = [_write_shard(scratch, number, chunk) for number, chunk in enumerate(database.chunks())]
        summary = database.summary
        assert summary is not None
        for entry, before in zip(summary.files, sums, strict=True):
            if entry.sha256 != before:
                raise RnamsmError(f"{entry.path}: changed while it was being prepared; prepare it again")
        z_residues, z_mb = db_manifest.search_space(summary.residues)
        manifest = Manifest(
            format=db_manifest.FORMAT,
            name=name,
            inputs=tuple(InputFile(f.path, f.sha256, f.records, f.residues) for f in summary.files),
            records=summary.records,
            residues=summary.residues,
            windows=summary.windows,
            dropped={
                "duplicate_names": _dropped(summary.duplicate_names),
                "duplicate_sequences": _dropped(summary.duplicate_sequences),
                "empty_records": _dropped(summary.empty_records),
            },
            cmsearch_Z_residues=z_residues,
            nhmmer_Z_Mb=z_mb,
            windowing=cut,
            shards=tuple(shards),
            tool_versions={"rnamsm": __version__, "pyhmmer": pyhmmer.__version__,
                           "pyinfernal": pyinfernal.__version__},
        )
        (scratch / db_manifest.MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        for path in scratch.iterdir():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        _swap(scratch, out)
    except OSError as error:
        raise RnamsmError(f"{out}: cannot write the prepared database: {error.strerror or error}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest, False


def _dropped(names: list[str]) -> Dropped:
    return Dropped(len(names), tuple(names[:SHOWN_DROPPED]))


def _current(out: Path, paths: Sequence[Path], sums: list[str], cut: dict[str, int], name: str) -> Manifest | None:
    """The manifest at ``out`` when it was made from the same inputs, windowing and name, with its files present."""
    if not db_manifest.is_prepared(out):
        return None
    try:
        manifest = db_manifest.read(out)
    except RnamsmError:
        return None
    same = (
        [(entry.path, entry.sha256) for entry in manifest.inputs] == [(os.fspath(p), s) for p, s in zip(paths, sums)]
        and manifest.windowing == cut
        and manifest.name == name
        and manifest.tool_versions.get("rnamsm") == __version__
    )
    present = all((out / shard.file).is_file() for shard in manifest.shards)
    return manifest if same and present else None


def _swap(scratch: Path, out: Path) -> None:
    """Put the finished folder ``scratch`` at ``out``, replacing an older prepared database there."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        os.replace(out, old / "db")
    os.replace(scratch, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_shard(folder: Path, number: int, chunk: Chunk) -> Shard:
    """Write one chunk as ``shard-NNNN.fa`` (and its window table); return its manifest entry."""
    alphabet = Alphabet.rna()
    stem = f"shard-{number:04d}"
    digest = hashlib.sha256()
    residues = 0
    windows = []
    with open(folder / f"{stem}.fa", "wb") as handle:
        for sequence in chunk.block:
            piece = chunk.pieces[sequence.name]
            if (piece.source, piece.accession, piece.offset) != (sequence.name, sequence.name, 0):
                windows.append((sequence.name, piece.source, piece.accession, piece.offset, piece.length))
            header = f">{sequence.name} {sequence.description}" if sequence.description else f">{sequence.name}"
            data = f"{header}\n{alphabet.decode(sequence.sequence)}\n".encode()
            digest.update(data)
            handle.write(data)
            residues += len(sequence)
    windows_file = windows_sha256 = ""
    if windows:
        windows_file = f"{stem}.windows.tsv"
        text = db_manifest.format_windows(windows).encode()
        (folder / windows_file).write_bytes(text)
        windows_sha256 = hashlib.sha256(text).hexdigest()
    return Shard(f"{stem}.fa", len(chunk.block), residues, digest.hexdigest(), windows_file, windows_sha256,
                 tuple(sorted(chunk.split)))


class PreparedDatabase:
    """A prepared database folder (or its ``manifest.json``), read one shard at a time."""

    def __init__(self, location: str | os.PathLike[str]) -> None:
        path = db_manifest.manifest_path(location)
        check_regular_file(path, "a prepared database manifest")
        self.manifest = db_manifest.read(path)
        self.digest = db_manifest.digest(path)
        self.folder = path.parent
        self.alphabet = Alphabet.rna()

    @property
    def summary(self) -> DatabaseSummary:
        """The totals of the prepared pass (what was dropped is in the manifest, reported by prepare-db)."""
        manifest = self.manifest
        files = [DatabaseFile(entry.path, entry.records, entry.residues, entry.sha256) for entry in manifest.inputs]
        return DatabaseSummary(files, manifest.records, manifest.residues, manifest.windows, [], [], [])

    def chunk(self, index: int) -> Chunk:
        """Shard ``index`` (0-based) as a chunk; a shard that does not match the manifest is an error."""
        shard = self.manifest.shards[index]
        path = self.folder / shard.file
        check_regular_file(path, "a prepared database shard")
        windows = {}
        if shard.windows_file:
            for name, source, accession, offset, length in db_manifest.read_windows(self.folder / shard.windows_file):
                windows[name] = (source, accession, offset, length)
        try:
            with SequenceFile(os.fspath(path), digital=True, alphabet=self.alphabet, format="fasta") as handle:
                block = handle.read_block()
        except (ValueError, OSError, EOFError) as error:
            raise RnamsmError(f"{path}: unreadable shard ({error}); prepare the database again") from None
        if len(block) != shard.sequences or sum(len(sequence) for sequence in block) != shard.residues:
            raise RnamsmError(f"{path}: shard holds other sequences than its manifest lists; prepare the database "
                              "again")
        pieces = {}
        for sequence in block:
            source, accession, offset, length = windows.get(sequence.name, (sequence.name, sequence.name, 0,
                                                                            len(sequence)))
            pieces[sequence.name] = Piece(source, accession, offset, length, sequence.description)
        return Chunk(block, pieces, frozenset(shard.split))

    def chunks(self, indices: Sequence[int] | None = None) -> Iterator[Chunk]:
        """The shards ``indices`` (all by default), one in memory at a time."""
        for index in range(len(self.manifest.shards)) if indices is None else indices:
            yield self.chunk(index)
