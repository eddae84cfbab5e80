"""Checkpoint loading: safe official unpickling, HF folders, the hub cache, errors, conversion, demo weights."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from rnamsm.errors import RnamsmError
from rnamsm.model import load_checkpoint
from rnamsm.model.device import resolve_device, resolve_dtype
from rnamsm.model.export import convert_checkpoint, make_demo_checkpoint
from tests.conftest import ORACLE, REPO_ROOT

OFFICIAL = ORACLE / "official_format.pt"


def _oracle_logits_error(model) -> float:
    with np.load(ORACLE / "fixture.npz") as data:
        tokens = torch.from_numpy(data["official_input_ids"])
        expected = torch.from_numpy(data["official_logits_lm"])
    return float((model(tokens)["logits"] - expected).abs().max())


def _official_state() -> dict[str, torch.Tensor]:
    return torch.load(OFFICIAL, weights_only=True)["state_dict"]


def _run_python(code: str, tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` as ``__main__`` in a fresh interpreter (pickles then reference ``__main__`` classes)."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=full_env,
                          cwd=tmp_path, check=False)


# ------------------------------------------------------------------ official Lightning checkpoints

#: Written by one fresh interpreter, so that pickled classes really live in ``__main__``.
PICKLE_WRITER = """
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

out, official = Path(sys.argv[1]), sys.argv[2]
state = torch.load(official, weights_only=True)["state_dict"]


@dataclass
class MSATransformerModelConfig:
    embed_dim: int = 64
    num_attention_heads: int = 4
    num_layers: int = 2


@dataclass
class OptimizerConfig:
    name: str = "adam"
    adam_betas: tuple = (0.9, 0.999)


@dataclass
class Config:
    model: MSATransformerModelConfig = field(default_factory=MSATransformerModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)


class LrSchedulerState:
    def __init__(self):
        self.step = 7


class Evil:
    def __init__(self, victim):
        self.victim = victim

    def __reduce__(self):
        return (open, (self.victim, "w"))


torch.save({"state_dict": state, "hyper_parameters": {"cfg": Config()}, "epoch": 3}, out / "lightning.ckpt")
torch.save({"state_dict": state, "cfg": MSATransformerModelConfig(num_attention_heads=8)}, out / "lying.ckpt")
torch.save({"state_dict": state, "sched": LrSchedulerState()}, out / "extra.ckpt")
torch.save({"state_dict": state, "callbacks": Evil(str(out / "pwned-zip"))}, out / "evil-zip.ckpt")
torch.save({"state_dict": state, "callbacks": Evil(str(out / "pwned-legacy"))}, out / "evil-legacy.ckpt",
           _use_new_zipfile_serialization=False)
with open(out / "evil-raw.ckpt", "wb") as handle:
    pickle.dump({"state_dict": {}, "callbacks": Evil(str(out / "pwned-raw"))}, handle)
