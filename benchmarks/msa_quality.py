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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyhmmer
import pyinfernal
import RNA

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnamsm.atomic import atomic_open  # noqa: E402
from rnamsm.baselines.settings import BaselineSettings  # noqa: E402
from rnamsm.baselines.vienna import rnaalifold, rnafold  # noqa: E402
from rnamsm.evaluation.structure_metrics import score_sequence, scores  # noqa: E402
from rnamsm.formats.structure import Structure, dbn_to_pairs  # noqa: E402
from rnamsm.homology.infernal_cli import infernal_version  # noqa: E402
from rnamsm.homology.neff import encode, neff  # noqa: E402
from rnamsm.homology.settings import SearchSettings  # noqa: E402
from rnamsm.model.msa import read_msa  # noqa: E402

#: RNAalifold's rows, as in `rnamsm baselines` at defaults.
ALIFOLD_ROWS = BaselineSettings().max_rows

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "msa_quality.json"
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
#: RNAalifold model options measured (ViennaRNA model-detail names, set as the library's global defaults,
#: which ``RNA.alifold`` reads; RNAalifold's ``--noLP``, ``-r``, ``--cfactor``, ``--nfactor``). ``default`` is
#: what rnamsm runs. (``--old``, ``oldAliEn``, is not a global default of the library, so it is not measured.)
ALIFOLD_OPTIONS: dict[str, dict[str, float]] = {
    "default": {},
    "noLP": {"noLP": 1},
    "ribosum": {"ribo": 1},
    "ribosum_noLP": {"ribo": 1, "noLP": 1},
    "cf0.6_nf0.5": {"cv_fact": 0.6, "nc_fact": 0.5},
    "ribosum_cf0.6_nf0.5": {"ribo": 1, "cv_fact": 0.6, "nc_fact": 0.5},
}
METHODS = ("rnamsm", "rnacmap3")


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


def draw_queries(families: dict[str, list[Member]], seed: int) -> list[tuple[str, Member]]:
    """``(query id, member)``: a fixed-seed draw per family, interleaved family by family."""
    drawn = []
    rng = random.Random(seed)
    for family in FAMILIES:
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


