"""The per-sample output layout of the workflow: the one place that names the ``results/{sample}/...`` paths.

The workflow's rules (``workflow/rules/*.smk``), the report and the batch index take their paths from
here; with ``sample="{sample}"`` the same functions give the rules' wildcard patterns. Sample id =
query id, ``[A-Za-z0-9][A-Za-z0-9_-]*``; a member of a family (the families sheet) is the sample
``{family_id}.{member}`` (a sheet's sample ids have no dot, so the two never collide)::

    results/{sample}/query.fa
    results/{sample}/msa/{sample}.a3m|.sto|.a2m_msa2, msa/msa_stats.json
    results/{sample}/features/features.npz
    results/{sample}/structure/{sample}.bpseq|.ct|.dbn|.prob.npy, structure/ss.json
    results/{sample}/rsa/{sample}.rsa.tsv
    results/{sample}/baselines/{sample}.rnafold.dbn|.rnafold_bpp.npy|.rnaalifold.dbn, baselines/baselines.json
    results/{sample}/report.html, results/index.html, results/batch_status.tsv
    results/benchmarks/{rule}/{sample}.tsv, logs/{rule}/{sample}.log
    logs/slurm/rule_{rule}/{sample}/{jobid}.log   (the Slurm profile's job logs)
    results/families/{family_id}/report.html, family.json, reference/{sample}.bpseq
    results/families/{family_id}/chunks/{chunk}.tsv   (members run N per job: each chunk's status)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rnamsm.errors import RnamsmError

#: Allowed sample ids (the workflow's wildcard constraint; workflow/schemas/samples.schema.yaml agrees).
SAMPLE_ID_PATTERN = "[A-Za-z0-9][A-Za-z0-9_-]*"
#: Longest sample id (the sample sheet schema's ``maxLength``).
MAX_SAMPLE_ID_LENGTH = 128
#: Between a family's id and a member's id in the member's sample id (``tRNA5.tRNA1``).
FAMILY_SEPARATOR = "."
#: Sample ids of a run: a sheet's samples and the members of families (the workflow's wildcard constraint).
RUN_SAMPLE_PATTERN = f"{SAMPLE_ID_PATTERN}(?:\\{FAMILY_SEPARATOR}{SAMPLE_ID_PATTERN})?"
#: Longest family id (the families sheet schema's ``maxLength``); its members' ids fill the rest.
MAX_FAMILY_ID_LENGTH = 48
#: Folder of the workflow's outputs, relative to the working directory.
RESULTS = Path("results")
#: Folder of the rules' logs.
LOGS = Path("logs")
#: Folder of the Slurm job logs (the Slurm profile's ``slurm-logdir``).
SLURM_LOGS = LOGS / "slurm"


def index_file(results: Path = RESULTS) -> Path:
    """The batch index page of a results folder."""
    return Path(results) / "index.html"


#: The workflow's batch index page, and the status of every sample that it shows after a failed run.
INDEX = index_file()
BATCH_STATUS = RESULTS / "batch_status.tsv"
#: Where a demo run writes its random weights (`model.checkpoint: demo`, `heads.*: demo`).
DEMO_CHECKPOINT = RESULTS / ".weights" / "demo-checkpoint"
DEMO_HEADS = RESULTS / ".weights" / "demo-heads"

_SAMPLE_ID = re.compile(SAMPLE_ID_PATTERN)
_RUN_SAMPLE = re.compile(RUN_SAMPLE_PATTERN)


def is_sample_id(text: str) -> bool:
    """True when ``text`` is a valid sample id (safe as a file and folder name)."""
    return len(text) <= MAX_SAMPLE_ID_LENGTH and _SAMPLE_ID.fullmatch(text) is not None


def is_run_sample_id(text: str) -> bool:
    """True when ``text`` is a sample id or a family member's ``{family_id}.{member}`` id."""
    return len(text) <= MAX_SAMPLE_ID_LENGTH and _RUN_SAMPLE.fullmatch(text) is not None


def names_pattern(names: Iterable[str]) -> str:
    """A regular expression that matches exactly ``names`` (one that matches nothing when there are none),
    for a wildcard constraint such as "the samples searched in shard jobs".

    The names are merged into a prefix tree (``s1``, ``s10``, ``s2`` -> ``s(?:1(?:0)?|2)``), so that matching a
    path costs about the length of its name, where ``a|b|c|...`` tries every name in turn: with 1,000 samples
    that was 17 us instead of 0.4 us per match, and Snakemake matches several paths per planned job.
    """
    unique = sorted(set(names))
    return _prefix_tree(unique) if unique else "(?!)"


