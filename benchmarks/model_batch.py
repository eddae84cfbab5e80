"""Model stage, one process per sample vs one process for many samples; disk per sample with the default keep.

Run by hand from the repository root (CPU; full-size random weights, 95.9 M parameters), niced on a shared
machine:

    nice -n 10 .venv/bin/python benchmarks/model_batch.py --samples 50 --max-seqs 8 --until 15:12   # run here
    nice -n 10 .venv/bin/python benchmarks/model_batch.py --group-member DIR   # a group member's Snakemake start

Queries: ``--samples`` members of the Rfam/Infernal seed alignments in ``../shared/data`` (a fixed-seed draw
per family, :data:`FAMILIES`; a member is eligible when it is ACGU only, unique in its family and at least
0.8 x the family's median length), each with its own family alignment as its MSA, made by the package's
``rnamsm import-msa`` library call (the member's row found by ``--record``, put first, only its columns
kept, the search's default filters applied). ``--max-seqs`` caps the rows the model reads (``model.max_seqs``,
the other model keys at their defaults). Ways:

- ``one_process_per_sample``: ``rnamsm run-samples`` with one sample per process (what each workflow
  ``run_model`` job runs);
- ``batched``: one ``rnamsm run-samples`` process for every sample;
- ``three_processes`` (``--three-processes N``, on the first N samples only): ``rnamsm features`` +
  ``predict-ss`` + ``predict-rsa`` per sample (the workflow before run-samples).

"Inside the samples" is what run-samples logs for its samples (MSA reading, depth reduction, forward,
heads, writing); overhead = a process's wall time - its inside time: process start, imports and weight
loading. CPU seconds (user + system, from the kernel's child accounting) are recorded next to the wall
times: they are less sensitive to the other processes on a shared machine. ``--group-member`` also times
a Snakemake ``--target-jobs`` start of one finished sample's ``run_model`` job (what each member of a
Slurm group job runs): its wall time minus the job's own ``benchmark:`` seconds is what a member pays
before and after the model command. The disk section writes ``features.npz`` through the real writer
for L = 100, 400, 1,000 (random arrays of the released model's shapes), with every array and with the
default ``model.keep``. Results: ``benchmarks/results/model_batch.json``; summary in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import calendar
import dataclasses
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import msa_quality  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "model_batch.json"
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared" / "data"
#: Real MSAs from tests/data, cycled by benchmarks/model_gpu.py (not by this script any more).
MSAS = (DATA / "rnamsm_example" / "2DRB_1.a2m_msa2", DATA / "rnamsm_outputs" / "Cobalamin.a2m_msa2",
        DATA / "infernal" / "tRNA5.sto", DATA / "infernal" / "Vault.sto", DATA / "infernal" / "PK-HAV.sto",
        DATA / "infernal" / "mrum-tRNAs10.cmalign.sto")
ALL_ARRAYS = ["embedding", "attention_maps", "contacts"]
SAMPLE_SECONDS = re.compile(r"^rnamsm run-samples: (\d+) of (\d+) samples written \(([\d.]+) s\)$", re.M)
WROTE = re.compile(r"^rnamsm run-samples: (\S+): wrote \S+ \(L=(\d+), depth=(\d+),", re.M)


#: 50 queries from nine families, short and long (tRNA ~73 nt to RNase P ~330 nt), drawn by the MSA-quality
#: benchmark's draw (eligible: ACGU only, unique in its family, at least 0.8 of its median length).
FAMILIES = (
    msa_quality.Family("tRNA", "infernal_testsuite/tRNA.sto", 8),
    msa_quality.Family("5S_rRNA", "infernal_tutorial/5S_rRNA.sto", 8),
    msa_quality.Family("Cobalamin", "infernal_tutorial/Cobalamin.sto", 7),
    msa_quality.Family("Vault", "infernal_testsuite/Vault.sto", 7),
    msa_quality.Family("snR75", "infernal_testsuite/snR75.sto", 7),
    msa_quality.Family("Plant_SRP", "infernal_testsuite/Plant_SRP.sto", 4),
    msa_quality.Family("srp-euk", "infernal_testsuite/srp-euk.sto", 4),
    msa_quality.Family("rnaseP-eubact", "infernal_testsuite/rnaseP-eubact.sto", 3),
    msa_quality.Family("PK-HAV", "infernal_testsuite/PK-HAV.sto", 2),
)
#: Seed of the query draw.
SEED = 0


@dataclass(frozen=True)
class Drawn:
    """One query: its sample id, family, row name in the family alignment and ungapped sequence."""

    sample: str
    family: msa_quality.Family
    record: str
    sequence: str


def draw_queries(shared: Path, samples: int, seed: int = SEED) -> list[Drawn]:
    """``samples`` members (a fixed-seed draw per family, interleaved family by family, cut to ``samples``)."""
    members = {family.name: msa_quality.read_family(shared, family) for family in FAMILIES}
    drawn = msa_quality.draw_queries(members, seed, FAMILIES)
    if len(drawn) < samples:
        raise SystemExit(f"model_batch: only {len(drawn)} queries drawn, {samples} asked for")
    family_of = {family.name: family for family in FAMILIES}
    return [Drawn(f"{member.family.replace('-', '_')}_{number:02d}", family_of[member.family], member.name,
                  member.sequence) for number, (_, member) in enumerate(drawn[:samples])]


def prepare_msas(shared: Path, drawn: list[Drawn], work: Path) -> list[dict]:
    """Each query's FASTA and its MSA from its family alignment (``rnamsm import-msa``'s library call)."""
    from rnamsm.formats import query as query_format
    from rnamsm.homology.import_msa import import_msa

    prepared = []
    for query in drawn:
        folder = work / "msas" / query.sample
        folder.mkdir(parents=True, exist_ok=True)
        query_fa = folder / "query.fa"
        query_format.write(query_format.query_from_sequence(query.sample, query.sequence), query_fa)
        result = import_msa(shared / query.family.path, query_fa, folder, record=query.record)
        prepared.append({"sample": query.sample, "family": query.family.name, "record": query.record,
                         "length": len(query.sequence), "msa_rows": result.stats.depth,
                         "neff": round(result.stats.neff, 2), "msa": str(result.paths["a2m_msa2"]),
                         "query": str(query_fa)})
    return prepared


def _run(command: list[str], threads: int, log: Path | None = None) -> tuple[float, float, str, list[float]]:
    """Wall seconds, CPU seconds (user + system of the child), stderr of one command and when (seconds
    after the start) each stderr line arrived."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    lines, stamps = [], []
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}) as process:
        assert process.stderr is not None
        for line in process.stderr:
            stamps.append(time.perf_counter() - started)
            lines.append(line)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stderr = "".join(lines)
    if log is not None:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"$ {' '.join(command)}\n{stderr}\n")
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, stderr, stamps


