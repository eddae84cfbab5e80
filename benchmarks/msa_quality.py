"""MSA quality side by side: ``rnamsm search`` vs the RNAcmap3 pipeline vs RNAfold, on Rfam families.

One command from a fresh clone (``make msa-quality``: the venv, Debian's ``ncbi-blast+``, ``seqkit`` and
``infernal``, then this script), or, with those installed:

    .venv/bin/python benchmarks/msa_quality.py [--queries N] [--time-limit S] [--timeout S] [--fresh]

Queries are members of the Rfam/Infernal seed alignments in ``../shared/data`` (a fixed-seed draw per
family; the reference structure is the family's ``SS_cons`` projected onto the member). Each query is
searched against the same database by both pipelines, with 2 threads: every family member (ungapped)
except the query's own record, plus a background of the *M. ruminantium* genome and transformed copies
of it (reversed, shuffled in windows, mutated). The score of an MSA is the F1 / MCC of its RNAalifold
consensus projected onto the query (``rnamsm baselines``' projection, ``rnamsm evaluate``'s metrics),
under several RNAalifold options. Method: ``docs/homology.md``; results: ``docs/benchmarks.md``.

Scratch files (databases, MSAs) go to ``--work-dir``; finished queries are kept in
``benchmarks/results/msa_quality.json`` after each query, so an interrupted or time-limited run
continues where it stopped.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import gzip
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyhmmer
import pyinfernal
import RNA

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import rnacmap3  # noqa: E402
from rnamsm.atomic import atomic_open  # noqa: E402
from rnamsm.baselines.settings import BaselineSettings  # noqa: E402
from rnamsm.baselines.vienna import rnaalifold, rnafold  # noqa: E402
from rnamsm.evaluation.structure_metrics import score_sequence, scores  # noqa: E402
from rnamsm.formats.query import Query  # noqa: E402
from rnamsm.formats.structure import Structure, dbn_to_pairs  # noqa: E402
from rnamsm.homology.infernal_cli import forecast_calibration, infernal_version  # noqa: E402
from rnamsm.homology.neff import encode, neff  # noqa: E402
from rnamsm.homology.pipeline import result_settings  # noqa: E402
from rnamsm.homology.settings import AlifoldSettings, SearchSettings  # noqa: E402
from rnamsm.model.msa import read_msa  # noqa: E402
from rnamsm.settings import settings_from_mapping  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "msa_quality.json"
LONG_RESULTS = ROOT / "benchmarks" / "results" / "long_queries.json"
#: Both pipelines measured again at today's defaults, query by query back to back on one quiet day
#: (``--results`` this file): the CPU comparison side by side.
PAIRED_RESULTS = ROOT / "benchmarks" / "results" / "msa_quality_paired.json"
#: The calibration runs (``--forecast-calibration``, ``--default-calibration``), kept apart from the main run's
#: file; ``--report`` adds them to the queries they belong to.
CALIBRATION_RESULTS = ROOT / "benchmarks" / "results" / "msa_calibration.json"
GENOME = ROOT / "tests" / "data" / "infernal" / "mrum-genome.fa.gz"
RNACMAP3 = ROOT / "benchmarks" / "rnacmap3.py"
#: Programs the benchmark runs; ``make msa-quality`` installs them (Debian packages).
PROGRAMS = ("blastn", "makeblastdb", "seqkit", "cmbuild", "cmcalibrate", "cmsearch")


@dataclass(frozen=True)
class Family:
    """A seed alignment in ``../shared/data`` and how many of its members are queries."""

    name: str
    path: str
    queries: int


#: The families (all members go into the database); snR75's SS_cons has no pairs, so its queries
#: count for rows, Neff and time only.
FAMILIES = (
    Family("tRNA", "infernal_testsuite/tRNA.sto", 5),
    Family("5S_rRNA", "infernal_tutorial/5S_rRNA.sto", 5),
    Family("Cobalamin", "infernal_tutorial/Cobalamin.sto", 5),
    Family("rnaseP-eubact", "infernal_testsuite/rnaseP-eubact.sto", 5),
    Family("Vault", "infernal_testsuite/Vault.sto", 5),
    Family("srp-euk", "infernal_testsuite/srp-euk.sto", 5),
    Family("Plant_SRP", "infernal_testsuite/Plant_SRP.sto", 5),
    Family("PK-HAV", "infernal_testsuite/PK-HAV.sto", 2),
    Family("snR75", "infernal_testsuite/snR75.sto", 5),
)
#: Seed of the query draw and of the background transforms.
SEED = 0
#: A member may be a query when it is ACGU only, unique in its family, and at least this fraction of
#: the family's median length (no fragments).
MIN_LENGTH_FRACTION = 0.8
#: Background: the genome, its reverse (not complemented), copies shuffled within windows of this many
#: nt, and copies with this fraction of positions substituted (same seed, one copy per entry).
SHUFFLE_WINDOW = 100
SHUFFLED_COPIES = 3
MUTATION_RATES = (0.1, 0.2, 0.3)
#: RNAalifold scorings measured (RNAalifold's ``-r``, ``--cfactor``, ``--nfactor``, ``--noLP``); ``plain`` is
#: RNAalifold's own default. The headline score uses ``rnamsm baselines``' default scoring.
ALIFOLD_OPTIONS: dict[str, AlifoldSettings] = {
    "plain": AlifoldSettings(ribosum=False),
    "noLP": AlifoldSettings(ribosum=False, no_lonely_pairs=True),
    "ribosum": AlifoldSettings(ribosum=True),
    "ribosum_noLP": AlifoldSettings(ribosum=True, no_lonely_pairs=True),
    "cf0.6_nf0.5": AlifoldSettings(ribosum=False, cfactor=0.6, nfactor=0.5),
    "ribosum_cf0.6_nf0.5": AlifoldSettings(ribosum=True, cfactor=0.6, nfactor=0.5),
}
METHODS = ("rnamsm", "rnacmap3")
#: ``cmcalibrate --forecast`` probes per CM and length (the least is kept).
FORECAST_PROBES = 3
#: Rows given to RNAalifold and the scoring of the headline score: ``rnamsm baselines``' defaults.
ALIFOLD_ROWS = BaselineSettings().max_rows
HEADLINE = next(label for label, value in ALIFOLD_OPTIONS.items() if value == BaselineSettings().alifold)
#: Long-query timing (``--long-queries``): rnaseP-eubact members of about these lengths and a 1,000-nt
#: window of the genome (no family; timing only), against the genome and the family's other members,
#: with one calibrated CM round forced and at the defaults.
LONG_LENGTHS = (300, 400, 486)
LONG_WINDOW = (1_000_000, 1_001_000)
LONG_SETTINGS: dict[str, str | None] = {
    "cm_round": json.dumps({"cm": {"min_rounds": 1, "max_rounds": 1}, "align": "cmalign", "hmm_only_above": 1000}),
    "defaults": None,
}


@dataclass(frozen=True)
class Member:
    """One family member: its name, ungapped RNA sequence and reference structure (1-based pairs)."""

    family: str
    name: str
    sequence: str
    pairs: frozenset[tuple[int, int]]


def read_family(shared: Path, family: Family) -> list[Member]:
    """Members of a seed alignment with ``SS_cons`` projected onto each (pairs whose columns both hold a residue)."""
    path = shared / family.path
    with pyhmmer.easel.MSAFile(str(path)) as handle:
        msa = handle.read()
    ss_cons = msa.secondary_structure
    if ss_cons is None:
        raise SystemExit(f"{path}: no #=GC SS_cons line")
    column_pairs = dbn_to_pairs(ss_cons, f"{path} SS_cons")
    members = []
    for name, row in zip(msa.names, msa.alignment, strict=True):
        row = row.upper().replace("T", "U")
        position, positions = 0, []
        for char in row:
            position += char.isalpha()
            positions.append(position if char.isalpha() else 0)
        pairs = frozenset((positions[i - 1], positions[j - 1]) for i, j in column_pairs
                          if positions[i - 1] and positions[j - 1])
        members.append(Member(family.name, name, "".join(char for char in row if char.isalpha()), pairs))
    return members


def draw_queries(families: dict[str, list[Member]], seed: int,
                 catalogue: tuple[Family, ...] = FAMILIES) -> list[tuple[str, Member]]:
    """``(query id, member)``: a fixed-seed draw of ``family.queries`` members per family of ``catalogue``,
    interleaved family by family (the other benchmarks that draw real queries call it too)."""
    drawn = []
    rng = random.Random(seed)
    for family in catalogue:
        members = families[family.name]
        median = statistics.median(len(member.sequence) for member in members)
        counts: dict[str, int] = {}
        for member in members:
            counts[member.sequence] = counts.get(member.sequence, 0) + 1
        eligible = [member for member in members if set(member.sequence) <= set("ACGU")
                    and counts[member.sequence] == 1 and len(member.sequence) >= MIN_LENGTH_FRACTION * median]
        drawn.append(rng.sample(eligible, min(family.queries, len(eligible))))
    order = []
    for index in range(max(len(chosen) for chosen in drawn)):
        order += [(f"{chosen[index].family}-{index + 1}", chosen[index]) for chosen in drawn if index < len(chosen)]
    return order


def background_records(seed: int) -> Iterator[tuple[str, str]]:
    """The genome and its transformed copies as ``(name, DNA sequence)``."""
    text = gzip.decompress(GENOME.read_bytes()).decode()
    genome = "".join(text.split("\n", 1)[1].split()).upper()
    rng = np.random.default_rng(seed)
    yield "mrum", genome
    yield "mrum_reversed", genome[::-1]
    codes = np.frombuffer(genome.encode(), dtype=np.uint8)
    whole = len(codes) // SHUFFLE_WINDOW * SHUFFLE_WINDOW
    for copy in range(1, SHUFFLED_COPIES + 1):
        windows = rng.permuted(codes[:whole].reshape(-1, SHUFFLE_WINDOW), axis=1).ravel()
        yield f"mrum_shuffled{copy}", np.concatenate([windows, codes[whole:]]).tobytes().decode()
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    index_of = np.full(256, -1, dtype=np.int64)
    index_of[bases] = np.arange(4)
    for rate in MUTATION_RATES:
        mutated = codes.copy()
        where = (rng.random(len(codes)) < rate) & (index_of[codes] >= 0)
        mutated[where] = bases[(index_of[codes[where]] + rng.integers(1, 4, where.sum())) % 4]
        yield f"mrum_mutated{int(rate * 100)}", mutated.tobytes().decode()


def write_fasta(path: Path, records: Iterator[tuple[str, str]] | list[tuple[str, str]]) -> dict[str, int]:
    """Write ``(name, sequence)`` records, 80 characters a line; return records and residues."""
    count = residues = 0
    with atomic_open(path) as handle:
        for name, sequence in records:
            handle.write(f">{name}\n")
            handle.write("\n".join(sequence[i : i + 80] for i in range(0, len(sequence), 80)) + "\n")
            count += 1
            residues += len(sequence)
    return {"records": count, "residues": residues}


def prepare_databases(work: Path, members: list[Member], seed: int) -> dict:
    """The background FASTA (written once) and every member's ungapped sequence; return their sizes."""
    names = [member.name for member in members]
    if len(set(names)) != len(names):
        raise SystemExit("family member names are not unique across the families")
    background = work / "background.fa"
    sizes_file = work / "background.json"
    if not background.exists() or not sizes_file.exists():
        sizes_file.write_text(json.dumps(write_fasta(background, background_records(seed))))
    return {"background": json.loads(sizes_file.read_text()),
            "members": {"records": len(members), "residues": sum(len(m.sequence) for m in members)}}