@contextmanager
def vienna_options(values: dict[str, float]) -> Iterator[None]:
    """Set ViennaRNA's global model defaults (what ``RNA.alifold`` reads) for a block, then restore them."""
    saved = {name: getattr(RNA.cvar, name) for name in values}
    try:
        for name, value in values.items():
            setattr(RNA.cvar, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(RNA.cvar, name, value)


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
        with vienna_options(ALIFOLD_OPTIONS[label]):
            _consensus, _energy, projected = rnaalifold(msa, ALIFOLD_ROWS)
        result["alifold"][label] = score(projected, query)
    result.update(result["alifold"]["default"])
    return result


def run_ours(query_fa: Path, database: Path, folder: Path, threads: int, timeout: float, query: Member) -> dict:
    """``rnamsm search`` at its defaults; the final MSA's score and that of each earlier round's MSA."""
    out = folder / "rnamsm"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    command = [sys.executable, "-m", "rnamsm", "search", str(query_fa), "--db", str(database), "--out-dir", str(out),
               "--threads", str(threads), "--work-dir", str(out / "work")]
    record = measured(command, folder / "rnamsm.log", timeout)
    if record["status"] != "ok":
        return record
    stats = json.loads((out / "msa_stats.json").read_text())
    record.update(score_msa(out / f"{query_fa.stem}.a2m_msa2", query))
    record.update(final_round=stats["final_round"], hmm_only=stats["hmm_only"], timings=stats["timings"], rounds=[])
    for entry in stats["rounds"]:
        summary = {key: entry[key] for key in ("round", "method", "depth", "neff", "seconds")}
        # an earlier round's rows are the input alignment of the next round's CM (kept in the work folder)
        later_input = out / "work" / f"round{entry['round'] + 1}.sto"
        if entry["round"] == stats["final_round"]:
            scored = record
        elif later_input.exists():
            scored = score_msa(later_input, query, ("default", "ribosum"))
        else:
            scored = {}
        summary.update({key: scored[key] for key in ("f1", "mcc") if key in scored})
        if "alifold" in scored:
            summary["ribosum_f1"] = scored["alifold"]["ribosum"]["f1"]
        record["rounds"].append(summary)
    return record


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
    if record["status"] != "ok":
        if (out / "progress.json").exists():  # the steps finished before the timeout, and the one it stopped
            record.update(json.loads((out / "progress.json").read_text()))
        return record
    stats = json.loads((out / "rnacmap3_stats.json").read_text())
    record.update(score_msa(out / f"{query_fa.stem}.a2m_msa2", query))
    record.update(final_round=stats["final_round"], rounds=stats["rounds"], timings=stats["timings"])
    return record


def run_query(query_id: str, query: Member, members: list[Member], work: Path, args: argparse.Namespace,
              record: dict | None, default_calibration: bool) -> dict:
    """Both pipelines and RNAfold for one query (``record``: what an earlier run already measured)."""
    folder = work / "queries" / query_id
    folder.mkdir(parents=True, exist_ok=True)
    query_fa = folder / f"{query_id}.fa"
    query_fa.write_text(f">{query_id} {query.name}\n{query.sequence}\n")
    database = query_database(work, members, query, folder)
    try:
        if record is None:
            load_before = os.getloadavg()[0]
            record = {"family": query.family, "member": query.name, "length": len(query.sequence),
                      "reference_pairs": len(query.pairs), "code": code_version()}
            start = time.perf_counter()
            mfe_structure, _mfe, _bpp = rnafold(query.sequence)
            record["rnafold"] = {**score(mfe_structure, query), "wall_seconds": round(time.perf_counter() - start, 2)}
            record["rnamsm"] = run_ours(query_fa, database, folder, args.threads, args.timeout, query)
            record["rnacmap3"] = run_theirs(query_fa, database, folder, args.threads, args.timeout, query,
                                            str(SearchSettings().calibrate_L), "rnacmap3")
            record["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        if default_calibration and "rnacmap3_default_L" not in record:
            record["rnacmap3_default_L"] = run_theirs(query_fa, database, folder, args.threads, args.timeout, query,
                                                      "default", "rnacmap3_default_L")
    finally:
        database.unlink()
        shutil.rmtree(folder / "blastdb", ignore_errors=True)
    return record


def code_version() -> str:
    """The commit of the checked-out code (``+dirty`` with uncommitted changes)."""
    def git(*arguments: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *arguments], capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain", "--", "rnamsm") else "")


def mean(values: list[float]) -> float | None:
    """Mean rounded to 4 places (``None`` for no values)."""
    return round(statistics.fmean(values), 4) if values else None


def summarise(queries: dict[str, dict]) -> dict:
    """Means per family and overall, over the queries both pipelines finished (F1 only with reference pairs)."""
    done = {key: record for key, record in queries.items()
            if all(record[method]["status"] == "ok" for method in METHODS)}
    groups: dict[str, list[dict]] = {"all": list(done.values())}
    for record in done.values():
        groups.setdefault(record["family"], []).append(record)
    summary = {}
    for group, records in groups.items():
        scored = [record for record in records if record["reference_pairs"]]
        entry: dict = {"queries": len(records), "scored_queries": len(scored),
                       "rnafold": {"f1": mean([r["rnafold"]["f1"] for r in scored]),
                                   "mcc": mean([r["rnafold"]["mcc"] for r in scored])}}
        for method in METHODS:
            entry[method] = {
                "f1": mean([r[method]["f1"] for r in scored]),
                "mcc": mean([r[method]["mcc"] for r in scored]),
                "rows": mean([r[method]["rows"] for r in records]),
                "neff": mean([r[method]["neff"] for r in records]),
                "wall_seconds": round(sum(r[method]["wall_seconds"] for r in records), 1),
                "cpu_seconds": round(sum(r[method]["cpu_seconds"] for r in records), 1),
                "alifold_f1": {label: mean([r[method]["alifold"][label]["f1"] for r in scored])
                               for label in ALIFOLD_OPTIONS},
            }
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


def markdown_report(results: dict) -> str:
    """The tables of ``docs/benchmarks.md`` from a results file."""
    summary, queries = results["summary"], results["queries"]
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
    lines += ["", "| RNAalifold options | " + " | ".join(ALIFOLD_OPTIONS) + " |",
              "|---|" + "---:|" * len(ALIFOLD_OPTIONS)]
    for method in METHODS:
        values = summary["all"][method]["alifold_f1"]
        lines.append(f"| {method} | " + " | ".join(number(values[label]) for label in ALIFOLD_OPTIONS) + " |")
    lines += ["", "| query | family | nt | F1 RNAfold | F1 rnamsm (final round, method) | F1 rnamsm by round "
              "| F1 RNAcmap3 (final round) | rows rnamsm / RNAcmap3 |", "|---|---|---:|---:|---:|---|---:|---:|"]
    for query_id, record in queries.items():
        ours, theirs = record["rnamsm"], record["rnacmap3"]
        if ours["status"] != "ok" or theirs["status"] != "ok":
            lines.append(f"| {query_id} | {record['family']} | {record['length']} | {number(record['rnafold']['f1'])} "
                         f"| {ours['status']} | | {theirs['status']} | |")
            continue
        final = next(entry for entry in ours["rounds"] if entry["round"] == ours["final_round"])
        by_round = ", ".join(f"{entry['round']} {entry['method']}: {number(entry.get('f1'))}"
                             for entry in ours["rounds"])
        lines.append(
            f"| {query_id} | {record['family']} | {record['length']} | {number(record['rnafold']['f1'])} "
            f"| {number(ours['f1'])} ({ours['final_round']}, {final['method']}) | {by_round} "
            f"| {number(theirs['f1'])} ({theirs['final_round']}) | {ours['rows']} / {theirs['rows']} |")
    return "\n".join(lines) + "\n"


def tool_versions() -> dict[str, str]:
    """Versions of the programs and libraries both pipelines use."""
    def first_line(*command: str) -> str:
        return subprocess.run(list(command), capture_output=True, text=True).stdout.strip().splitlines()[0]

    return {"blastn": first_line("blastn", "-version"), "seqkit": first_line("seqkit", "version"),
            "infernal": infernal_version(), "viennarna": RNA.__version__, "pyhmmer": pyhmmer.__version__,
            "pyinfernal": pyinfernal.__version__}


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
    parser.add_argument("--fresh", action="store_true", help="discard the queries already in the results file")
    parser.add_argument("--report", action="store_true",
                        help="print the markdown tables of the results file and exit (runs nothing)")
    args = parser.parse_args()
    if args.report:
        print(markdown_report(json.loads(args.results.read_text())), end="")
        return 0
    missing = [program for program in PROGRAMS if shutil.which(program) is None]
    if missing:
        sys.exit(f"msa_quality: not on PATH: {', '.join(missing)} (run 'make msa-quality' to install them)")
    if not args.shared.is_dir():
        sys.exit(f"msa_quality: {args.shared} not found: the benchmark needs the seed alignments of "
                 "../shared/data (pass --shared DIR)")
    started = time.perf_counter()
    families = {family.name: read_family(args.shared, family) for family in FAMILIES}
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
        "alifold_options": ALIFOLD_OPTIONS,
        "alifold_rows": ALIFOLD_ROWS,
        "calibrate_L": SearchSettings().calibrate_L,
    }
    previous = json.loads(args.results.read_text()) if args.results.exists() and not args.fresh else None
    if previous is not None and previous["setup"] != setup:
        sys.exit(f"msa_quality: {args.results} was made with another set-up; rerun with --fresh to replace it")
    queries: dict[str, dict] = previous["queries"] if previous else {}
    selected = [(query_id, member) for query_id, member in drawn
                if args.only is None or query_id in args.only][: args.queries]
    for position, (query_id, member) in enumerate(selected):
        wanted_default = position < args.default_calibration
        if query_id in queries and (not wanted_default or "rnacmap3_default_L" in queries[query_id]):
            continue
        if args.time_limit is not None and time.perf_counter() - started > args.time_limit:
            print(f"msa_quality: time limit reached; {len(queries)} queries done", file=sys.stderr)
            break
        print(f"msa_quality: {query_id} ({member.name}, {len(member.sequence)} nt)", file=sys.stderr)
        queries[query_id] = run_query(query_id, member, members, args.work_dir, args, queries.get(query_id),
                                      wanted_default)
        results = {
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "note": "shared 2-core VM; other jobs ran at the same time (see each query's load_average)"},
            "tools": tool_versions(),
            "setup": setup,
            "queries": queries,
            "summary": summarise(queries),
        }
        with atomic_open(args.results) as handle:
            json.dump(results, handle, indent=2, sort_keys=True)
            handle.write("\n")
        record = queries[query_id]
        print(f"  RNAfold F1 {record['rnafold']['f1']}; " + "; ".join(
            f"{method} {record[method]['status']}, F1 {record[method].get('f1')}, {record[method].get('rows')} rows, "
            f"{record[method]['cpu_seconds']} CPU s" for method in METHODS), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