def sample_seconds(stderr: str, stamps: list[float], inside: float) -> dict[str, float]:
    """Seconds of each sample of one run-samples process: from the previous sample's last line (``wrote`` its
    RSA TSV) to its own; the first sample gets what the logged total leaves."""
    ends = [(line.split(": ", 2)[1], stamp) for line, stamp in zip(stderr.splitlines(), stamps, strict=True)
            if re.match(r"^rnamsm run-samples: \S+: wrote \S+\.rsa\.tsv$", line)]
    seconds = {sample: end - previous for (sample, end), (_, previous) in zip(ends[1:], ends, strict=False)}
    if ends:
        seconds[ends[0][0]] = inside - sum(seconds.values())
    return {sample: round(value, 2) for sample, value in seconds.items()}


def full_size_weights(tmp: Path) -> tuple[Path, Path]:
    """Full-size random RNA-MSM (HF folder) and demo heads of the released sizes (120 maps, D = 768)."""
    from rnamsm.heads.demo import make_demo_heads
    from rnamsm.model.convert import HF_VOCAB
    from rnamsm.model.export import demo_state, hf_config_for, write_hf_folder
    from rnamsm.model.rnamsm import RnaMsmConfig

    config = RnaMsmConfig()
    checkpoint = write_hf_folder(tmp / "weights", demo_state(config, seed=0, matrix_std=0.02),
                                 hf_config_for(config, HF_VOCAB, True), HF_VOCAB)
    make_demo_heads(tmp / "heads", config.num_layers * config.num_heads, config.embed_dim)
    return Path(checkpoint), tmp / "heads"


