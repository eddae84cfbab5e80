"""Homology search speed: pyinfernal vs the cmsearch program, end-to-end step timings, database scaling.

Run by hand from the repository root (needs the Infernal CLI: cmbuild, cmcalibrate, cmsearch):

    .venv/bin/python benchmarks/homology_speed.py [--repeats 3] [--scales 1 4 16]

Writes benchmarks/results/homology_speed.json. Timings are wall seconds on whatever else the machine
is running at the time (on the shared 2-core development VM other jobs ran concurrently), so read
ratios, not absolute values.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyinfernal.cm import CMFile  # noqa: E402

from rnamsm.atomic import atomic_open  # noqa: E402
from rnamsm.homology.cm_search import cm_search  # noqa: E402
from rnamsm.homology.database import SequenceDatabase  # noqa: E402
from rnamsm.homology.infernal_cli import infernal_version  # noqa: E402
from rnamsm.homology.pipeline import run_search  # noqa: E402
from rnamsm.homology.settings import SearchSettings  # noqa: E402
from rnamsm.settings import settings_to_mapping  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "infernal"
RESULTS = ROOT / "benchmarks" / "results" / "homology_speed.json"


def cli_cmsearch(cm: Path, fasta: Path, threads: int, tblout: Path) -> tuple[float, set[tuple]]:
    """Wall time and included hits of the cmsearch program."""
    start = time.perf_counter()
    subprocess.run(
        ["cmsearch", "--cpu", str(threads), "--tblout", str(tblout), "-o", os.devnull, str(cm), str(fasta)],
        check=True,
    )
    seconds = time.perf_counter() - start
    included = set()
    for line in tblout.read_text().splitlines():
        fields = line.split()
        if not line.startswith("#") and fields[16] == "!":
            included.add((fields[0], int(fields[7]), int(fields[8]), fields[9]))
    return seconds, included


def compare_with_cli(genome: Path, repeats: int, workdir: Path) -> dict:
    """tRNA5.c.cm x mrum genome: ours (windowed block, preloaded) vs the CLI reading FASTA, 1 and 2 threads."""
    with CMFile(str(DATA / "tRNA5.c.cm")) as handle:
        cm = handle.read()
    start = time.perf_counter()
    database = SequenceDatabase(
        [genome], split_above=1_000_000, window=100_000, overlap=1000, shuffle_seed=0, volume_nt=None
    )
    chunks = list(database.chunks())
    load_seconds = time.perf_counter() - start
    z_residues = 2 * database.summary.residues
    rows = []
    for threads in (1, 2):
        cli_times, our_times = [], []
        for _ in range(repeats):
            seconds, cli_hits = cli_cmsearch(DATA / "tRNA5.c.cm", genome, threads, workdir / "cli.tbl")
            cli_times.append(seconds)
            start = time.perf_counter()
            hits = cm_search(cm, chunks, z_residues=z_residues, E=10, incE=0.01, max_hits=50000, threads=threads,
                             round_number=2)
            our_times.append(time.perf_counter() - start)
            ours = {(h.target, h.start, h.end, h.strand) for h in hits if h.included}
        rows.append(
            {
                "threads": threads,
                "cli_seconds_median": round(statistics.median(cli_times), 3),
                "ours_seconds_median": round(statistics.median(our_times), 3),
                "ratio_ours_over_cli": round(statistics.median(our_times) / statistics.median(cli_times), 3),
                "cli_included": len(cli_hits),
                "ours_included": len(ours),
                "ours_reported": len(hits),
                "included_identical": ours == cli_hits,
            }
        )
    return {"cm": "tRNA5.c.cm (CLEN 72)", "database": "mrum-genome (2.94 Mb, 30 windows)",
            "load_seconds": round(load_seconds, 3), "repeats": repeats, "runs": rows}


def _search_measured(query: Path, genome: Path, out_dir: Path, settings: SearchSettings) -> dict:
    """One ``run_search`` with its wall time and CPU seconds (this process vs. the Infernal subprocesses)."""
    def cpu(who: int) -> float:
        usage = resource.getrusage(who)
        return usage.ru_utime + usage.ru_stime

    self_before, children_before = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = run_search(query, [genome], out_dir, settings)
    wall = time.perf_counter() - start
    cpu_self = cpu(resource.RUSAGE_SELF) - self_before
    cpu_children = cpu(resource.RUSAGE_CHILDREN) - children_before
    timings = result.stats.timings
    calibrate = sum(v for k, v in timings.items() if k.endswith("cmcalibrate"))
    return {
        "wall_seconds": round(wall, 3),
        "timings": timings,
        "cmcalibrate_seconds": round(calibrate, 3),
        "cmcalibrate_share": round(calibrate / wall, 3),
        "cpu_seconds_search_process": round(cpu_self, 2),
        "cpu_seconds_infernal_subprocesses": round(cpu_children, 2),
        "cpu_share_infernal_subprocesses": round(cpu_children / (cpu_self + cpu_children), 3),
        "rounds": [settings_to_mapping(round_) for round_ in result.stats.rounds],
        "depth": result.stats.depth,
        "neff": result.stats.neff,
        "included_hits": sorted([h.name, h.start, h.end, h.strand] for h in result.stats.hits if h.included),
    }


def end_to_end(genome: Path, workdir: Path) -> dict:
    """``rnamsm search`` for the first tRNA of mrum-tRNAs10.fa against the genome.

    Three runs: the defaults (no calibration cache), then twice with ``calibrate_cache`` set to a new
    folder (cold: every CM is calibrated and stored; warm: a rerun that finds both CMs).
    """
    query = workdir / "trna1.fa"  # written by main()
    settings = SearchSettings()
    defaults = _search_measured(query, genome, workdir / "e2e", settings)
    cached = dataclasses.replace(settings, calibrate_cache=str(workdir / "cm-cache"))
    cold = _search_measured(query, genome, workdir / "e2e-cold", cached)
    warm = _search_measured(query, genome, workdir / "e2e-warm", cached)
    same = defaults["included_hits"] == cold["included_hits"] == warm["included_hits"]
    for run in (defaults, cold, warm):
        run["included_hits"] = len(run["included_hits"])
    return {
        "query": "mrum-tRNA.1 (72 nt)",
        "calibrate_L": settings.calibrate_L,
        **defaults,
        "calibrate_cache_cold": cold,
        "calibrate_cache_warm": warm,
        "included_hits_identical_across_runs": same,
    }


def calibration_floor(genome: Path, workdir: Path, lengths: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1)) -> dict:
    """How small cmcalibrate's share can get: the end-to-end run at the smallest ``-L`` Infernal accepts,
    and cmcalibrate alone on two tRNA CMs (Infernal's tutorial CM and one built from the run's final
    MSA) at several ``-L`` values and 1 or 2 threads.

    The search's own work (nhmmer, cmsearch, I/O) is the run's wall time minus its cmcalibrate time;
    cmcalibrate's share cannot fall below ``t / (t + search work)`` for its fastest ``t``.
    """
    from rnamsm.homology.infernal_cli import build_cm, calibrate_cm

    query = workdir / "trna1.fa"
    runs = {}
    default_length = SearchSettings().calibrate_L
    for length in (0.01, default_length):
        run = _search_measured(query, genome, workdir / f"floor-{length}", SearchSettings(calibrate_L=length))
        runs[f"{length:g}"] = {key: run[key] for key in ("wall_seconds", "cmcalibrate_seconds", "cmcalibrate_share")}
        runs[f"{length:g}"]["search_work_seconds"] = round(run["wall_seconds"] - run["cmcalibrate_seconds"], 3)
    final_sto = workdir / f"floor-{default_length}" / "mrum-tRNA.1.sto"
    sweep = []
    cms = (("tRNA5.c.cm (Infernal tutorial)", DATA / "tRNA5.c.cm"), ("CM of the run's final MSA (64 rows)", final_sto))
    for label, source in cms:
        for length in lengths:
            for threads in (1, 2):
                cm = workdir / "sweep.cm"
                if source.suffix == ".cm":
                    shutil.copyfile(source, cm)  # cmcalibrate replaces the shipped calibration
                else:
                    build_cm(source, cm)
                window = next(int(line.split()[1]) for line in cm.read_text().splitlines() if line.startswith("W "))
                start = time.perf_counter()
                calibrate_cm(cm, length_mb=length, threads=threads)
                seconds = round(time.perf_counter() - start, 2)
                sweep.append({"cm": label, "W": window, "L_mb": length, "threads": threads, "seconds": seconds})
                print(json.dumps(sweep[-1]), file=sys.stderr)
    return {"end_to_end": runs, "cmcalibrate_alone": sweep}


#: Runs ``rnamsm`` and reports the peak RSS of that Python process alone (``VmHWM``, KiB) on stderr's
#: last line; the cmbuild/cmcalibrate subprocesses are not counted (their memory does not depend on
#: the database size). ``getrusage`` is not used: on Linux it also reported the children's peak.
_SELF_RSS = (
    "import sys; from rnamsm.cli import main; status = main(sys.argv[1:]); "
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
    "print(hwm, file=sys.stderr); sys.exit(status)"
)


def run_measured(arguments: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of the ``rnamsm`` process run with ``arguments``."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _SELF_RSS, *arguments], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"rnamsm {arguments} failed: {result.stderr}")
    return seconds, int(result.stderr.strip().splitlines()[-1])


def scaling(genome_text: str, scales: list[int], workdir: Path) -> dict:
    """One CM round at 1x, 4x, 16x the genome, with and without volumes.

    The k-fold database holds k rotations of the genome as separate records (exact copies would be
    removed as duplicates).
    """
    sequence = "".join(genome_text.splitlines()[1:])
    query = workdir / "trna1.fa"
    rows = []
    for scale in scales:
        db = workdir / f"genome_x{scale}.fa"
        with open(db, "w") as handle:
            for copy in range(scale):
                shift = copy * len(sequence) // scale
                handle.write(f">mrum_rotation{copy}\n{sequence[shift:]}{sequence[:shift]}\n")
        for volume in (None, 3_000_000):
            overrides = {"cm": {"max_rounds": 1}, "db": {"volume_nt": volume}}
            seconds, rss = run_measured(
                ["search", str(query), "--db", str(db), "--out-dir",
                 str(workdir / f"scale{scale}_{volume}"), "--threads", "2", "--config-json", json.dumps(overrides)]
            )
            stats = json.loads((workdir / f"scale{scale}_{volume}" / "msa_stats.json").read_text())
            rows.append({
                "scale": scale, "residues": len(sequence) * scale, "volume_nt": volume,
                "wall_seconds": round(seconds, 2), "search_process_peak_rss_mib": round(rss / 1024, 1),
                "cmsearch_seconds": stats["timings"].get("round2.cmsearch"),
                "nhmmer_seconds": stats["timings"]["round1.nhmmer"],
                "cmcalibrate_seconds": stats["timings"].get("round2.cmcalibrate"),
                "depth": stats["depth"],
            })
        db.unlink()
    return {"query": "mrum-tRNA.1 (72 nt), one CM round", "runs": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument(
        "--only-scaling", action="store_true", help="rerun only the database scaling; keep the other results"
    )
    parser.add_argument(
        "--only-calibration", action="store_true", help="rerun only the cmcalibrate floor; keep the other results"
    )
    args = parser.parse_args()
    for program in ("cmbuild", "cmcalibrate", "cmsearch"):
        if shutil.which(program) is None:
            sys.exit(f"{program} not on PATH")
    with tempfile.TemporaryDirectory(prefix="homology-bench-") as tmp:
        workdir = Path(tmp)
        genome_text = gzip.decompress((DATA / "mrum-genome.fa.gz").read_bytes()).decode()
        genome = workdir / "mrum-genome.fa"
        genome.write_text(genome_text)
        (workdir / "trna1.fa").write_text(">" + (DATA / "mrum-tRNAs10.fa").read_text().split(">")[1])
        if args.only_scaling or args.only_calibration:
            results = json.loads(RESULTS.read_text())
        else:
            results = {
                "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                            "python": platform.python_version(), "infernal_cli": infernal_version(),
                            "note": "shared VM; other CPU-heavy jobs ran concurrently, timings are noisy"},
                "cmsearch_vs_cli": compare_with_cli(genome, args.repeats, workdir),
                "end_to_end": end_to_end(genome, workdir),
            }
        if not args.only_scaling:
            results["calibration_floor"] = calibration_floor(genome, workdir)
        if not args.only_calibration:
            results["database_scaling"] = scaling(genome_text, args.scales, workdir)
    with atomic_open(RESULTS) as handle:
        json.dump(results, handle, sort_keys=True, indent=2)
        handle.write("\n")
    print(json.dumps(results, sort_keys=True, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