def _prefix_tree(names: list[str]) -> str:
    """The pattern of ``names`` (sorted, unique, possibly with ``""``) as a prefix tree."""
    branches: dict[str, list[str]] = {}
    for name in names:
        if name:
            branches.setdefault(name[0], []).append(name[1:])
    parts = [re.escape(first) + _prefix_tree(rests) for first, rests in branches.items()]
    if not parts:
        return ""
    body = parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
    if "" in names:
        return f"(?:{body})?"
    return body


def member_sample_id(family_id: str, member: str) -> str:
    """The sample id of a family's member (``member``: a safe id, see :mod:`rnamsm.input.families`)."""
    return f"{family_id}{FAMILY_SEPARATOR}{member}"


def check_sample_id(sample_id: str) -> str:
    """Return ``sample_id`` if it is a sample id of a run (a sheet's or a family member's), else raise
    :class:`RnamsmError`."""
    if not is_run_sample_id(sample_id):
        raise RnamsmError(f"sample id {sample_id!r} must match {RUN_SAMPLE_PATTERN} "
                          f"(at most {MAX_SAMPLE_ID_LENGTH} characters)")
    return sample_id


@dataclass(frozen=True)
class MsaFiles:
    """``rnamsm search`` outputs in ``folder``."""

    folder: Path
    sample: str

    @property
    def a3m(self) -> Path:
        return self.folder / f"{self.sample}.a3m"

    @property
    def sto(self) -> Path:
        return self.folder / f"{self.sample}.sto"

    @property
    def a2m_msa2(self) -> Path:
        return self.folder / f"{self.sample}.a2m_msa2"

    @property
    def stats(self) -> Path:
        return self.folder / "msa_stats.json"

    @property
    def work(self) -> Path:
        """Scratch folder of the search (removed when the job ends)."""
        return self.folder / "work"

    @property
    def resume(self) -> Path:
        """Finished shards of a search of a prepared database, kept until the search ends (resume after a kill)."""
        return self.folder / "resume"

    def round_receipt(self, number: int | str, job: int | str) -> Path:
        """Receipts of one round job of sharded searches (``rnamsm search-round``): shard ``job`` or ``model``, of
        the round-job group named after this sample (the workflow's ``search.samples_per_job``)."""
        return self.folder / "rounds" / f"round{number}.{job}.json"


@dataclass(frozen=True)
class StructureFiles:
    """``rnamsm predict-ss`` outputs in ``folder``."""

    folder: Path
    sample: str

    @property
    def bpseq(self) -> Path:
        return self.folder / f"{self.sample}.bpseq"

    @property
    def ct(self) -> Path:
        return self.folder / f"{self.sample}.ct"

    @property
    def dbn(self) -> Path:
        return self.folder / f"{self.sample}.dbn"

    @property
    def prob(self) -> Path:
        return self.folder / f"{self.sample}.prob.npy"

    @property
    def summary(self) -> Path:
        return self.folder / "ss.json"


@dataclass(frozen=True)
class BaselineFiles:
    """``rnamsm baselines`` outputs in ``folder``."""

    folder: Path
    sample: str

    @property
    def rnafold_dbn(self) -> Path:
        return self.folder / f"{self.sample}.rnafold.dbn"

    @property
    def rnafold_bpp(self) -> Path:
        return self.folder / f"{self.sample}.rnafold_bpp.npy"

    @property
    def rnaalifold_dbn(self) -> Path:
        return self.folder / f"{self.sample}.rnaalifold.dbn"

    @property
    def summary(self) -> Path:
        return self.folder / "baselines.json"


