"""Readers under fuzzing and the inputs to fuzz them with (shared by the unit test and the benchmark)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

from hypothesis import strategies as st

from rnamsm.formats.query import read_queries
from rnamsm.formats.structure import read_structure
from rnamsm.model.msa import read_msa


def _read_fasta(path: Path) -> object:
    return list(read_queries(path))


#: Each reader: (file suffix it is given, function of the path). It must return, or raise
#: RnamsmError with a one-line message; any other exception is a bug.
READERS: dict[str, tuple[str, Callable[[Path], object]]] = {  # name (also the input kind): (suffix, reader)
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


def _stockholm(rows: list[tuple[str, str]]) -> str:
    width = max(len(row) for _, row in rows)
    body = "".join(f"{name} {row.ljust(width, '-')}\n" for name, row in rows)
    return f"# STOCKHOLM 1.0\n\n{body}#=GC RF {'x' * width}\n//\n"


def _structure_files(sequence: str, pairs: list[tuple[int, int]]) -> str:
    """The same structure as bpseq, ct and dot-bracket text, concatenated by format below."""
    partner = [0] * len(sequence)
    dbn = ["."] * len(sequence)
    for i, j in pairs:
        if i < j <= len(sequence) and partner[i - 1] == partner[j - 1] == 0:
            partner[i - 1], partner[j - 1] = j, i
            dbn[i - 1], dbn[j - 1] = "(", ")"
    bpseq = "".join(f"{k} {base} {partner[k - 1]}\n" for k, base in enumerate(sequence, 1))
    ct = f"{len(sequence)}\tq\n" + "".join(
        f"{k}\t{base}\t{k - 1}\t{k + 1 if k < len(sequence) else 0}\t{partner[k - 1]}\t{k}\n"
        for k, base in enumerate(sequence, 1)
    )
    return {"bpseq": bpseq, "ct": ct, "dbn": f">q\n{sequence}\n{''.join(dbn)}\n"}


def fuzz_inputs(kind: str = "fasta") -> st.SearchStrategy[bytes]:
    """Bytes for a reader of ``kind``: near-valid files with one token inserted, token soup, raw junk,
    and gzipped versions of all three."""
    token_soup = st.lists(st.sampled_from(_TOKENS), max_size=60).map(lambda parts: "".join(parts).encode("utf-8"))
    raw = st.binary(max_size=300)
    names = st.text(alphabet="abcXYZ019_-.|", min_size=1, max_size=12)
    if kind == "stockholm":
        rows = st.lists(st.tuples(names, st.text(alphabet="ACGU-.", min_size=10, max_size=40)), min_size=1,
                        max_size=5, unique_by=lambda row: row[0])
        valid = rows.map(_stockholm)
    elif kind in {"bpseq", "ct", "dbn"}:
        valid = st.tuples(
            st.text(alphabet="ACGU", min_size=1, max_size=40),
            st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40)), max_size=10),
        ).map(lambda parts: _structure_files(*parts)[kind])
    else:
        record = st.tuples(names, st.text(alphabet="ACGUTacgutNRY\n", min_size=10, max_size=80)).map(
            lambda parts: f">{parts[0]}\n{parts[1]}\n"
        )
        valid = st.lists(record, min_size=1, max_size=5).map("".join)
    near_valid = st.tuples(valid, st.sampled_from(["", "", *_TOKENS]), st.integers(0, 400)).map(
        lambda parts: _insert(*parts).encode("utf-8")
    )
    plain = st.one_of(near_valid, token_soup, raw)
    return st.one_of(plain, plain.map(gzip.compress))
