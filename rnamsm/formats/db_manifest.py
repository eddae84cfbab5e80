"""A prepared search database (``rnamsm prepare-db``): ``manifest.json`` and the shards' window tables.

A prepared database is one folder: ``manifest.json``, the shards ``shard-NNNN.fa`` (FASTA, one line per
sequence, already deduplicated, windowed and shuffled) and, for a shard holding windows of long records,
``shard-NNNN.windows.tsv`` (``name``, ``source``, ``accession``, ``offset``, ``length``: where each window
comes from). The manifest records the inputs (path, SHA-256, records, residues), what was dropped, the
totals, the search space every E-value uses (:func:`search_space`), the windowing, the shard list with
each shard's SHA-256, and the tool versions. :func:`read` checks every key and type.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rnamsm.errors import RnamsmError
from rnamsm.textfile import read_text

#: File name of the manifest inside a prepared database folder.
MANIFEST = "manifest.json"
#: Format tag written into every manifest (a reader refuses other tags).
FORMAT = "rnamsm-prepared-db/1"
#: How the database was cut (``windowing``): the search reads ``overlap`` to check the query length.
WINDOWING_KEYS = ("split_above", "window", "overlap", "shuffle_seed", "shard_nt")
#: Columns of a shard's window table.
WINDOW_COLUMNS = ("name", "source", "accession", "offset", "length")


def search_space(residues: int) -> tuple[int, float]:
    """The search space of a database of ``residues`` unique residues: cmsearch's Z (residues of both
    strands) and nhmmer's Z (megabases of one strand), the same whatever the shards."""
    return max(2 * residues, 1), max(residues, 1) / 1e6


@dataclass(frozen=True)
class InputFile:
    """One input file: its path as given, SHA-256 of its bytes, records and residues as read."""

    path: str
    sha256: str
    records: int
    residues: int


@dataclass(frozen=True)
class Dropped:
    """Records left out for one reason: how many and the first few names."""

    count: int
    first: tuple[str, ...]


@dataclass(frozen=True)
class Shard:
    """One shard: its FASTA file, its window table (``""``: none), sequences, residues, SHA-256s, and the
    records whose windows are in other shards too (``split``)."""

    file: str
    sequences: int
    residues: int
    sha256: str
    windows_file: str
    windows_sha256: str
    split: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    """The content of ``manifest.json``."""

    format: str
    name: str
    inputs: tuple[InputFile, ...]
    records: int
    residues: int
    windows: int
    dropped: dict[str, Dropped]
    cmsearch_Z_residues: int
    nhmmer_Z_Mb: float
    windowing: dict[str, int]
    shards: tuple[Shard, ...]
    tool_versions: dict[str, str]

    def to_json(self) -> str:
        """The file's text: sorted keys, indent 2, final newline."""
        return json.dumps(asdict(self), sort_keys=True, indent=2) + "\n"


def manifest_path(location: str | os.PathLike[str]) -> Path:
    """The manifest of a prepared database given as its folder or as the manifest itself."""
    location = Path(location)
    return location / MANIFEST if location.is_dir() else location


