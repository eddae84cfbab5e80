"""Readers under fuzzing and the inputs to fuzz them with (shared by the unit test and the benchmark)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

from hypothesis import strategies as st

from rnamsm.fasta import read_queries
from rnamsm.heads.structure import read_structure
from rnamsm.model.msa import read_msa


def _read_fasta(path: Path) -> object:
    return list(read_queries(path))


#: Each reader: (file suffix it is given, function of the path). It must return, or raise
#: RnamsmError with a one-line message; any other exception is a bug.
READERS: dict[str, tuple[str, Callable[[Path], object]]] = {
    "fasta": (".fa", _read_fasta),
    "a3m": (".a3m", read_msa),
    "a2m_msa2": (".a2m_msa2", read_msa),
    "stockholm": (".sto", read_msa),
    "bpseq": (".bpseq", read_structure),
    "ct": (".ct", read_structure),
    "dbn": (".dbn", read_structure),
}

_TOKENS = [">", ">q1", ">q1 desc", "\n", "\r\n", "ACGU", "acgt", "NRY", "-", ".", "#=GC SS_cons", "#=GC RF",
           "# STOCKHOLM 1.0\n", "//", "<<<>>>", "(((...)))", "1 A 0", "2 C 5", "0", "-1", "\t", " ", "Z", "\x00", "é",
           "4\tname\n1\tG\t0\t2\t4\t1"]


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