torch.save({"x": Evil(str(out / "pwned-bin"))}, out / "pytorch_model.bin")
"""


@pytest.fixture(scope="module")
def pickles(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pickles")
    (out / "writer.py").write_text(PICKLE_WRITER)
    result = subprocess.run([sys.executable, str(out / "writer.py"), str(out), str(OFFICIAL)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert not list(out.glob("pwned*"))
    return out


def test_official_checkpoint_with_pickled_main_configs_loads_through_stubs(pickles):
    """Like RNA_MSM_pretrained.ckpt: training configs are dataclasses defined in ``__main__``."""
    target = pickles / "lightning.ckpt"
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(target))
    assert set(unsafe) == {"__main__.Config", "__main__.MSATransformerModelConfig", "__main__.OptimizerConfig"}
    model = load_checkpoint(target, device="cpu")
    assert _oracle_logits_error(model) < 1e-5
    stub = model.checkpoint.metadata["hyper_parameters"]["cfg"]
    assert type(stub).__module__ == "__main__" and type(stub).__qualname__ == "Config"
    assert stub.model.num_attention_heads == 4 and stub.optimizer.adam_betas == (0.9, 0.999)


def test_pickled_config_disagreeing_with_tensors_is_refused(pickles):
    with pytest.raises(RnamsmError, match="pickled config says 8 heads, the tensors imply 4"):
        load_checkpoint(pickles / "lying.ckpt", device="cpu")


@pytest.mark.parametrize("layout", ["zip", "legacy", "raw"])
def test_malicious_pickle_is_refused_and_never_runs(pickles, layout):
    """Unpickling this file would create ``pwned-<layout>``; loading refuses it and the file never appears."""
    target = pickles / f"evil-{layout}.ckpt"
    with pytest.raises(RnamsmError) as error:
        load_checkpoint(target, device="cpu")
    assert str(error.value).startswith(f"{target}: refusing to load: the pickle references ")
    assert "open" in str(error.value) and "\n" not in str(error.value)
    assert not (pickles / f"pwned-{layout}").exists()


def test_extra_globals_are_stubbed_not_run(pickles):
    target = pickles / "extra.ckpt"
    with pytest.raises(RnamsmError, match="__main__.LrSchedulerState"):
        load_checkpoint(target, device="cpu")
    model = load_checkpoint(target, device="cpu", extra_globals=("__main__.LrSchedulerState",))
    assert model.checkpoint.metadata["sched"].step == 7


def _save_state(path: Path, state: dict[str, torch.Tensor]) -> Path:
    torch.save({"state_dict": state}, path)
    return path


def test_official_error_cases(tmp_path):
    state = _official_state()
    cases: dict[str, tuple[Path, str]] = {}

    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(OFFICIAL.read_bytes()[: OFFICIAL.stat().st_size // 2])
    cases["truncated"] = (truncated, "truncated or corrupt")

    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    cases["corrupt"] = (corrupt, "not a loadable checkpoint")

    text = tmp_path / "notes.ckpt"
    text.write_text("this is not a checkpoint\n")
    cases["text"] = (text, "not a loadable checkpoint")

    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    cases["empty"] = (empty, "empty file")

    wrong_shape = dict(state)
    wrong_shape["layers.1.column_self_attention.layer.k_proj.weight"] = torch.zeros(64, 32)
    cases["shape"] = (_save_state(tmp_path / "shape.pt", wrong_shape),
                      "layers.1.column_self_attention.layer.k_proj.weight has shape (64, 32), expected (64, 64)")

    missing = {key: value for key, value in state.items() if key != "layers.0.feed_forward_layer.layer.fc2.bias"}
    cases["missing"] = (_save_state(tmp_path / "missing.pt", missing),
                        "missing keys layers.0.feed_forward_layer.layer.fc2.bias")

    unexpected = {**state, "layers.0.pkm.values.weight": torch.zeros(2)}
    cases["unexpected"] = (_save_state(tmp_path / "unexpected.pt", unexpected), "unexpected keys layers.0.pkm")

    hf_vocab = {**state, "embed_tokens.weight": torch.zeros(28, 64)}
    hf_vocab["lm_head.weight"] = hf_vocab["embed_tokens.weight"]
    cases["vocab"] = (_save_state(tmp_path / "vocab.pt", hf_vocab), "has 28 rows; the official layout has the 12-token")

    untied = {**state, "lm_head.weight": state["embed_tokens.weight"] + 1}
    cases["untied"] = (_save_state(tmp_path / "untied.pt", untied), "must be tied")

    no_state = tmp_path / "nostate.pt"
    torch.save({"state_dict": {}}, no_state)
    cases["no-state"] = (no_state, "no 'state_dict' with tensors")

    for name, (path, message) in cases.items():
        with pytest.raises(RnamsmError) as error:
            load_checkpoint(path, device="cpu")
        assert str(path) in str(error.value), name
        assert message in str(error.value), (name, str(error.value))
        assert "\n" not in str(error.value), name


def test_model_prefixed_state_dict_loads(tmp_path):
    state = {f"model.{key}": value for key, value in _official_state().items()}
    model = load_checkpoint(_save_state(tmp_path / "prefixed.ckpt", state), device="cpu")
    assert _oracle_logits_error(model) < 1e-5


# ------------------------------------------------------------------ Hugging Face folders


def _hf_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "hf"
    shutil.copytree(ORACLE, folder, ignore=shutil.ignore_patterns("official_format.pt", "fixture.npz", "meta.json"))
    return folder


def test_hf_folder_error_cases(tmp_path):
    folder = _hf_copy(tmp_path)

    (folder / "vocab.txt").unlink()
    with pytest.raises(RnamsmError, match=r"vocab\.txt: missing"):
        load_checkpoint(folder, device="cpu")

    tokens = (ORACLE / "vocab.txt").read_text().split("\n")
    (folder / "vocab.txt").write_text("\n".join(tokens[:26]))  # a 26-token vocabulary for 28-row weights
    with pytest.raises(RnamsmError, match="26 tokens but the word embeddings have 28 rows"):
        load_checkpoint(folder, device="cpu")

    (folder / "vocab.txt").write_text("\n".join(token if token != "-" else "~" for token in tokens))
    with pytest.raises(RnamsmError, match=r"vocab\.txt: the vocabulary lacks official token\(s\) -"):
        load_checkpoint(folder, device="cpu")

    # A reordered vocabulary (another multimolecule release) must be honoured, not hard-coded.
    order = list(range(6)) + list(range(27, 5, -1))
    reordered = load_file(ORACLE / "model.safetensors")
    for key in ("model.embeddings.word_embeddings.weight", "lm_head.bias"):
        reordered[key] = reordered[key][order].contiguous()
    save_file(reordered, folder / "model.safetensors")
    (folder / "vocab.txt").write_text("\n".join(tokens[i] for i in order))
    assert _oracle_logits_error(load_checkpoint(folder, device="cpu")) < 1e-5

    (folder / "model.safetensors").write_bytes((ORACLE / "model.safetensors").read_bytes()[:100_000])
    (folder / "vocab.txt").write_text("\n".join(tokens))
    with pytest.raises(RnamsmError, match=r"model\.safetensors: not a readable safetensors file"):
        load_checkpoint(folder, device="cpu")

    (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(RnamsmError, match="truncated or corrupt"):
        load_checkpoint(folder, device="cpu")

    state = load_file(ORACLE / "model.safetensors")
    del state["model.encoder.layer.1.row_self_attention.layer_norm.bias"]
    save_file(state, folder / "model.safetensors")
    with pytest.raises(RnamsmError, match="missing keys layers.1.row_self_attention.layer_norm.bias"):
        load_checkpoint(folder, device="cpu")

    (folder / "model.safetensors").unlink()
    with pytest.raises(RnamsmError, match=r"no weights file \(expected model\.safetensors or pytorch_model\.bin\)"):
        load_checkpoint(folder, device="cpu")

    (folder / "config.json").unlink()
    with pytest.raises(RnamsmError, match="no config.json"):
        load_checkpoint(folder, device="cpu")


def test_hf_folder_with_pytorch_model_bin(tmp_path):
    folder = _hf_copy(tmp_path)
    state = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    assert _oracle_logits_error(load_checkpoint(folder, device="cpu")) < 1e-5


def test_hf_folder_with_malicious_pytorch_model_bin(tmp_path, pickles):
    folder = _hf_copy(tmp_path)
    (folder / "model.safetensors").unlink()
    shutil.copy(pickles / "pytorch_model.bin", folder / "pytorch_model.bin")
    with pytest.raises(RnamsmError, match="pytorch_model.bin: refusing to load"):
        load_checkpoint(folder, device="cpu")
    assert not (pickles / "pwned-bin").exists()


# ------------------------------------------------------------------ Hugging Face hub cache


def _populate_hub_cache(cache: Path, repo_id: str, source: Path) -> None:
    """The layout huggingface_hub writes: blobs by hash, snapshots/<commit>/ symlinks, refs/main."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"):
        data = (source / name).read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)


