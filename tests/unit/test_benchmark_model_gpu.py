"""The GPU benchmark's worker on this machine: without a CUDA device it runs on the CPU and says so."""

from __future__ import annotations

import pytest
import torch

from benchmarks import model_gpu
from rnamsm.cli import main
from rnamsm.formats import features as features_file
from rnamsm.formats import sample_jobs
from rnamsm.formats.sample_jobs import SampleJob
from tests.conftest import INFERNAL_DATA


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU answer of a machine without a GPU")
def test_the_worker_runs_the_samples_on_the_cpu_and_records_no_gpu_memory(tmp_path) -> None:
    assert main(["make-demo-checkpoint", str(tmp_path / "ckpt")]) == 0
    assert main(["make-demo-heads", str(tmp_path / "heads"), "--like-checkpoint", str(tmp_path / "ckpt")]) == 0
    jobs = [SampleJob(name, INFERNAL_DATA / f"{name}.sto", tmp_path / name / "features.npz", tmp_path / name,
                      tmp_path / name / f"{name}.rsa.tsv") for name in ("tRNA5",)]
    sample_jobs.write(jobs, tmp_path / "jobs.tsv")
    result = model_gpu.worker(tmp_path / "jobs.tsv", tmp_path / "ckpt", tmp_path / "heads", max_seqs=16)
    assert result["device"] == "cpu" and result["peak_gpu_bytes"] is None
    assert result["failed"] == [] and result["cpu_fallbacks"] == []
    assert 0 < result["inside_samples_s"] <= result["in_process_s"] and result["peak_rss_kb"] > 0
    assert [features_file.read_info(job.features).provenance.device for job in jobs] == ["cpu"]