def is_prepared(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` names a prepared database (its folder or its ``manifest.json``)."""
    location = Path(location)
    return (location / MANIFEST).is_file() if location.is_dir() else location.name == MANIFEST


def digest(location: str | os.PathLike[str]) -> str:
    """SHA-256 of the manifest's bytes: names the prepared database's content."""
    return hashlib.sha256(manifest_path(location).read_bytes()).hexdigest()


def _fields(cls: type, value: Any, where: str) -> dict[str, Any]:
    names = [name for name in cls.__dataclass_fields__]
    if not isinstance(value, dict) or set(value) != set(names):
        raise RnamsmError(f"{where}: expected the keys {', '.join(names)}")
    return value


def _typed(value: Any, kind: type, where: str) -> Any:
    ok = isinstance(value, (int, float) if kind is float else kind) and not isinstance(value, bool)
    if not ok:
        raise RnamsmError(f"{where}: expected {kind.__name__}, found {json.dumps(value)[:40]}")
    return float(value) if kind is float else value


def _record(cls: type, value: Any, where: str) -> Any:
    data = _fields(cls, value, where)
    hints = {name: field.type for name, field in cls.__dataclass_fields__.items()}
    kinds = {"str": str, "int": int, "float": float}
    values = {}
    for name, hint in hints.items():
        if hint == "tuple[str, ...]":
            if not isinstance(data[name], list):
                raise RnamsmError(f"{where}.{name}: expected a list")
            values[name] = tuple(_typed(item, str, f"{where}.{name}") for item in data[name])
        else:
            values[name] = _typed(data[name], kinds[hint], f"{where}.{name}")
    return cls(**values)


def from_json(text: str, source: str) -> Manifest:
    """Parse and check a manifest's text; every problem is one :class:`RnamsmError` naming ``source``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RnamsmError(f"{source}: not valid JSON ({error})") from None
    data = _fields(Manifest, data, source)
    if data["format"] != FORMAT:
        raise RnamsmError(f"{source}: format {data['format']!r} is not {FORMAT!r} (prepare the database again)")
    try:
        dropped = {key: Dropped(_typed(entry["count"], int, key), tuple(_typed(name, str, key)
                                                                        for name in entry["first"]))
                   for key, entry in data["dropped"].items()}
        manifest = Manifest(
            format=data["format"],
            name=_typed(data["name"], str, "name"),
            inputs=tuple(_record(InputFile, entry, f"inputs[{i}]") for i, entry in enumerate(data["inputs"])),
            records=_typed(data["records"], int, "records"),
            residues=_typed(data["residues"], int, "residues"),
            windows=_typed(data["windows"], int, "windows"),
            dropped=dropped,
            cmsearch_Z_residues=_typed(data["cmsearch_Z_residues"], int, "cmsearch_Z_residues"),
            nhmmer_Z_Mb=_typed(data["nhmmer_Z_Mb"], float, "nhmmer_Z_Mb"),
            windowing={key: _typed(value, int, f"windowing.{key}") for key, value in data["windowing"].items()},
            shards=tuple(_record(Shard, entry, f"shards[{i}]") for i, entry in enumerate(data["shards"])),
            tool_versions={key: _typed(value, str, key) for key, value in data["tool_versions"].items()},
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise RnamsmError(f"{source}: malformed manifest ({error!r})") from None
    except RnamsmError as error:
        raise RnamsmError(f"{source}: {error}") from None
    if not manifest.shards:
        raise RnamsmError(f"{source}: no shards listed")
    if set(manifest.windowing) != set(WINDOWING_KEYS):
        raise RnamsmError(f"{source}: windowing: expected the keys {', '.join(WINDOWING_KEYS)}")
    return manifest


def read(location: str | os.PathLike[str]) -> Manifest:
    """Read and check the manifest of the prepared database at ``location`` (folder or manifest)."""
    path = manifest_path(location)
    return from_json(read_text(path, "a prepared database manifest"), str(path))


def format_windows(rows: Iterable[tuple[str, str, str, int, int]]) -> str:
    """A window table's text: header, then one tab-separated line per ``(name, source, accession, offset,
    length)``."""
    lines = ["\t".join(WINDOW_COLUMNS)]
    lines += ["\t".join(map(str, row)) for row in rows]
    return "\n".join(lines) + "\n"


def read_windows(path: str | os.PathLike[str]) -> Iterator[tuple[str, str, str, int, int]]:
    """Rows of a shard's window table, checked."""
    lines = read_text(path, "a shard window table").splitlines()
    if not lines or tuple(lines[0].split("\t")) != WINDOW_COLUMNS:
        raise RnamsmError(f"{path}: line 1: expected the header {' '.join(WINDOW_COLUMNS)}")
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(WINDOW_COLUMNS) or not fields[3].isdigit() or not fields[4].isdigit():
            raise RnamsmError(f"{path}: line {number}: expected name, source, accession, offset, length")
        yield fields[0], fields[1], fields[2], int(fields[3]), int(fields[4])

