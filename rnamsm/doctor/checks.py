"""What a workflow run with a given config needs on this node, one function per check.

Each check returns :class:`Check` lines (``ok``, ``warn`` or ``FAIL``, what was checked and where). The
checks read the config, the sheets, the weights and the databases through their owners
(:func:`rnamsm.sheets.load_config`, :func:`~rnamsm.sheets.load_samples`,
:func:`rnamsm.model.checkpoint.read_checkpoint`, :func:`rnamsm.heads.batch.load_heads`,
:class:`rnamsm.homology.prepared_db.PreparedDatabase`), so a file they accept is one the run accepts.
:func:`run_checks` runs them all in order.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from rnamsm.errors import RnamsmError
from rnamsm.formats import db_manifest
from rnamsm.heads.batch import HeadFiles, load_heads
from rnamsm.heads.settings import HeadSettings
from rnamsm.homology.infernal_cli import search_programs
from rnamsm.homology.prepared_db import PreparedDatabase
from rnamsm.homology.settings import SearchSettings
from rnamsm.input.families import family_members
from rnamsm.layout import DEMO_CHECKPOINT, DEMO_HEADS
from rnamsm.model import hub
from rnamsm.model.checkpoint import read_checkpoint
from rnamsm.model.settings import ModelSettings
from rnamsm.settings import settings_from_mapping
from rnamsm.sheets import CONFIG_FILE, SCHEMAS, load_config, load_families, load_samples
from rnamsm.textfile import check_regular_file

Status = Literal["ok", "warn", "FAIL"]
#: Python modules every run imports: ViennaRNA's bindings (query structure, baselines), the search's
#: HMMER and Infernal bindings, and torch (model and heads).
PYTHON_MODULES = {"RNA": "ViennaRNA Python bindings", "pyhmmer": "pyhmmer", "pyinfernal": "pyinfernal",
                  "torch": "PyTorch"}
GIB = 2**30


@dataclass(frozen=True)
class Check:
    """One line of the doctor's answer."""

    status: Status
    what: str
    detail: str

    def line(self) -> str:
        """``ok   what: detail`` (statuses padded to one width)."""
        return f"{self.status:<4} {self.what}: {self.detail}"


@dataclass(frozen=True)
class Run:
    """What the checks need to know of the run: its validated config and its samples and families."""

    config: dict[str, Any]
    samples: pd.DataFrame | None
    families: pd.DataFrame | None

    @property
    def model(self) -> ModelSettings:
        return settings_from_mapping(ModelSettings, self.config["model"], "model")

    @property
    def heads(self) -> HeadSettings:
        return settings_from_mapping(HeadSettings, self.config["heads"], "heads")

    @property
    def search(self) -> SearchSettings:
        return settings_from_mapping(SearchSettings, self.config["search"], "search")

    def imports_alignments(self) -> bool:
        """True when a sample's MSA is imported from an alignment (its ``msa`` cell, or its family's)."""
        samples = self.samples is not None and "msa" in self.samples.columns and self.samples["msa"].notna().any()
        families = self.families is not None and (self.families["msa"] == "alignment").any()
        return bool(samples or families)

    def searched_databases(self) -> list[list[str]]:
        """The database files of every searched sample or family (own ``database`` cells, else the config's)."""
        sets = []
        for sheet, searched in ((self.samples, lambda row: pd.isna(row.get("msa", pd.NA))),
                                (self.families, lambda row: row.get("msa") == "search")):
            for _, row in (sheet.iterrows() if sheet is not None else ()):
                if searched(row):
                    own = row.get("database", pd.NA)
                    files = [path.strip() for path in own.split(";") if path.strip()] if pd.notna(own) else []
                    sets.append(files or list(self.config["databases"]))
        return sets


def _failed(what: str, error: RnamsmError) -> Check:
    return Check("FAIL", what, str(error))


def check_config(overlays: Sequence[str], schemas: Path = SCHEMAS) -> tuple[Check, dict[str, Any] | None]:
    """The config (``config/config.yaml`` updated by ``overlays``) validated against the schema."""
    try:
        config = load_config(tuple(overlays), schemas=schemas)
    except RnamsmError as error:
        return _failed("config", error), None
    return Check("ok", "config", ", ".join([CONFIG_FILE, *overlays]) + " valid"), config


