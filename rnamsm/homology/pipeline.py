"""``rnamsm search``: query -> nhmmer round -> CM rounds -> filtered, query-anchored MSA files.

Round 1 searches the query sequence with nhmmer. Each later round builds a CM from the current MSA
(``cmbuild --hand``, one consensus column per query base, structure from RNAfold or RNAalifold),
calibrates it (``cmcalibrate -L calibrate_L``, or a copy from ``calibrate_cache``) and searches it
with pyinfernal. Rounds stop when Neff reaches ``neff.stop`` (tested once ``cm.min_rounds`` CM rounds
ran), after ``cm.max_rounds`` CM rounds, or when a round adds nothing. The final MSA is the round
chosen by :func:`_final_round`; with ``align: cmalign``, or ``auto`` when that round is not a CM round,
its rows are realigned to a CM built from them (:mod:`rnamsm.homology.realign`). ``msa_stats.json``
says which round, which alignment and why.

The database is FASTA/Stockholm files, read and deduplicated here, or one prepared database
(:mod:`rnamsm.homology.prepared_db`), searched shard by shard with the manifest's Z; each round's
shard hits are merged exactly (:func:`rnamsm.homology.hits.merge_hits`). ``search.cache`` copies a
search finished before (:mod:`rnamsm.homology.search_cache`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from pyhmmer.easel import Alphabet, TextMSA, TextSequence
from pyhmmer.plan7 import Background, Builder

from rnamsm import STAGE_VERSIONS, __version__
from rnamsm.atomic import check_output_targets, ensure_directory, write_files
from rnamsm.checksums import file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.formats import db_manifest, msa_stats
from rnamsm.formats import msa as msa_format
from rnamsm.formats import query as query_format
from rnamsm.formats.msa import Alignment, expand_inserts, match_columns
from rnamsm.formats.msa_stats import PreparedDatabaseStats, SearchCacheStats, ShardStats
from rnamsm.formats.query import Query
from rnamsm.formats.structure import read_dbn_line
from rnamsm.homology import infernal_cli, search_cache, shard_results
from rnamsm.homology import query as query_mod
from rnamsm.homology.cm_search import cm_chunk
from rnamsm.homology.database import Chunk, DatabaseSummary, SequenceDatabase
from rnamsm.homology.filters import filter_rows
from rnamsm.homology.hits import merge_hits
from rnamsm.homology.neff import coverage, encode, identity_to_query, neff
from rnamsm.homology.nhmmer_round import nhmmer_chunk
from rnamsm.homology.prepared_db import PreparedDatabase
from rnamsm.homology.realign import realign
from rnamsm.homology.result import Round, SearchResult
from rnamsm.homology.rows import HitRow
from rnamsm.homology.settings import DEFAULT_THREADS, SearchSettings
from rnamsm.homology.shard_results import Receipt
from rnamsm.homology.stats import build_stats, library_versions
from rnamsm.layout import MsaFiles
from rnamsm.search_jobs import job_shards
from rnamsm.settings import settings_to_mapping
from rnamsm.textfile import check_regular_file

#: Rows passed to RNAalifold for the consensus structure of later CM rounds.
ALIFOLD_ROWS = 500


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


@dataclasses.dataclass
class SearchedDatabase:
    """What a search reads: the chunks (a prepared database's shards), the totals, the global search space
    (``z_residues`` for cmsearch, ``z_mb`` for nhmmer) and, per round, the seconds spent on each chunk."""

    chunks: Callable[[], Iterable[Chunk]]
    summary: DatabaseSummary
    z_residues: int
    z_mb: float
    prepared: PreparedDatabase | None = None
    seconds: list[list[float]] = dataclasses.field(default_factory=list)
    #: Folder keeping each finished shard's hits (a prepared database only), and how many were reused.
    resume: Path | None = None
    resumed: int = 0
    #: The round job this process is (``rnamsm search-round``), or ``None`` for a whole search.
    job: RoundJob | None = None

    def search(self, number: int, search_chunk: Callable[[Chunk], list[HitRow]], max_hits: int,
               label: str) -> list[HitRow]:
        """Round ``number``: ``search_chunk`` on every chunk in turn (as one shard job each would), hits merged.

        With :attr:`resume`, each shard's hits are kept under ``label`` (what the round searches with) and a
        shard kept before is not searched again. When :attr:`job` is a job of this round, only its shards
        are searched (none for the round's model job) and :class:`_RoundDone` ends the process's search.
        """
        if self.job is not None and self.job.number == number:
            self._round_job(self.job, search_chunk, label)
        times: list[float] = []

        def each() -> Iterable[list[HitRow]]:
            if self.resume is not None and self.prepared is not None:
                yield from resumable(self.prepared, self.resume)
                return
            chunks = iter(self.chunks())
            while True:
                start = time.perf_counter()
                chunk = next(chunks, None)
                if chunk is None:
                    return
                hits = search_chunk(chunk)
                del chunk  # one chunk in memory at a time
                times.append(time.perf_counter() - start)
                yield hits

        def resumable(prepared: PreparedDatabase, folder: Path) -> Iterable[list[HitRow]]:
            for index in range(len(prepared.manifest.shards)):
                path = shard_results.result_path(folder, label, index)
                kept = shard_results.load(path)
                if kept is None:
                    kept = self._search_shard(prepared, search_chunk, index, path)
                else:
                    self.resumed += 1
                times.append(kept[1])
                yield kept[0]

        hits = merge_hits(each(), max_hits)
        self.seconds.append(times)
        return hits

    @staticmethod
    def _search_shard(prepared: PreparedDatabase, search_chunk: Callable[[Chunk], list[HitRow]], index: int,
                      path: Path) -> tuple[list[HitRow], float]:
        """Search shard ``index`` and keep its hits and seconds at ``path``."""
        start = time.perf_counter()
        hits = search_chunk(prepared.chunk(index))
        seconds = time.perf_counter() - start
        shard_results.save(path, hits, seconds)
        return hits, seconds

    def _round_job(self, job: RoundJob, search_chunk: Callable[[Chunk], list[HitRow]], label: str) -> None:
        """Stop the search at ``job``'s round with its part: the job's unfinished shards, which the caller
        searches (:func:`run_round_job`: each shard read once for all of the job's samples); nothing for the
        model job, whose part (the round's calibrated CM) is done by now."""
        if job.job is None:
            raise _RoundDone(Receipt(job.number, None, job.jobs, "model"))
        assert self.prepared is not None and self.resume is not None
        shards = job_shards(job.job, job.jobs, len(self.prepared.manifest.shards))
        paths = {index: shard_results.result_path(self.resume, label, index) for index in shards}
        unfinished = {index: path for index, path in paths.items() if shard_results.load(path) is None}
        raise _RoundDone(Receipt(job.number, job.job, job.jobs, "searched", tuple(shards), tuple(unfinished)),
                         _ShardWork(search_chunk, unfinished))

    def stats(self) -> PreparedDatabaseStats | None:
        """The prepared database's record for ``msa_stats.json`` (``None`` for plain files)."""
        if self.prepared is None:
            return None
        manifest = self.prepared.manifest
        return PreparedDatabaseStats(
            name=manifest.name, manifest_sha256=self.prepared.digest, records=manifest.records,
            residues=manifest.residues, cmsearch_Z_residues=manifest.cmsearch_Z_residues,
            nhmmer_Z_Mb=manifest.nhmmer_Z_Mb, resumed_shards=self.resumed,
            shards=tuple(
                ShardStats(shard.file, shard.residues, tuple(round(times[index], 3) for times in self.seconds))
                for index, shard in enumerate(manifest.shards)
            ),
        )


@dataclasses.dataclass(frozen=True)
class RoundJob:
    """One job of a round of a sharded search (``rnamsm search-round``): shard job ``job`` of ``jobs`` of round
    ``number`` (1: nhmmer; later: the CM or profile rounds), or with ``job`` ``None`` the per-sample step before
    the round's search (the rounds before it merged and filtered, its CM built and calibrated)."""

    number: int
    job: int | None
    jobs: int


@dataclasses.dataclass(frozen=True)
class RoundMember:
    """One sample of a round job: its query file and its search's resume folder (``--resume-dir``)."""

    query: Path
    resume_dir: Path


@dataclasses.dataclass(frozen=True)
class _ShardWork:
    """What a shard job has left to do for one sample: its unfinished shards (index -> result file), searched
    with ``search_chunk`` (the round's model of that sample)."""

    search_chunk: Callable[[Chunk], list[HitRow]]
    unfinished: dict[int, Path]


class _RoundDone(Exception):
    """A round job reached its part; raised through the search loop to end it (with a shard job's work)."""

    def __init__(self, receipt: Receipt, work: _ShardWork | None = None) -> None:
        super().__init__(receipt.status)
        self.receipt = receipt
        self.work = work


def open_database(
    databases: Sequence[str | os.PathLike[str]], settings: SearchSettings, query_length: int,
    timer: _Timer | None = None,
) -> SearchedDatabase:
    """The database of a search: one prepared database (its folder or manifest), or FASTA/Stockholm files
    read, deduplicated and windowed now (whole in memory, or in ``db.volume_nt`` volumes)."""
    timer = _Timer() if timer is None else timer
    prepared = [path for path in databases if db_manifest.is_prepared(path)]
    if prepared:
        if len(databases) != 1:
            raise RnamsmError(f"{prepared[0]}: a prepared database is searched alone; prepare all files into it")
        database = timer.run("prepare_db", PreparedDatabase, prepared[0])
        overlap = database.manifest.windowing["overlap"]
        if 2 * query_length > overlap:
            raise RnamsmError(
                f"{prepared[0]}: the query is {query_length:,} nt but the database's windows overlap by "
                f"{overlap:,} nt, enough for queries up to {overlap // 2:,} nt (rnamsm prepare-db --max-query)"
            )
        manifest = database.manifest
        return SearchedDatabase(database.chunks, database.summary, manifest.cmsearch_Z_residues,
                                manifest.nhmmer_Z_Mb, database)
    db = settings.db
    reader = SequenceDatabase(
        databases,
        split_above=db.split_above,
        window=db.window,
        overlap=max(db.min_overlap, 2 * query_length),
        shuffle_seed=db.shuffle_seed,
        volume_nt=db.volume_nt,
    )
    if db.volume_nt is None:
        loaded = timer.run("prepare_db", lambda: list(reader.chunks()))

        def chunks() -> Iterable[Chunk]:
            return loaded
    else:
        timer.run("prepare_db", reader.scan)
        chunks = reader.chunks
    summary = reader.summary
    assert summary is not None
    return SearchedDatabase(chunks, summary, *db_manifest.search_space(summary.residues))


def read_query(path: str | os.PathLike[str]) -> Query:
    """The one query record of ``path`` in the search alphabet.

    The record id names the output files, so it must be safe as a file name (:func:`check_record_id`).
    """
    record = query_format.read(path)
    problem = query_format.check_record_id(record.id)
    if problem:
        raise RnamsmError(f"{path}: record {record.id!r}: {problem}; the id names the MSA files "
                          "(give a safe one with rnamsm validate-input --rename)")
    return dataclasses.replace(record, sequence=query_format.search_sequence(record.sequence))


def _alignment(query: Query, rows: Sequence[HitRow], structure: str, inserts: bool = True) -> Alignment:
    """The MSA of ``rows`` under the query's row, with ``structure`` on the query columns; without their
    insertions relative to the query unless ``inserts``."""
    aligned = (hit.a3m if inserts else match_columns(hit.a3m) for hit in rows)
    return Alignment((query.id, *(hit.name for hit in rows)), (query.sequence, *aligned), structure)


def _first_structure(settings: SearchSettings, query: Query, round1: list[HitRow],
                     warnings: list[str]) -> tuple[str, str]:
    """Structure for the first CM (and its source name) from ``ss_first``."""
    setting = settings.ss_first
    if setting == "rnafold":
        return query_mod.fold(query.sequence), "rnafold"
    if setting == "alifold":
        if round1:
            rows = [query.sequence] + [match_columns(hit.a3m) for hit in round1[: ALIFOLD_ROWS - 1]]
            return query_mod.alifold(rows, settings.alifold), "alifold"
        warnings.append("ss_first 'alifold' needs at least 2 round-1 rows; used the RNAfold MFE instead")
        return query_mod.fold(query.sequence), "rnafold"
    return read_dbn_line(setting, len(query)), f"file:{setting}"


def _filter_round(
    query: Query, number: int, method: str, hits: list[HitRow], settings: SearchSettings, seconds: float,
    structure: str,
) -> Round:
    included = [hit for hit in hits if hit.included]
    flt = settings.filter
    rows, counts = filter_rows(
        query.sequence, included, min_coverage=flt.min_coverage, max_identity=flt.max_identity, max_rows=flt.max_rows,
    )
    codes = encode([query.sequence] + [match_columns(hit.a3m) for hit in rows])
    value, approx = neff(codes, settings.neff.identity, settings.neff.max_rows)
    return Round(number, method, hits, rows, counts, value, approx, seconds, structure)


def _hmm_round(
    query: Query, current: Round, structure: str, database: SearchedDatabase, settings: SearchSettings,
    threads: int, number: int,
) -> list[HitRow]:
    """HMM-only round for long queries: a profile built from the current MSA, searched with nhmmer."""
    alphabet = Alphabet.rna()
    alignment = _alignment(query, current.rows, structure)
    expanded, rf = expand_inserts(alignment.rows, len(query))
    msa = TextMSA(
        name=query.id,
        sequences=[TextSequence(name=name, sequence=row)
                   for name, row in zip(alignment.names, expanded, strict=True)],
    )
    msa.reference = rf
    builder = Builder(alphabet, architecture="hand")
    hmm, _profile, _optimized = builder.build_msa(msa.digitize(alphabet), Background(alphabet))
    if hmm.M != len(query):
        raise RnamsmError(f"query {query.id!r}: profile HMM has {hmm.M} match states, expected {len(query)}")
    cap = settings.filter.max_rows
    return database.search(
        number,
        lambda chunk: nhmmer_chunk(hmm, chunk, length=len(query), z_mb=database.z_mb, E=settings.cm.E,
                                   incE=settings.cm.incE, max_hits=cap, threads=threads, round_number=number),
        cap,
        _round_label(database, settings, number, "nhmmer-profile", *alignment.names, *alignment.rows, structure),
    )


def run_search(
    query_path: str | os.PathLike[str],
    databases: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    settings: SearchSettings | None = None,
    *,
    threads: int = DEFAULT_THREADS,
    work_dir: str | os.PathLike[str] | None = None,
    resume_dir: str | os.PathLike[str] | None = None,
) -> SearchResult:
    """Run the whole search for one query and write ``{id}.a3m|.sto|.a2m_msa2`` and ``msa_stats.json``.

    ``query_path`` holds one query record (see :func:`rnamsm.formats.query.read`); the search sees it in
    its alphabet (:func:`rnamsm.formats.query.search_sequence`). ``settings`` default to the schema's
    ``search`` defaults; ``threads`` go to nhmmer, cmsearch and cmcalibrate. Intermediate files
    (Stockholm inputs and calibrated CMs per round) go to ``work_dir`` when given, else to a temporary
    directory that is removed afterwards. With ``resume_dir``, each finished shard of a prepared database
    keeps its hits there (:mod:`rnamsm.homology.shard_results`): a killed search run again with the same
    folder searches only the unfinished shards; the folder is emptied when the search has written its files.
    """
    result = _search(query_path, databases, out_dir, settings, threads, work_dir, resume_dir, None)
    assert isinstance(result, SearchResult)
    return result


def run_round_job(
    members: Sequence[RoundMember],
    database: str | os.PathLike[str],
    job: RoundJob,
    settings: SearchSettings | None = None,
    *,
    threads: int = DEFAULT_THREADS,
    after: str | os.PathLike[str] | None = None,
) -> list[Receipt]:
    """One job of a round of the sharded searches of ``members`` (samples of the prepared ``database``, see
    :class:`RoundJob`), one receipt per member in their order.

    Each member's search is replayed up to round ``job.number`` from the shard results kept in its resume
    folder (the rounds before it read back, their filters and Neff stop applied, calibrated CMs copied from
    the folder). Then the job does its part: the model job leaves each member's calibrated CM of the round
    there; a shard job searches the members' unfinished shards, reading each shard once for all of them, and
    keeps each member's hits in its folder as soon as they are found. ``rnamsm search`` with a member's
    resume folder then merges every shard into its MSA files, searching nothing again. ``after`` holds the
    receipts of the job this one follows: a member whose search stopped there (or is cached) is left alone.
    """
    if not members:
        raise RnamsmError("a round job needs at least one sample (a query and its resume folder)")
    before = {receipt.member: receipt for receipt in shard_results.read_receipts(after)} if after else {}
    receipts: list[Receipt] = []
    work: list[_ShardWork] = []
    for member in members:
        previous = before.get(str(member.resume_dir))
        if previous is not None and previous.status in ("stopped", "cached"):
            receipts.append(Receipt(job.number, job.job, job.jobs, previous.status))
            continue
        result = _search(member.query, [database], member.resume_dir, settings, threads, None, member.resume_dir,
                         job)
        receipt, shards = result if isinstance(result, tuple) else (result, None)
        assert isinstance(receipt, Receipt)
        receipts.append(receipt)
        if shards is not None and shards.unfinished:
            work.append(shards)
    if work:
        prepared = PreparedDatabase(database)
        for index in sorted({index for shards in work for index in shards.unfinished}):
            chunk = None
            for shards in work:
                if index in shards.unfinished:
                    chunk = prepared.chunk(index) if chunk is None else chunk
                    start = time.perf_counter()
                    hits = shards.search_chunk(chunk)
                    shard_results.save(shards.unfinished[index], hits, time.perf_counter() - start)
            del chunk  # one shard in memory at a time
    return [dataclasses.replace(receipt, member=str(member.resume_dir))
            for member, receipt in zip(members, receipts, strict=True)]


def _search(
    query_path: str | os.PathLike[str],
    databases: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    settings: SearchSettings | None,
    threads: int,
    work_dir: str | os.PathLike[str] | None,
    resume_dir: str | os.PathLike[str] | None,
    job: RoundJob | None,
) -> SearchResult | Receipt | tuple[Receipt, _ShardWork]:
    """The search of :func:`run_search`; as a round ``job``, only up to that job's part (its receipt, and a
    shard job's work left to do)."""
    settings = SearchSettings() if settings is None else settings
    if isinstance(threads, bool) or threads < 1:
        raise RnamsmError(f"threads must be a positive integer, got {threads}")
    timer = _Timer()
    query = timer.run("prepare_query", lambda: read_query(query_path))
    files = MsaFiles(Path(out_dir), query.id)
    check_output_targets(files.a3m, files.sto, files.a2m_msa2, files.stats)
    if work_dir is not None:
        ensure_directory(work_dir)
    length = len(query)
    window = settings.db.window
    if 2 * length >= window:  # windows of long database records overlap by twice the query length
        raise RnamsmError(
            f"{query_path}: query {query.id!r} is {length:,} nt, too long to search: database records are read "
            f"in windows of {window:,} nt (search db.window) that overlap by twice the query length, so the "
            f"longest query is {(window - 1) // 2:,} nt (validate-input refuses queries over input.max_length first)"
        )
    hmm_only = length > settings.hmm_only_above
    programs = infernal_cli.search_programs(settings, hmm_only)
    uses_infernal = bool(programs)
    if uses_infernal:
        infernal_cli.check_programs(programs)
    warnings = query_mod.query_warnings(query)
    cache_key = None
    if settings.cache is not None:
        cache_key = _cache_key(query, databases, settings, threads, uses_infernal)
        if job is not None:
            if _cached(settings.cache, cache_key, files):
                return Receipt(job.number, job.job, job.jobs, "cached")
        else:
            reused = _reuse(settings.cache, cache_key, files, query, warnings)
            if reused is not None:
                return reused
    database = open_database(databases, settings, length, timer)
    if resume_dir is not None:
        database.resume = Path(resume_dir)  # finished shards of a prepared database are kept there
    if job is not None:
        if database.prepared is None or resume_dir is None:
            raise RnamsmError(f"{databases[0]}: a round job searches a prepared database (rnamsm prepare-db) and "
                              "keeps its shards in a resume folder")
        database.job = job
    try:
        return _rounds(query, files, settings, threads, work_dir, resume_dir, database, hmm_only, uses_infernal,
                       warnings, cache_key, timer)
    except _RoundDone as done:
        return done.receipt if done.work is None else (done.receipt, done.work)


def _rounds(
    query: Query, files: MsaFiles, settings: SearchSettings, threads: int, work_dir: str | os.PathLike[str] | None,
    resume_dir: str | os.PathLike[str] | None, database: SearchedDatabase, hmm_only: bool, uses_infernal: bool,
    warnings: list[str], cache_key: str | None, timer: _Timer,
) -> SearchResult | Receipt:
    """The rounds of a search, then its MSA files; a round job stops inside (:class:`_RoundDone`), or here with
    a ``stopped`` receipt when the search ends before its round."""
    length = len(query)
    cm_rounds = settings.cm.max_rounds
    summary = database.summary
    warnings += summary.warnings()

    r1 = settings.round1
    query_seq = TextSequence(name=query.id, sequence=query.sequence).digitize(Alphabet.rna())
    start = time.perf_counter()
    hits = timer.run(
        "round1.nhmmer",
        lambda: database.search(
            1,
            lambda chunk: nhmmer_chunk(query_seq, chunk, length=length, z_mb=database.z_mb, E=r1.E, incE=r1.incE,
                                       max_hits=r1.max_hits, threads=threads, round_number=1),
            r1.max_hits,
            _round_label(database, settings, 1, "nhmmer", query.sequence),
        ),
    )
    rounds = [
        timer.run(
            "round1.filter",
            lambda: _filter_round(query, 1, "nhmmer", hits, settings, time.perf_counter() - start, ""),
        )
    ]
    rounds[0].seconds = time.perf_counter() - start
    first_structure, first_source = timer.run(
        "predict_ss", _first_structure, settings, query, rounds[0].rows, warnings
    )
    structure, structure_source = first_structure, first_source
    with tempfile.TemporaryDirectory(prefix="rnamsm-search-") as scratch:
        work = ensure_directory(work_dir) if work_dir is not None else Path(scratch)
        least = 0 if hmm_only else min(settings.cm.min_rounds, cm_rounds)  # CM rounds before neff.stop counts
        for number in range(2, cm_rounds + 2):
            current = rounds[-1]
            if current.neff >= settings.neff.stop and number - 2 >= least:
                break
            if number > 2:
                previous_rows = {hit.name for hit in rounds[-2].rows}
                if {hit.name for hit in current.rows} == previous_rows:
                    break
                structure = timer.run(f"round{number}.structure", _next_structure, settings, query, current)
                structure_source = settings.ss_next
            start = time.perf_counter()
            if hmm_only:
                method = "nhmmer-profile"
                hits = timer.run(
                    f"round{number}.nhmmer",
                    _hmm_round, query, current, structure, database, settings, threads, number,
                )
            else:
                method = "cmsearch"
                hits = _cm_round(
                    query, current, structure, database, settings, threads, number, work, timer
                )
            rounds.append(
                timer.run(
                    f"round{number}.filter", _filter_round, query, number, method, hits, settings, 0.0, structure
                )
            )
            rounds[-1].structure_source = structure_source
            rounds[-1].seconds = time.perf_counter() - start
        if database.job is not None:
            return Receipt(database.job.number, database.job.job, database.job.jobs, "stopped")
        chosen, reason = _final_round(rounds, settings, hmm_only)
        final = dataclasses.replace(chosen, structure=chosen.structure or first_structure,
                                    structure_source=chosen.structure_source or first_source)
        alignment_method = final.method
        realigned = settings.align == "cmalign" or (settings.align == "auto" and final.method != "cmsearch")
        if final.rows and realigned:
            structure = timer.run("final.structure", _next_structure, settings, query, final)
            rows = timer.run("final.cmalign", realign, query, final.rows, structure, work, threads=threads)
            value, approx = neff(encode([query.sequence] + [match_columns(hit.a3m) for hit in rows]),
                                 settings.neff.identity, settings.neff.max_rows)
            final = dataclasses.replace(final, rows=rows, neff=value, neff_approx=approx, structure=structure,
                                        structure_source=settings.ss_next)
            alignment_method = "cmalign"
            reason += f"; its rows realigned with cmalign to a CM built from them (align: {settings.align})"
    if not final.rows:
        warnings.append(f"query {query.id!r}: no homologs found; the MSA holds the query only")
    alignment = _alignment(query, final.rows, final.structure)
    msa_files = timer.run("format_msa", msa_format.texts, alignment, files.folder / query.id, query.id)
    paths = dict(zip(msa_format.SEARCH_SUFFIXES, msa_files, strict=True))
    codes = encode([match_columns(row) for row in alignment.rows])
    stats = build_stats(
        query=query,
        rounds=rounds,
        final=final,
        coverage=coverage(codes),
        identities=identity_to_query(codes),
        summary=summary,
        z_residues=database.z_residues,
        z_mb=database.z_mb,
        structure=final.structure,
        structure_source=final.structure_source,
        final_alignment=alignment_method,
        final_reason=reason,
        hmm_only=hmm_only,
        infernal_version=infernal_cli.infernal_version() if uses_infernal else None,
        parameters={**_recorded_mapping(settings), "threads": threads},
        timings=timer.timings,
        warnings=warnings,
        version=__version__,
        prepared=database.stats(),
        search_cache=None if cache_key is None else SearchCacheStats(cache_key, False),
    )
    paths["stats"] = files.stats
    outputs = {**msa_files, paths["stats"]: stats.to_json()}
    write_files(outputs)  # one set: all four files or none
    if resume_dir is not None:
        shard_results.clear(resume_dir)
    if cache_key is not None:
        assert settings.cache is not None
        search_cache.store(settings.cache, cache_key,
                           {Path(path).name: text.encode() for path, text in outputs.items()})
    return SearchResult(query, rounds, final, paths, stats, warnings)


def _round_label(database: SearchedDatabase, settings: SearchSettings, number: int, *parts: str) -> str:
    """What round ``number`` searches with (``parts``), the settings and the database, as a shard-result label."""
    digest = database.prepared.digest if database.prepared is not None else ""
    return shard_results.round_label(number, json.dumps(result_settings(settings), sort_keys=True), digest, *parts)


def _recorded_mapping(settings: SearchSettings) -> dict[str, Any]:
    """The settings ``msa_stats.json`` records: all but ``samples_per_job``, which only the workflow reads."""
    return {key: value for key, value in settings_to_mapping(settings).items() if key != "samples_per_job"}


def result_settings(settings: SearchSettings) -> dict[str, Any]:
    """The settings that decide a search's results: all but where finished searches are kept and the job count."""
    return {key: value for key, value in _recorded_mapping(settings).items() if key not in ("cache", "shards")}


def _cache_key(query: Query, databases: Sequence[str | os.PathLike[str]], settings: SearchSettings, threads: int,
               uses_infernal: bool) -> str:
    """The ``search.cache`` key of this search (:func:`rnamsm.homology.search_cache.search_key`)."""
    identities = [f"prepared:{db_manifest.digest(path)}" if db_manifest.is_prepared(path) else
                  f"file:{file_sha256(check_regular_file(path, 'a database file'))}" for path in databases]
    mapping = result_settings(settings)
    versions = {"rnamsm": __version__, "stage": str(STAGE_VERSIONS["homology_search"]),
                "infernal_cli": infernal_cli.infernal_version() if uses_infernal else None, **library_versions()}
    return search_cache.search_key(query.id, query.sequence, identities, {**mapping, "threads": threads}, versions)


def _cached(cache: str, key: str, files: MsaFiles) -> bool:
    """Whether ``cache`` holds the finished search ``key``."""
    names = [files.a3m.name, files.sto.name, files.a2m_msa2.name, files.stats.name]
    return search_cache.lookup(cache, key, names) is not None


def _reuse(cache: str, key: str, files: MsaFiles, query: Query, warnings: list[str]) -> SearchResult | None:
    """Copy the finished search ``key`` from ``cache`` to ``files`` (its ``msa_stats.json`` saying so), if kept."""
    names = [files.a3m.name, files.sto.name, files.a2m_msa2.name, files.stats.name]
    kept = search_cache.lookup(cache, key, names)
    if kept is None:
        return None
    stats = msa_stats.MsaStats.from_json(kept[files.stats.name].decode(), f"{cache}/{key}/{files.stats.name}")
    stats = dataclasses.replace(stats, search_cache=SearchCacheStats(key, True))
    paths = {suffix: path for suffix, path in zip(msa_format.SEARCH_SUFFIXES, (files.a3m, files.sto,
                                                                              files.a2m_msa2), strict=True)}
    write_files({**{path: kept[path.name] for path in paths.values()}, files.stats: stats.to_json()})
    paths["stats"] = files.stats
    return SearchResult(query, [], None, paths, stats, [*warnings, *stats.warnings])


def _final_round(rounds: Sequence[Round], settings: SearchSettings, hmm_only: bool) -> tuple[Round, str]:
    """The round whose rows make the final MSA, and why (a sentence for ``msa_stats.json``).

    The round with the highest Neff (ties: the later one); unless ``align: cmalign`` (which realigns any
    round's rows), with ``cm.min_rounds`` the CM round with the highest Neff whenever a CM round kept rows,
    so the MSA is a CM alignment.
    """
    best = max(rounds, key=lambda r: (r.neff, r.number))
    structured = [r for r in rounds if r.method == "cmsearch" and r.rows]
    keeps_cm_alignment = settings.align != "cmalign" and settings.cm.min_rounds
    if keeps_cm_alignment and structured:
        final = max(structured, key=lambda r: (r.neff, r.number))
        if final is not best:
            return final, (f"round {final.number} ({final.method}): the highest Neff of the CM rounds "
                           f"({final.neff:.1f}); cm.min_rounds keeps a CM alignment over round {best.number}'s "
                           f"{best.method} alignment (Neff {best.neff:.1f})")
    where = f"round {best.number} ({best.method})"
    if len(rounds) == 1:
        if settings.cm.max_rounds == 0:
            return best, f"{where}: the only round (cm.max_rounds is 0)"
        why = (f"the query is longer than hmm_only_above ({settings.hmm_only_above} nt)" if hmm_only
               else "cm.min_rounds is 0")
        return best, (f"{where}: the only round; its Neff {best.neff:.1f} reached neff.stop "
                      f"({settings.neff.stop:g}) and {why}")
    if hmm_only:
        return best, (f"{where}: the highest Neff of the rounds ({best.neff:.1f}); the query is longer than "
                      f"hmm_only_above ({settings.hmm_only_above} nt), so its later rounds are profile-HMM searches")
    if keeps_cm_alignment and not structured:
        return best, f"{where}: no CM round kept any row"
    return best, f"{where}: the highest Neff of the rounds ({best.neff:.1f})"


def _next_structure(settings: SearchSettings, query: Query, current: Round) -> str:
    """Structure of a later CM: RNAalifold consensus of the current MSA, or the query MFE."""
    if settings.ss_next == "alifold" and current.rows:
        rows = [query.sequence] + [match_columns(hit.a3m) for hit in current.rows[: ALIFOLD_ROWS - 1]]
        return query_mod.alifold(rows, settings.alifold)
    return query_mod.fold(query.sequence)


def _cm_round(
    query: Query, current: Round, structure: str, database: SearchedDatabase, settings: SearchSettings,
    threads: int, number: int, work: Path, timer: _Timer,
) -> list[HitRow]:
    """Build, calibrate and search the CM of round ``number`` from the current MSA."""
    stockholm = work / f"round{number}.sto"
    cm_path = work / f"round{number}.cm"
    timer.run(
        f"round{number}.stockholm",
        lambda: msa_format.write_stockholm(_alignment(query, current.rows, structure, settings.cm.inserts == "keep"),
                                           stockholm, query.id),
    )
    timer.run(f"round{number}.cmbuild", lambda: infernal_cli.build_cm(stockholm, cm_path))
    timer.run(
        f"round{number}.cmcalibrate",
        lambda: infernal_cli.calibrate_cm_cached(
            cm_path, length_mb=settings.calibrate_L, threads=threads,
            cache_dir=settings.calibrate_cache or (
                shard_results.calibrations(database.resume)
                if database.resume is not None and database.prepared is not None else None),
        ),
    )
    cm = infernal_cli.read_cm(cm_path, len(query))
    cap = settings.filter.max_rows
    return timer.run(
        f"round{number}.cmsearch",
        lambda: database.search(
            number,
            lambda chunk: cm_chunk(cm, chunk, z_residues=database.z_residues, E=settings.cm.E, incE=settings.cm.incE,
                                   max_hits=cap, threads=threads, round_number=number),
            cap,
            _round_label(database, settings, number, "cmsearch", stockholm.read_text(encoding="utf-8")),
        ),
    )

