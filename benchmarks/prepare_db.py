"""``rnamsm prepare-db`` at several database sizes: wall time, peak RSS, Mb/s against ``cat`` as the I/O floor,
and how fast the shards read back (what every search round pays) against the input FASTA.

Run by hand from the repository root (needs ``../shared/data``, or ``--shared DIR``):

    .venv/bin/python benchmarks/prepare_db.py --sizes 50 100 200 [--search] [--work-dir DIR]

The database of each size (never committed; written to ``--work-dir``, removed afterwards unless
``--keep``) is built from real sequence: the *M. ruminantium* genome of Infernal's tutorial cut into
records of 2-60 kb, plus the ungapped members of the Rfam seed alignments of ``infernal_testsuite`` and
``infernal_tutorial``, repeated with 2-15% of positions substituted (seed 0), with 1% exact duplicate
sequences, 0.5% duplicate names and a few empty records so that every drop rule is exercised; one
record in 200 is a 1.5 Mb concatenation (a windowed chromosome-like record). ``>= 1`` Gb is the size of a
real run; on the shared 2-core machine only small sizes were run (``docs/benchmarks.md``). Writes
``benchmarks/results/prepare_db.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyhmmer.easel import Alphabet, SequenceFile  # noqa: E402

from rnamsm.atomic import atomic_open  # noqa: E402
from rnamsm.formats import db_manifest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "prepare_db.json"


def real_sequences(shared: Path) -> tuple[str, list[str]]:
    """The genome and the ungapped seed members (upper-case RNA)."""
    genome = "".join(line.strip() for line in (shared / "infernal_tutorial" / "mrum-genome.fa").read_text()
                     .splitlines() if not line.startswith(">")).upper().replace("T", "U")
    members = []
    for sto in sorted((shared / "infernal_testsuite").glob("*.sto")) + sorted(
            (shared / "infernal_tutorial").glob("*.sto")):
        rows: dict[str, str] = {}
        for line in sto.read_text(errors="replace").splitlines():
            if line and not line.startswith(("#", "//")):
                name, _, row = line.partition(" ")
                rows[name] = rows.get(name, "") + row.strip()
        members += [row.replace("-", "").replace(".", "").upper().replace("T", "U") for row in rows.values()]
    return genome, [member for member in members if len(member) >= 20]


def build_database(path: Path, megabases: float, shared: Path, seed: int = 0) -> dict:
    """Write a FASTA database of about ``megabases`` Mb; return what it holds."""
    rng = random.Random(seed)
    genome, members = real_sequences(shared)
    target = int(megabases * 1e6)
    written = records = 0
    recent: list[str] = []
    with open(path, "w") as handle:
        while written < target:
            records += 1
            kind = rng.random()
            if kind < 0.005:
                sequence = "".join(genome[rng.randrange(len(genome) - 300_000):][:300_000] for _ in range(5))
            elif kind < 0.6:
                start = rng.randrange(len(genome) - 60_000)
                sequence = genome[start:start + rng.randrange(2_000, 60_000)]
            else:
                sequence = rng.choice(members)
            rate = rng.uniform(0.02, 0.15)
            letters = list(sequence)
            for position in rng.sample(range(len(letters)), int(rate * len(letters))):
                letters[position] = rng.choice("ACGU")
            sequence = "".join(letters)
            name = f"r{records}"
            roll = rng.random()
            if roll < 0.01 and recent:
                sequence = rng.choice(recent)  # an exact duplicate sequence
            elif roll < 0.015:
                name = f"r{max(1, records - 1)}"  # a duplicate name
            elif roll < 0.0152:
                sequence = ""
            recent = (recent + [sequence])[-50:]
            handle.write(f">{name} benchmark record\n")
            for offset in range(0, len(sequence), 80):
                handle.write(sequence[offset:offset + 80] + "\n")
            written += len(sequence)
    return {"records": records, "residues": written, "bytes": path.stat().st_size}


def timed(command: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one command (``wait4`` of the child)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:3]} failed: {process.stderr.read().decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def read_seconds(paths: list[Path]) -> float:
    """Seconds to read ``paths`` as digital RNA with pyhmmer (what a search does with each shard)."""
    alphabet = Alphabet.rna()
    start = time.perf_counter()
    for path in paths:
        with SequenceFile(os.fspath(path), digital=True, alphabet=alphabet, format="fasta") as handle:
            for block in iter(lambda handle=handle: handle.read_block(sequences=1000), None):
                if not len(block):
                    break
    return time.perf_counter() - start


def search_seconds(database: Path, out: Path) -> dict:
    """One query (the first tRNA of Infernal's tutorial, nhmmer round only) against ``database``: wall seconds
    of the process and the search's own timings of reading the database and of the round."""
    query = ROOT / "tests" / "data" / "infernal" / "mrum-tRNA.1.fa"
    wall, cpu, rss = timed([sys.executable, "-m", "rnamsm", "search", str(query), "--db", str(database),
                            "--out-dir", str(out), "--threads", "2", "--config-json", '{"cm": {"max_rounds": 0}}'])
    timings = json.loads((out / "msa_stats.json").read_text())["timings"]
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_MiB": round(rss, 1),
            "read_db_s": timings["prepare_db"], "round1_s": timings["round1.nhmmer"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[50, 100, 200], help="database sizes (Mb)")
    parser.add_argument("--shard-nt", type=int, default=20_000_000, help="db.shard_nt of the runs")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--search", action="store_true",
                        help="also time one search (nhmmer round) against the plain FASTA and the prepared folder")
    args = parser.parse_args()
    if not (args.shared / "infernal_tutorial" / "mrum-genome.fa").is_file():
        raise SystemExit(f"{args.shared}: the shared data folder (infernal_tutorial/mrum-genome.fa) is missing")
    work = Path(tempfile.mkdtemp(prefix="rnamsm-prepare-db-", dir=args.work_dir))
    rows = []
    try:
        for size in args.sizes:
            fasta = work / f"db-{size:g}Mb.fa"
            built = build_database(fasta, size, args.shared)
            subprocess.run(["cat", str(fasta)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
            cat_wall, _, _ = timed(["cat", str(fasta)])
            out = work / f"prepared-{size:g}"
            config = json.dumps({"db": {"shard_nt": args.shard_nt}})
            wall, cpu, rss = timed([sys.executable, "-m", "rnamsm", "prepare-db", str(fasta), "--out", str(out),
                                    "--config-json", config])
            manifest = db_manifest.read(out)
            shards = [out / shard.file for shard in manifest.shards]
            rows.append({
                "size_Mb": size, **built,
                "prepare_wall_s": round(wall, 2), "prepare_cpu_s": round(cpu, 2), "peak_rss_MiB": round(rss, 1),
                "prepare_Mb_per_s": round(built["residues"] / 1e6 / wall, 2),
                "cat_wall_s": round(cat_wall, 3), "cat_Mb_per_s": round(built["bytes"] / 1e6 / cat_wall, 1),
                "shards": len(shards), "kept_records": manifest.records, "kept_residues": manifest.residues,
                "windows": manifest.windows,
                "dropped": {key: value.count for key, value in manifest.dropped.items()},
                "read_input_fasta_s": round(read_seconds([fasta]), 2),
                "read_shards_s": round(read_seconds(shards), 2),
            })
            if args.search:
                rows[-1]["search"] = {kind: search_seconds(db, work / f"search-{size:g}-{kind}")
                                      for kind, db in (("plain", fasta), ("prepared", out))}
            print(json.dumps(rows[-1]), flush=True)
            shutil.rmtree(out)
            fasta.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    with atomic_open(RESULTS) as handle:
        json.dump({"machine": platform.node(), "cpus": os.cpu_count(), "shard_nt": args.shard_nt, "runs": rows},
                  handle, indent=2, sort_keys=True)
        handle.write("\n")


if __name__ == "__main__":
    main()
