"""What the demo run records: untrained-weight marks, checksums, devices, and Snakemake's report."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from rnamsm.baselines.settings import BaselineSettings
from rnamsm.cli import main
from rnamsm.formats import baselines as baselines_json
from rnamsm.layout import sample_layout
from tests.support.readme import readme_commands
from tests.support.workflow import run_command

DEMO_SAMPLES = ("mrum-tRNA-1", "mrum-tRNA-5", "Cobalamin", "2DRB_1")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_output_says_the_weights_are_untrained(demo_run: Path) -> None:
    results = demo_run / "results"
    for sample in DEMO_SAMPLES:
        with np.load(results / sample / "features" / "features.npz") as features:
            assert bool(features["weights_untrained"])
        assert json.loads((results / sample / "structure" / "ss.json").read_text())["weights_untrained"] is True
        assert "WARNING: weights_untrained: true" in (results / sample / "rsa" / f"{sample}.rsa.tsv").read_text()
        assert 'id="untrained-banner"' in (results / sample / "report.html").read_text()


def test_outputs_record_weight_checksums_and_device(demo_run: Path) -> None:
    results = demo_run / "results"
    checkpoint = results / ".weights" / "demo-checkpoint" / "model.safetensors"
    ss_head = results / ".weights" / "demo-heads" / "ss.safetensors"
    for sample in DEMO_SAMPLES:
        with np.load(results / sample / "features" / "features.npz") as features:
            assert str(features["checkpoint_sha256"]) == sha256(checkpoint)
            assert str(features["device"]) == "cpu"
            assert str(features["msa_sha256"]) == sha256(results / sample / "msa" / f"{sample}.a2m_msa2")
        assert json.loads((results / sample / "structure" / "ss.json").read_text())["head_sha256"] == sha256(ss_head)
        rsa = (results / sample / "rsa" / f"{sample}.rsa.tsv").read_text()
        for index in range(3):
            head = results / ".weights" / "demo-heads" / f"rsa_{index}.safetensors"
            assert f"sha256={sha256(head)}" in rsa
        log = (demo_run / "logs" / "run_model" / f"{sample}.log").read_text()
        assert "device=cpu CUDA_VISIBLE_DEVICES=" in log


#: The README's report command (tests/workflow/test_readme.py leaves it to the test below).
REPORT_COMMAND = "snakemake --report report.zip"


def test_snakemake_report_attaches_the_sample_reports(demo_run: Path) -> None:
    assert REPORT_COMMAND in readme_commands()
    result = run_command(REPORT_COMMAND, demo_run)
    assert result.returncode == 0, result.stdout[-3000:]
    with zipfile.ZipFile(demo_run / "report.zip") as archive:
        names = archive.namelist()
    assert "report/report.html" in names
    attached = [name for name in names if name.startswith("report/data/raw/")]
    assert sorted(Path(name).name for name in attached) == ["index.html"] + ["report.html"] * len(DEMO_SAMPLES)


def test_baselines_command_alone_reproduces_the_workflow_baselines(demo_run: Path, tmp_path: Path) -> None:
    """Run alone with its defaults, `rnamsm baselines` gives the workflow's files (it gave RNAalifold 512 rows,
    the workflow 500)."""
    files = sample_layout("2DRB_1", demo_run / "results")  # its MSA holds more than 500 rows
    workflow = baselines_json.read(files.baselines.summary)
    assert workflow.rnaalifold.num_sequences == BaselineSettings().max_rows == 500
    out = tmp_path / "alone"
    assert main(["baselines", str(files.query), "--msa", str(files.msa.a2m_msa2), "--out-dir", str(out)]) == 0
    for path in (files.baselines.summary, files.baselines.rnafold_dbn, files.baselines.rnaalifold_dbn,
                 files.baselines.rnafold_bpp):
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name


def test_one_process_for_all_samples_writes_the_workflow_bytes(demo_run: Path, tmp_path: Path) -> None:
    """The demo's per-sample run_model jobs vs one ``rnamsm run-samples`` process for all four samples, at the
    jobs' thread count: the same files, byte for byte; the workflow's features.npz keep no attention maps."""
    workflow, batch = demo_run / "results", tmp_path / "results"
    for sample in DEMO_SAMPLES:  # only the inputs of the model stage
        source, target = sample_layout(sample, workflow), sample_layout(sample, batch)
        target.msa.folder.mkdir(parents=True)
        target.query.write_bytes(source.query.read_bytes())
        target.msa.a2m_msa2.write_bytes(source.msa.a2m_msa2.read_bytes())
    with np.load(workflow / DEMO_SAMPLES[0] / "features" / "features.npz") as features:
        threads = int(features["threads"])
        assert "attention_maps" not in features.files and {"embedding", "contacts"} <= set(features.files)
    heads = workflow / ".weights" / "demo-heads"
    samples = " ".join(f"--sample {sample}" for sample in DEMO_SAMPLES)
    command = (f"python -m rnamsm run-samples --results {batch} {samples} --head {heads / 'ss.safetensors'} "
               f"--heads {' '.join(str(heads / f'rsa_{k}.safetensors') for k in range(3))} "
               f"--checkpoint {workflow / '.weights' / 'demo-checkpoint'} --head-device cpu")
    result = run_command(command, demo_run, OMP_NUM_THREADS=str(threads))
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stdout.count("demo-checkpoint: randomly initialised weights") == 1  # loaded once
    for sample in DEMO_SAMPLES:
        ours, theirs = sample_layout(sample, batch), sample_layout(sample, workflow)
        structure = ours.structure
        for path in (ours.features, ours.rsa, structure.bpseq, structure.ct, structure.dbn, structure.prob,
                     structure.summary):
            assert path.read_bytes() == (theirs.directory / path.relative_to(ours.directory)).read_bytes(), path
