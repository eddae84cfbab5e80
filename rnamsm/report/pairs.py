"""Agreement between the base-pair sets of several predictors."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

Pair = tuple[int, int]


@dataclass(frozen=True)
class Agreement:
    """Pairs shared by two predictors and unique to each."""

    first: str
    second: str
    shared: int
    only_first: int
    only_second: int

    @property
    def f1(self) -> float:
        """F1 of ``second`` against ``first`` (1.0 when both predict no pair)."""
        total = 2 * self.shared + self.only_first + self.only_second
        return 1.0 if total == 0 else 2 * self.shared / total


def agreements(predictions: dict[str, set[Pair]]) -> list[Agreement]:
    """Agreement for every pair of predictors, in the order the dict lists them."""
    return [
        Agreement(a, b, len(predictions[a] & predictions[b]), len(predictions[a] - predictions[b]),
                  len(predictions[b] - predictions[a]))
        for a, b in combinations(predictions, 2)
    ]
