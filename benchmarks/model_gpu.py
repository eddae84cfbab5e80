"""The model job on a GPU node: samples/min and peak GPU memory, batched vs one process per sample.

Run by hand from the repository root, on a GPU node (full-size random weights, 95.9 M parameters):

    srun --gpus=1 .venv/bin/python benchmarks/model_gpu.py --samples 50 --max-seqs 512   # the issue's size
    .venv/bin/python benchmarks/model_gpu.py --samples 2 --max-seqs 16                   # what was run here

``model.device`` is ``auto``: without a CUDA device everything runs on the CPU, and the JSON says so
(``"cuda": false`` and a ``note``). The real MSAs of tests/data listed in benchmarks/model_batch.py
(``MSAS``) are cycled to ``--samples``.
Each way runs ``rnamsm run-samples``' library call in a fresh worker process (``--worker``), so a worker's
wall time includes process start, imports, CUDA initialisation and weight loading, and its peak GPU memory
(``torch.cuda.max_memory_allocated``) and peak RSS are its own:

- ``batched``: one worker for every sample (the model and heads loaded once);
- ``per_sample``: one worker per sample (today's one job per sample); peak memory is the largest worker's.

``--host-memory 32x100 128x100 32x400 64x250`` instead measures what the GPU job's memory request
(``mem_mb``) must cover: peak RSS (``/usr/bin/time -v``) of one ``rnamsm run-samples`` process per size
(rows x columns of a random MSA; CPU, 2 threads, heads on the CPU as the workflow runs them), fitted
as a + b x rows x columns + c x columns² over these and the sizes measured before (kept in the JSON)
(docs/cluster.md, "Sizing the model job").

Results: ``benchmarks/results/model_gpu.json`` (``--out``); summary in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.model_batch import MSAS, full_size_weights  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "model_gpu.json"


def worker(jobs_tsv: Path, checkpoint: Path, heads: Path, max_seqs: int, device: str = "auto") -> dict:
    """Run the samples of ``jobs_tsv`` in this process as ``rnamsm run-samples`` does; what it cost."""
    import torch

    from rnamsm.formats import features as features_file
    from rnamsm.formats import sample_jobs
    from rnamsm.heads.batch import HeadFiles, run_samples
    from rnamsm.model.device import resolve_device
    from rnamsm.model.settings import ModelSettings

    settings = ModelSettings(checkpoint=str(checkpoint), device=device, max_seqs=max_seqs, depth_method="identity")
    files = HeadFiles(heads / "ss.safetensors", tuple(heads / f"rsa_{k}.safetensors" for k in range(3)))
    resolved = resolve_device(device)
    started = time.perf_counter()
    jobs = sample_jobs.read(jobs_tsv)
    outcomes = run_samples(jobs, files, settings, head_device=str(resolved))
    cuda = resolved.type == "cuda"
    return {
        "device": str(resolved),
        "device_name": torch.cuda.get_device_name(resolved) if cuda else platform.processor() or "cpu",
        "in_process_s": time.perf_counter() - started,
        "inside_samples_s": sum(outcome.seconds for outcome in outcomes),
        "failed": [outcome.sample for outcome in outcomes if not outcome.ok],
        "cpu_fallbacks": [job.sample for job in jobs if job.features.exists()
                          and features_file.read_info(job.features).provenance.device_fallback],
        "peak_gpu_bytes": torch.cuda.max_memory_allocated(resolved) if cuda else None,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def _spawn(jobs_tsv: Path, checkpoint: Path, heads: Path, max_seqs: int, device: str) -> dict:
    """:func:`worker` in a fresh process; adds its wall time."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, __file__, "--worker", str(jobs_tsv), "--checkpoint", str(checkpoint),
                             "--heads", str(heads), "--max-seqs", str(max_seqs), "--device", device],
                            capture_output=True, text=True, cwd=ROOT, check=False)
    if result.returncode:
        raise SystemExit(f"worker failed:\n{result.stderr[-3000:]}")
    return {**json.loads(result.stdout.splitlines()[-1]), "wall_s": time.perf_counter() - started}


def _rate(samples: int, wall: float) -> float:
    return round(60 * samples / wall, 2)


def measure(samples: int, max_seqs: int, device: str, checkpoint: Path, heads: Path, tmp: Path) -> dict:
    """Both ways on ``samples`` samples in folder ``tmp``: samples/min, overhead and peak memory."""
    from rnamsm.formats import sample_jobs
    from rnamsm.formats.sample_jobs import SampleJob

    def jobs(way: str) -> list[SampleJob]:
        return [SampleJob(f"S{number}", MSAS[number % len(MSAS)], tmp / way / f"S{number}" / "features.npz",
                          tmp / way / f"S{number}", tmp / way / f"S{number}" / f"S{number}.rsa.tsv")
                for number in range(samples)]

    sample_jobs.write(jobs("batched"), tmp / "batched.tsv")
    batched = _spawn(tmp / "batched.tsv", checkpoint, heads, max_seqs, device)
    workers = []
    for job in jobs("per_sample"):
        sample_jobs.write([job], tmp / f"{job.sample}.tsv")
        workers.append(_spawn(tmp / f"{job.sample}.tsv", checkpoint, heads, max_seqs, device))
    wall = sum(run["wall_s"] for run in workers)
    inside = sum(run["inside_samples_s"] for run in workers)
    peaks = [run["peak_gpu_bytes"] for run in workers if run["peak_gpu_bytes"] is not None]
    cuda = batched["device"].startswith("cuda")
    return {
        "device": batched["device"], "device_name": batched["device_name"], "cuda": cuda,
        "note": "" if cuda else "no CUDA device: ran on the CPU (device auto); GPU memory not measured",
        "samples": samples, "max_seqs": max_seqs, "msas": [MSAS[number % len(MSAS)].name for number in range(samples)],
        "batched": {**batched, "samples_per_min": _rate(samples, batched["wall_s"]),
                    "overhead_fraction": 1 - batched["inside_samples_s"] / batched["wall_s"]},
        "per_sample": {"wall_s": wall, "inside_samples_s": inside, "samples_per_min": _rate(samples, wall),
                       "overhead_fraction": 1 - inside / wall,
                       "peak_gpu_bytes": max(peaks) if peaks else None,
                       "peak_rss_kb": max(run["peak_rss_kb"] for run in workers),
                       "failed": [sample for run in workers for sample in run["failed"]]},
    }


MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def _random_msa(path: Path, rows: int, columns: int, seed: int = 0) -> Path:
    """An ``.a2m_msa2`` of ``rows`` rows: a random query and copies of it with 20 % substitutions, 10 % gaps."""
    rng = random.Random(seed)
    query = "".join(rng.choice("ACGU") for _ in range(columns))
    lines = [">query", query]
    for row in range(1, rows):
        lines += [f">hit{row}", "".join(rng.choice("ACGU-") if rng.random() < 0.3 else base for base in query)]
    path.write_text("\n".join(lines) + "\n")
    return path


def host_memory(sizes: list[tuple[int, int]], checkpoint: Path, heads: Path, tmp: Path,
                earlier: list[dict] = ()) -> dict:
    """Peak RSS of ``rnamsm run-samples`` (one sample) per (rows, columns), and the least-squares fit over
    these runs and the ``earlier`` runs of other sizes (so sizes can be added one run at a time)."""
    import numpy as np

    from rnamsm.formats import sample_jobs
    from rnamsm.formats.sample_jobs import SampleJob

    runs = []
    for rows, columns in sizes:
        name = f"R{rows}xL{columns}"
        job = SampleJob(name, _random_msa(tmp / f"{name}.a2m_msa2", rows, columns), tmp / name / "features.npz",
                        tmp / name, tmp / name / f"{name}.rsa.tsv")
        sample_jobs.write([job], tmp / f"{name}.tsv")
        model = json.dumps({"device": "cpu", "max_seqs": rows, "depth_method": "identity"})
        started = time.perf_counter()
        result = subprocess.run(
            ["/usr/bin/time", "-v", sys.executable, "-m", "rnamsm", "run-samples", str(tmp / f"{name}.tsv"),
             "--checkpoint", str(checkpoint), "--model-json", model, "--head", str(heads / "ss.safetensors"),
             "--heads", *(str(heads / f"rsa_{k}.safetensors") for k in range(3)), "--head-device", "cpu"],
            capture_output=True, text=True, cwd=ROOT, check=False,
            env={**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": str(ROOT)})
        if result.returncode:
            raise SystemExit(f"{name} failed:\n{result.stderr[-3000:]}")
        runs.append({"rows": rows, "columns": columns, "wall_s": time.perf_counter() - started,
                     "peak_rss_kb": int(MAX_RSS.search(result.stderr).group(1))})
    measured = {(run["rows"], run["columns"]) for run in runs}
    runs = sorted([*runs, *(run for run in earlier if (run["rows"], run["columns"]) not in measured)],
                  key=lambda run: (run["columns"], run["rows"]))
    design = np.array([[1.0, run["rows"] * run["columns"], run["columns"] ** 2] for run in runs])
    peak = np.array([run["peak_rss_kb"] * 1024.0 for run in runs])
    (base, per_token, per_pair), *_ = np.linalg.lstsq(design, peak, rcond=None)
    for run, fitted in zip(runs, design @ [base, per_token, per_pair]):
        run["fit_error_fraction"] = float(fitted / (run["peak_rss_kb"] * 1024) - 1)
    return {"runs": runs, "fit": {"base_mb": base / 2**20, "bytes_per_row_column": per_token,
                                  "bytes_per_column_squared": per_pair}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--max-seqs", type=int, default=512)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--host-memory", nargs="+", metavar="ROWSxCOLUMNS",
                        help="measure peak RSS per MSA size instead (written to the JSON's host_memory)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--heads", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.checkpoint, args.heads, args.max_seqs, args.device)))
        return 0
    import torch

    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    with tempfile.TemporaryDirectory(prefix="rnamsm-gpu-") as name:
        checkpoint, heads = full_size_weights(Path(name))
        load_before = os.getloadavg()[0]
        if args.host_memory:
            sizes = [tuple(map(int, size.lower().split("x"))) for size in args.host_memory]
            earlier = results.get("host_memory", {}).get("runs", [])
            results["host_memory"] = {**host_memory(sizes, checkpoint, heads, Path(name), earlier),
                                      "load_before": load_before, "load_after": os.getloadavg()[0]}
        else:
            results.update(measure(args.samples, args.max_seqs, args.device, checkpoint, heads, Path(name)))
            results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                                  "torch": torch.__version__, "cuda_devices": torch.cuda.device_count(),
                                  "load_before": load_before, "load_after": os.getloadavg()[0]}
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(json.dumps(results, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
