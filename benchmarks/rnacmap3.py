"""The RNAcmap3 MSA pipeline (its published ``run_rnacmap3.sh``) rebuilt on Debian's programs.

Run by ``benchmarks/msa_quality.py``, one process per query, so that its wall and CPU time are measured
the same way as ``rnamsm search``'s:

    python benchmarks/rnacmap3.py QUERY.fa --db DB.fa --blast-db PREFIX --out-dir DIR [--threads 2]
        [--calibrate-L 0.02 | --calibrate-L default]

Steps (``run_rnacmap3.sh``, MSA part; DCA is not run), with the stand-ins for what Debian lacks
(``docs/homology.md``, *RNAcmap3 side by side*, lists every substitution):

1. ``blastn`` (no ``-task``: BLAST+'s default, megablast) of the query, ``-evalue 0.001``, at most
   50,000 subjects; each HSP becomes a query-anchored row (residues aligned to query gaps are inserts),
   named ``subject(start-end:length)``; rows with a repeated name are dropped (``seqkit rmdup -n``).
2. The query's RNAfold MFE structure as ``SS_cons``, ``#=GC RF`` on the query's residues,
   ``cmbuild --hand``, ``cmcalibrate`` (``-L`` as given), ``cmsearch --incE 10`` over the FASTA
   database, the included hits' alignment (``-A``) cut to the CM's match columns.
3. ``seqkit rmdup -s`` then ``-n``, the query on top, at most 50,000 sequences. If Neff > 50 or no hit,
   this is the final MSA.
4. Otherwise once more from that MSA (match columns only), again with the query's MFE structure:
   build, calibrate, search, ``seqkit rmdup -s``, query on top, at most 50,000 sequences: the final MSA.

Writes ``DIR/{id}.a2m_msa2`` (query first, every row the query's length) and ``DIR/rnacmap3_stats.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnamsm.atomic import atomic_open  # noqa: E402
from rnamsm.formats import msa as msa_format  # noqa: E402
from rnamsm.formats import query as query_format  # noqa: E402
from rnamsm.formats.msa import Alignment, match_columns  # noqa: E402
from rnamsm.formats.query import Query  # noqa: E402
from rnamsm.homology.infernal_cli import build_cm, calibrate_cm  # noqa: E402
from rnamsm.homology.neff import encode, neff  # noqa: E402
from rnamsm.homology.query import fold  # noqa: E402

#: ``blastn -evalue`` of round 1.
BLAST_EVALUE = 0.001
#: ``-num_alignments`` of round 1 (here ``-max_target_seqs``: the tabular output has no separate list).
BLAST_MAX_SUBJECTS = 50000
#: ``cmsearch --incE`` of the CM rounds (reporting stays at cmsearch's default, E 10).
CM_INC_E = 10.0
#: Neff above which round 2's MSA is final (the script compares GREMLIN's Neff with ``> 50``).
NEFF_STOP = 50.0
#: ``head -n100000`` of the two-line FASTA: the query and at most 49,999 homologs.
MAX_SEQUENCES = 50000
#: BLAST's tabular fields read here.
BLAST_FIELDS = "sseqid slen sstart send qstart qend qseq sseq"


class Steps:
    """Wall seconds per step, in order, and the external commands run; the timings so far in ``progress``."""

    def __init__(self, progress: Path) -> None:
        self.timings: dict[str, float] = {}
        self.commands: list[str] = []
        self.progress = progress

    def run(self, step: str, command: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess:
        """Run one program (its output captured); a failure stops the pipeline with the program's message."""
        self.commands.append(" ".join(command))
        self.started(step)
        start = time.perf_counter()
        result = subprocess.run(list(command), capture_output=True, text=True, check=False, **kwargs)
        self.add(step, time.perf_counter() - start)
        if result.returncode != 0:
            message = (result.stderr or result.stdout).strip().splitlines()
            raise SystemExit(f"rnacmap3: {step}: {command[0]} failed: {message[-1] if message else result.returncode}")
        return result

    def started(self, step: str) -> None:
        """Record that ``step`` is running (what a killed run was doing)."""
        self.progress.write_text(json.dumps({"timings": self.timings, "running": step}, sort_keys=True))

    def add(self, step: str, seconds: float) -> None:
        """Add ``seconds`` to ``step``."""
        self.timings[step] = round(self.timings.get(step, 0.0) + seconds, 3)
        self.progress.write_text(json.dumps({"timings": self.timings, "running": None}, sort_keys=True))