def test_hub_id_loads_offline_from_a_real_cache(tmp_path):
    home = tmp_path / "hf_home"
    _populate_hub_cache(home / "hub", "multimolecule/rnamsm", ORACLE)
    code = f"""
        import numpy as np, torch
        from rnamsm.model import load_checkpoint
        model = load_checkpoint("multimolecule/rnamsm", device="cpu")
        with np.load({str(ORACLE / "fixture.npz")!r}) as data:
            tokens = torch.from_numpy(data["official_input_ids"])
            error = (model(tokens)["logits"] - torch.from_numpy(data["official_logits_lm"])).abs().max()
        print(model.checkpoint.format, float(error), model.checkpoint.weights_path)
    """
    result = _run_python(code, tmp_path, {"HF_HOME": str(home), "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    kind, error, weights = result.stdout.split()
    assert kind == "hf-hub" and float(error) < 1e-5
    assert weights.startswith(str(home / "hub"))



def test_hub_id_not_cached_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RnamsmError) as error:
        load_checkpoint("multimolecule/rnamsm@main", device="cpu")
    message = str(error.value)
    assert message.startswith("multimolecule/rnamsm: not a local file or folder, not in ")
    assert str(tmp_path / "empty-cache") in message and "hf download multimolecule/rnamsm" in message
    assert "HF_HUB_OFFLINE is set" in message
    with pytest.raises(RnamsmError, match="no such checkpoint file or folder"):
        load_checkpoint(str(tmp_path / "no" / "such.ckpt"), device="cpu")


# ------------------------------------------------------------------ conversion and demo weights


def _tensors_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def test_convert_official_to_hf_and_back_is_exact(tmp_path):
    folder = convert_checkpoint(str(OFFICIAL), tmp_path / "hf", "hf")
    assert sorted(path.name for path in folder.iterdir()) == [
        "config.json", "model.safetensors", "tokenizer_config.json", "vocab.txt"]
    assert len(load_file(folder / "model.safetensors")) == 66
    hf_model = load_checkpoint(folder, device="cpu")
    assert _oracle_logits_error(hf_model) < 1e-5
    back = convert_checkpoint(str(folder), tmp_path / "back.ckpt", "official")
    assert _tensors_equal(torch.load(back, weights_only=True)["state_dict"], _official_state())
    again = convert_checkpoint(str(back), tmp_path / "hf2", "hf")
    for name in ("model.safetensors", "vocab.txt", "config.json"):
        assert (again / name).read_bytes() == (folder / name).read_bytes(), name


def test_convert_hf_to_official_and_back_is_exact(tmp_path):
    official = convert_checkpoint(str(ORACLE), tmp_path / "official.ckpt", "official")
    checkpoint = torch.load(official, weights_only=True)
    assert _tensors_equal(checkpoint["state_dict"], _official_state())
    state = checkpoint["state_dict"]
    assert state["lm_head.weight"].data_ptr() == state["embed_tokens.weight"].data_ptr()  # stored once, tied
    folder = convert_checkpoint(str(official), tmp_path / "hf", "hf")
    assert _tensors_equal(load_file(folder / "model.safetensors"), load_file(ORACLE / "model.safetensors"))
    assert (folder / "vocab.txt").read_text() == (ORACLE / "vocab.txt").read_text()
    assert json.loads((folder / "config.json").read_text()) == json.loads((ORACLE / "config.json").read_text())


def test_official_to_hf_vocabulary_rows(tmp_path):
    """Exported rows: the 12 shared tokens copied, IUPAC rows the mean of their nucleotides."""
    state = _official_state()
    folder = convert_checkpoint(str(OFFICIAL), tmp_path / "hf", "hf")
    vocab = (folder / "vocab.txt").read_text().split("\n")
    rows = load_file(folder / "model.safetensors")["model.embeddings.word_embeddings.weight"]
    official = state["embed_tokens.weight"]
    assert torch.equal(rows[vocab.index("G")], official[5]) and torch.equal(rows[vocab.index("-")], official[10])
    assert torch.allclose(rows[vocab.index("R")], (official[4] + official[5]) / 2)  # R = A/G
    assert torch.allclose(rows[vocab.index("B")], official[[5, 6, 7]].mean(0))  # B = C/G/U


def test_demo_checkpoint_is_deterministic_and_loads(tmp_path):
    first = make_demo_checkpoint(tmp_path / "a", seed=0)
    second = make_demo_checkpoint(tmp_path / "b", seed=0)
    other = make_demo_checkpoint(tmp_path / "c", seed=1)
    names = sorted(path.name for path in first.iterdir())
    assert names == ["config.json", "model.safetensors", "tokenizer_config.json", "vocab.txt"]
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "model.safetensors").read_bytes() != (other / "model.safetensors").read_bytes()
    model = load_checkpoint(first, device="cpu")
    config = model.config
    assert (config.num_layers, config.embed_dim, config.num_heads, config.ffn_dim) == (2, 64, 4, 256)
    assert model.checkpoint.untrained and json.loads((first / "config.json").read_text())["rnamsm_untrained"]
    official = make_demo_checkpoint(tmp_path / "demo.ckpt", seed=0, fmt="official")
    assert load_checkpoint(official, device="cpu").checkpoint.untrained