def check_sheets(config: dict[str, Any], schemas: Path = SCHEMAS) -> tuple[list[Check], Run]:
    """The sample and families sheets validated by their owners, and every family's members expanded."""
    checks, samples, families = [], None, None
    try:
        samples = load_samples(config["samples"], schemas / "samples.schema.yaml")
        checks.append(Check("ok", "sample sheet", f"{config['samples']}: {len(samples)} sample(s)"))
    except RnamsmError as error:
        checks.append(_failed("sample sheet", error))
    try:
        families = load_families(config["families"], schemas / "families.schema.yaml")
        members = sum(len(family_members(family_id, row["alignment"], row["members"]).members)
                      for family_id, row in families.iterrows())
        checks.append(Check("ok", "families sheet",
                            f"{config['families']}: {len(families)} family(ies), {members} member(s)"))
    except RnamsmError as error:
        checks.append(_failed("families sheet", error))
    return checks, Run(config, samples, families)


def check_programs(run: Run) -> list[Check]:
    """The programs on PATH that the configured stages run, and the Python bindings they import."""
    checks = []
    search = run.search
    needed = set(search_programs(search)) if run.searched_databases() else set()
    placing = run.imports_alignments() and search.placement == "cmalign"
    if placing:  # a query absent from its alignment is placed with cmalign (rnamsm import-msa)
        needed |= {"cmbuild", "cmalign"}
    for name in dict.fromkeys((*search_programs(search), *(("cmbuild", "cmalign") if placing else ()))):
        where = shutil.which(name)
        if where:
            checks.append(Check("ok", f"program {name}", where))
        elif name in needed:
            checks.append(Check("FAIL", f"program {name}", "not on PATH; the search or the placement of an "
                                "imported query runs it (install Infernal 1.1: Debian/Ubuntu package 'infernal', "
                                "or 'conda install -c bioconda infernal')"))
        else:
            checks.append(Check("ok", f"program {name}", "not on PATH, not needed (no sample is searched)"))
    method = run.model.depth_method
    where = shutil.which("hhfilter")
    if where:
        checks.append(Check("ok", "program hhfilter", where))
    elif method == "hhfilter":
        checks.append(Check("FAIL", "program hhfilter", "not on PATH; model.depth_method hhfilter needs it "
                            "(HH-suite: Debian/Ubuntu package 'hhsuite')"))
    elif method == "auto":
        checks.append(Check("warn", "program hhfilter", "not on PATH: MSAs deeper than model.max_seqs are reduced "
                            "with the identity filter, so features differ from the official ones"))
    for module, label in PYTHON_MODULES.items():
        spec = importlib.util.find_spec(module)
        checks.append(Check("ok", f"python {module}", spec.origin or label) if spec else
                      Check("FAIL", f"python {module}", f"{label} not importable by {sys.executable}"))
    return checks


def check_checkpoint(run: Run) -> Check:
    """The RNA-MSM checkpoint: the demo weights, a file or folder read by its loader, or a hub cache entry."""
    source = run.model.checkpoint
    what = "checkpoint"
    if source == "demo":
        if not DEMO_CHECKPOINT.exists():
            return Check("ok", what, f"demo: random weights that the workflow writes to {DEMO_CHECKPOINT}")
        source = os.fspath(DEMO_CHECKPOINT)
    parsed = hub.parse_hub_id(source)
    if not Path(source).exists() and parsed is not None:
        folder = hub.cached_snapshot(*parsed)
        if folder is None:
            where = hub.hub_cache_description()
            if hub.offline():
                return Check("FAIL", what, f"{source}: not in {where} and HF_HUB_OFFLINE is set "
                             f"(run `hf download {parsed[0]}` on a node with internet)")
            return Check("warn", what, f"{source}: not in {where}; the first model job downloads it (a node "
                         f"without internet needs `hf download {parsed[0]}` first)")
        what, source = f"checkpoint {run.model.checkpoint} (hub cache)", os.fspath(folder)
    try:
        config, _, info = read_checkpoint(source, run.model.hf_eps_parity)
    except RnamsmError as error:
        return _failed(what, error)
    untrained = ", random weights (demo only)" if info.untrained else ""
    return Check("ok", what, f"{info.weights_path} ({info.format}, {config.num_layers} layers, "
                 f"sha256 {info.sha256[:12]}{untrained})")


def check_heads(run: Run) -> Check:
    """The SS and RSA head files (with the RSA statistics pickles of official heads), loaded by their loader."""
    heads = run.heads
    if heads.ss_head == "demo" and heads.rsa_heads == "demo" and not DEMO_HEADS.exists():
        return Check("ok", "heads", f"demo: random heads that the workflow writes to {DEMO_HEADS}")
    ss = DEMO_HEADS / "ss.safetensors" if heads.ss_head == "demo" else Path(heads.ss_head)
    rsa = (tuple(DEMO_HEADS / f"rsa_{index}.safetensors" for index in range(3)) if heads.rsa_heads == "demo"
           else tuple(map(Path, heads.rsa_heads)))
    try:
        loaded = load_heads(HeadFiles(ss, rsa, tuple(map(Path, heads.rsa_stats))))
    except RnamsmError as error:
        return _failed("heads", error)
    return Check("ok", "heads", f"SS {ss}, RSA {', '.join(map(str, rsa))} ({len(loaded.rsa)} head(s))")


