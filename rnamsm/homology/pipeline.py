"""``rnamsm search``: query -> nhmmer round -> CM rounds -> filtered, query-anchored MSA files.

Round 1 searches the query sequence with nhmmer. Each later round builds a CM from the current MSA
(``cmbuild --hand``, one consensus column per query base, structure from RNAfold or RNAalifold),
calibrates it (``cmcalibrate -L calibrate_L``, or a copy from ``calibrate_cache``) and searches it
with pyinfernal. Rounds stop when Neff reaches ``neff.stop``, after ``cm.max_rounds`` CM rounds, or
when a round adds nothing. The final MSA is the round with the highest Neff (ties: the later round).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyhmmer.easel import Alphabet, TextMSA, TextSequence
from pyhmmer.plan7 import Background, Builder

from rnamsm import __version__
from rnamsm.atomic import atomic_open, check_output_targets, ensure_directory, write_files
from rnamsm.errors import RnamsmError
from rnamsm.homology import infernal_cli
from rnamsm.homology import query as query_mod
from rnamsm.homology.cm_search import cm_search
from rnamsm.homology.database import Chunk, SequenceDatabase
from rnamsm.homology.filters import FilterCounts, filter_rows
from rnamsm.homology.formats import expand_inserts, format_stockholm, match_columns, msa_texts
from rnamsm.homology.neff import coverage, encode, identity_to_query, neff
from rnamsm.homology.nhmmer_round import nhmmer_search
from rnamsm.homology.query import Query
from rnamsm.homology.rows import HitRow
from rnamsm.homology.stats import build_stats, format_stats

#: Rows passed to RNAalifold for the consensus structure of later CM rounds.
ALIFOLD_ROWS = 500


@dataclass
class Round:
    """One search round: reported hits, the filtered rows of its MSA and their Neff."""

    number: int
    method: str
    hits: list[HitRow]
    rows: list[HitRow]
    counts: FilterCounts
    neff: float
    neff_approx: bool
    seconds: float
    structure: str
    structure_source: str = ""


@dataclass
class SearchResult:
    """Everything ``rnamsm search`` wrote, for callers and tests."""

    query: Query
    rounds: list[Round]
    final: Round
    paths: dict[str, Path]
    stats: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


class _Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def run(self, step: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``function(*args, **kwargs)``, adding its wall time to ``step``."""
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - start


def _names_and_rows(query: Query, rows: Sequence[HitRow]) -> tuple[list[str], list[str]]:
    return [query.id] + [hit.name for hit in rows], [query.sequence] + [hit.a3m for hit in rows]


def _first_structure(setting: str, query: Query, round1: list[HitRow], warnings: list[str]) -> tuple[str, str]:
    """Structure for the first CM (and its source name) from ``ss_first``."""
    if setting == "rnafold":
        return query_mod.fold(query.sequence), "rnafold"
    if setting == "alifold":
        if round1:
            rows = [query.sequence] + [match_columns(hit.a3m) for hit in round1[: ALIFOLD_ROWS - 1]]
            return query_mod.alifold(rows), "alifold"
        warnings.append("ss_first 'alifold' needs at least 2 round-1 rows; used the RNAfold MFE instead")
        return query_mod.fold(query.sequence), "rnafold"
    return query_mod.read_structure(setting, len(query)), f"file:{setting}"


def _filter_round(
    query: Query, number: int, method: str, hits: list[HitRow], params: dict[str, Any], seconds: float,
    structure: str,
) -> Round:
    included = [hit for hit in hits if hit.included]
    flt = params["filter"]
    rows, counts = filter_rows(
        query.sequence, included,
        min_coverage=flt["min_coverage"], max_identity=flt["max_identity"], max_rows=flt["max_rows"],
    )
    codes = encode([query.sequence] + [match_columns(hit.a3m) for hit in rows])
    value, approx = neff(codes, params["neff"]["identity"], params["neff"]["max_rows"])
    return Round(number, method, hits, rows, counts, value, approx, seconds, structure)