# ------------------------------------------------------------------ devices and precision


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_cuda_without_gpu_is_one_line_error(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(RnamsmError) as error:
        resolve_device("cuda")
    assert "no CUDA GPU is available (CUDA_VISIBLE_DEVICES=3)" in str(error.value)
    assert "\n" not in str(error.value)
    with pytest.raises(RnamsmError, match="unknown device 'tpu'"):
        resolve_device("tpu")


def test_precision_names():
    assert resolve_dtype("bf16") is torch.bfloat16 and resolve_dtype(torch.float32) is torch.float32
    assert resolve_dtype("float16") is torch.float16
    with pytest.raises(RnamsmError, match="unknown precision"):
        resolve_dtype("int8")


def test_bf16_model_runs_close_to_fp32():
    fp32 = load_checkpoint(OFFICIAL, device="cpu")
    bf16 = load_checkpoint(OFFICIAL, device="cpu", dtype="bf16")
    assert bf16.dtype is torch.bfloat16
    with np.load(ORACLE / "fixture.npz") as data:
        tokens = torch.from_numpy(data["official_input_ids"])
    a = fp32(tokens, return_contacts=True)
    b = bf16(tokens, return_contacts=True)
    assert b["row_attentions"].dtype is torch.float32
    assert 0 < float((a["contacts"] - b["contacts"]).abs().max()) < 0.05
