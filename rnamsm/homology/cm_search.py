"""CM rounds of cmsearch, in-process with pyinfernal, chunk by chunk with the global search space."""

from __future__ import annotations

import gc
from collections.abc import Iterable

import pyinfernal
from pyinfernal.cm import CM

from rnamsm.homology.database import Chunk
from rnamsm.homology.hits import chunk_hits, merge_hits, source_coordinates
from rnamsm.homology.rows import HitRow, cm_row, subsequence


def cm_search(
    cm: CM,
    chunks: Iterable[Chunk],
    *,
    z_residues: int,
    E: float,
    incE: float,
    max_hits: int,
    threads: int,
    round_number: int,
) -> list[HitRow]:
    """Search a calibrated CM against every chunk; return the reported hits in source coordinates.

    ``z_residues`` must be twice the database's residues (both strands), as the cmsearch program
    uses; pyinfernal's own default counts one strand. Included hits carry a checked A3M row of
    ``cm.filter_hmm.M`` (consensus length) match columns; at most ``max_hits`` included hits are kept
    (best E-value first), chunk by chunk. Each chunk is :func:`cm_chunk`, the results
    :func:`~rnamsm.homology.hits.merge_hits`.
    """
    return merge_hits(
        (cm_chunk(cm, chunk, z_residues=z_residues, E=E, incE=incE, max_hits=max_hits, threads=threads,
                  round_number=round_number) for chunk in chunks),
        max_hits,
    )


def cm_chunk(
    cm: CM, chunk: Chunk, *, z_residues: int, E: float, incE: float, max_hits: int, threads: int, round_number: int
) -> list[HitRow]:
    """The hits of one chunk (one shard job of a round), as :func:`~rnamsm.homology.hits.chunk_hits`.

    The cycle collector runs afterwards: pyinfernal's hit objects form reference cycles that keep the
    searched block alive, so without it memory grew with the number of volumes searched.
    """
    hits = chunk_hits(_search_chunk(cm, chunk, z_residues, E, incE, threads, round_number), chunk.split, max_hits)
    gc.collect()
    return hits


def _search_chunk(
    cm: CM, chunk: Chunk, z_residues: int, E: float, incE: float, threads: int, round_number: int
) -> list[HitRow]:
    """Reported hits of one chunk, as plain :class:`HitRow` values (no reference to pyinfernal objects)."""
    if len(chunk.block) == 0:
        return []
    clen = cm.filter_hmm.M
    found: list[HitRow] = []
    tophits = next(pyinfernal.cmsearch(cm, chunk.block, cpus=threads, Z=z_residues, E=E, incE=incE))
    for hit in tophits.reported:
        ali = hit.alignment
        piece = chunk.pieces[hit.name]
        start, end = source_coordinates(piece, ali.target_from, ali.target_to)
        row = ""
        if hit.included:
            target = chunk.sequence(hit.name)
            t_from, t_to = ali.target_from, ali.target_to

            def fetch(offset: int, count: int, target=target, t_from=t_from, t_to=t_to) -> str:
                step = 1 if t_from <= t_to else -1
                first = t_from + step * offset
                return subsequence(target, first, first + step * (count - 1))

            row = cm_row(
                ali.cm_from, ali.cm_to, ali.cm_sequence, ali.target_sequence, clen,
                abs(t_to - t_from) + 1, fetch, f"{piece.source}/{start}-{end}",
            )
        found.append(
            HitRow(
                piece.source, piece.accession, piece.description, start, end, "+" if start <= end else "-",
                float(hit.evalue), float(hit.score), round_number, bool(hit.included), row,
            )
        )
    return found
