"""``structure/ss.json``: what ``rnamsm predict-ss`` called, and with which settings and head.

One JSON object, sorted keys, indent 2: ``sequence``, ``dbn``, ``pairs`` (``[[i, j], ...]``, 1-based,
``i < j``, sorted), ``threshold``, ``canonical_only``, ``min_hairpin``, ``head_sha256`` and
``weights_untrained``. Reading checks every key, and that the pairs are the dot-bracket's.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from rnamsm.atomic import atomic_open
from rnamsm.errors import RnamsmError
from rnamsm.formats.structure import Pair, dbn_to_pairs
from rnamsm.textfile import read_text


@dataclass(frozen=True)
class SsSummary:
    """The content of ``ss.json``."""

    sequence: str
    dbn: str
    pairs: tuple[Pair, ...]  # sorted, 1-based, i < j
    threshold: float
    canonical_only: bool
    min_hairpin: int
    head_sha256: str
    weights_untrained: bool

    def to_json(self) -> str:
        """The file's text (sorted keys, indent 2, final newline)."""
        document = asdict(self)
        document["pairs"] = [[i, j] for i, j in self.pairs]
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> SsSummary:
        """Parse and check ``ss.json`` text; every problem is one :class:`RnamsmError` naming ``source``."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise RnamsmError(f"{source}: not valid JSON ({error})") from None
        if not isinstance(document, dict):
            raise RnamsmError(f"{source}: expected a JSON object, found {type(document).__name__}")
        missing = [field.name for field in fields(cls) if field.name not in document]
        if missing:
            raise RnamsmError(f"{source}: missing key(s) {', '.join(missing)}")
        for name, (check, expected) in _CHECKS.items():
            if not check(document[name]):
                raise RnamsmError(f"{source}: {name} must be {expected}, found {json.dumps(document[name])[:60]}")
        sequence, dbn = document["sequence"], document["dbn"]
        if len(dbn) != len(sequence):
            raise RnamsmError(f"{source}: dbn has {len(dbn)} characters, the sequence {len(sequence)} nt")
        pairs = [tuple(pair) for pair in document["pairs"]]
        for i, j in pairs:
            if not 1 <= i < j <= len(sequence):
                raise RnamsmError(f"{source}: pair [{i}, {j}] is not 1 <= i < j <= {len(sequence)}")
        if len(set(pairs)) != len(pairs) or set(pairs) != dbn_to_pairs(dbn, f"{source}: dbn"):
            raise RnamsmError(f"{source}: pairs differ from the pairs of dbn")
        return cls(sequence, dbn, tuple(sorted(pairs)), float(document["threshold"]), document["canonical_only"],
                   document["min_hairpin"], document["head_sha256"], document["weights_untrained"])


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pair_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(pair, list) and len(pair) == 2 and all(map(_integer, pair)) for pair in value
    )


#: The check of each key of ``ss.json`` and what it expects (for the error message).
_CHECKS: dict[str, tuple[Any, str]] = {
    "sequence": (lambda value: isinstance(value, str) and value != "", "a non-empty string"),
    "dbn": (lambda value: isinstance(value, str), "a string"),
    "pairs": (_pair_list, "a list of [i, j] integer pairs"),
    "threshold": (lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value) and 0 <= value <= 1, "a number in [0, 1]"),
    "canonical_only": (lambda value: isinstance(value, bool), "true or false"),
    "min_hairpin": (lambda value: _integer(value) and value >= 0, "an integer >= 0"),
    "head_sha256": (lambda value: isinstance(value, str), "a string"),
    "weights_untrained": (lambda value: isinstance(value, bool), "true or false"),
}


def read(path: str | os.PathLike[str]) -> SsSummary:
    """Read and check ``ss.json``."""
    return SsSummary.from_json(read_text(path, "an ss.json file"), str(path))


def write(summary: SsSummary, path: str | os.PathLike[str]) -> None:
    """Write ``ss.json`` atomically."""
    with atomic_open(path) as handle:
        handle.write(summary.to_json())