def query_database(work: Path, members: list[Member], query: Member, folder: Path) -> Path:
    """``folder/db.fa``: the background and every member except ``query`` (leave-one-out)."""
    database = folder / "db.fa"
    with open(database, "w") as out, open(work / "background.fa") as background:
        shutil.copyfileobj(background, out)
        for member in members:
            if member.name != query.name:
                out.write(f">{member.name}\n{member.sequence}\n")
    return database


def measured(command: list[str], log: Path, timeout: float) -> dict:
    """Run ``command`` in its own process group; wall and CPU seconds (the process and its children)."""
    start = time.perf_counter()
    with open(log, "w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)})
        fired = threading.Event()

        def kill() -> None:
            fired.set()
            os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        _pid, status, usage = os.wait4(process.pid, 0)
        timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if fired.is_set():
        outcome = f"timeout after {timeout:.0f} s"
    elif process.returncode != 0:
        lines = log.read_text().strip().splitlines()
        outcome = f"error: {lines[-1] if lines else process.returncode}"
    else:
        outcome = "ok"
    return {"status": outcome, "wall_seconds": round(wall, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2)}


def score(predicted_dbn: str, query: Member) -> dict[str, float]:
    """F1 and MCC of a dot-bracket prediction (all pairs, exact matching: ``rnamsm evaluate``'s headline)."""
    reference = Structure(query.name, query.sequence, set(query.pairs))
    predicted = Structure(query.name, query.sequence, dbn_to_pairs(predicted_dbn, "prediction"))
    values = scores(score_sequence(predicted, reference).counts["all"])
    return {"f1": round(values["f1"], 4), "mcc": round(values["mcc"], 4)}


def score_msa(path: Path, query: Member, options: tuple[str, ...] = tuple(ALIFOLD_OPTIONS)) -> dict:
    """Rows, Neff and the RNAalifold consensus score under each option set of an MSA file (query first)."""
    msa = read_msa(path)
    if msa.query.replace("-", "") != query.sequence:
        raise SystemExit(f"{path}: the first row is not the query {query.name}")
    result: dict = {"rows": msa.depth, "neff": round(neff(encode(list(msa.rows)), 0.8)[0], 2), "alifold": {}}
    for label in options:
        _consensus, _energy, projected = rnaalifold(msa, ALIFOLD_ROWS, ALIFOLD_OPTIONS[label])
        result["alifold"][label] = score(projected, query)
    result.update(result["alifold"][HEADLINE])
    return result


def run_ours(query_fa: Path, database: Path, folder: Path, threads: int, timeout: float, query: Member,
             tag: str = "rnamsm", config_json: str | None = None) -> dict:
    """``rnamsm search`` (defaults, or ``--config-json config_json``); the final MSA's score and that of each
    earlier round's MSA."""
    out = folder / tag.replace(":", "_")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    command = [sys.executable, "-m", "rnamsm", "search", str(query_fa), "--db", str(database), "--out-dir", str(out),
               "--threads", str(threads), "--work-dir", str(out / "work")]
    if config_json is not None:
        command += ["--config-json", config_json]
    record = measured(command, folder / f"{out.name}.log", timeout)
    record.update(code=code_version(), **({} if config_json is None else {"config": json.loads(config_json)}))
    if record["status"] == "ok":
        record.update(score_ours(out, query_fa.stem, query))
    return record


def score_ours(out: Path, query_id: str, query: Member) -> dict:
    """Scores of an ``rnamsm search`` output folder: the final MSA, and each round's own alignment."""
    stats = json.loads((out / "msa_stats.json").read_text())
    result = score_msa(out / f"{query_id}.a2m_msa2", query)
    result.update({key: stats[key] for key in ("final_alignment", "final_reason", "parameters") if key in stats})
    result.update(final_round=stats["final_round"], hmm_only=stats["hmm_only"], timings=stats["timings"], rounds=[])
    realigned = stats.get("final_alignment") == "cmalign"
    for entry in stats["rounds"]:
        summary = {key: entry[key] for key in ("round", "method", "depth", "neff", "seconds")}
        # a round's rows as it aligned them are the input alignment of the next round's CM, or of the
        # final realignment (both kept in the work folder)
        inputs = [out / "work" / f"round{entry['round'] + 1}.sto"]
        if entry["round"] == stats["final_round"] and realigned:
            inputs.insert(0, out / "work" / "final.sto")
        if entry["round"] == stats["final_round"] and not realigned:
            scored = result
        else:
            scored = next((score_msa(path, query, (HEADLINE, "plain")) for path in inputs if path.exists()), {})
        summary.update({key: scored[key] for key in ("f1", "mcc") if key in scored})
        if "alifold" in scored:
            summary["plain_f1"] = scored["alifold"]["plain"]["f1"]
        result["rounds"].append(summary)
    return result


def score_theirs(out: Path, query_id: str, query: Member) -> dict:
    """Scores of an RNAcmap3 runner's output folder (its final MSA)."""
    stats = json.loads((out / "rnacmap3_stats.json").read_text())
    result = score_msa(out / f"{query_id}.a2m_msa2", query)
    result.update(final_round=stats["final_round"], rounds=stats["rounds"], timings=stats["timings"])
    return result


def rescore(queries: dict[str, dict], members: dict[str, Member], work: Path) -> None:
    """Score every finished run again from the MSAs kept in ``work`` (after a change of the scoring)."""
    for query_id, record in queries.items():
        query = members[record["member"]]
        for method, run in record.items():
            if not isinstance(run, dict) or run.get("status") != "ok" or "cpu_seconds" not in run:
                continue
            out = work / "queries" / query_id / method.replace(":", "_")
            run.update(score_theirs(out, query_id, query) if method.startswith("rnacmap3")
                       else score_ours(out, query_id, query))


def run_theirs(query_fa: Path, database: Path, folder: Path, threads: int, timeout: float, query: Member,
               calibrate_length: str, tag: str) -> dict:
    """The RNAcmap3 pipeline (``benchmarks/rnacmap3.py``) on the same database; its MSA's score."""
    out = folder / tag
    shutil.rmtree(out, ignore_errors=True)
    blast_db = folder / "blastdb" / "db"
    if not blast_db.with_suffix(".nsq").exists():
        subprocess.run(["makeblastdb", "-in", str(database), "-dbtype", "nucl", "-out", str(blast_db)],
                       check=True, capture_output=True)
    command = [sys.executable, str(RNACMAP3), str(query_fa), "--db", str(database), "--blast-db", str(blast_db),
               "--out-dir", str(out), "--threads", str(threads), "--calibrate-L", calibrate_length]
    record = measured(command, folder / f"{tag}.log", timeout)
    record["code"] = code_version()
    record["calibration_forecast"] = run_forecasts(out, threads)  # after the run: not in its times
    if record["status"] == "ok":
        record.update(score_theirs(out, query_fa.stem, query))
    elif (out / "progress.json").exists():  # the steps finished before the timeout, and the one it stopped
        record.update(json.loads((out / "progress.json").read_text()))
    return record


def forecasts(cm: Path, threads: int) -> dict:
    """``cmcalibrate --forecast`` of ``cm`` on ``threads`` CPUs at our ``calibrate_L`` and at Infernal's default
    length: the least of :data:`FORECAST_PROBES` forecasts each (they time a sample on this machine, so load
    lengthens them), with the load average before and after."""
    load_before = os.getloadavg()[0]
    lengths = {str(SearchSettings().calibrate_L): SearchSettings().calibrate_L, "default": None}
    seconds = {label: min(forecast_calibration(cm, length_mb=length, threads=threads) for _ in range(FORECAST_PROBES))
               for label, length in lengths.items()}
    return {"forecast_seconds": seconds, "threads": threads,
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def run_forecasts(out: Path, threads: int) -> dict:
    """:func:`forecasts` of each round's CM an RNAcmap3 run left in ``out/work`` (calibrated or not)."""
    return {path.stem: forecasts(path, threads) for path in sorted((out / "work").glob("round*.cm"))}


def forecast_round2(query_id: str, query: Member, members: list[Member], work: Path, threads: int) -> dict:
    """RNAcmap3's round-2 CM of a query rebuilt (BLAST round, the query's MFE, ``cmbuild --hand``: the same
    steps and programs as its measured run, nothing searched or calibrated) and :func:`forecasts` of it."""
    folder = work / "queries" / query_id
    scratch = folder / "forecast"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    database = query_database(work, members, query, scratch)  # not the query folder's: a run may be using it
    try:
        subprocess.run(["makeblastdb", "-in", str(database), "-dbtype", "nucl", "-out", str(scratch / "db")],
                       check=True, capture_output=True)
        rna = Query(query_id, query.name, query.sequence)
        round1 = rnacmap3.blast_round(rna, str(scratch / "db"), threads, scratch, rnacmap3.Steps(scratch / "p.json"))
        cm = rnacmap3.round_cm(2, rna, [(query_id, query.sequence), *round1], scratch)
        return {"round2": {**forecasts(cm, threads), "rebuilt": True}}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def new_record(query: Member) -> dict:
    """A query's record before any pipeline ran: its family, length, reference pairs and RNAfold's score."""
    mfe_structure, _mfe, _bpp = rnafold(query.sequence)
    return {"family": query.family, "member": query.name, "length": len(query.sequence),
            "reference_pairs": len(query.pairs), "rnafold": score(mfe_structure, query)}


def with_companion(results: dict, companion: Path) -> dict:
    """``results`` with the runs of the ``companion`` results file (the calibration runs: forecasts and
    ``rnacmap3_default_L``) that its queries lack, in memory; the files are not changed."""
    if not companion.exists():
        return results
    queries = {key: dict(record) for key, record in results["queries"].items()}
    for query_id, record in json.loads(companion.read_text())["queries"].items():
        if query_id in queries:
            queries[query_id].update({key: value for key, value in record.items() if key not in queries[query_id]})
    return {**results, "queries": queries}


def run_query(query_id: str, query: Member, members: list[Member], work: Path, args: argparse.Namespace,
              record: dict | None, methods: list[str]) -> dict:
    """RNAfold and the ``methods`` for one query, added to ``record`` (what earlier runs measured)."""
    folder = work / "queries" / query_id
    folder.mkdir(parents=True, exist_ok=True)
    query_fa = folder / f"{query_id}.fa"
    query_fa.write_text(f">{query_id} {query.name}\n{query.sequence}\n")
    database = query_database(work, members, query, folder)
    if record is None:
        record = new_record(query)
    try:
        for method in methods:
            load_before = os.getloadavg()[0]
            if method == "rnacmap3":
                result = run_theirs(query_fa, database, folder, args.threads, args.timeout, query,
                                    str(SearchSettings().calibrate_L), method)
            elif method == "rnacmap3_default_L":
                result = run_theirs(query_fa, database, folder, args.threads, args.timeout, query, "default", method)
            else:
                result = run_ours(query_fa, database, folder, args.threads, args.timeout, query, method,
                                  args.variants.get(method.removeprefix("rnamsm:")) if ":" in method else None)
            result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            record[method] = result
    finally:
        database.unlink()
        shutil.rmtree(folder / "blastdb", ignore_errors=True)
    return record


def code_version() -> str:
    """The commit of the code (``+dirty`` with uncommitted changes); ``RNAMSM_CODE_VERSION`` when set (for a
    run from an exported copy of a commit, which has no git metadata)."""
    if os.environ.get("RNAMSM_CODE_VERSION"):
        return os.environ["RNAMSM_CODE_VERSION"]

    def git(*arguments: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *arguments], capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--", "rnamsm", "benchmarks/rnacmap3.py")
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")


def mean(values: list[float]) -> float | None:
    """Mean rounded to 4 places (``None`` for no values)."""
    return round(statistics.fmean(values), 4) if values else None


#: What the search did before it recorded these settings, where that is not today's default.
BEFORE_RECORDED: dict[str, dict] = {"cm": {"inserts": "keep"}}


def todays_default(record: dict) -> str | None:
    """The method key of this query's ``rnamsm search`` run at today's defaults (:func:`at_todays_defaults`):
    the ``rnamsm`` run, else a variant's; ``None`` when it has none (runs that recorded only their commit
    built their CMs with insert columns, so none of them is today's)."""
    methods = ("rnamsm", *sorted(key for key in record if key.startswith("rnamsm:")))
    return next((method for method in methods if at_todays_defaults(record.get(method))), None)


def at_todays_defaults(run: dict | None) -> bool:
    """Whether ``run`` (an ``rnamsm search`` run) recorded its search settings and those that decide its MSA
    are today's defaults (a setting added since takes what the code did before it had the setting: its
    :data:`BEFORE_RECORDED` value, else its default)."""
    if run is None or "parameters" not in run:
        return False
    recorded = {key: value for key, value in run["parameters"].items() if key != "threads"}
    recorded = {**recorded, **{key: {**default, **recorded.get(key, {})} for key, default in BEFORE_RECORDED.items()}}
    ran = settings_from_mapping(SearchSettings, recorded, "parameters")
    return result_settings(ran) == result_settings(SearchSettings())


def cm_inserts(run: dict) -> str:
    """The ``cm.inserts`` a run built its CMs with (:data:`BEFORE_RECORDED` for a run that did not record it)."""
    return run.get("parameters", {}).get("cm", {}).get("inserts", BEFORE_RECORDED["cm"]["inserts"])


def headline_view(record: dict) -> dict:
    """``record`` with ``rnamsm`` set to its run at today's defaults (:func:`todays_default`; a variant's run
    says so in ``default_from``) and the run as measured kept as ``rnamsm_as_measured``."""
    key = todays_default(record)
    view = dict(record)
    if "rnamsm" in record:
        view["rnamsm_as_measured"] = record["rnamsm"]
    if key is None:
        view["rnamsm"] = {"status": "not measured at today's defaults"}
    elif key != "rnamsm":
        view["rnamsm"] = {**record[key], "default_from": key}
    return view


def summarise(queries: dict[str, dict]) -> dict:
    """Means per family and overall, over the queries both pipelines finished (F1 only with reference pairs).

    ``rnamsm`` is each query's run at today's defaults (:func:`headline_view`; ``default_runs`` counts which
    method measured them), ``rnamsm_as_measured`` the runs at the defaults of the commits that measured them.
    Other methods (``rnamsm:LABEL`` variants, ``rnacmap3_default_L``) are summarised over those of these
    queries where they finished too (``queries`` says how many).
    """
    views = {key: headline_view(record) for key, record in queries.items()}
    done = {key: record for key, record in views.items()
            if all(method in record and record[method]["status"] == "ok" for method in METHODS)}
    groups: dict[str, list[dict]] = {"all": list(done.values())}
    for record in done.values():
        groups.setdefault(record["family"], []).append(record)
    others = sorted({key for record in done.values() for key in record
                     if key.startswith("rnamsm:") or key in ("rnacmap3_default_L", "rnamsm_as_measured")})
    summary = {}
    for group, records in groups.items():
        scored = [record for record in records if record["reference_pairs"]]
        entry: dict = {"queries": len(records), "scored_queries": len(scored),
                       "rnafold": {"f1": mean([r["rnafold"]["f1"] for r in scored]),
                                   "mcc": mean([r["rnafold"]["mcc"] for r in scored])}}
        for method in (*METHODS, *others):
            finished = [r for r in records if method in r and r[method]["status"] == "ok"]
            scored_finished = [r for r in finished if r["reference_pairs"]]
            if not finished:
                continue
            entry[method] = {
                "queries": len(finished),
                "f1": mean([r[method]["f1"] for r in scored_finished]),
                "mcc": mean([r[method]["mcc"] for r in scored_finished]),
                "rows": mean([r[method]["rows"] for r in finished]),
                "neff": mean([r[method]["neff"] for r in finished]),
                "wall_seconds": round(sum(r[method]["wall_seconds"] for r in finished), 1),
                "cpu_seconds": round(sum(r[method]["cpu_seconds"] for r in finished), 1),
                "alifold_f1": {label: mean([r[method]["alifold"][label]["f1"] for r in scored_finished])
                               for label in ALIFOLD_OPTIONS},
            }
        if "rnamsm" in entry:
            entry["rnamsm"]["default_runs"] = dict(sorted(collections.Counter(
                r["rnamsm"].get("default_from", "rnamsm") for r in records).items()))
        summary[group] = entry
    overall = summary.get("all")
    if overall and overall["scored_queries"]:
        ours, theirs = overall["rnamsm"], overall["rnacmap3"]
        overall["goals"] = {
            "f1_at_least_rnacmap3": ours["f1"] >= theirs["f1"],
            "f1_at_least_rnafold_plus_0.10": ours["f1"] >= overall["rnafold"]["f1"] + 0.10,
            "cpu_at_most_rnacmap3": ours["cpu_seconds"] <= theirs["cpu_seconds"],
        }
    return summary


#: Step groups of the stage table (``--report``): a step (``timings`` key) belongs to the first group whose
#: test it passes; both pipelines' steps are named ``roundN.program`` (``final.cmalign``: our realignment).
STAGES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("calibration", lambda step: step.endswith(".cmcalibrate")),
    ("cmsearch", lambda step: step.endswith(".cmsearch")),
    ("round 1 (nhmmer / blastn)", lambda step: step in ("round1.nhmmer", "round1.blastn")),
    ("cmalign realignment", lambda step: step == "final.cmalign"),
    ("other", lambda step: True),
)


#: Query lengths of the CPU table (``--report``): ``[low, high)`` nt.
LENGTH_BINS = ((0, 130), (130, 250), (250, 1000))


def stage_seconds(timings: dict[str, float]) -> dict[str, float]:
    """Wall seconds of a run's steps (``timings``) summed per :data:`STAGES` group."""
    totals = dict.fromkeys((label for label, _ in STAGES), 0.0)
    for step, seconds in timings.items():
        totals[next(label for label, test in STAGES if test(step))] += seconds
    return totals


def calibration_seconds(timings: dict[str, float]) -> dict[int, float]:
    """Wall seconds of each CM round's ``cmcalibrate`` in a run's ``timings``, by round number."""
    return {int(step[len("round"):-len(".cmcalibrate")]): seconds for step, seconds in timings.items()
            if step.startswith("round") and step.endswith(".cmcalibrate")}


def calibration_rows(views: dict[str, dict]) -> list[dict]:
    """Per RNAcmap3 CM with a ``cmcalibrate --forecast``: the forecasts at our ``calibrate_L`` and at Infernal's
    default, beside the calibration times measured (wall seconds; at the default from ``rnacmap3_default_L``)."""
    ours_l = str(SearchSettings().calibrate_L)
    rows = []
    for query_id, record in views.items():
        run, default_run = record.get("rnacmap3") or {}, record.get("rnacmap3_default_L") or {}
        kept = {**record.get("calibration_forecast", {}), **run.get("calibration_forecast", {})}
        for cm, entry in sorted(kept.items()):
            seconds = entry["forecast_seconds"]
            measured_default = default_run.get("timings", {}).get(f"{cm}.cmcalibrate")
            rows.append({"query": query_id, "length": record["length"],
                         "cm": cm + (" (rebuilt)" if entry.get("rebuilt") else ""),
                         "forecast_L": seconds[ours_l], "forecast_default": seconds["default"],
                         "measured_L": run.get("timings", {}).get(f"{cm}.cmcalibrate"),
                         "load": run.get("load_average"), "measured_default": measured_default})
    return rows


def markdown_report(results: dict) -> str:
    """The tables of ``docs/benchmarks.md`` from a results file (the summary recomputed from its queries)."""
    queries = results["queries"]
    summary = summarise(queries)
    views = {key: headline_view(record) for key, record in queries.items()}
    lines = ["| family | queries (scored) | F1 RNAfold | F1 rnamsm | F1 RNAcmap3 | MCC rnamsm | MCC RNAcmap3 "
             "| rows rnamsm / RNAcmap3 | Neff rnamsm / RNAcmap3 | CPU s rnamsm / RNAcmap3 | wall s rnamsm / RNAcmap3 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def number(value: float | None, digits: int = 2) -> str:
        return "–" if value is None else f"{value:,.{digits}f}"

    order = [family.name for family in FAMILIES if family.name in summary] + ["all"]
    for group in order:
        entry = summary[group]
        ours, theirs = entry["rnamsm"], entry["rnacmap3"]
        label = "**all**" if group == "all" else group
        lines.append(
            f"| {label} | {entry['queries']} ({entry['scored_queries']}) | {number(entry['rnafold']['f1'])} "
            f"| {number(ours['f1'])} | {number(theirs['f1'])} | {number(ours['mcc'])} | {number(theirs['mcc'])} "
            f"| {number(ours['rows'], 0)} / {number(theirs['rows'], 0)} | {number(ours['neff'], 1)} / "
            f"{number(theirs['neff'], 1)} | {number(ours['cpu_seconds'], 0)} / {number(theirs['cpu_seconds'], 0)} "
            f"| {number(ours['wall_seconds'], 0)} / {number(theirs['wall_seconds'], 0)} |")
    runs = summary["all"]["rnamsm"]["default_runs"]
    lines += ["", "rnamsm runs at today's defaults: " + ", ".join(
        f"`{method}` on {count} queries" for method, count in runs.items()) + "."]
    lines += ["", "| RNAalifold options | " + " | ".join(ALIFOLD_OPTIONS) + " |",
              "|---|" + "---:|" * len(ALIFOLD_OPTIONS)]
    for method in METHODS:
        values = summary["all"][method]["alifold_f1"]
        lines.append(f"| {method} | " + " | ".join(number(values[label]) for label in ALIFOLD_OPTIONS) + " |")
    done = [r for r in views.values() if all(r.get(m, {}).get("status") == "ok" for m in METHODS)]
    variants = sorted({key for r in done for key in r if key.startswith("rnamsm:") or key == "rnamsm_as_measured"})
    lines += ["", "| variant (its queries) | queries (scored) | F1 variant / rnamsm / RNAcmap3 | F1 plain RNAalifold "
              "variant / rnamsm / RNAcmap3 | CPU s variant / rnamsm / RNAcmap3 |", "|---|---:|---:|---:|---:|"]
    for variant in variants:
        same = [r for r in done if r.get(variant, {}).get("status") == "ok"]
        if all(r["rnamsm"].get("default_from") == variant for r in same):
            continue  # its runs are the headline's on all its queries
        if variant == "rnamsm_as_measured":  # where it differs from today's defaults, then on all
            groups = [("differs", [r for r in same if "default_from" in r["rnamsm"]]),
                      ("all", same)]
        else:
            groups = [("", same)]
        for part, records in groups:
            scored = [r for r in records if r["reference_pairs"]]
            methods = (variant, *METHODS)
            f1 = " / ".join(number(mean([r[m]["f1"] for r in scored])) for m in methods)
            plain = " / ".join(number(mean([r[m]["alifold"]["plain"]["f1"] for r in scored])) for m in methods)
            cpu = " / ".join(number(sum(r[m]["cpu_seconds"] for r in records), 0) for m in methods)
            if variant == "rnamsm_as_measured":
                label = ("`rnamsm` as measured, at the defaults of its commit, "
                         + ("where that run differs from today's" if part == "differs" else "all"))
            else:
                config = next(r[variant].get("config") for r in records)
                label = f"`{variant}` `{json.dumps(config, sort_keys=True)}`"
            inserts = {cm_inserts(r[variant]) for r in records} - {SearchSettings().cm.inserts}
            label += "".join(f", `cm.inserts: {value}`" for value in sorted(inserts))
            lines.append(f"| {label} | {len(records)} ({len(scored)}) | {f1} | {plain} | {cpu} |")
    default_l = [(key, r) for key, r in views.items() if "rnacmap3_default_L" in r]
    if default_l:
        lines += ["", "| query | nt | RNAcmap3 at `-L 0.02` / Infernal's default: status | F1 | rows | CPU s "
                  "| cmcalibrate s (wall) |", "|---|---:|---|---:|---:|---:|---:|"]
        for key, r in default_l:
            pair = (r["rnacmap3"], r["rnacmap3_default_L"])
            calibration = [sum(s for step, s in run.get("timings", {}).items() if step.endswith(".cmcalibrate"))
                           for run in pair]
            lines.append(f"| {key} | {r['length']} | {pair[0]['status']} / {pair[1]['status']} "
                         f"| {' / '.join(number(run.get('f1')) for run in pair)} "
                         f"| {' / '.join(str(run.get('rows', '–')) for run in pair)} "
                         f"| {' / '.join(number(run['cpu_seconds'], 0) for run in pair)} "
                         f"| {' / '.join(number(s, 0) for s in calibration)} |")
    forecast_rows = calibration_rows(views)
    if forecast_rows:
        lines += ["", "| query | nt | CM | forecast s at -L 0.02 | RNAcmap3's cmcalibrate at -L 0.02, wall s (load) "
                  "| forecast s at Infernal's default | measured at the default, wall s |",
                  "|---|---:|---|---:|---:|---:|---:|"]
        for row in forecast_rows:
            load = "–" if row["load"] is None else "–".join(f"{value:g}" for value in row["load"])
            lines.append(f"| {row['query']} | {row['length']} | {row['cm']} | {number(row['forecast_L'], 0)} "
                         f"| {number(row['measured_L'], 0)} ({load}) | {number(row['forecast_default'], 0)} "
                         f"| {number(row['measured_default'], 0)} |")
    labels = [label for label, _ in STAGES]
    lines += ["", "| wall s per step (sum over the queries) | " + " | ".join(labels) + " | total |",
              "|---|" + "---:|" * (len(labels) + 1)]
    for method in METHODS:
        totals = dict.fromkeys(labels, 0.0)
        for r in done:
            for label, seconds in stage_seconds(r[method]["timings"]).items():
                totals[label] += seconds
        lines.append(f"| {method} | " + " | ".join(number(totals[label], 0) for label in labels)
                     + f" | {number(sum(totals.values()), 0)} |")
    calibrated = [{method: calibration_seconds(r[method]["timings"]) for method in METHODS} for r in done]
    rounds = sorted(set().union(*(runs[method] for runs in calibrated for method in METHODS)))
    both = {n: [runs for runs in calibrated if all(n in runs[method] for method in METHODS)] for n in rounds}
    lines += ["", "| cmcalibrate wall s, queries where both calibrated the round | "
              + " | ".join(f"round {n} ({len(both[n])})" for n in rounds) + " |", "|---|" + "---:|" * len(rounds)]
    for method in METHODS:
        lines.append(f"| {method} | " + " | ".join(
            number(sum(runs[method][n] for runs in both[n]), 0) for n in rounds) + " |")
    own = []
    for r in done:
        run = r["rnamsm"]
        if r["reference_pairs"] and run.get("final_alignment") == "cmalign":
            before = next(entry.get("f1") for entry in run["rounds"] if entry["round"] == run["final_round"])
            if before is not None:
                own.append((run["f1"], before))
    if own:
        before_mean, after_mean = mean([before for _, before in own]), mean([final for final, _ in own])
        lines += ["", f"The final round's own alignment, before the `cmalign` realignment, on the {len(own)} "
                  f"scored queries realigned: mean F1 {number(before_mean)}, realigned {number(after_mean)}."]
    lines += ["", "| queries of | queries | CPU s rnamsm / RNAcmap3 | ratio | rows rnamsm / RNAcmap3 "
              "| rnamsm's cmalign realignment, wall s | measured back to back (one commit): queries, CPU s, ratio |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    every_length = (LENGTH_BINS[0][0], LENGTH_BINS[-1][1])
    for low, high in (*LENGTH_BINS, every_length):
        chosen = [r for r in done if low <= r["length"] < high]
        if not chosen:
            continue
        ours_cpu, theirs_cpu = (sum(r[m]["cpu_seconds"] for r in chosen) for m in METHODS)
        rows = " / ".join(number(mean([r[m]["rows"] for r in chosen]), 0) for m in METHODS)
        realign = sum(r["rnamsm"]["timings"].get("final.cmalign", 0.0) for r in chosen)
        paired = [r for r in chosen if r["rnamsm"].get("code", "") == r["rnacmap3"].get("code")]
        paired_cpu = [sum(r[m]["cpu_seconds"] for r in paired) for m in METHODS]
        side_by_side = (f"{len(paired)}, {number(paired_cpu[0], 0)} / {number(paired_cpu[1], 0)}, "
                        f"{number(paired_cpu[0] / paired_cpu[1])}" if paired else "0")
        label = "**all**" if (low, high) == every_length else f"{low}–{high - 1} nt"
        lines.append(f"| {label} | {len(chosen)} | {number(ours_cpu, 0)} / {number(theirs_cpu, 0)} "
                     f"| {number(ours_cpu / theirs_cpu)} | {rows} | {number(realign, 0)} | {side_by_side} |")
    lines += ["", "| query | family | nt | F1 RNAfold | F1 rnamsm (final round, method) | F1 rnamsm by round "
              "| F1 RNAcmap3 (final round) | rows rnamsm / RNAcmap3 |", "|---|---|---:|---:|---:|---|---:|---:|"]
    for query_id, record in views.items():
        ours, theirs = record["rnamsm"], record.get("rnacmap3", {"status": "not run"})
        if ours["status"] != "ok" or theirs["status"] != "ok":
            lines.append(f"| {query_id} | {record['family']} | {record['length']} | {number(record['rnafold']['f1'])} "
                         f"| {ours['status']} | | {theirs['status']} | |")
            continue
        final = ours.get("final_alignment") or next(
            entry["method"] for entry in ours["rounds"] if entry["round"] == ours["final_round"])
        by_round = ", ".join(f"{entry['round']} {entry['method']}: {number(entry.get('f1'))}"
                             for entry in ours["rounds"])
        source = f"; `{ours['default_from']}` run" if "default_from" in ours else ""
        lines.append(
            f"| {query_id} | {record['family']} | {record['length']} | {number(record['rnafold']['f1'])} "
            f"| {number(ours['f1'])} ({ours['final_round']}, {final}{source}) | {by_round} "
            f"| {number(theirs['f1'])} ({theirs['final_round']}) | {ours['rows']} / {theirs['rows']} |")
    return "\n".join(lines) + "\n"


def tool_versions() -> dict[str, str]:
    """Versions of the programs and libraries both pipelines use."""
    def first_line(*command: str) -> str:
        return subprocess.run(list(command), capture_output=True, text=True).stdout.strip().splitlines()[0]

    return {"blastn": first_line("blastn", "-version"), "seqkit": first_line("seqkit", "version"),
            "infernal": infernal_version(), "viennarna": RNA.__version__, "pyhmmer": pyhmmer.__version__,
            "pyinfernal": pyinfernal.__version__}


def long_queries(args: argparse.Namespace, family: list[Member]) -> dict:
    """Step timings of ``rnamsm search`` for queries of 300 to 1,000 nt (``LONG_SETTINGS`` each)."""
    genome = next(background_records(SEED))[1]
    start, end = LONG_WINDOW
    chosen = [min((m for m in family if set(m.sequence) <= set("ACGU")), key=lambda m: abs(len(m.sequence) - length))
              for length in LONG_LENGTHS]
    queries = [(f"rnaseP-{len(m.sequence)}", m.name, m.sequence) for m in chosen]
    queries.append((f"mrum-window-{end - start}", f"mrum/{start + 1}-{end}", genome[start:end].replace("T", "U")))
    runs = []
    for query_id, name, sequence in queries:
        folder = args.work_dir / "long" / query_id
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        (folder / "query.fa").write_text(f">{query_id} {name}\n{sequence}\n")
        database = folder / "db.fa"
        write_fasta(database, [("mrum", genome)] + [(m.name, m.sequence) for m in family if m.name != name])
        for label, config_json in LONG_SETTINGS.items():
            command = [sys.executable, "-m", "rnamsm", "search", str(folder / "query.fa"), "--db", str(database),
                       "--out-dir", str(folder / label), "--threads", str(args.threads)]
            command += [] if config_json is None else ["--config-json", config_json]
            load_before = os.getloadavg()[0]
            run = {"query": query_id, "length": len(sequence), "settings": label,
                   **measured(command, folder / f"{label}.log", args.timeout)}
            run["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            if run["status"] == "ok":
                stats = json.loads((folder / label / "msa_stats.json").read_text())
                run.update(rows=stats["depth"], neff=stats["neff"], final_alignment=stats["final_alignment"],
                           timings={step: seconds for step, seconds in stats["timings"].items() if seconds >= 0.5})
            print(f"msa_quality: long query {query_id} ({len(sequence)} nt), {label}: {run['status']}, "
                  f"{run['wall_seconds']} s", file=sys.stderr)
            runs.append(run)
        database.unlink()
    return {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "tools": tool_versions(),
            "database": f"the M. ruminantium genome and the other rnaseP-eubact members ({len(family) - 1})",
            "settings": {label: None if value is None else json.loads(value) for label, value in LONG_SETTINGS.items()},
            "runs": runs}


def write_results(path: Path, setup: dict, queries: dict[str, dict]) -> None:
    """The results file: machine, tools, set-up, every query's runs and the summary."""
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "note": "shared 2-core VM; other jobs ran at the same time (see each run's load_average)"},
        "tools": tool_versions(),
        "setup": setup,
        "queries": queries,
        "summary": summarise(queries),
    }
    with atomic_open(path) as handle:
        json.dump(results, handle, indent=2, sort_keys=True)
        handle.write("\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder of the seed alignments (default ../shared/data)")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "rnamsm-msa-quality",
                        help="scratch folder (databases, MSAs), kept between runs")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help=f"results file (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--queries", type=int, default=None, help="only the first N queries of the draw")
    parser.add_argument("--only", nargs="+", default=None, metavar="ID", help="only these query ids")
    parser.add_argument("--time-limit", type=float, default=None, help="start no query after this many seconds")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per pipeline run (default 3600)")
    parser.add_argument("--default-calibration", type=int, default=0, metavar="N",
                        help="also run RNAcmap3 at Infernal's default cmcalibrate length on the first N queries")
    parser.add_argument("--forecast-calibration", action="store_true",
                        help="rebuild RNAcmap3's round-2 CM of the selected queries (nothing searched) and keep "
                             "cmcalibrate --forecast at our calibrate_L and Infernal's default, and exit")
    parser.add_argument("--summarise", action="store_true",
                        help="recompute the results file's summary from its queries (runs nothing), and exit")
    parser.add_argument("--methods", nargs="*", choices=METHODS, default=list(METHODS),
                        help="pipelines to run on queries that lack them (default: both; none with --variant only)")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL=JSON",
                        help="also run 'rnamsm search --config-json JSON', kept as method 'rnamsm:LABEL'")
    parser.add_argument("--redo", nargs="+", default=[], metavar="METHOD",
                        help="measure these methods again where another code version measured them "
                             "(e.g. rnamsm after a change of its defaults)")
    parser.add_argument("--fresh", action="store_true", help="discard the queries already in the results file")
    parser.add_argument("--merge", type=Path, default=None, metavar="RESULTS",
                        help="add the runs of another results file (same set-up) that this one lacks, and exit")
    parser.add_argument("--rescore", action="store_true",
                        help="score every finished run again from the MSAs kept in --work-dir, and exit")
    parser.add_argument("--long-queries", action="store_true",
                        help=f"time rnamsm search on queries of 300-1,000 nt instead, into {LONG_RESULTS.name}")
    parser.add_argument("--report", action="store_true",
                        help="print the markdown tables of the results file and exit (runs nothing)")
    args = parser.parse_args()
    args.variants = dict(variant.split("=", 1) for variant in args.variant)
    if args.report:
        results = json.loads(args.results.read_text())
        if args.results.resolve() != CALIBRATION_RESULTS.resolve():
            results = with_companion(results, CALIBRATION_RESULTS)
        print(markdown_report(results), end="")
        return 0
    if args.summarise:
        results = json.loads(args.results.read_text())
        results["summary"] = summarise(results["queries"])
        with atomic_open(args.results) as handle:
            json.dump(results, handle, indent=2, sort_keys=True)
            handle.write("\n")
        return 0
    missing = [program for program in PROGRAMS if shutil.which(program) is None]
    if missing:
        sys.exit(f"msa_quality: not on PATH: {', '.join(missing)} (run 'make msa-quality' to install them)")
    if not args.shared.is_dir():
        sys.exit(f"msa_quality: {args.shared} not found: the benchmark needs the seed alignments of "
                 "../shared/data (pass --shared DIR)")
    started = time.perf_counter()
    families = {family.name: read_family(args.shared, family) for family in FAMILIES}
    if args.long_queries:
        with atomic_open(LONG_RESULTS) as handle:
            json.dump(long_queries(args, families["rnaseP-eubact"]), handle, indent=2, sort_keys=True)
            handle.write("\n")
        return 0
    members = [member for family in FAMILIES for member in families[family.name]]
    drawn = draw_queries(families, SEED)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    setup = {
        "seed": SEED,
        "families": {family.name: {"path": family.path, "members": len(families[family.name]),
                                   "queries": family.queries} for family in FAMILIES},
        "queries": {query_id: member.name for query_id, member in drawn},
        "database": prepare_databases(args.work_dir, members, SEED)
        | {"background_recipe": {"shuffle_window": SHUFFLE_WINDOW, "shuffled_copies": SHUFFLED_COPIES,
                                 "mutation_rates": list(MUTATION_RATES)}},
        "threads": args.threads,
        "alifold_options": {label: dataclasses.asdict(value) for label, value in ALIFOLD_OPTIONS.items()},
        "alifold_headline": HEADLINE,
        "alifold_rows": ALIFOLD_ROWS,
        "calibrate_L": SearchSettings().calibrate_L,
    }
    previous = json.loads(args.results.read_text()) if args.results.exists() and not args.fresh else None
    if previous is not None and args.rescore:
        previous["setup"] = setup  # the scoring is what changes
    if previous is not None and previous["setup"] != setup:
        sys.exit(f"msa_quality: {args.results} was made with another set-up; rerun with --fresh to replace it")
    queries: dict[str, dict] = previous["queries"] if previous else {}
    if args.rescore:
        rescore(queries, {member.name: member for member in members}, args.work_dir)
        write_results(args.results, setup, queries)
        return 0
    if args.merge is not None:
        other = json.loads(args.merge.read_text())
        if other["setup"] != setup:
            sys.exit(f"msa_quality: {args.merge} was made with another set-up")
        for query_id, record in other["queries"].items():
            queries.setdefault(query_id, {}).update({key: value for key, value in record.items()
                                                    if key not in queries[query_id]})
        write_results(args.results, setup, queries)
        return 0
    selected = [(query_id, member) for query_id, member in drawn
                if args.only is None or query_id in args.only][: args.queries]
    if args.forecast_calibration:
        for query_id, member in selected:
            record = queries.setdefault(query_id, new_record(member))
            if "calibration_forecast" in record:
                continue
            record["calibration_forecast"] = forecast_round2(query_id, member, members, args.work_dir, args.threads)
            print(f"msa_quality: {query_id} ({len(member.sequence)} nt): {record['calibration_forecast']}",
                  file=sys.stderr)
            write_results(args.results, setup, queries)
        return 0
    for position, (query_id, member) in enumerate(selected):
        record = queries.get(query_id)
        wanted = [*args.methods, *(["rnacmap3_default_L"] if position < args.default_calibration else []),
                  *(f"rnamsm:{label}" for label in args.variants)]
        current = code_version()
        methods = [method for method in wanted if record is None or method not in record
                   or (method in args.redo and record[method].get("code") != current)]
        if not methods:
            continue
        if args.time_limit is not None and time.perf_counter() - started > args.time_limit:
            print(f"msa_quality: time limit reached after {position} of {len(selected)} queries", file=sys.stderr)
            break
        print(f"msa_quality: {query_id} ({member.name}, {len(member.sequence)} nt): {', '.join(methods)}",
              file=sys.stderr)
        record = queries[query_id] = run_query(query_id, member, members, args.work_dir, args, record, methods)
        write_results(args.results, setup, queries)
        print(f"  RNAfold F1 {record['rnafold']['f1']}; " + "; ".join(
            f"{method} {record[method]['status']}, F1 {record[method].get('f1')}, {record[method].get('rows')} rows, "
            f"{record[method]['cpu_seconds']} CPU s" for method in methods), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
