"""Base-pair sets: dot-bracket parsing and agreement between predictors."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from rnamsm.errors import RnamsmError

#: Bracket kinds accepted in dot-bracket strings (pseudoknots use the extra kinds).
BRACKETS: dict[str, str] = {")": "(", "]": "[", "}": "{", ">": "<"}

Pair = tuple[int, int]


def dbn_pairs(dbn: str, where: str = "dot-bracket") -> set[Pair]:
    """1-based pairs ``(i, j)``, ``i < j``, of a dot-bracket string; ``where`` names it in errors."""
    stacks: dict[str, list[int]] = {opening: [] for opening in BRACKETS.values()}
    pairs: set[Pair] = set()
    for position, symbol in enumerate(dbn, start=1):
        if symbol in stacks:
            stacks[symbol].append(position)
        elif symbol in BRACKETS:
            stack = stacks[BRACKETS[symbol]]
            if not stack:
                raise RnamsmError(f"{where}: unbalanced {symbol!r} at position {position}")
            pairs.add((stack.pop(), position))
        elif symbol not in ".-,_:~":
            raise RnamsmError(f"{where}: unexpected character {symbol!r} at position {position}")
    unclosed = [stack[-1] for stack in stacks.values() if stack]
    if unclosed:
        raise RnamsmError(f"{where}: unbalanced bracket at position {min(unclosed)}")
    return pairs


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
