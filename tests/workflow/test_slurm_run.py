"""`snakemake --profile slurm` runs the demo end to end on the local single-node Slurm."""

from __future__ import annotations

import re
from pathlib import Path

from tests.slurm.fixtures import run_snakemake_on_slurm, sbatch_calls, sbatch_option, sbatch_rule
from tests.support.outputs import differences
from tests.support.readme import readme_commands
from tests.support.workflow import copy_workflow

SLURM_COMMAND = "snakemake --profile slurm"
SLURM_SAMPLES = ("mrum-tRNA-1", "2DRB_1")
#: What `sbatch_rule` reads from the comment of the model job group's sbatch call (group `model`, rule run_model).
MODEL_GROUP = "model_run_model"


def test_demo_on_slurm_equals_local_run(slurm_cluster, demo_run: Path, tmp_path: Path) -> None:
    assert SLURM_COMMAND in readme_commands()
    workdir = copy_workflow(tmp_path / "slurm-run")
    # Two of the demo's samples keep the cluster run short; every stage still runs as a Slurm job.
    targets = [f"results/{sample}/report.html" for sample in SLURM_SAMPLES]
    result = run_snakemake_on_slurm(targets, workdir, timeout=1500, profile=Path("slurm"))
    assert result.returncode == 0, result.stdout[-8000:]

    calls = sbatch_calls(result.stdout)
    submitted = [sbatch_rule(call) for call in calls]
    assert {"validate_input", "homology_search", MODEL_GROUP, "baselines"} <= set(submitted)
    assert not set(submitted) & {"sample_report", "batch_index", "all"}, "local rules must not be queued"
    # model.samples_per_job (default 8): both samples' model jobs are one Slurm job with one GPU request
    assert submitted.count(MODEL_GROUP) == 1 and "run_model" not in submitted, submitted
    for call in calls:
        assert sbatch_option(call, "--gpus") is None, call
        assert (sbatch_option(call, "--gres") == "gpu:1") == (sbatch_rule(call) == MODEL_GROUP), call
        cpus = sbatch_option(call, "--cpus-per-task")
        assert cpus is None or int(cpus) <= 2 * len(SLURM_SAMPLES), call

    for log in sorted((workdir / "logs" / "run_model").glob("*.log")):
        assert re.search(r"device=cpu CUDA_VISIBLE_DEVICES=0\b", log.read_text()), log

    for sample in SLURM_SAMPLES:
        assert differences(demo_run / "results" / sample, workdir / "results" / sample) == []
        assert (workdir / "results" / sample / "report.html").is_file()