@dataclass(frozen=True)
class SampleLayout:
    """Every output path of one sample, under its folder ``directory`` (``results/{sample}``)."""

    directory: Path
    sample: str

    @property
    def query(self) -> Path:
        return self.directory / "query.fa"

    @property
    def msa(self) -> MsaFiles:
        return MsaFiles(self.directory / "msa", self.sample)

    @property
    def alignments(self) -> tuple[Path, ...]:
        """Alignment files in order of preference for the report's alignment preview."""
        return (self.msa.a3m, self.msa.a2m_msa2)

    @property
    def features(self) -> Path:
        return self.directory / "features" / "features.npz"

    @property
    def structure(self) -> StructureFiles:
        return StructureFiles(self.directory / "structure", self.sample)

    @property
    def rsa(self) -> Path:
        return self.directory / "rsa" / f"{self.sample}.rsa.tsv"

    @property
    def baselines(self) -> BaselineFiles:
        return BaselineFiles(self.directory / "baselines", self.sample)

    @property
    def report(self) -> Path:
        return self.directory / "report.html"

    def stage_outputs(self) -> tuple[tuple[str, Path], ...]:
        """Each stage's rule and the output that shows it finished, in workflow order."""
        return (
            ("validate_input", self.query),
            ("homology_search", self.msa.stats),
            ("run_model", self.features),
            ("run_model", self.structure.summary),
            ("run_model", self.rsa),
            ("baselines", self.baselines.summary),
            ("sample_report", self.report),
        )

    def report_inputs(self) -> tuple[Path, ...]:
        """Every data output of the sample (what its report reads), in workflow order."""
        return tuple(path for rule, path in self.stage_outputs() if rule != "sample_report")


def sample_layout(sample: str, results: Path = RESULTS) -> SampleLayout:
    """The layout of ``sample`` under ``results``; ``sample="{sample}"`` gives the wildcard patterns."""
    return SampleLayout(Path(results) / sample, sample)


@dataclass(frozen=True)
class FamilyLayout:
    """The outputs of one family (``results/families/{family_id}``): its report, its data, its references."""

    directory: Path
    family: str

    @property
    def report(self) -> Path:
        return self.directory / "report.html"

    @property
    def summary(self) -> Path:
        """The family report's numbers (``family.json``)."""
        return self.directory / "family.json"

    def reference(self, sample: str) -> Path:
        """The family's SS_cons projected onto member ``sample`` (a ``.bpseq`` for ``rnamsm evaluate``)."""
        return self.directory / "reference" / f"{sample}.bpseq"

    def chunk_status(self, chunk: str) -> Path:
        """The status of one chunk of members run in one job (``chunk``: :func:`chunk_id`, or ``{chunk}``)."""
        return self.directory / "chunks" / f"{chunk}.tsv"


def chunk_id(index: int) -> str:
    """The name of a family's chunk ``index`` (0-based) in its files and jobs: ``0001``, ``0002``..."""
    return f"{index + 1:04d}"


def family_layout(family: str, results: Path = RESULTS) -> FamilyLayout:
    """The layout of family ``family`` under ``results``; ``family="{family}"`` gives the wildcard patterns."""
    return FamilyLayout(Path(results) / "families" / family, family)


def benchmarks_folder(results: Path = RESULTS) -> Path:
    """Folder of the Snakemake benchmark TSVs of a results folder."""
    return Path(results) / "benchmarks"


def benchmark_file(rule: str, sample: str = "{sample}", folder: Path | None = None) -> Path:
    """Benchmark TSV of one rule's job for ``sample`` in the benchmarks ``folder`` (default: the workflow's)."""
    return (benchmarks_folder() if folder is None else Path(folder)) / rule / f"{sample}.tsv"


def log_file(rule: str, sample: str = "{sample}") -> Path:
    """Log of one rule's job for ``sample``."""
    return LOGS / rule / f"{sample}.log"


def slurm_log_folder(rule: str, sample: str) -> Path:
    """Folder of the Slurm logs (``{jobid}.log``, one per submitted job) of one rule's job for ``sample``.

    The Slurm executor plugin's layout, ``{slurm-logdir}/rule_{rule}/{wildcard values joined by _}``.
    """
    return SLURM_LOGS / f"rule_{rule}" / sample.replace("/", "_")


def slurm_group_log_folder(group: str, rules: Sequence[str]) -> Path:
    """Folder of the Slurm logs (``{jobid}.log``) of a Snakemake job group's cluster jobs: the plugin's
    ``{slurm-logdir}/group_{group}_{rules sorted, joined by _}``, one folder for all of the group's jobs."""
    return SLURM_LOGS / f"group_{group}_{'_'.join(sorted(set(rules)))}"


def prepared_database(databases_dir: str | os.PathLike[str], name: str) -> Path:
    """Folder of one prepared database (``rnamsm prepare-db``) in the shared ``databases_dir``."""
    return Path(databases_dir) / name


def content_cache(databases_dir: str | os.PathLike[str]) -> Path:
    """Where the workflow remembers the SHA-256 of database files (by path, size and mtime)."""
    return Path(databases_dir) / ".sha256"
