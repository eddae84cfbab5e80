"""nhmmer rounds (pyhmmer): the single-sequence BLASTN stand-in, and the HMM-only round for long queries."""

from __future__ import annotations

import gc
from collections.abc import Iterable

import pyhmmer
from pyhmmer.easel import Alphabet, DigitalSequence
from pyhmmer.plan7 import HMM, Builder

from rnamsm.homology.database import Chunk
from rnamsm.homology.hits import chunk_hits, merge_hits, source_coordinates
from rnamsm.homology.rows import HitRow, nhmmer_row


def nhmmer_search(
    query: DigitalSequence | HMM,
    chunks: Iterable[Chunk],
    *,
    length: int,
    z_mb: float,
    E: float,
    incE: float,
    max_hits: int,
    threads: int,
    round_number: int,
) -> list[HitRow]:
    """Search ``query`` (a sequence or a profile of ``length`` match states) against every chunk.

    ``z_mb`` is nhmmer's search space in megabases of one strand (the whole database, so E-values do
    not depend on chunking; this is what nhmmer computes by itself on an unsplit database). Returns
    the reported hits in source coordinates, window overlaps resolved, at most ``max_hits`` included
    ones (best E-value first); only included hits carry an A3M row. Each chunk is
    :func:`nhmmer_chunk`, the results :func:`~rnamsm.homology.hits.merge_hits`.
    """
    return merge_hits(
        (nhmmer_chunk(query, chunk, length=length, z_mb=z_mb, E=E, incE=incE, max_hits=max_hits, threads=threads,
                      round_number=round_number) for chunk in chunks),
        max_hits,
    )


def nhmmer_chunk(
    query: DigitalSequence | HMM,
    chunk: Chunk,
    *,
    length: int,
    z_mb: float,
    E: float,
    incE: float,
    max_hits: int,
    threads: int,
    round_number: int,
) -> list[HitRow]:
    """The hits of one chunk (one shard job of a round), as :func:`~rnamsm.homology.hits.chunk_hits`."""
    builder = Builder(Alphabet.rna()) if isinstance(query, DigitalSequence) else None
    hits = chunk_hits(_search_chunk(query, builder, chunk, length, z_mb, E, incE, threads, round_number),
                      chunk.split, max_hits)
    gc.collect()  # pyhmmer's hit objects form reference cycles that keep the searched block alive
    return hits


def _search_chunk(
    query: DigitalSequence | HMM, builder: Builder | None, chunk: Chunk, length: int, z_mb: float, E: float,
    incE: float, threads: int, round_number: int,
) -> list[HitRow]:
    """Reported hits of one chunk, as plain :class:`HitRow` values (no reference to pyhmmer objects)."""
    if len(chunk.block) == 0:
        return []
    tophits = next(pyhmmer.hmmer.nhmmer(query, chunk.block, builder=builder, E=E, incE=incE, Z=z_mb, cpus=threads))
    found = []
    for hit in tophits.reported:
        piece = chunk.pieces[hit.name]
        for domain in hit.domains.reported:
            ali = domain.alignment
            start, end = source_coordinates(piece, ali.target_from, ali.target_to)
            included = bool(hit.included and domain.included)
            row = (
                nhmmer_row(ali.hmm_from, ali.hmm_to, ali.hmm_sequence, ali.target_sequence, length)
                if included
                else ""
            )
            found.append(
                HitRow(
                    piece.source, piece.accession, piece.description, start, end, "+" if start <= end else "-",
                    float(domain.i_evalue), float(domain.score), round_number, included, row,
                )
            )
    return found