def hsp_row(qstart: int, qend: int, qseq: str, sseq: str, length: int) -> str:
    """A3M row of one BLAST HSP: gaps outside it, subject residues on query residues, inserts lower case."""
    parts = ["-" * (qstart - 1)]
    for q, s in zip(qseq, sseq, strict=True):
        if q != "-":
            parts.append(s.upper())
        elif s != "-":
            parts.append(s.lower())
    parts.append("-" * (length - qend))
    return "".join(parts).replace("T", "U").replace("t", "u")


def blast_round(query: Query, blast_db: str, threads: int, work: Path, steps: Steps) -> list[tuple[str, str]]:
    """Round 1: ``(name, A3M row)`` per BLAST HSP, in BLAST's order, repeated names removed."""
    query_fasta = work / "query.fa"
    query_fasta.write_text(f">{query.id}\n{query.sequence}\n")
    result = steps.run(
        "round1.blastn",
        ["blastn", "-db", blast_db, "-query", str(query_fasta), "-evalue", str(BLAST_EVALUE),
         "-max_target_seqs", str(BLAST_MAX_SUBJECTS), "-num_threads", str(threads),
         "-outfmt", f"6 {BLAST_FIELDS}"],
    )
    records = []
    for line in result.stdout.splitlines():
        subject, subject_length, sstart, send, qstart, qend, qseq, sseq = line.split("\t")
        row = hsp_row(int(qstart), int(qend), qseq, sseq, len(query))
        records.append((f"{subject}({sstart}-{send}:{subject_length})", row))
    return seqkit_rmdup(records, "-n", work / "round1", steps, "round1.rmdup")


def seqkit_rmdup(
    records: list[tuple[str, str]], flag: str, prefix: Path, steps: Steps, step: str
) -> list[tuple[str, str]]:
    """``seqkit rmdup FLAG`` (``-n`` by name, ``-s`` by sequence) over FASTA records; first kept, order kept."""
    if not records:
        return []
    source = prefix.with_suffix(".rmdup_in.fa")
    source.write_text("".join(f">{name}\n{row}\n" for name, row in records))
    result = steps.run(step, ["seqkit", "rmdup", flag, "--line-width", "0", str(source)])
    return msa_format.parse_fasta(result.stdout, f"seqkit rmdup {flag}").records


def round_cm(number: int, query: Query, msa: list[tuple[str, str]], work: Path) -> Path:
    """``work/roundN.cm``: the uncalibrated CM of ``msa`` (query first, A3M rows) with the query's MFE structure
    (``work/roundN.sto`` its input)."""
    stockholm = work / f"round{number}.sto"
    cm = work / f"round{number}.cm"
    names, rows = zip(*msa, strict=True)
    msa_format.write_stockholm(Alignment(names, rows, fold(query.sequence)), stockholm, query.id)
    build_cm(stockholm, cm)
    return cm


def cm_round(
    number: int, query: Query, msa: list[tuple[str, str]], database: Path, threads: int,
    calibrate_length: float | None, work: Path, steps: Steps,
) -> list[tuple[str, str]]:
    """Build a CM from ``msa`` (query first, A3M rows) with the query's MFE, calibrate it, search; match rows."""
    steps.started(f"round{number}.cmbuild")
    start = time.perf_counter()
    cm = round_cm(number, query, msa, work)
    steps.add(f"round{number}.cmbuild", time.perf_counter() - start)
    steps.commands.append(f"cmbuild --hand -F {cm.name} round{number}.sto")
    steps.started(f"round{number}.cmcalibrate")
    start = time.perf_counter()
    calibrate_cm(cm, length_mb=calibrate_length, threads=threads)
    steps.add(f"round{number}.cmcalibrate", time.perf_counter() - start)
    steps.commands.append(f"cmcalibrate --cpu {threads}" + (f" -L {calibrate_length}" if calibrate_length else "")
                          + f" {cm.name}")
    hits = work / f"round{number}.hits.sto"
    steps.run(
        f"round{number}.cmsearch",
        ["cmsearch", "-o", str(work / f"round{number}.cmsearch.out"), "-A", str(hits), "--cpu", str(threads),
         "--incE", str(CM_INC_E), str(cm), str(database)],
    )
    if not hits.exists() or hits.stat().st_size == 0:
        return []
    return [(name, match_columns(row)) for name, row in msa_format.read(hits).records]


