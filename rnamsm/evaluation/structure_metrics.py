"""Base-pair metrics exactly as ``evaluation.md`` section 1 defines them.

Scoring works on pair sets (never partner arrays), so multiplets in an "all pairs" reference count
as they are. TN comes from the number of possible pairs, ``L'(L'-1)/2`` over unmasked positions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rnamsm.errors import RnamsmError
from rnamsm.formats.structure import Pair, Structure, is_canonical

#: Reference bases that mark a residue as missing or unknown (its pairs are not scored).
MASKED_BASES = frozenset("NX-?.")
#: The four aggregate metrics reported for every variant.
METRIC_NAMES = ("precision", "recall", "f1", "mcc")


@dataclass(frozen=True)
class Counts:
    """Confusion counts of one sequence (or summed over a set)."""

    tp: int
    fp: int
    fn: int
    tn: int

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)


def scores(counts: Counts) -> dict[str, float]:
    """Precision, recall, F1 and exact MCC with the fixed edge-case conventions."""
    tp, fp, fn, tn = counts.tp, counts.fp, counts.fn, counts.tn
    predicted, reference = tp + fp, tp + fn
    if predicted == 0 and reference == 0:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0, "mcc": 1.0}
    if predicted == 0 or reference == 0:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "mcc": 0.0}
    precision = tp / predicted
    recall = tp / reference
    f1 = 2 * tp / (2 * tp + fp + fn)
    denominator = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    mcc = (tp * tn - fp * fn) / math.sqrt(denominator) if denominator else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "mcc": mcc}


def masked_positions(reference: Structure) -> set[int]:
    """1-based positions the reference marks as missing or unknown."""
    return {position for position, base in enumerate(reference.sequence, 1) if base in MASKED_BASES}


def check_same_sequence(predicted: Structure, reference: Structure, masked: set[int]) -> None:
    """Refuse to compare structures of different sequences (masked reference positions match anything)."""
    if len(predicted.sequence) != len(reference.sequence):
        raise RnamsmError(
            f"record '{reference.name}': predicted sequence has {len(predicted.sequence)} nt but the reference "
            f"{len(reference.sequence)}; align them explicitly before scoring"
        )
    for position, (a, b) in enumerate(zip(predicted.sequence, reference.sequence), 1):
        if a != b and position not in masked:
            raise RnamsmError(
                f"record '{reference.name}': sequences differ at position {position} ('{a}' vs '{b}')"
            )


def shifted_matches(predicted: set[Pair], reference: set[Pair]) -> int:
    """True positives allowing a ±1 shift of one end: exact matches first, then shifted, one-to-one."""
    exact = predicted & reference
    free_reference = set(reference - exact)
    matched = len(exact)
    for i, j in sorted(predicted - exact):
        for candidate in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
            if candidate in free_reference:
                free_reference.remove(candidate)
                matched += 1
                break
    return matched


@dataclass(frozen=True)
class SequenceResult:
    """Counts of one sequence for every variant, and whether prediction equals reference."""

    name: str
    length: int
    counts: dict[str, Counts]
    exact_match: dict[str, bool]


#: Scoring variants: all pairs, canonical pairs only, and all pairs with ±1 shifted matching.
VARIANTS = ("all", "canonical", "shifted")


def score_sequence(
    predicted: Structure, reference: Structure, masked: Iterable[int] | None = None
) -> SequenceResult:
    """Score one predicted structure against its reference for every variant.

    ``masked``: 1-based positions to leave out (default: reference bases N, X, ``-``, ``?``, ``.``).
    """
    masked_set = set(masked) if masked is not None else masked_positions(reference)
    check_same_sequence(predicted, reference, masked_set)
    sequence = reference.sequence
    scored_length = len(sequence) - len(masked_set)
    possible = scored_length * (scored_length - 1) // 2

    def keep(pairs: set[Pair]) -> set[Pair]:
        return {pair for pair in pairs if pair[0] not in masked_set and pair[1] not in masked_set}

    all_predicted, all_reference = keep(predicted.pairs), keep(reference.pairs)
    canonical_predicted = {pair for pair in all_predicted if is_canonical(sequence, pair)}
    canonical_reference = {pair for pair in all_reference if is_canonical(sequence, pair)}
    counts: dict[str, Counts] = {}
    exact: dict[str, bool] = {}
    for variant, pred, ref in (
        ("all", all_predicted, all_reference),
        ("canonical", canonical_predicted, canonical_reference),
        ("shifted", all_predicted, all_reference),
    ):
        tp = shifted_matches(pred, ref) if variant == "shifted" else len(pred & ref)
        fp, fn = len(pred) - tp, len(ref) - tp
        counts[variant] = Counts(tp, fp, fn, possible - tp - fp - fn)
        exact[variant] = pred == ref
    return SequenceResult(reference.name, len(sequence), counts, exact)


def aggregate(results: Sequence[SequenceResult], variant: str) -> dict[str, object]:
    """Pooled (micro), per-sequence mean and median scores, and the exact-match rate of a variant."""
    if not results:
        raise RnamsmError("no sequences to score")
    total = Counts(0, 0, 0, 0)
    for result in results:
        total = total + result.counts[variant]
    per_sequence = [scores(result.counts[variant]) for result in results]
    pooled: dict[str, float | int] = dict(scores(total))
    pooled.update(tp=total.tp, fp=total.fp, fn=total.fn, tn=total.tn)
    return {
        "pooled": pooled,
        "per_sequence_mean": {name: float(np.mean([s[name] for s in per_sequence])) for name in METRIC_NAMES},
        "per_sequence_median": {name: float(np.median([s[name] for s in per_sequence])) for name in METRIC_NAMES},
        "exact_match_rate": float(np.mean([result.exact_match[variant] for result in results])),
    }


def summarise(results: Sequence[SequenceResult]) -> dict[str, object]:
    """The ``evaluate --json`` document: "all" pairs at the top level, ``canonical`` and ``shifted`` nested."""
    summary: dict[str, object] = dict(aggregate(results, "all"))
    summary["canonical"] = aggregate(results, "canonical")
    summary["shifted"] = aggregate(results, "shifted")
    summary["num_sequences"] = len(results)
    summary["headline"] = "pooled, all pairs, exact matching"
    return summary