def _way(walls: list[float], cpus: list[float], insides: list[float], loads: list[float]) -> dict:
    if not walls:
        return {"processes": 0}
    wall, inside = sum(walls), sum(insides)
    return {"processes": len(walls), "wall_s": round(wall, 2), "cpu_s": round(sum(cpus), 2),
            "inside_samples_s": round(inside, 2), "overhead_s": round(wall - inside, 2),
            "overhead_fraction_of_wall": round((wall - inside) / wall, 4),
            "overhead_over_inside": round((wall - inside) / inside, 4),
            "overhead_per_process_s": round((wall - inside) / len(walls), 2),
            "load_average_1min": {"min": min(loads), "max": max(loads), "mean": round(statistics.mean(loads), 2)}}


def timings(samples: int, max_seqs: int, threads: int, shared: Path, work: Path, three: int,
            save: Callable[[dict], None] = lambda _results: None, deadline: float | None = None) -> dict:
    """The ways side by side on ``samples`` drawn queries (batched first, then one process per sample, in
    the draw's order, which interleaves the families, until ``deadline``, a ``time.time()``);
    ``save`` gets the results so far after every process (``"complete": false`` until the end)."""
    from rnamsm.formats import sample_jobs
    from rnamsm.formats.sample_jobs import SampleJob

    py = [sys.executable, "-m", "rnamsm"]
    started = time.time()
    checkpoint, heads = full_size_weights(work)
    head_args = ["--head", str(heads / "ss.safetensors"),
                 "--heads", *(str(heads / f"rsa_{k}.safetensors") for k in range(3))]
    model = {"max_seqs": max_seqs}
    queries = prepare_msas(shared, draw_queries(shared, samples), work)
    print(f"model_batch: {len(queries)} MSAs ready ({time.time() - started:.0f} s)", file=sys.stderr, flush=True)

    def jobs(way: str) -> list[SampleJob]:
        return [SampleJob(q["sample"], Path(q["msa"]), work / way / q["sample"] / "features.npz",
                          work / way / q["sample"], work / way / q["sample"] / f"{q['sample']}.rsa.tsv",
                          Path(q["query"])) for q in queries]

    results: dict = {"samples": samples, "max_seqs": max_seqs, "threads": threads, "seed": SEED,
                     "model_settings": {**model, "device": "cpu", "others": "schema defaults"},
                     "families": {family.name: family.path for family in FAMILIES}, "queries": queries,
                     "complete": False}
    common = ["--model-json", json.dumps(model), "--checkpoint", str(checkpoint), "--device", "cpu",
              "--head-device", "cpu"]
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    batch = jobs("batched")
    sample_jobs.write(batch, work / "batched.tsv")
    load = os.getloadavg()[0]
    wall, cpu, log, stamps = _run([*py, "run-samples", str(work / "batched.tsv"), *head_args, *common], threads,
                                  logs / "batched.log")
    inside = float(SAMPLE_SECONDS.search(log).group(3))
    batched_seconds = sample_seconds(log, stamps, inside)
    results["batched"] = {**_way([wall], [cpu], [inside], [load, os.getloadavg()[0]]), "by_sample": batched_seconds}
    model_read = {sample: {"length": int(length), "model_rows": int(depth)}
                  for sample, length, depth in WROTE.findall(log)}
    for query in queries:
        query.update(model_read.get(query["sample"], {}))
    results["queries"] = [{key: value for key, value in query.items() if key not in ("msa", "query")}
                          for query in queries]  # no scratch paths in the results
    print(f"model_batch: batched {wall:.0f} s", file=sys.stderr, flush=True)
    save(results)
    walls, cpus, insides, loads, per_sample = [], [], [], [], {}
    for job in jobs("one_process_per_sample"):
        if deadline is not None and time.time() >= deadline:
            break
        sample_jobs.write([job], work / "one.tsv")
        loads.append(os.getloadavg()[0])
        wall, cpu, log, _ = _run([*py, "run-samples", str(work / "one.tsv"), *head_args, *common], threads,
                                 logs / "one_process_per_sample.log")
        inside = float(SAMPLE_SECONDS.search(log).group(3))
        walls.append(wall), cpus.append(cpu), insides.append(inside)
        per_sample[job.sample] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "inside_s": inside,
                                  "overhead_s": round(wall - inside, 2),
                                  "batched_inside_s": batched_seconds.get(job.sample)}
        save({**results, "one_process_per_sample": {"by_sample": per_sample}})
        print(f"model_batch: {job.sample} {wall:.0f} s ({len(walls)} of {len(queries)})", file=sys.stderr, flush=True)
    loads.append(os.getloadavg()[0])
    done = list(per_sample)
    results["one_process_per_sample"] = {
        **_way(walls, cpus, insides, loads), "samples": len(done),
        "same_samples_inside_batched_s": round(sum(batched_seconds.get(sample, 0) for sample in done), 2),
        "by_sample": per_sample}
    if done and len(done) < len(queries):
        overhead = results["one_process_per_sample"]["overhead_per_process_s"]
        total = results["batched"]["inside_samples_s"] + overhead * len(queries)
        results["one_process_per_sample"]["derived_for_all_samples"] = {
            "how": "not measured: the batched run's inside time + the samples' count x the mean overhead per "
                   "process measured on the samples above",
            "wall_s": round(total, 1), "overhead_fraction_of_wall": round(overhead * len(queries) / total, 4)}
    results["batched_equals_one_process_per_sample"] = all(
        path.read_bytes() == (work / "batched" / path.relative_to(work / "one_process_per_sample")).read_bytes()
        for path in (work / "one_process_per_sample").rglob("*") if path.is_file())
    results["files_compared"] = sum(1 for path in (work / "one_process_per_sample").rglob("*") if path.is_file())
    if three:
        walls, cpus, insides, loads = [], [], [], []
        full = json.dumps({**model, "keep": ALL_ARRAYS})
        for job in [job for job in jobs("three_processes") if job.sample in per_sample][:three]:
            loads.append(os.getloadavg()[0])
            steps = [
                _run([*py, "features", str(job.msa), "--out", str(job.features), "--config-json", full,
                      "--checkpoint", str(checkpoint), "--device", "cpu"], threads, logs / "three.log"),
                _run([*py, "predict-ss", str(job.features), *head_args[:2], "--out-dir", str(job.structure_dir),
                      "--id", job.sample, "--device", "cpu"], threads, logs / "three.log"),
                _run([*py, "predict-rsa", str(job.features), *head_args[2:], "--out", str(job.rsa),
                      "--id", job.sample, "--device", "cpu"], threads, logs / "three.log")]
            walls.extend(step[0] for step in steps), cpus.extend(step[1] for step in steps)
            insides.append(per_sample[job.sample]["inside_s"])
        loads.append(os.getloadavg()[0])
        results["three_processes"] = {**_way(walls, cpus, insides, loads), "samples": three,
                                      "note": "inside = the same samples' run-samples inside time"}
    results["minutes"] = round((time.time() - started) / 60, 1)
    results["complete"] = True
    return results