def final_msa(query: Query, rows: list[tuple[str, str]], by_name_too: bool, work: Path, steps: Steps,
              number: int) -> list[tuple[str, str]]:
    """Duplicates removed (by sequence, then by name when asked), the query on top, the sequence cap."""
    rows = seqkit_rmdup(rows, "-s", work / f"round{number}.seq", steps, f"round{number}.rmdup")
    if by_name_too:
        rows = seqkit_rmdup(rows, "-n", work / f"round{number}.name", steps, f"round{number}.rmdup")
    return ([(query.id, query.sequence)] + rows)[:MAX_SEQUENCES]


def msa_neff(msa: list[tuple[str, str]]) -> float:
    """Neff at 80% identity over the query-length rows (the same function as ``rnamsm search``)."""
    return neff(encode([row for _, row in msa]), 0.8)[0]


def run(query_path: Path, database: Path, blast_db: str, out_dir: Path, threads: int,
        calibrate_length: float | None) -> dict:
    """The whole pipeline for one query; writes the final MSA and the stats; returns the stats."""
    record = query_format.read(query_path)
    query = Query(record.id, record.description, query_format.search_sequence(record.sequence))
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / "work"
    work.mkdir(exist_ok=True)
    steps = Steps(out_dir / "progress.json")
    start = time.perf_counter()
    round1 = blast_round(query, blast_db, threads, work, steps)
    seconds = round(time.perf_counter() - start, 3)
    rounds = [{"round": 1, "method": "blastn", "rows": len(round1) + 1, "seconds": seconds}]
    msa1 = [(query.id, query.sequence)] + round1
    start = time.perf_counter()
    hits2 = cm_round(2, query, msa1, database, threads, calibrate_length, work, steps)
    msa = final_msa(query, hits2, True, work, steps, 2)
    rounds.append({"round": 2, "method": "cmsearch", "hits": len(hits2), "rows": len(msa), "neff": msa_neff(msa),
                   "seconds": round(time.perf_counter() - start, 3)})
    if hits2 and rounds[-1]["neff"] <= NEFF_STOP:
        start = time.perf_counter()
        hits3 = cm_round(3, query, msa, database, threads, calibrate_length, work, steps)
        msa = final_msa(query, hits3, False, work, steps, 3)
        rounds.append({"round": 3, "method": "cmsearch", "hits": len(hits3), "rows": len(msa),
                       "neff": msa_neff(msa), "seconds": round(time.perf_counter() - start, 3)})
    names, rows = zip(*msa, strict=True)
    with atomic_open(out_dir / f"{query.id}.a2m_msa2") as handle:
        handle.write(msa_format.format_fasta(names, rows))
    stats = {
        "query_id": query.id,
        "depth": len(msa),
        "neff": rounds[-1].get("neff", msa_neff(msa)),
        "final_round": rounds[-1]["round"],
        "rounds": rounds,
        "calibrate_L": calibrate_length,
        "timings": steps.timings,
        "commands": steps.commands,
    }
    with atomic_open(out_dir / "rnacmap3_stats.json") as handle:
        json.dump(stats, handle, indent=2, sort_keys=True)
        handle.write("\n")
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("query", type=Path)
    parser.add_argument("--db", type=Path, required=True, help="FASTA database searched by cmsearch")
    parser.add_argument("--blast-db", required=True, help="makeblastdb prefix of the same database")
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--calibrate-L", default="0.02", help="cmcalibrate -L in Mb, or 'default' (Infernal's)")
    args = parser.parse_args()
    length = None if args.calibrate_L == "default" else float(args.calibrate_L)
    run(args.query, args.db, args.blast_db, args.out_dir, args.threads, length)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
