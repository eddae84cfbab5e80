"""Many samples in one process (``rnamsm run-samples``): RNA-MSM and the heads loaded once.

For each sample, MSA -> features (:func:`rnamsm.model.features.features_record`) -> ``features.npz`` ->
SS head (:func:`rnamsm.heads.predict_ss.ss_files`) -> RSA heads (:func:`rnamsm.heads.predict_rsa.rsa_chain`),
the very functions ``rnamsm features``, ``predict-ss`` and ``predict-rsa`` run, so with the same settings
(and CPU thread count) every file has the same bytes as the per-sample commands write. The heads read
the features in memory, not back from the file.

Samples run one MSA per forward, largest MSA file first (the allocator's cached blocks then fit every
later sample). A sample that fails (bad MSA, a query that is not the MSA's first row, too big even for
the CPU) fails alone: its one-line reason goes to its log and its outcome, the others are written. A
sample too big for the GPU runs on the CPU (recorded in its features' provenance).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rnamsm.atomic import check_output_targets, ensure_directory, write_files
from rnamsm.errors import RnamsmError
from rnamsm.formats import rsa_table
from rnamsm.formats.sample_jobs import SampleJob
from rnamsm.heads.head_file import Head, load_head
from rnamsm.heads.predict_rsa import load_rsa_heads, rsa_chain
from rnamsm.heads.predict_ss import ss_files, ss_targets
from rnamsm.heads.settings import HeadSettings
from rnamsm.layout import check_sample_id, sample_layout
from rnamsm.model.features import LoadedModel, features_record, load_model, write_features
from rnamsm.model.settings import ModelSettings

#: Errors that fail one sample, not the batch: bad input (one-line messages) and memory exhausted.
SAMPLE_ERRORS = (RnamsmError, ValueError, MemoryError, RuntimeError)


@dataclass(frozen=True)
class SampleOutcome:
    """What became of one sample: ``reason`` is ``''`` when its files were written."""

    sample: str
    reason: str
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class HeadFiles:
    """The heads a batch runs: one SS head, one to three RSA heads (official ``.pt`` RSA heads need ``rsa_stats``)."""

    ss: Path
    rsa: tuple[Path, ...]
    rsa_stats: tuple[Path, ...] = ()


@dataclass(frozen=True)
class LoadedHeads:
    """The heads of :class:`HeadFiles`, loaded once."""

    files: HeadFiles
    ss: Head
    rsa: tuple[Head, ...]


def load_heads(files: HeadFiles) -> LoadedHeads:
    """Load the SS head and the RSA ensemble (a bad file is one :class:`RnamsmError` naming it)."""
    return LoadedHeads(files, load_head(files.ss, "ss"),
                       tuple(load_rsa_heads(list(files.rsa), list(files.rsa_stats) or None)))


def _say_nothing(_message: str) -> None:
    """Default ``log`` of :func:`run_samples`."""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # fails in its turn, with its reason


def layout_jobs(results: Path, samples: Sequence[str]) -> list[SampleJob]:
    """Samples of a workflow results folder, their paths from :mod:`rnamsm.layout` (no per-sample log file:
    the command's stderr is the job's log)."""
    jobs = []
    for sample in samples:
        layout = sample_layout(check_sample_id(sample), results)
        jobs.append(SampleJob(sample, layout.msa.a2m_msa2, layout.features, layout.structure.folder, layout.rsa,
                              layout.query))
    return jobs


def run_order(jobs: Sequence[SampleJob]) -> list[SampleJob]:
    """``jobs`` largest MSA file first (ties in list order)."""
    return sorted(jobs, key=lambda job: -_size(job.msa))


@contextlib.contextmanager
def _sample_log(job: SampleJob, log: Callable[[str], None]) -> Iterator[Callable[[str], None]]:
    """A ``log`` for one sample: to ``log`` prefixed with the sample, and to the sample's own log file."""
    handle: IO[str] | None = None
    if job.log is not None:
        ensure_directory(job.log.parent)
        handle = open(job.log, "w", encoding="utf-8")  # noqa: SIM115 (closed below)

    def say(message: str) -> None:
        log(f"{job.sample}: {message}")
        if handle is not None:
            handle.write(f"rnamsm run-samples: {message}\n")
            handle.flush()

    try:
        yield say
    finally:
        if handle is not None:
            handle.close()


def failure_reason(error: BaseException, source: str | Path) -> str:
    """The one-line reason a sample failed: an :class:`RnamsmError`'s message, else ``source`` and the error."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return reason if isinstance(error, RnamsmError) else f"{source}: {type(error).__name__}: {reason}"


def run_sample(loaded: LoadedModel, heads: LoadedHeads, head_settings: HeadSettings, job: SampleJob,
               head_device: str = "auto", log: Callable[[str], None] = _say_nothing) -> None:
    """One sample with a loaded model and heads: write its ``features.npz``, its predict-ss set and its RSA TSV."""
    check_sample_id(job.sample)
    ss_targets(job.structure_dir, job.sample)
    check_output_targets(job.features, job.rsa)
    record = features_record(loaded, job.msa, job.query, log)
    contents, _ = ss_files(record, heads.ss, str(heads.files.ss), job.structure_dir, job.sample, head_settings,
                           head_device, str(job.features))
    chain = rsa_chain(record, list(heads.rsa), list(heads.files.rsa), job.sample, head_device, str(job.features))
    # everything computed before the first file is written: a sample that fails leaves none of its files
    write_features(record, job.features, loaded.settings, log)
    write_files(contents)  # one set: all five files or none
    log(f"wrote the predict-ss set in {job.structure_dir}")
    rsa_table.write(chain, job.rsa)
    log(f"wrote {job.rsa}")


def run_samples(jobs: Sequence[SampleJob], heads: HeadFiles, model_settings: ModelSettings | None = None,
                head_settings: HeadSettings | None = None, head_device: str = "auto",
                log: Callable[[str], None] = _say_nothing) -> list[SampleOutcome]:
    """Load RNA-MSM and the heads once, then run every sample of ``jobs``; one outcome per sample, in ``jobs`` order.

    A bad checkpoint or head file fails the whole batch (one :class:`RnamsmError`), before any sample
    runs; a bad sample fails alone (its outcome's ``reason``, also the last line of its log).
    """
    head_settings = head_settings or HeadSettings()
    loaded = load_model(model_settings, log)
    loaded_heads = load_heads(heads)
    outcomes: dict[str, SampleOutcome] = {}
    for job in run_order(jobs):
        start = time.perf_counter()
        with _sample_log(job, log) as say:
            try:
                run_sample(loaded, loaded_heads, head_settings, job, head_device, say)
                reason = ""
            except SAMPLE_ERRORS as error:
                reason = failure_reason(error, job.msa)
                say(f"error: {reason}")
        outcomes[job.sample] = SampleOutcome(job.sample, reason, time.perf_counter() - start)
    return [outcomes[job.sample] for job in jobs]
