"""``rnamsm prepare-db`` at several database sizes: wall time, peak RSS, Mb/s against ``cat`` as the I/O floor,
and how fast the shards read back (what every search round pays) against the input FASTA.

Run by hand from the repository root (needs ``../shared/data``):

    .venv/bin/python benchmarks/prepare_db.py --sizes 250 500 1000 [--search] [--db-dir DIR] [--work-dir DIR]

The database of each size is generated from real sequence by ``benchmarks/realistic_db.py`` (the generator
``benchmarks/shard_slurm.py --size`` uses too; what it holds is described there). It is never committed:
written to ``--work-dir`` and removed afterwards, or, with ``--db-dir``, kept there and reused by later runs
(same size and seed). ``--search`` also times one sample's search (the first tRNA of Infernal's tutorial, 2
threads; the nhmmer round, plus ``--cm-rounds`` CM rounds) against the plain FASTA and against the prepared
folder, at the sizes of ``--search-at`` (default: the largest). Results are merged into
``benchmarks/results/prepare_db.json``: a size measured again replaces its row, the other sizes are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyhmmer.easel import Alphabet, SequenceFile  # noqa: E402

from benchmarks.realistic_db import SHARED, ensure_database  # noqa: E402
from rnamsm.atomic import atomic_open  # noqa: E402
from rnamsm.formats import db_manifest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "prepare_db.json"


def timed(command: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one command (``wait4`` of the child)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:3]} failed: {process.stderr.read().decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


#: Debian's infernal package ships Easel's esl-sfetch as an example program, off PATH.
DEBIAN_ESL_SFETCH = Path("/usr/lib/x86_64-linux-gnu/infernal/examples/easel/miniapps/esl-sfetch")


def esl_sfetch_index(fasta: Path) -> dict | None:
    """``esl-sfetch --index`` of ``fasta`` (the other I/O reference: Easel reads and parses every record to
    index it): wall and CPU seconds, Mb/s, and its refusal when it refuses (it does after reading the whole
    file when names repeat, as they do in these databases); ``None`` without esl-sfetch."""
    program = shutil.which("esl-sfetch") or (str(DEBIAN_ESL_SFETCH) if DEBIAN_ESL_SFETCH.is_file() else None)
    if program is None:
        return None
    start = time.perf_counter()
    process = subprocess.Popen([program, "--index", str(fasta)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    error = process.stderr.read().decode().strip().splitlines()
    Path(f"{fasta}.ssi").unlink(missing_ok=True)
    code = os.waitstatus_to_exitcode(status)
    return {"program": program, "wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "Mb_per_s": round(fasta.stat().st_size / 1e6 / wall, 1), "exit_code": code,
            "refused": " ".join(error[-2:]) if code else ""}


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


def search_seconds(database: Path, out: Path, cm_rounds: int) -> dict:
    """One query (the first tRNA of Infernal's tutorial: the nhmmer round and ``cm_rounds`` CM rounds) against
    ``database``: wall and CPU seconds and peak RSS of the process, and the search's own timings (reading the
    database, each round)."""
    query = ROOT / "tests" / "data" / "infernal" / "mrum-tRNA.1.fa"
    config = json.dumps({"cm": {"max_rounds": cm_rounds, "min_rounds": min(1, cm_rounds)}})
    wall, cpu, rss = timed([sys.executable, "-m", "rnamsm", "search", str(query), "--db", str(database),
                            "--out-dir", str(out), "--threads", "2", "--config-json", config])
    stats = json.loads((out / "msa_stats.json").read_text())
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_MiB": round(rss, 1),
            "read_db_s": stats["timings"]["prepare_db"], "round1_s": stats["timings"]["round1.nhmmer"],
            "timings": stats["timings"], "depth": stats["depth"], "final_round": stats["final_round"],
            "rounds": [{key: entry[key] for key in ("round", "method", "reported", "hits", "depth", "seconds")}
                       for entry in stats["rounds"]]}


def git_commit() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[250, 500, 1000], help="database sizes (Mb)")
    parser.add_argument("--shard-nt", type=int, default=20_000_000, help="db.shard_nt of the runs")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--db-dir", type=Path, default=None,
                        help="keep the generated FASTA files here and reuse them (default: removed)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (prepared folders, searches)")
    parser.add_argument("--search", action="store_true",
                        help="also time one search against the plain FASTA and the prepared folder")
    parser.add_argument("--search-at", type=float, nargs="+", default=None,
                        help="sizes (Mb) at which --search runs (default: the largest of --sizes)")
    parser.add_argument("--cm-rounds", type=int, default=0, help="CM rounds of the --search runs")
    parser.add_argument("--no-prepare-timing", action="store_true",
                        help="with --search: time only the searches (the prepare-db rows are kept as they are)")
    args = parser.parse_args()
    search_at = set(args.search_at if args.search_at is not None else [max(args.sizes)]) if args.search else set()
    work = Path(tempfile.mkdtemp(prefix="rnamsm-prepare-db-", dir=args.work_dir))
    rows, searches = [], []
    command = "benchmarks/prepare_db.py " + " ".join(sys.argv[1:])
    try:
        for size in args.sizes:
            fasta = (args.db_dir or work) / f"db-{size:g}Mb.fa"
            built = ensure_database(fasta, size, args.shared)
            built = {key: built[key] for key in ("records", "residues", "bytes")}
            out = work / f"prepared-{size:g}"
            config = json.dumps({"db": {"shard_nt": args.shard_nt}})
            load = [round(value, 1) for value in os.getloadavg()]
            subprocess.run(["cat", str(fasta)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
            cat_wall, cat_cpu, _ = timed(["cat", str(fasta)])
            wall, cpu, rss = timed([sys.executable, "-m", "rnamsm", "prepare-db", str(fasta), "--out", str(out),
                                    "--config-json", config])
            manifest = db_manifest.read(out)
            shards = [out / shard.file for shard in manifest.shards]
            row = {
                "size_Mb": size, **built, "command": command, "commit": git_commit(), "load_average": load,
                "shard_nt": args.shard_nt,
                "prepare_wall_s": round(wall, 2), "prepare_cpu_s": round(cpu, 2), "peak_rss_MiB": round(rss, 1),
                "prepare_Mb_per_s": round(built["residues"] / 1e6 / wall, 2),
                "prepare_Mb_per_cpu_s": round(built["residues"] / 1e6 / cpu, 1),
                "cat_wall_s": round(cat_wall, 3), "cat_cpu_s": round(cat_cpu, 3),
                "cat_Mb_per_s": round(built["bytes"] / 1e6 / cat_wall, 1),
                "esl_sfetch_index": esl_sfetch_index(fasta),
                "shards": len(shards), "kept_records": manifest.records, "kept_residues": manifest.residues,
                "windows": manifest.windows,
                "dropped": {key: value.count for key, value in manifest.dropped.items()},
                "read_input_fasta_s": round(read_seconds([fasta]), 2),
                "read_shards_s": round(read_seconds(shards), 2),
            }
            if not args.no_prepare_timing:
                rows.append(row)
                print(json.dumps(row), flush=True)
            if size in search_at:
                search = {"size_Mb": size, **built, "command": command, "commit": git_commit(),
                          "load_average": [round(value, 1) for value in os.getloadavg()],
                          "shard_nt": args.shard_nt, "shards": len(shards), "cm_rounds": args.cm_rounds}
                for kind, db in (("plain", fasta), ("prepared", out)):
                    search[kind] = search_seconds(db, work / f"search-{size:g}-{kind}", args.cm_rounds)
                    print(json.dumps({kind: search[kind]}), flush=True)
                searches.append(search)
            if not args.keep:
                shutil.rmtree(out)
                if args.db_dir is None:
                    fasta.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    merge_results(rows, searches)


def merge_results(rows: list[dict], searches: list[dict]) -> None:
    """Write the new rows into the results file: a size (and, for a search, its CM rounds) measured again
    replaces its entry; the others are kept."""
    old = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    old_rows = old.get("runs", [])
    for entry in old_rows:  # rows from before commands were kept per row
        entry.setdefault("command", old.get("command", "benchmarks/prepare_db.py --sizes 50 100 200"))
        entry.setdefault("shard_nt", old.get("shard_nt", 20_000_000))
    old_searches = old.get("searches", [])
    if "search_run" in old:  # the one search of the first results file: its two runs under "search"
        first = {**old["search_run"], "cm_rounds": 0, "shard_nt": old.get("shard_nt", 20_000_000)}
        first.update(first.pop("search", {}))
        old_searches.append(first)
    sizes = {row["size_Mb"] for row in rows}
    keys = {(search["size_Mb"], search["cm_rounds"]) for search in searches}
    document = {
        "machine": platform.node(), "cpus": os.cpu_count(),
        "runs": sorted([row for row in old_rows if row["size_Mb"] not in sizes] + rows,
                       key=lambda row: row["size_Mb"]),
        "searches": sorted([search for search in old_searches
                            if (search["size_Mb"], search.get("cm_rounds", 0)) not in keys] + searches,
                           key=lambda search: (search["size_Mb"], search.get("cm_rounds", 0))),
    }
    with atomic_open(RESULTS) as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")


if __name__ == "__main__":
    main()
