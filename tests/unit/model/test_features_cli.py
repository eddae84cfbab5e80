"""``rnamsm features`` / ``make-demo-checkpoint`` / ``convert-checkpoint`` end to end on real MSAs."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from rnamsm.checksums import file_sha256
from rnamsm.cli import main
from rnamsm.model import compute_features, load_checkpoint, read_msa, reduce_depth
from tests.conftest import INFERNAL_DATA, ORACLE, REPO_ROOT, RNAMSM_EXAMPLE

MSA_2DRB = RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2"
QUERY_2DRB = "GGCCCGGGGCGGUUCGAUUCCGCCCUGGGCCACCA"
INTERFACE_KEYS = {
    "embedding", "attention_maps", "contacts", "sequence", "checkpoint_sha256", "msa_depth", "msa_sha256",
    "weights_untrained", "device", "attention_coverage", "num_layers", "num_heads", "depth_reduction",
}


@pytest.fixture(scope="module")
def demo_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt") / "demo"
    assert main(["make-demo-checkpoint", str(folder), "--seed", "0"]) == 0
    return folder


def test_features_cli_end_to_end_on_2drb1(tmp_path, demo_checkpoint):
    """The real command in a fresh process: 1,176 rows -> 512, device logged, every interface key written."""
    out = tmp_path / "features" / "features.npz"
    env = {key: value for key, value in os.environ.items() if key != "CUDA_VISIBLE_DEVICES"}
    result = subprocess.run(
        [sys.executable, "-m", "rnamsm", "features", str(MSA_2DRB), "--checkpoint", str(demo_checkpoint),
         "--out", str(out), "--device", "auto", "--depth-method", "identity"],
        capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=False,
    )
    assert result.returncode == 0, result.stderr
    device = "cuda" if torch.cuda.is_available() else "cpu"
    assert f"device={device} CUDA_VISIBLE_DEVICES=unset" in result.stderr
    assert "1176 rows > max_seqs 512: kept 512 with identity-filter (" in result.stderr

    with np.load(out) as data:  # no pickles: every value is a plain array
        features = {key: data[key] for key in data.files}
    assert INTERFACE_KEYS <= set(features)
    assert features["embedding"].dtype == np.float32 and features["embedding"].shape == (35, 64)
    assert features["attention_maps"].dtype == np.float32 and features["attention_maps"].shape == (8, 35, 35)
    assert features["contacts"].dtype == np.float32 and features["contacts"].shape == (35, 35)
    assert features["attention_coverage"].dtype == bool and features["attention_coverage"].all()
    row_sums = features["attention_maps"].sum(-1)
    assert (features["attention_maps"] >= 0).all() and (row_sums <= 1 + 1e-5).all() and (row_sums > 0).all()
    assert ((features["contacts"] > 0) & (features["contacts"] < 1)).all()
    assert str(features["sequence"]) == QUERY_2DRB
    assert int(features["msa_depth"]) == 512 and int(features["msa_input_depth"]) == 1176
    assert str(features["depth_reduction"]) == "identity-filter" and str(features["device"]) == device
    assert 0 < int(features["depth_filter_survivors"]) < 512
    assert str(features["msa_sha256"]) == file_sha256(MSA_2DRB)
    assert str(features["checkpoint_sha256"]) == file_sha256(demo_checkpoint / "model.safetensors")
    assert bool(features["weights_untrained"]) and int(features["num_layers"]) == 2 and int(features["num_heads"]) == 4
    assert [name for name in os.listdir(out.parent)] == ["features.npz"]  # written atomically, no leftovers

    # The same numbers through the Python API (deterministic), and the official semantics of each array.
    model = load_checkpoint(demo_checkpoint, device="cpu")
    msa = reduce_depth(read_msa(MSA_2DRB), method="identity").msa
    api = compute_features(model, msa)
    assert np.array_equal(api.embedding, features["embedding"]) and np.array_equal(api.contacts, features["contacts"])
    from rnamsm.model.alphabet import tokenize_msa

    full = model(tokenize_msa(msa.rows)[None], repr_layers=(2,), need_head_weights=True)
    assert np.allclose(full["representations"][2][0, 0, 1:].numpy(), features["embedding"], atol=1e-5)
    assert np.allclose(full["row_attentions"][0, 1, 3, 1:, 1:].numpy(), features["attention_maps"][1 * 4 + 3])


def test_features_record_the_thread_count_and_equal_thread_reruns_are_byte_identical(tmp_path, demo_checkpoint):
    """features.npz of 2DRB_1 in fresh processes at 1, 1 and 2 threads (Snakemake sets OMP_NUM_THREADS to a
    job's threads): the thread count is in the file, and a rerun at the same count writes the same bytes.

    The CPU sums of the model depend on the thread count (the embedding differs by about 5e-7 between 1
    and 2 threads), so identical bytes are promised only at equal thread counts (docs/model.md).
    """
    written = []
    for run, threads in enumerate((1, 1, 2)):
        out = tmp_path / f"run{run}" / "features.npz"
        result = subprocess.run(
            [sys.executable, "-m", "rnamsm", "features", str(MSA_2DRB), "--checkpoint", str(demo_checkpoint),
             "--out", str(out), "--device", "cpu", "--depth-method", "identity"],
            capture_output=True, text=True, cwd=REPO_ROOT, env={**os.environ, "OMP_NUM_THREADS": str(threads)},
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert f"precision=fp32 threads={threads}" in result.stderr
        with np.load(out) as data:
            assert data["threads"].dtype.kind == "i" and int(data["threads"]) == threads
        written.append(out.read_bytes())
    assert written[0] == written[1]


@pytest.mark.parametrize(("name", "shape"), [("mrum-tRNAs10.cmalign.sto", (72, 10)), ("tRNA5.sto", (74, 5))])
def test_features_from_stockholm(tmp_path, demo_checkpoint, capsys, name, shape):
    out = tmp_path / "f.npz"
    assert main(["features", str(INFERNAL_DATA / name), "--checkpoint", str(demo_checkpoint), "--out", str(out)]) == 0
    with np.load(out) as data:
        assert (data["embedding"].shape[0], int(data["msa_depth"])) == shape
        assert str(data["depth_reduction"]) == "none"
    assert "device=cpu" in capsys.readouterr().err or torch.cuda.is_available()


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_features_from_a3m_with_a_reduced_precision(tmp_path, demo_checkpoint, precision):
    """The GPU options bf16 and fp16 run the same code on the CPU: float32 outputs, close to fp32's."""
    a3m = tmp_path / "q.a3m"
    a3m.write_text(">q\nGGCCCGGGGCGGUUCGAUUC\n>h1\nGGCaCCGG-GCGGUUCGAUUC\n>h2\n--CCCGGAGCGGUUCAAUUu-\n")
    fp32, reduced = tmp_path / "fp32.npz", tmp_path / f"{precision}.npz"
    assert main(["features", str(a3m), "--checkpoint", str(demo_checkpoint), "--out", str(fp32)]) == 0
    assert main(["features", str(a3m), "--checkpoint", str(demo_checkpoint), "--out", str(reduced),
                 "--precision", precision]) == 0
    with np.load(fp32) as a, np.load(reduced) as b:
        assert a["embedding"].shape == (20, 64) and b["embedding"].dtype == np.float32
        assert str(b["precision"]) == precision and str(b["device"]) == "cpu"
        assert 0 < np.abs(a["contacts"] - b["contacts"]).max() < 0.05


def test_features_keeps_all_three_alone_and_what_keep_or_the_section_says(tmp_path, demo_checkpoint):
    """``rnamsm features`` alone writes all three arrays; ``--keep`` or a ``--config-json`` section choose."""
    msa = INFERNAL_DATA / "tRNA5.sto"
    runs = {"alone": [], "keep": ["--keep", "embedding", "attention_maps", "--maps-dtype", "float16"],
            "section": ["--config-json", "{}"]}
    arrays = {}
    for name, extra in runs.items():
        out = tmp_path / f"{name}.npz"
        assert main(["features", str(msa), "--checkpoint", str(demo_checkpoint), "--out", str(out), *extra]) == 0
        with np.load(out) as data:
            arrays[name] = {key: data[key].dtype for key in ("embedding", "attention_maps", "contacts")
                            if key in data.files}
    assert arrays["alone"] == {"embedding": np.float32, "attention_maps": np.float32, "contacts": np.float32}
    assert arrays["keep"] == {"embedding": np.float32, "attention_maps": np.float16}
    assert arrays["section"] == {"embedding": np.float32, "contacts": np.float32}  # the workflow's default keep
    with pytest.raises(SystemExit):
        main(["features", str(msa), "--checkpoint", str(demo_checkpoint), "--out", str(tmp_path / "x.npz"),
              "--keep", "logits"])


def test_features_errors_are_one_line_and_write_nothing(tmp_path, demo_checkpoint, capsys, monkeypatch):
    out = tmp_path / "f.npz"
    bad = tmp_path / "bad.a2m"
    bad.write_text(">q\nACGU\n>s\nAC?U\n")
    assert main(["features", str(bad), "--checkpoint", str(demo_checkpoint), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"rnamsm features: error: {bad}: row 2 ('s'): invalid character '?' at match column 3"
    if not torch.cuda.is_available():
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
        assert main(["features", str(MSA_2DRB), "--checkpoint", str(demo_checkpoint), "--out", str(out),
                     "--device", "cuda"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert "device 'cuda' requested but no CUDA GPU is available (CUDA_VISIBLE_DEVICES=0)" in err[0]
    assert main(["features", str(MSA_2DRB), "--checkpoint", str(tmp_path / "missing.ckpt"), "--out", str(out)]) == 1
    assert "missing.ckpt: no such checkpoint file or folder" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_convert_checkpoint_cli_round_trip(tmp_path, capsys):
    official = tmp_path / "official.ckpt"
    assert main(["convert-checkpoint", str(ORACLE), str(official), "--to", "official"]) == 0
    assert main(["convert-checkpoint", str(official), str(tmp_path / "hf"), "--to", "hf"]) == 0
    for name in ("vocab.txt", "model.safetensors"):
        from safetensors.torch import load_file

        if name == "vocab.txt":
            assert (tmp_path / "hf" / name).read_text() == (ORACLE / name).read_text()
        else:
            original, again = load_file(ORACLE / name), load_file(tmp_path / "hf" / name)
            assert original.keys() == again.keys() and all(torch.equal(original[k], again[k]) for k in original)
    assert "wrote" in capsys.readouterr().err
