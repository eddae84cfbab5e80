"""Range checks of numeric options, each failing with one :class:`RnamsmError` line naming the option.

argparse only checks that a value parses as a number; NaN, infinities, negative counts and
out-of-range fractions would otherwise reach torch, NumPy or ViennaRNA and fail there with a
traceback (or, worse, run and write meaningless output).
"""

from __future__ import annotations

import math

from rnamsm.errors import RnamsmError

#: Largest seed accepted (torch and NumPy generators both take any value in ``[0, 2**63)``).
MAX_SEED = 2**63 - 1


def check_seed(value: int, option: str = "--seed") -> int:
    """``value`` if it is a seed in ``[0, 2**63)``."""
    if not 0 <= value <= MAX_SEED:
        raise RnamsmError(f"{option} must be between 0 and 2**63 - 1, got {value}")
    return value


def check_at_least(value: int, minimum: int, option: str) -> int:
    """``value`` if it is an integer ``>= minimum``."""
    if value < minimum:
        raise RnamsmError(f"{option} must be at least {minimum}, got {value}")
    return value


def check_range(value: float, low: float, high: float, option: str, *, open_low: bool = False,
                open_high: bool = False) -> float:
    """``value`` if it is a finite number between ``low`` and ``high`` (ends excluded when ``open_*``)."""
    above = value > low if open_low else value >= low
    below = value < high if open_high else value <= high
    if not (math.isfinite(value) and above and below):
        interval = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
        raise RnamsmError(f"{option} must be a number in {interval}, got {value}")
    return value


def check_positive(value: float, option: str) -> float:
    """``value`` if it is a finite number ``> 0``."""
    if not (math.isfinite(value) and value > 0):
        raise RnamsmError(f"{option} must be a positive finite number, got {value}")
    return value