def _hmm_round(
    query: Query, current: Round, structure: str, chunks: Iterable[Chunk], z_mb: float, params: dict[str, Any],
    threads: int, number: int,
) -> list[HitRow]:
    """HMM-only round for long queries: a profile built from the current MSA, searched with nhmmer."""
    alphabet = Alphabet.rna()
    names, rows = _names_and_rows(query, current.rows)
    expanded, rf = expand_inserts(rows, len(query))
    msa = TextMSA(
        name=query.id,
        sequences=[TextSequence(name=name, sequence=row) for name, row in zip(names, expanded, strict=True)],
    )
    msa.reference = rf
    builder = Builder(alphabet, architecture="hand")
    hmm, _profile, _optimized = builder.build_msa(msa.digitize(alphabet), Background(alphabet))
    if hmm.M != len(query):
        raise RnamsmError(f"query {query.id!r}: profile HMM has {hmm.M} match states, expected {len(query)}")
    return nhmmer_search(
        hmm, chunks, length=len(query), z_mb=z_mb, E=params["cm"]["E"], incE=params["cm"]["incE"],
        max_hits=params["filter"]["max_rows"], threads=threads, round_number=number,
    )


def run_search(
    query_path: str | os.PathLike[str],
    databases: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    params: dict[str, Any],
    *,
    work_dir: str | os.PathLike[str] | None = None,
) -> SearchResult:
    """Run the whole search for one query and write ``{id}.a3m|.sto|.a2m_msa2`` and ``msa_stats.json``.

    ``params`` is a resolved config (:func:`rnamsm.homology.config.resolve`). Intermediate files
    (Stockholm inputs and calibrated CMs per round) go to ``work_dir`` when given, else to a
    temporary directory that is removed afterwards.
    """
    timer = _Timer()
    threads = params["threads"]
    query = timer.run("prepare_query", lambda: query_mod.read_query(query_path))
    check_output_targets(*(Path(out_dir) / f"{query.id}.{suffix}" for suffix in ("a3m", "sto", "a2m_msa2")),
                         Path(out_dir) / "msa_stats.json")
    if work_dir is not None:
        ensure_directory(work_dir)
    length = len(query)
    window = params["db"]["window"]
    if 2 * length >= window:  # windows of long database records overlap by twice the query length
        raise RnamsmError(
            f"{query_path}: query {query.id!r} is {length:,} nt, too long to search: database records are read "
            f"in windows of {window:,} nt (search db.window) that overlap by twice the query length, so the "
            f"longest query is {(window - 1) // 2:,} nt (validate-input refuses queries over input.max_length first)"
        )
    hmm_only = length > params["hmm_only_above"]
    cm_rounds = params["cm"]["max_rounds"]
    if cm_rounds and not hmm_only:
        infernal_cli.check_programs()
    warnings = query_mod.query_warnings(query)
    db_params = params["db"]
    database = SequenceDatabase(
        databases,
        split_above=db_params["split_above"],
        window=db_params["window"],
        overlap=max(db_params["min_overlap"], 2 * length),
        shuffle_seed=db_params["shuffle_seed"],
        volume_nt=db_params["volume_nt"],
    )
    if db_params["volume_nt"] is None:
        loaded = timer.run("prepare_db", lambda: list(database.chunks()))

        def chunks() -> Iterable[Chunk]:
            return loaded
    else:
        timer.run("prepare_db", database.scan)
        chunks = database.chunks
    summary = database.summary
    assert summary is not None
    warnings += summary.warnings()
    z_residues = max(2 * summary.residues, 1)
    z_mb = max(summary.residues, 1) / 1e6

    r1 = params["round1"]
    query_seq = TextSequence(name=query.id, sequence=query.sequence).digitize(Alphabet.rna())
    start = time.perf_counter()
    hits = timer.run(
        "round1.nhmmer",
        lambda: nhmmer_search(
            query_seq, chunks(), length=length, z_mb=z_mb, E=r1["E"], incE=r1["incE"], max_hits=r1["max_hits"],
            threads=threads, round_number=1,
        ),
    )
    rounds = [
        timer.run(
            "round1.filter",
            lambda: _filter_round(query, 1, "nhmmer", hits, params, time.perf_counter() - start, ""),
        )
    ]
    rounds[0].seconds = time.perf_counter() - start
    first_structure, first_source = timer.run(
        "predict_ss", _first_structure, params["ss_first"], query, rounds[0].rows, warnings
    )
    structure, structure_source = first_structure, first_source
    with tempfile.TemporaryDirectory(prefix="rnamsm-search-") as scratch:
        work = ensure_directory(work_dir) if work_dir is not None else Path(scratch)
        for number in range(2, cm_rounds + 2):
            current = rounds[-1]
            if current.neff >= params["neff"]["stop"]:
                break
            if number > 2:
                previous_rows = {hit.name for hit in rounds[-2].rows}
                if {hit.name for hit in current.rows} == previous_rows:
                    break
                structure = timer.run(f"round{number}.structure", _next_structure, params, query, current)
                structure_source = params["ss_next"]
            start = time.perf_counter()
            if hmm_only:
                method = "nhmmer-profile"
                hits = timer.run(
                    f"round{number}.nhmmer",
                    _hmm_round, query, current, structure, chunks(), z_mb, params, threads, number,
                )
            else:
                method = "cmsearch"
                hits = _cm_round(query, current, structure, chunks, z_residues, params, threads, number, work, timer)
            rounds.append(
                timer.run(f"round{number}.filter", _filter_round, query, number, method, hits, params, 0.0, structure)
            )
            rounds[-1].structure_source = structure_source
            rounds[-1].seconds = time.perf_counter() - start
    final = max(rounds, key=lambda r: (r.neff, r.number))
    if not final.rows:
        warnings.append(f"query {query.id!r}: no homologs found; the MSA holds the query only")
    names, rows = _names_and_rows(query, final.rows)
    out_dir = Path(out_dir)
    final_structure = final.structure or first_structure
    msa_files = timer.run("format_msa", msa_texts, out_dir / query.id, names, rows, final_structure, query.id)
    paths = dict(zip(("a3m", "sto", "a2m_msa2"), msa_files, strict=True))
    codes = encode([match_columns(row) for row in rows])
    stats = build_stats(
        query=query,
        rounds=rounds,
        final=final,
        coverage=coverage(codes),
        identities=identity_to_query(codes),
        summary=summary,
        z_residues=z_residues,
        z_mb=z_mb,
        structure=final_structure,
        structure_source=final.structure_source or first_source,
        hmm_only=hmm_only,
        infernal_version=infernal_cli.infernal_version() if cm_rounds and not hmm_only else None,
        params=params,
        timings=timer.timings,
        warnings=warnings,
        version=__version__,
    )
    paths["stats"] = out_dir / "msa_stats.json"
    write_files({**msa_files, paths["stats"]: format_stats(stats)})  # one set: all four files or none
    return SearchResult(query, rounds, final, paths, stats, warnings)