#: What the plugin's inner Snakemake runs for each member of a Slurm group job (``--executor slurm-jobstep``,
#: which wraps the job in ``srun``), with the local executor: a job on finished inputs, forced to run.
MEMBER_OPTIONS = ("--allowed-rules", "run_model", "--cores", "2", "--force-use-threads", "--force",
                  "--target-files-omit-workdir-adjustment", "--max-inventory-time", "0", "--nocolor", "--no-hooks",
                  "--nolock", "--ignore-incomplete", "--keep-incomplete", "--mode", "remote", "--jobs", "1")


def group_member(workdir: Path, sample: str, repeats: int) -> dict:
    """A group member's cost around its model command: ``snakemake --target-jobs run_model:sample=...``
    on a finished demo sample in ``workdir`` (made first when missing: a copy of the workflow and
    ``snakemake --profile profiles/local results/SAMPLE/features/features.npz``), ``repeats`` times; minus the
    seconds the job's own ``benchmark:`` file records for the command (``rnamsm run-samples``)."""
    from rnamsm.layout import benchmark_file
    from tests.support.workflow import copy_workflow

    features = workdir / "results" / sample / "features" / "features.npz"
    if not features.exists():
        copy_workflow(workdir)
        subprocess.run([sys.executable, "-m", "snakemake", "--profile", "profiles/local", "--cores", "2",
                        str(features.relative_to(workdir))], cwd=workdir, check=True, capture_output=True)
    timing = workdir / "results" / benchmark_file("run_model", sample, Path("benchmarks"))
    command = [sys.executable, "-m", "snakemake", "--snakefile", "Snakefile", "--target-jobs",
               f"run_model:sample={sample}", *MEMBER_OPTIONS]
    runs = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, cwd=workdir, check=True, capture_output=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        header, row = timing.read_text().splitlines()[:2]
        job = dict(zip(header.split("\t"), row.split("\t"), strict=True))
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        runs.append({"member_wall_s": round(wall, 2), "member_cpu_s": round(cpu, 2),
                     "command_wall_s": float(job["s"]), "command_cpu_s": float(job["cpu_time"]),
                     "snakemake_wall_s": round(wall - float(job["s"]), 2),
                     "snakemake_cpu_s": round(cpu - float(job["cpu_time"]), 2), "load_1min": os.getloadavg()[0]})
    return {"sample": sample, "command": " ".join(["snakemake", *command[3:]]), "runs": runs,
            "mean_snakemake_wall_s": round(statistics.mean(run["snakemake_wall_s"] for run in runs), 2),
            "mean_snakemake_cpu_s": round(statistics.mean(run["snakemake_cpu_s"] for run in runs), 2),
            "note": "demo weights (small), local executor in place of slurm-jobstep (no srun step)"}


