"""Readers under fuzzing and the inputs to fuzz them with (shared by the unit test and the benchmark)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

from hypothesis import strategies as st

from rnamsm.fasta import read_queries


def _read_fasta(path: Path) -> object:
    return list(read_queries(path))


#: Each reader takes a file path; it must return or raise RnamsmError with a one-line message.
READERS: dict[str, Callable[[Path], object]] = {
    "fasta": _read_fasta,
}

_TOKENS = [">", ">q1", ">q1 desc", "\n", "\r\n", "ACGU", "acgt", "NRY", "-", ".", "#=GC SS_cons", "# STOCKHOLM 1.0",
           "//", "<<<>>>", "(((...)))", "1 A 0", "\t", " ", "Z", "\x00", "é"]


def _insert(text: str, token: str, position: int) -> str:
    position = min(position, len(text))
    return text[:position] + token + text[position:]


def fuzz_inputs() -> st.SearchStrategy[bytes]:
    """Bytes that look like sequence files (token soup), raw junk, and gzipped versions of both."""
    token_soup = st.lists(st.sampled_from(_TOKENS), max_size=60).map(lambda parts: "".join(parts).encode("utf-8"))
    raw = st.binary(max_size=300)
    record = st.tuples(
        st.text(alphabet="abcXYZ019_-.|", min_size=1, max_size=12),
        st.text(alphabet="ACGUTacgutNRY\n", min_size=10, max_size=80),
    ).map(lambda parts: f">{parts[0]}\n{parts[1]}\n")
    records = st.lists(record, min_size=1, max_size=5).map("".join)
    near_valid = st.tuples(records, st.sampled_from(["", *_TOKENS]), st.integers(0, 400)).map(
        lambda parts: _insert(*parts).encode("utf-8")
    )
    plain = st.one_of(near_valid, token_soup, raw)
    return st.one_of(plain, plain.map(gzip.compress))
