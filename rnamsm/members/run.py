"""``rnamsm run-members``: one chunk of a family's members end to end in one process (the workflow's
``family_chunk`` job).

The chunk is one part of :func:`rnamsm.input.families.member_chunks` (the partition the workflow plans).
For each of its members: the query from its row of the family alignment (:func:`validate_input`), its
MSA that alignment re-anchored on it (:func:`import_msa`); then RNA-MSM and the heads for all of them with
the model and heads loaded once (:func:`run_samples`); then the baselines (:func:`run_baselines`) and the
member report (:func:`write_report`). These are the functions of the per-sample commands, so every file
is the one the per-sample jobs write, where :mod:`rnamsm.layout` puts it, written atomically by them.

A member that fails (a one-line error: a row empty after re-anchoring, a query too long...) fails alone:
its folder is emptied, ``{stage}: {reason}`` goes to the chunk's status file
(:mod:`rnamsm.formats.sample_status`, the job's declared output) and the other members go on. A bad
checkpoint or head file fails the whole chunk.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnamsm.baselines.run import run_baselines
from rnamsm.baselines.settings import BaselineSettings
from rnamsm.errors import RnamsmError
from rnamsm.formats import sample_status
from rnamsm.formats.sample_status import SampleStatus
from rnamsm.heads.batch import SAMPLE_ERRORS, HeadFiles, failure_reason, layout_jobs, run_samples
from rnamsm.heads.settings import HeadSettings
from rnamsm.homology.import_msa import import_msa
from rnamsm.homology.settings import SearchSettings, search_options
from rnamsm.input.families import Member, family_members, member_chunks
from rnamsm.input.validate import InputSettings, validate_input
from rnamsm.layout import benchmarks_folder, chunk_id, family_layout, sample_layout
from rnamsm.model.settings import ModelSettings
from rnamsm.report.sample_report import write_report
from rnamsm.report.settings import ReportSettings, parse_config_json
from rnamsm.settings import parse_section_json, section_json, settings_from_mapping

#: The workflow config's sections that a chunk uses (each stage's own section).
SECTIONS = ("input", "search", "model", "heads", "baselines", "report")


@dataclass(frozen=True)
class ChunkSettings:
    """Every stage's settings of a chunk: the workflow config's sections (absent ones: their defaults)."""

    input: InputSettings = field(default_factory=InputSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    heads: HeadSettings = field(default_factory=HeadSettings)
    baselines: BaselineSettings = field(default_factory=BaselineSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    #: The report section as given (shown in each member report's provenance block).
    report_config: dict[str, Any] = field(default_factory=dict)


def chunk_settings(config_json: str | None) -> ChunkSettings:
    """The settings of ``--config-json``: a JSON object with some of the sections :data:`SECTIONS`."""
    config = parse_section_json(config_json) if config_json else {}
    unknown = sorted(set(config) - set(SECTIONS))
    if unknown:
        raise RnamsmError(f"--config-json: unknown section(s) {', '.join(map(repr, unknown))} "
                          f"(known: {', '.join(SECTIONS)})")
    report_config, report = parse_config_json(section_json(config.get("report", {})))
    return ChunkSettings(
        input=settings_from_mapping(InputSettings, config.get("input", {}), "input"),
        search=search_options(None, [section_json(config.get("search", {}))])[0],
        model=settings_from_mapping(ModelSettings, config.get("model", {}), "model"),
        heads=settings_from_mapping(HeadSettings, config.get("heads", {}), "heads"),
        baselines=settings_from_mapping(BaselineSettings, config.get("baselines", {}), "baselines"),
        report=report, report_config=report_config,
    )


def _say_nothing(_message: str) -> None:
    """Default ``log`` of :func:`run_members`."""


def chunk_members(alignment: str | os.PathLike[str], family_id: str, members: str, members_per_job: int,
                  chunk: int) -> tuple[Member, ...]:
    """The members of chunk number ``chunk`` (1-based) of a family cut ``members_per_job`` per job."""
    chunks = member_chunks(family_members(family_id, alignment, members).members, members_per_job)
    if not 1 <= chunk <= len(chunks):
        raise RnamsmError(f"{alignment}: family {family_id!r} has {len(chunks)} chunk(s) of {members_per_job} "
                          f"member(s), no chunk {chunk}")
    return chunks[chunk - 1]


def run_members(alignment: str | os.PathLike[str], family_id: str, chunk: int, members_per_job: int,
                heads: HeadFiles, *, members: str = "all", results: str | os.PathLike[str] = "results",
                settings: ChunkSettings | None = None, description: str = "", head_device: str = "auto",
                log: Callable[[str], None] = _say_nothing) -> list[SampleStatus]:
    """Run every member of one chunk of a family and write the chunk's status file; one status per member,
    in member order. ``settings.model.checkpoint`` names the weights."""
    settings = settings or ChunkSettings()
    results = Path(results)
    chunk_of = chunk_members(alignment, family_id, members, members_per_job, chunk)
    reasons: dict[str, str] = {}
    seconds: dict[str, float] = {}

    def attempt(member: Member, stage: str, step: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """``step(*args, **kwargs)``, one stage of a member that has not failed yet; a failure empties its folder."""
        if member.sample in reasons:
            return
        start = time.perf_counter()
        try:
            step(*args, **kwargs)
        except SAMPLE_ERRORS as error:
            reasons[member.sample] = f"{stage}: {failure_reason(error, alignment)}"
            log(f"{member.sample}: error: {reasons[member.sample]}")
            shutil.rmtree(sample_layout(member.sample, results).directory, ignore_errors=True)
        elapsed = time.perf_counter() - start
        seconds[member.sample] = seconds.get(member.sample, 0.0) + elapsed
        log(f"{member.sample}: {stage} {'failed' if member.sample in reasons else 'done'} in {elapsed:.1f} s")

    for member in chunk_of:
        layout = sample_layout(member.sample, results)
        shutil.rmtree(layout.directory, ignore_errors=True)  # no output of an earlier run is left
        attempt(member, "validate_input", validate_input, layout.query, msa=alignment, record_id=member.record,
                rename=member.sample, settings=settings.input)
        attempt(member, "import_msa", import_msa, alignment, layout.query, layout.msa.folder, settings.search,
                record=member.record)
    placed = [member.sample for member in chunk_of if member.sample not in reasons]
    if placed:
        for outcome in run_samples(layout_jobs(results, placed), heads, settings.model, settings.heads,
                                   head_device, log):
            seconds[outcome.sample] += outcome.seconds
            log(f"{outcome.sample}: run_model {'done' if outcome.ok else 'failed'} in {outcome.seconds:.1f} s")
            if not outcome.ok:
                reasons[outcome.sample] = f"run_model: {outcome.reason}"
                shutil.rmtree(sample_layout(outcome.sample, results).directory, ignore_errors=True)
    for member in chunk_of:
        layout = sample_layout(member.sample, results)
        attempt(member, "baselines", run_baselines, layout.query, layout.msa.a2m_msa2, layout.baselines.folder,
                settings.baselines)
        attempt(member, "sample_report", write_report, layout.directory, layout.report, settings.report_config,
                settings.report, benchmarks_folder(results), description)
        log(f"{member.sample}: {'failed' if member.sample in reasons else 'written'} in "
            f"{seconds[member.sample]:.1f} s")
    statuses = [SampleStatus(member.sample, "failed" if member.sample in reasons else "ok",
                             reasons.get(member.sample, "")) for member in chunk_of]
    sample_status.write(statuses, family_layout(family_id, results).chunk_status(chunk_id(chunk - 1)))
    return statuses