def disk(lengths: tuple[int, ...] = (100, 400, 1000)) -> dict:
    """Bytes of features.npz with every array and with the default keep, for the released model's shapes."""
    from rnamsm.formats import features as features_file
    from rnamsm.model.settings import ModelSettings

    rng = np.random.default_rng(0)
    default = ModelSettings().keep
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="rnamsm-disk-") as name:
        for length in lengths:
            record = features_file.FeaturesRecord(
                sequence="A" * length, embedding=rng.random((length, 768), dtype=np.float32),
                attention_maps=rng.random((120, length, length), dtype=np.float32),
                contacts=rng.random((length, length), dtype=np.float32),
                attention_coverage=np.ones((length, length), bool), windows=((0, length),))
            row = {}
            for label, keep in (("all", ALL_ARRAYS), ("default_keep", default)):
                path = Path(name) / f"{label}_{length}.npz"
                dropped = {key: None for key in ALL_ARRAYS if key not in keep}
                features_file.write(dataclasses.replace(record, **dropped), path)
                row[f"{label}_bytes"] = path.stat().st_size
            row["fraction"] = row["default_keep_bytes"] / row["all_bytes"]
            sizes[str(length)] = row
    return {"default_keep": list(default), "by_length": sizes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--max-seqs", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--three-processes", type=int, default=0, metavar="N",
                        help="also time features + predict-ss + predict-rsa on the first N samples")
    parser.add_argument("--shared", type=Path, default=SHARED, help="folder of the seed alignments")
    parser.add_argument("--work-dir", type=Path, default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--until", default=None, metavar="HH:MM",
                        help="start no one-process-per-sample run after this UTC time today (default: run all)")
    parser.add_argument("--group-member", type=Path, default=None, metavar="DIR",
                        help="instead: time a group member's Snakemake start on a finished demo sample in DIR "
                        "(updates only the group_member section)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.group_member is not None:
        from rnamsm.atomic import atomic_open

        results = json.loads(args.out.read_text())
        results["group_member"] = group_member(args.group_member.resolve(), "2DRB_1", args.repeats)
        with atomic_open(args.out) as handle:
            handle.write(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results["group_member"], indent=2))
        return 0
    deadline = None
    if args.until:
        hours, minutes = map(int, args.until.split(":"))
        today = time.gmtime()
        deadline = calendar.timegm((today.tm_year, today.tm_mon, today.tm_mday, hours, minutes, 0))
    import torch

    from rnamsm.atomic import atomic_open

    if not args.shared.is_dir():
        sys.exit(f"model_batch: {args.shared} not found: the benchmark needs the seed alignments of ../shared/data")
    earlier = json.loads(args.out.read_text()) if args.out.exists() else {}
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                           "python": platform.python_version()},
               "disk": disk()}
    kept = {key: earlier[key] for key in ("earlier_small_run", "group_member") if key in earlier}

    def save(timed: dict) -> None:
        with atomic_open(args.out) as handle:
            handle.write(json.dumps({**results, "timings": timed, **kept}, indent=2) + "\n")

    with tempfile.TemporaryDirectory(prefix="rnamsm-batch-", dir=args.work_dir) as name:
        results["timings"] = timings(args.samples, args.max_seqs, args.threads, args.shared, Path(name),
                                     args.three_processes, save, deadline)
    save(results["timings"])
    print(json.dumps(results["timings"]["batched"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
