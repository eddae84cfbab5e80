"""``msa_stats.json`` (written by ``rnamsm search`` and ``rnamsm import-msa``): provenance, depth, Neff, hits.

One JSON object, sorted keys, indent 2, final newline. :meth:`MsaStats.from_json` checks every key and
type (and that the per-position and per-row lists fit the query length and depth), so a reader never
meets a missing key or a string where a number belongs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from rnamsm.atomic import atomic_open
from rnamsm.errors import RnamsmError
from rnamsm.textfile import read_text

T = TypeVar("T")


@dataclass(frozen=True)
class RoundStats:
    """One search round: hits reported and included, rows removed by each filter, depth, Neff, seconds."""

    round: int
    method: str
    reported: int
    hits: int
    removed_duplicates: int
    removed_low_coverage: int
    removed_identity: int
    removed_depth_cap: int
    depth: int
    neff: float
    seconds: float


@dataclass(frozen=True)
class HitStats:
    """One reported hit: record, coordinates (1-based; ``start > end`` on the minus strand), E-value, score."""

    name: str
    accession: str
    description: str
    start: int
    end: int
    strand: Literal["+", "-"]
    evalue: float
    score: float
    round: int
    included: bool


@dataclass(frozen=True)
class DatabaseStats:
    """One database file searched: its path, records, residues and SHA-256."""

    path: str
    records: int
    residues: int
    sha256: str


@dataclass(frozen=True)
class SearchSpace:
    """What the E-values refer to: the records, residues and windows searched, and the Z values used."""

    records: int
    residues: int
    windows: int
    cmsearch_Z_residues: int
    nhmmer_Z_Mb: float


@dataclass(frozen=True)
class ShardStats:
    """One shard of a prepared database: its file, residues and the seconds each round spent on it."""

    file: str
    residues: int
    seconds: tuple[float, ...]


@dataclass(frozen=True)
class PreparedDatabaseStats:
    """The prepared database searched (``rnamsm prepare-db``): name, SHA-256 of its manifest, size, Z, shards,
    and how many (round, shard) results a resumed search took from its work folder."""

    name: str
    manifest_sha256: str
    records: int
    residues: int
    cmsearch_Z_residues: int
    nhmmer_Z_Mb: float
    resumed_shards: int
    shards: tuple[ShardStats, ...]


@dataclass(frozen=True)
class SearchCacheStats:
    """The search's entry in ``search.cache``: its key, and whether these files were copied from it."""

    key: str
    reused: bool


@dataclass(frozen=True)
class MsaSource:
    """Where an imported MSA came from (``rnamsm import-msa``): the file, its SHA-256 and how the query was found.

    ``placement`` is ``sequence`` (a row with the query's residues), ``record`` (the row named ``record``)
    or, when the query was absent, the program that placed it: ``cmalign`` (to a covariance model built
    from the alignment and its ``SS_cons``) or ``hmmalign`` (to a profile HMM built from the alignment).
    """

    kind: Literal["user"]
    path: str
    sha256: str
    record: str
    placement: Literal["sequence", "record", "cmalign", "hmmalign"]
    rows: int