def _next_structure(params: dict[str, Any], query: Query, current: Round) -> str:
    """Structure of a later CM: RNAalifold consensus of the current MSA, or the query MFE."""
    if params["ss_next"] == "alifold" and current.rows:
        rows = [query.sequence] + [match_columns(hit.a3m) for hit in current.rows[: ALIFOLD_ROWS - 1]]
        return query_mod.alifold(rows)
    return query_mod.fold(query.sequence)


def _cm_round(
    query: Query, current: Round, structure: str, chunks: Callable[[], Iterable[Chunk]], z_residues: int,
    params: dict[str, Any], threads: int, number: int, work: Path, timer: _Timer,
) -> list[HitRow]:
    """Build, calibrate and search the CM of round ``number`` from the current MSA."""
    names, rows = _names_and_rows(query, current.rows)
    stockholm = work / f"round{number}.sto"
    cm_path = work / f"round{number}.cm"
    timer.run(
        f"round{number}.stockholm",
        lambda: _write_text(stockholm, format_stockholm(names, rows, structure, query.id)),
    )
    timer.run(f"round{number}.cmbuild", lambda: infernal_cli.build_cm(stockholm, cm_path))
    timer.run(
        f"round{number}.cmcalibrate",
        lambda: infernal_cli.calibrate_cm_cached(
            cm_path, length_mb=params["calibrate_L"], threads=threads, cache_dir=params["calibrate_cache"]
        ),
    )
    cm = infernal_cli.read_cm(cm_path, len(query))
    return timer.run(
        f"round{number}.cmsearch",
        lambda: cm_search(
            cm, chunks(), z_residues=z_residues, E=params["cm"]["E"], incE=params["cm"]["incE"], threads=threads,
            round_number=number,
        ),
    )


def _write_text(path: Path, text: str) -> None:
    with atomic_open(path) as handle:
        handle.write(text)
