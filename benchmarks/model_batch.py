"""Model stage, one process per sample vs one process for many samples; disk per sample with the default keep.

Run by hand from the repository root (CPU; full-size random weights, 95.9 M parameters):

    .venv/bin/python benchmarks/model_batch.py --samples 50 --max-seqs 512     # the issue's size
    .venv/bin/python benchmarks/model_batch.py --samples 3 --max-seqs 16       # what was run here (small)

Real MSAs from tests/data (the official example 2DRB_1, the demo's Cobalamin search, Infernal's tRNA5,
Vault, PK-HAV and ten M. ruminantium tRNAs), cycled to ``--samples`` samples. Three ways:

- ``three_processes``: ``rnamsm features`` + ``predict-ss`` + ``predict-rsa`` per sample (the workflow before
  run-samples; features keep all three arrays, since predict-ss reads the maps from the file);
- ``one_process_per_sample``: ``rnamsm run-samples`` with one sample per process (the workflow's job now);
- ``batched``: one ``rnamsm run-samples`` process for every sample.

Overhead = wall time - the time spent inside the samples (the batched run's per-sample seconds, logged by
run-samples: MSA reading, forward, heads, writing): process start, imports and weight loading. The disk
section writes ``features.npz`` through the real writer for L = 100, 400, 1,000 (random arrays of the
released model's shapes), with every array and with the default ``model.keep``. Results:
``benchmarks/results/model_batch.json``; summary in docs/benchmarks.md. Wall times on a shared machine:
the load average is recorded next to them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "model_batch.json"
DATA = ROOT / "tests" / "data"
MSAS = (DATA / "rnamsm_example" / "2DRB_1.a2m_msa2", DATA / "rnamsm_outputs" / "Cobalamin.a2m_msa2",
        DATA / "infernal" / "tRNA5.sto", DATA / "infernal" / "Vault.sto", DATA / "infernal" / "PK-HAV.sto",
        DATA / "infernal" / "mrum-tRNAs10.cmalign.sto")
ALL_ARRAYS = ["embedding", "attention_maps", "contacts"]
SAMPLE_SECONDS = re.compile(r"^rnamsm run-samples: (\d+) of (\d+) samples written \(([\d.]+) s\)$", re.M)


def _run(command: list[str], threads: int) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False,
                            env={**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)})
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - started, result.stderr


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


def timings(samples: int, max_seqs: int, threads: int) -> dict:
    from rnamsm.formats import sample_jobs
    from rnamsm.formats.sample_jobs import SampleJob

    py = [sys.executable, "-m", "rnamsm"]
    with tempfile.TemporaryDirectory(prefix="rnamsm-batch-") as name:
        tmp = Path(name)
        checkpoint, heads = full_size_weights(tmp)
        head_args = ["--head", str(heads / "ss.safetensors"),
                     "--heads", *(str(heads / f"rsa_{k}.safetensors") for k in range(3))]
        model = {"max_seqs": max_seqs, "depth_method": "identity", "device": "cpu"}
        chosen = [MSAS[number % len(MSAS)] for number in range(samples)]

        def jobs(way: str) -> list[SampleJob]:
            return [SampleJob(f"S{number}", msa, tmp / way / f"S{number}" / "features.npz", tmp / way / f"S{number}",
                              tmp / way / f"S{number}" / f"S{number}.rsa.tsv") for number, msa in enumerate(chosen)]

        results: dict = {"samples": samples, "max_seqs": max_seqs, "threads": threads,
                         "msas": [path.name for path in chosen], "load_before": os.getloadavg()[0]}
        common = ["--checkpoint", str(checkpoint), "--head-device", "cpu"]
        batch = jobs("batched")
        sample_jobs.write(batch, tmp / "batched.tsv")
        wall, log = _run([*py, "run-samples", str(tmp / "batched.tsv"), *head_args, "--model-json",
                          json.dumps(model), *common], threads)
        inside = float(SAMPLE_SECONDS.search(log).group(3))
        results["batched"] = {"wall_s": wall, "inside_samples_s": inside, "overhead_s": wall - inside,
                              "overhead_fraction": (wall - inside) / wall}
        walls = []
        for job in jobs("one_process_per_sample"):
            sample_jobs.write([job], tmp / "one.tsv")
            walls.append(_run([*py, "run-samples", str(tmp / "one.tsv"), *head_args, "--model-json",
                               json.dumps(model), *common], threads)[0])
        results["one_process_per_sample"] = {"wall_s": sum(walls), "overhead_s": sum(walls) - inside,
                                             "overhead_fraction": (sum(walls) - inside) / sum(walls)}
        walls = []
        full = json.dumps({**model, "keep": ALL_ARRAYS})
        for job in jobs("three_processes"):
            walls.append(_run([*py, "features", str(job.msa), "--out", str(job.features), "--config-json", full,
                               "--checkpoint", str(checkpoint)], threads)[0])
            walls.append(_run([*py, "predict-ss", str(job.features), *head_args[:2], "--out-dir",
                               str(job.structure_dir), "--id", job.sample, "--device", "cpu"], threads)[0])
            walls.append(_run([*py, "predict-rsa", str(job.features), *head_args[2:], "--out", str(job.rsa),
                               "--id", job.sample, "--device", "cpu"], threads)[0])
        results["three_processes"] = {"wall_s": sum(walls), "overhead_s": sum(walls) - inside,
                                      "overhead_fraction": (sum(walls) - inside) / sum(walls)}
        results["load_after"] = os.getloadavg()[0]
        results["batched_equals_one_process_per_sample"] = all(
            path.read_bytes() == (tmp / "one_process_per_sample" / path.relative_to(tmp / "batched")).read_bytes()
            for path in (tmp / "batched").rglob("*") if path.is_file())
    return results


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
    parser.add_argument("--max-seqs", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    import torch

    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                           "python": platform.python_version()},
               "disk": disk(), "timings": timings(args.samples, args.max_seqs, args.threads)}
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
