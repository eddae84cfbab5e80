"""``rnamsm run-samples``: many samples in one process, the same bytes as the per-sample commands."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnamsm.cli import main
from rnamsm.formats import sample_jobs
from rnamsm.formats.sample_jobs import SampleJob
from tests.conftest import INFERNAL_DATA, RNAMSM_EXAMPLE

SETTINGS = {"max_seqs": 64, "depth_method": "identity", "device": "cpu"}
#: All three arrays kept, so that predict-ss can run from the file as the per-sample path does.
MODEL = json.dumps({**SETTINGS, "keep": ["embedding", "attention_maps", "contacts"]})
HEADS = json.dumps({"threshold": 0.5})
#: Real MSAs of three sizes: the official example (1,176 rows, 35 nt), Infernal's tRNA5 and Vault.
MSAS = {"2DRB_1": RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2", "tRNA5": INFERNAL_DATA / "tRNA5.sto",
        "Vault": INFERNAL_DATA / "Vault.sto"}


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """The demo checkpoint and demo heads sized for it."""
    folder = tmp_path_factory.mktemp("weights")
    assert main(["make-demo-checkpoint", str(folder / "ckpt")]) == 0
    assert main(["make-demo-heads", str(folder / "heads"), "--like-checkpoint", str(folder / "ckpt")]) == 0
    return folder


def _job(root, sample, msa, query=None) -> SampleJob:
    folder = root / sample
    return SampleJob(sample, msa, folder / "features" / "features.npz", folder / "structure",
                     folder / "rsa" / f"{sample}.rsa.tsv", query, root / "logs" / f"{sample}.log")


def _head_args(weights) -> list[str]:
    return ["--head", str(weights / "heads" / "ss.safetensors"),
            "--heads", *(str(weights / "heads" / f"rsa_{k}.safetensors") for k in range(3))]


def _per_sample(job: SampleJob, weights) -> None:
    """The three per-sample commands, as the workflow runs them."""
    heads = _head_args(weights)
    assert main(["features", str(job.msa), "--out", str(job.features), "--config-json", MODEL,
                 "--checkpoint", str(weights / "ckpt")]) == 0
    assert main(["predict-ss", str(job.features), *heads[:2], "--out-dir", str(job.structure_dir),
                 "--id", job.sample, "--config-json", HEADS, "--device", "cpu"]) == 0
    assert main(["predict-rsa", str(job.features), *heads[2:], "--out", str(job.rsa), "--id", job.sample,
                 "--device", "cpu"]) == 0


def _files(job: SampleJob) -> dict[str, bytes]:
    paths = [job.features, job.rsa, *sorted(job.structure_dir.iterdir())]
    return {path.name: path.read_bytes() for path in paths}


def test_run_samples_writes_the_per_sample_bytes_and_a_bad_sample_fails_alone(tmp_path, weights, capsys) -> None:
    garbage = tmp_path / "garbage.a3m"
    garbage.write_text("this is not an alignment\n")
    other_query = tmp_path / "other.fa"
    other_query.write_text(">other\nGGGGAAAACCCC\n")
    batch = [_job(tmp_path / "batch", sample, msa) for sample, msa in MSAS.items()]
    bad = [_job(tmp_path / "batch", "garbage", garbage),
           _job(tmp_path / "batch", "mismatch", MSAS["tRNA5"], other_query)]
    listing = tmp_path / "samples.tsv"
    sample_jobs.write(batch[:1] + bad + batch[1:], listing)
    capsys.readouterr()

    status = main(["run-samples", str(listing), *_head_args(weights), "--model-json", MODEL, "--heads-json", HEADS,
                   "--checkpoint", str(weights / "ckpt"), "--head-device", "cpu"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.splitlines()[-1] == (f"rnamsm run-samples: error: {listing}: 2 of 5 samples failed (their logs give "
                                    "the reasons): garbage, mismatch")
    # Largest MSA file first (the allocator's blocks then fit every later sample).
    written = [line.split(": ")[1] for line in err.splitlines() if ": wrote " in line and "features.npz" in line]
    assert written == sorted(MSAS, key=lambda name: -MSAS[name].stat().st_size)

    for job in batch:  # every good sample: the same files, byte for byte, as the per-sample commands
        alone = _job(tmp_path / "alone", job.sample, job.msa)
        _per_sample(alone, weights)
        assert _files(job) == _files(alone), job.sample
        assert set(_files(job)) == {"features.npz", f"{job.sample}.rsa.tsv", f"{job.sample}.bpseq",
                                    f"{job.sample}.ct", f"{job.sample}.dbn", f"{job.sample}.prob.npy", "ss.json"}
    for job in bad:  # a bad sample: nothing written, its one-line reason last in its log
        assert not job.features.exists() and not job.structure_dir.exists() and not job.rsa.exists()
        last = job.log.read_text().splitlines()[-1]
        assert last.startswith("rnamsm run-samples: error: ")
    assert str(garbage) in bad[0].log.read_text().splitlines()[-1]
    assert str(other_query) in bad[1].log.read_text().splitlines()[-1]


def test_a_bad_head_fails_the_batch_before_any_sample(tmp_path, weights, capsys) -> None:
    listing = tmp_path / "samples.tsv"
    job = _job(tmp_path, "tRNA5", MSAS["tRNA5"])
    sample_jobs.write([job], listing)
    status = main(["run-samples", str(listing), "--head", str(tmp_path / "missing.safetensors"),
                   *_head_args(weights)[2:], "--checkpoint", str(weights / "ckpt"), "--device", "cpu"])
    assert status == 1
    assert "missing.safetensors: no such file" in capsys.readouterr().err
    assert not job.features.exists()


def test_the_default_keep_leaves_the_maps_out_and_the_heads_give_the_same_files(tmp_path, weights, capsys) -> None:
    """``model.keep`` default (embedding, contacts): no maps in features.npz, the heads had them in memory."""
    full, lean = _job(tmp_path / "full", "tRNA5", MSAS["tRNA5"]), _job(tmp_path / "lean", "tRNA5", MSAS["tRNA5"])
    for job, model in ((full, MODEL), (lean, json.dumps(SETTINGS))):
        sample_jobs.write([job], tmp_path / "samples.tsv")
        assert main(["run-samples", str(tmp_path / "samples.tsv"), *_head_args(weights), "--model-json", model,
                     "--checkpoint", str(weights / "ckpt"), "--head-device", "cpu"]) == 0
    with np.load(lean.features) as data:
        assert "attention_maps" not in data.files and {"embedding", "contacts"} <= set(data.files)
    assert {name: data for name, data in _files(lean).items() if name != "features.npz"} == \
        {name: data for name, data in _files(full).items() if name != "features.npz"}
    # Every reader of the lean file: predict-rsa works, the SS head and make-demo-heads say what they miss.
    assert main(["predict-rsa", str(lean.features), *_head_args(weights)[2:], "--out", str(tmp_path / "r.tsv"),
                 "--id", "tRNA5", "--device", "cpu"]) == 0
    assert (tmp_path / "r.tsv").read_bytes() == lean.rsa.read_bytes()
    capsys.readouterr()
    assert main(["predict-ss", str(lean.features), *_head_args(weights)[:2], "--out-dir", str(tmp_path / "s"),
                 "--id", "tRNA5"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"rnamsm predict-ss: error: {lean.features}: the features hold no attention_maps, which the SS head needs "
        "(keep it: model.keep, rnamsm features --keep attention_maps; or run the heads with the model: "
        "rnamsm run-samples)")
    assert not (tmp_path / "s").exists()
    assert main(["make-demo-heads", str(tmp_path / "h"), "--features-like", str(lean.features)]) == 1
    assert "the features hold no attention_maps, which make-demo-heads --features-like needs" in capsys.readouterr().err
    assert main(["train-head", "ss", "--features", str(lean.features), "--labels", str(lean.structure_dir),
                 "--out", str(tmp_path / "trained.safetensors")]) == 1
    assert "the features hold no attention_maps, which train-head ss needs" in capsys.readouterr().err