def _database_file(path: str) -> Check:
    what = f"database {path}"
    if db_manifest.is_prepared(path):
        try:
            database = PreparedDatabase(path)
        except RnamsmError as error:
            return _failed(what, error)
        for shard in database.manifest.shards:
            if not os.access(database.folder / shard.file, os.R_OK):
                return Check("FAIL", what, f"shard {shard.file} missing or unreadable; prepare the database again")
        return Check("ok", what, f"prepared, {len(database.manifest.shards)} shard(s), "
                     f"{database.manifest.residues:,} nt")
    try:
        check_regular_file(path, "a database file (FASTA, FASTA.gz or Stockholm)")
    except RnamsmError as error:
        return _failed(what, error)
    if not os.access(path, os.R_OK):
        return Check("FAIL", what, "not readable")
    return Check("ok", what, f"{os.path.getsize(path) / 2**20:,.1f} MB")


def check_databases(run: Run) -> list[Check]:
    """Every search database file (or prepared folder) exists and is readable; ``databases_dir`` is usable."""
    files = sorted({path for paths in run.searched_databases() for path in paths})
    if not run.searched_databases():
        return [Check("ok", "databases", "none needed (no sample is searched)")]
    if not files:
        return [Check("FAIL", "databases", "a sample is searched but neither `databases` nor its `database` "
                      "column names a database")]
    checks = [_database_file(path) for path in files]
    folder = run.config.get("databases_dir")
    if folder:
        prepared = sorted(entry for entry in Path(folder).iterdir() if db_manifest.is_prepared(entry)) \
            if Path(folder).is_dir() else []
        writable = os.access(folder if Path(folder).is_dir() else Path(folder).parent, os.W_OK)
        note = "" if writable else "; not writable, so a new one cannot be prepared"
        checks.append(Check("ok" if writable else "warn", f"databases_dir {folder}",
                            f"{len(prepared)} prepared database(s){note}"))
        checks += [_database_file(os.fspath(entry)) for entry in prepared]
    return checks


def check_cuda(run: Run) -> list[Check]:
    """CUDA devices and their free memory when ``model.device`` may use them; ``cuda`` without a GPU fails."""
    import torch

    from rnamsm.model.device import cuda_visible_devices, resolve_device

    device = run.model.device
    if device == "cpu":
        return [Check("ok", "device", "cpu (model.device: cpu), no GPU needed")]
    try:
        resolved = resolve_device(device)
    except RnamsmError as error:
        return [_failed(f"device {device}", error)]
    if resolved.type == "cpu":
        return [Check("warn", "device auto", f"no CUDA device (CUDA_VISIBLE_DEVICES={cuda_visible_devices()}); "
                      "device auto will use the CPU")]
    checks = []
    indices = [resolved.index] if resolved.index is not None else range(torch.cuda.device_count())
    for index in indices:
        free, total = torch.cuda.mem_get_info(index)
        checks.append(Check("ok", f"device cuda:{index}", f"{torch.cuda.get_device_name(index)}, "
                            f"{free / GIB:.1f} of {total / GIB:.1f} GiB free"))
    if run.model.precision == "bf16" and not torch.cuda.is_bf16_supported():
        checks.append(Check("FAIL", "precision bf16", "this GPU has no bfloat16 support; use fp16 or fp32"))
    return checks


def run_checks(overlays: Sequence[str] = (), schemas: Path = SCHEMAS) -> Iterator[Check]:
    """Every check of a run in the current folder with ``config/config.yaml`` updated by ``overlays``.

    Stops after the config check when the config itself is unusable; the other checks run in any case
    (a section that its settings refuse is one ``FAIL`` line for the check that reads it).
    """
    config_check, config = check_config(overlays, schemas)
    yield config_check
    if config is None:
        return
    sheet_checks, run = check_sheets(config, schemas)
    yield from sheet_checks
    steps: tuple[Callable[[Run], Check | list[Check]], ...] = (
        check_programs, check_checkpoint, check_heads, check_databases, check_cuda)
    for step in steps:
        try:
            result = step(run)
        except RnamsmError as error:
            result = _failed(step.__name__.removeprefix("check_"), error)
        yield from ([result] if isinstance(result, Check) else result)