@dataclass(frozen=True)
class MsaStats:
    """The content of ``msa_stats.json`` (see ``docs/homology.md``).

    ``coverage`` has one value per query position, ``identity_to_query`` one per non-query row; ``depth``
    counts the query row; ``parameters`` is the search configuration used (with ``threads``).
    ``final_round`` is the round whose rows make the MSA, ``final_alignment`` how they are aligned (that
    round's method, ``cmalign``, or ``user`` for an imported alignment) and ``final_reason`` why, in a
    sentence.
    """

    query_id: str
    query_length: int
    query_sequence: str
    structure: str
    structure_source: str
    depth: int
    neff: float
    neff_approx: bool
    nf: float
    final_round: int
    final_alignment: Literal["nhmmer", "nhmmer-profile", "cmsearch", "cmalign", "user"]
    final_reason: str
    coverage: tuple[float, ...]
    identity_to_query: tuple[float, ...]
    rounds: tuple[RoundStats, ...]
    hits: tuple[HitStats, ...]
    databases: tuple[DatabaseStats, ...]
    search_space: SearchSpace
    hmm_only: bool
    tool_versions: dict[str, str | None]
    timings: dict[str, float]
    warnings: tuple[str, ...]
    parameters: dict[str, Any]
    rnamsm_version: str
    #: Set for an imported alignment; absent (and not written) for a searched one.
    source: MsaSource | None = None
    #: Set for a search of a prepared database; absent (and not written) otherwise.
    prepared_database: PreparedDatabaseStats | None = None
    #: Set when ``search.cache`` is on; absent (and not written) otherwise.
    search_cache: SearchCacheStats | None = None

    def __post_init__(self) -> None:
        if self.query_length != len(self.query_sequence):
            raise RnamsmError(f"query_length {self.query_length} is not the length of query_sequence "
                              f"({len(self.query_sequence)})")
        if len(self.coverage) != self.query_length:
            raise RnamsmError(f"coverage has {len(self.coverage)} values, the query {self.query_length} positions")
        if self.depth < 1 or len(self.identity_to_query) != self.depth - 1:
            raise RnamsmError(f"identity_to_query has {len(self.identity_to_query)} values for depth "
                              f"{self.depth} (one per row after the query)")

    def to_json(self) -> str:
        """The file's text: sorted keys, indent 2, final newline."""
        data = dataclasses.asdict(self)
        for key in ("source", "prepared_database", "search_cache"):
            if data[key] is None:
                del data[key]  # a file without them stays as it always was
        return json.dumps(data, sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> MsaStats:
        """Parse and check the file's text; every problem is one :class:`RnamsmError` naming ``source``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise RnamsmError(f"{source}: not valid JSON ({error})") from None
        try:
            return _decode(cls, data, "")
        except RnamsmError as error:
            raise RnamsmError(f"{source}: {error}") from None


def _decode(hint: Any, value: Any, where: str) -> Any:
    """``value`` (decoded JSON) checked against the type ``hint``; lists become tuples, objects records."""
    label = where or "the document"
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        (option,) = [option for option in typing.get_args(hint) if option is not type(None)]
        return _decode(option, value, where)
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise RnamsmError(f"{label}: must be one of {', '.join(map(repr, typing.get_args(hint)))}, "
                              f"found {_shown(value)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise RnamsmError(f"{label}: expected a list, found {_shown(value)}")
        item = typing.get_args(hint)[0]
        return tuple(_decode(item, entry, f"{where}[{index}]") for index, entry in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise RnamsmError(f"{label}: expected an object, found {_shown(value)}")
        item = typing.get_args(hint)[1]
        return {key: _decode(item, entry, f"{where}.{key}") for key, entry in value.items()}
    if dataclasses.is_dataclass(hint):
        return _record(hint, value, where)
    kinds = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
    names = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}
    if not isinstance(value, kinds[hint]) or (hint is not bool and isinstance(value, bool)) or (
        hint is float and not math.isfinite(value)
    ):
        raise RnamsmError(f"{label}: expected {names[hint]}, found {_shown(value)}")
    return float(value) if hint is float else value


def _record(cls: type[T], value: Any, where: str) -> T:
    """The record ``cls`` from a JSON object holding exactly its fields."""
    label = where or "the document"
    if not isinstance(value, dict):
        raise RnamsmError(f"{label}: expected an object, found {_shown(value)}")
    hints = typing.get_type_hints(cls)
    fields = [field.name for field in dataclasses.fields(cls)]
    optional = {field.name for field in dataclasses.fields(cls) if field.default is not dataclasses.MISSING}
    missing = [name for name in fields if name not in value and name not in optional]
    if missing:
        raise RnamsmError(f"{label}: missing key(s) {', '.join(missing)}")
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise RnamsmError(f"{label}: unknown key(s) {', '.join(unknown)}")
    prefix = f"{where}." if where else ""
    return cls(**{name: _decode(hints[name], value[name], f"{prefix}{name}") for name in fields if name in value})


def _shown(value: Any) -> str:
    """A short rendering of a JSON value for an error message."""
    return json.dumps(value)[:60]


def read(path: str | os.PathLike[str]) -> MsaStats:
    """Read and check ``msa_stats.json``."""
    return MsaStats.from_json(read_text(path, "an msa_stats.json file"), str(path))


def write(record: MsaStats, path: str | os.PathLike[str]) -> None:
    """Write ``msa_stats.json`` atomically."""
    with atomic_open(path) as handle:
        handle.write(record.to_json())
