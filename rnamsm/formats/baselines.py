"""``baselines.json``: the ViennaRNA baselines of one query (written by ``rnamsm baselines``).

``{"sequence", "rnafold": {"dbn", "mfe"}, "rnaalifold": {"dbn", "consensus_dbn", "energy",
"num_sequences"}}``, sorted keys, indent 2. ``rnafold.dbn`` and ``rnaalifold.dbn`` are structures of the
query (length L); ``rnaalifold.consensus_dbn`` is over the MSA columns.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from typing import Any

from rnamsm.atomic import atomic_open
from rnamsm.errors import RnamsmError
from rnamsm.formats.structure import dbn_to_pairs
from rnamsm.textfile import read_text


@dataclass(frozen=True)
class RnafoldResult:
    """RNAfold on the query alone: MFE structure and its energy (kcal/mol, 2 decimals)."""

    dbn: str
    mfe: float


@dataclass(frozen=True)
class RnaalifoldResult:
    """RNAalifold on the MSA: the consensus projected onto the query, the consensus, its energy, rows used."""

    dbn: str
    consensus_dbn: str
    energy: float
    num_sequences: int


@dataclass(frozen=True)
class Baselines:
    """The content of ``baselines.json``."""

    sequence: str
    rnafold: RnafoldResult
    rnaalifold: RnaalifoldResult

    def to_json(self) -> str:
        """The file's text: sorted keys, indent 2, final newline."""
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Baselines:
        """Parse and validate the file's text; every problem is one :class:`RnamsmError` naming ``source``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise RnamsmError(f"{source}: not valid JSON ({error})") from None
        return cls.from_mapping(data, source)

    @classmethod
    def from_mapping(cls, data: Any, source: str) -> Baselines:
        """Validate the decoded JSON document."""
        document = _object(data, source, "the document", ("sequence", "rnafold", "rnaalifold"))
        sequence = document["sequence"]
        if not isinstance(sequence, str) or not sequence:
            raise RnamsmError(f"{source}: sequence must be a non-empty string, found {_shown(sequence)}")
        rnafold = _object(document["rnafold"], source, "rnafold", ("dbn", "mfe"))
        alifold = _object(document["rnaalifold"], source, "rnaalifold",
                          ("dbn", "consensus_dbn", "energy", "num_sequences"))
        for key, value in (("rnafold.dbn", rnafold["dbn"]), ("rnaalifold.dbn", alifold["dbn"])):
            if not isinstance(value, str) or len(value) != len(sequence):
                raise RnamsmError(f"{source}: {key} must be a dot-bracket of the sequence's length "
                                  f"{len(sequence)}, found {_shown(value)}")
        if not isinstance(alifold["consensus_dbn"], str):
            raise RnamsmError(f"{source}: rnaalifold.consensus_dbn must be a string, "
                              f"found {_shown(alifold['consensus_dbn'])}")
        for key, value in (("rnafold.dbn", rnafold["dbn"]), ("rnaalifold.dbn", alifold["dbn"]),
                           ("rnaalifold.consensus_dbn", alifold["consensus_dbn"])):
            dbn_to_pairs(value, f"{source}: {key}")  # balanced brackets, dot-bracket characters only
        for key, value in (("rnafold.mfe", rnafold["mfe"]), ("rnaalifold.energy", alifold["energy"])):
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)):
                raise RnamsmError(f"{source}: {key} must be a finite number, found {_shown(value)}")
        count = alifold["num_sequences"]
        if not (isinstance(count, int) and not isinstance(count, bool) and count >= 1):
            raise RnamsmError(f"{source}: rnaalifold.num_sequences must be a count >= 1, found {_shown(count)}")
        return cls(
            sequence=sequence,
            rnafold=RnafoldResult(dbn=rnafold["dbn"], mfe=float(rnafold["mfe"])),
            rnaalifold=RnaalifoldResult(dbn=alifold["dbn"], consensus_dbn=alifold["consensus_dbn"],
                                        energy=float(alifold["energy"]), num_sequences=count),
        )


def _object(value: Any, source: str, what: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """``value`` if it is a JSON object holding ``keys`` (others are refused too)."""
    if not isinstance(value, dict):
        raise RnamsmError(f"{source}: {what} must be a JSON object, found {_shown(value)}")
    missing = [key for key in keys if key not in value]
    if missing:
        raise RnamsmError(f"{source}: {what}: missing key(s) {', '.join(missing)}")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise RnamsmError(f"{source}: {what}: unknown key(s) {', '.join(unknown)}")
    return value


def _shown(value: Any) -> str:
    """A short rendering of a JSON value for an error message."""
    return json.dumps(value)[:60]


def read(path: str | os.PathLike[str]) -> Baselines:
    """Read and validate ``baselines.json``."""
    return Baselines.from_json(read_text(path, "a baselines.json file"), str(path))


def write(record: Baselines, path: str | os.PathLike[str]) -> None:
    """Write ``baselines.json`` atomically."""
    with atomic_open(path) as handle:
        handle.write(record.to_json())
