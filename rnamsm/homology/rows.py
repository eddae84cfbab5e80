"""Hits to query-anchored A3M rows.

An A3M row holds exactly ``L`` match characters (upper-case residues or ``-``), one per query
(consensus) column, plus lower-case insert residues between them. Rows are built from the pairwise
alignments that nhmmer (pyhmmer) and cmsearch (pyinfernal) report, and every CM row is checked:
``L`` match characters and exactly the hit's residues consumed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pyhmmer.easel import DigitalSequence

from rnamsm.errors import RnamsmError
from rnamsm.formats.msa import match_columns

#: Infernal's alignment markers: a local end ``*[ n]*`` and 5'/3' truncations ``<[ n]*`` / ``*[ n]>``.
_LOCAL_END = re.compile(r"\*\[\s*(\d+)\]\*")
_TRUNCATION = re.compile(r"<\[\s*(\d+)\]\*|\*\[\s*(\d+)\]>")
_GAPS = "-."


@dataclass(frozen=True)
class HitRow:
    """One hit: its place in the source record (1-based, ``start > end`` on the minus strand) and its row.

    ``a3m`` is empty for hits that are reported but not included (they get no row).
    """

    target: str
    accession: str
    description: str
    start: int
    end: int
    strand: str
    evalue: float
    score: float
    round: int
    included: bool
    a3m: str

    @property
    def name(self) -> str:
        """Row name ``target/start-end`` (source coordinates)."""
        return f"{self.target}/{self.start}-{self.end}"


def nhmmer_row(hmm_from: int, hmm_to: int, hmm_sequence: str, target_sequence: str, length: int) -> str:
    """A3M row of an nhmmer domain alignment against a query model of ``length`` match states."""
    parts = ["-" * (hmm_from - 1)]
    for model_char, target_char in zip(hmm_sequence, target_sequence, strict=True):
        if model_char == ".":
            if target_char not in _GAPS:
                parts.append(target_char.lower())
        else:
            parts.append("-" if target_char in _GAPS else target_char.upper())
    parts.append("-" * (length - hmm_to))
    return "".join(parts)


def subsequence(sequence: DigitalSequence, start: int, end: int) -> str:
    """Residues ``start..end`` (1-based, inclusive) of ``sequence``; reverse complement when ``start > end``."""
    if start <= end:
        piece = DigitalSequence(sequence.alphabet, sequence=sequence.sequence[start - 1 : end])
        return piece.textize().sequence
    piece = DigitalSequence(sequence.alphabet, sequence=sequence.sequence[end - 1 : start])
    return piece.reverse_complement().textize().sequence


def cm_row(
    cm_from: int,
    cm_to: int,
    cm_sequence: str,
    target_sequence: str,
    clen: int,
    residues: int,
    fetch: Callable[[int, int], str],
    hit: str,
) -> str:
    """A3M row of a cmsearch hit alignment.

    Arguments:
        cm_from, cm_to: consensus columns spanned (1-based).
        cm_sequence, target_sequence: the two alignment lines (same length).
        clen: consensus length of the CM (the query length).
        residues: number of target residues of the hit, ``|to - from| + 1``.
        fetch: ``fetch(i, n)`` returns hit residues ``i .. i+n-1`` (0-based in the hit) as text,
            used for residues hidden in a local end.
        hit: the hit's name, for error messages.
    """
    # pyinfernal may pad both display lines with trailing spaces (seen on a 486-column CM): not columns.
    cm_sequence, target_sequence = cm_sequence.rstrip(" "), target_sequence.rstrip(" ")
    parts = ["-" * (cm_from - 1)]
    consumed = 0
    position = 0
    width = len(cm_sequence)
    if len(target_sequence) != width:
        raise RnamsmError(f"cmsearch hit {hit}: alignment lines differ in length")
    while position < width:
        model_char = cm_sequence[position]
        if model_char in "*<":
            local = _LOCAL_END.match(cm_sequence, position)
            if local:
                target_local = _LOCAL_END.match(target_sequence, position)
                if not target_local:
                    raise RnamsmError(f"cmsearch hit {hit}: local end without a target marker")
                hidden = int(target_local.group(1))
                parts.append("-" * int(local.group(1)))
                if hidden:
                    parts.append(fetch(consumed, hidden).lower())
                consumed += hidden
                position = max(local.end(), target_local.end())
                continue
            truncation = _TRUNCATION.match(cm_sequence, position)
            if truncation:
                position = truncation.end()
                continue
        target_char = target_sequence[position]
        if model_char == ".":
            if target_char not in _GAPS:
                parts.append(target_char.lower())
                consumed += 1
        elif target_char in _GAPS:
            parts.append("-")
        else:
            parts.append(target_char.upper())
            consumed += 1
        position += 1
    parts.append("-" * (clen - cm_to))
    row = "".join(parts)
    matches = len(match_columns(row))
    if matches != clen:
        raise RnamsmError(f"cmsearch hit {hit}: row has {matches} match columns, the CM has {clen}")
    if consumed != residues:
        raise RnamsmError(f"cmsearch hit {hit}: row consumed {consumed} residues, the hit spans {residues}")
    return row
