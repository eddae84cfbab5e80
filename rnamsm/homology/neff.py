"""MSA statistics on the query-length match columns: Neff, identity to the query, coverage."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Symbol codes: A C G U, any other residue, gap.
_CODES = np.full(256, 4, dtype=np.uint8)
for _code, _chars in enumerate(("Aa", "Cc", "Gg", "UuTt")):
    for _char in _chars:
        _CODES[ord(_char)] = _code
_CODES[ord("-")] = 5
_SYMBOLS = 6


def encode(rows: Sequence[str]) -> np.ndarray:
    """Equal-length match rows as a uint8 code matrix, shape (N, L)."""
    if not rows:
        return np.zeros((0, 0), dtype=np.uint8)
    data = np.frombuffer("".join(rows).encode("ascii"), dtype=np.uint8).reshape(len(rows), -1)
    return _CODES[data]


def _one_hot(codes: np.ndarray) -> np.ndarray:
    """(N, L) codes -> (N, L * 6) float32 one-hot."""
    n, length = codes.shape
    out = np.zeros((n, length, _SYMBOLS), dtype=np.float32)
    np.put_along_axis(out, codes[:, :, None].astype(np.intp), 1.0, axis=2)
    return out.reshape(n, length * _SYMBOLS)


def neff(codes: np.ndarray, identity: float = 0.8, max_rows: int = 20000, block: int = 1024) -> tuple[float, bool]:
    """Neff = sum over rows of 1 / (rows at >= ``identity`` to it, itself included).

    Identity is over all L columns, a gap counting as a symbol. Above ``max_rows`` rows only the
    first ``max_rows`` are used; the second value is then ``True`` (approximate).
    """
    approx = codes.shape[0] > max_rows
    codes = codes[:max_rows]
    n, length = codes.shape
    if n == 0:
        return 0.0, approx
    one_hot = _one_hot(codes)
    threshold = identity * length - 1e-6
    neighbours = np.zeros(n, dtype=np.int64)
    for first in range(0, n, block):
        same = one_hot[first : first + block] @ one_hot.T  # (block, N) identical columns
        neighbours[first : first + block] = (same >= threshold).sum(axis=1)
    return float((1.0 / neighbours).sum()), approx


def identity_to_query(codes: np.ndarray) -> np.ndarray:
    """Fraction of the L columns where each non-query row equals the query (row 0), shape (N - 1,)."""
    if codes.shape[0] < 2:
        return np.zeros(0)
    return (codes[1:] == codes[0]).mean(axis=1)


def coverage(codes: np.ndarray) -> np.ndarray:
    """Per query position, the fraction of rows with a residue (not a gap) there, shape (L,)."""
    return (codes != 5).mean(axis=0)
