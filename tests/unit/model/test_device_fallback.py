"""The GPU paths of the model stage, run on the CPU: out-of-memory fallback and ``device: auto``.

A GPU that runs out of memory is stood in for by the loaded model's forward raising the error torch
raises then (``torch.OutOfMemoryError``), injected through :class:`rnamsm.model.features.LoadedModel`,
the seam every sample goes through (``rnamsm features`` and ``rnamsm run-samples`` alike). The fallback
itself, the CPU copy of the checkpoint and the provenance are the real code.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from rnamsm.cli import main
from rnamsm.model.features import LoadedModel, features_record, load_model, write_features
from rnamsm.model.settings import ModelSettings
from tests.conftest import INFERNAL_DATA

SETTINGS = {"max_seqs": 64, "depth_method": "identity"}
MSAS = (INFERNAL_DATA / "mrum-tRNAs10.cmalign.sto", INFERNAL_DATA / "tRNA5.sto")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt") / "demo"
    assert main(["make-demo-checkpoint", str(folder)]) == 0
    return folder


class OutOfMemoryOnFirstDevice(torch.nn.Module):
    """A model "on a GPU" whose every forward runs out of memory, as a too-big sample does on a real one."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.inner = model
        self.config, self.checkpoint, self.calls = model.config, model.checkpoint, 0

    @property
    def device(self) -> torch.device:
        return self.inner.device

    def forward(self, *args, **kwargs):
        self.calls += 1
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 12.00 GiB (GPU 0; 7.79 GiB free)")


def test_a_sample_out_of_gpu_memory_runs_on_the_cpu_with_the_same_numbers_and_says_why(checkpoint, tmp_path):
    settings = ModelSettings(checkpoint=str(checkpoint), device="cpu", **SETTINGS)
    plain = load_model(settings)
    gpu = LoadedModel(OutOfMemoryOnFirstDevice(plain.model), dataclasses.replace(settings, device="cuda"),
                      torch.device("cuda", 0), plain.threads)
    lines: list[str] = []
    for msa in MSAS:
        expected, fallen_back = features_record(plain, msa), features_record(gpu, msa, log=lines.append)
        for name in ("embedding", "attention_maps", "contacts", "attention_coverage", "windows"):
            assert np.array_equal(getattr(fallen_back, name), getattr(expected, name)), name
        provenance = fallen_back.provenance
        assert provenance.device == "cpu" and expected.provenance.device == "cpu"
        assert expected.provenance.device_fallback is None
        length, depth = len(expected.sequence), expected.provenance.msa_depth
        assert provenance.device_fallback == f"cuda:0 out of memory (L={length}, depth={depth}): ran on cpu"
        assert f"{msa}: {provenance.device_fallback}" in lines
        assert dataclasses.replace(provenance, device_fallback=None) == expected.provenance
    assert gpu.model.calls == 2 and gpu.cpu_model is not None  # one CPU copy, loaded at the first such sample
    assert gpu.cpu_model is not plain.model

    # the reason reaches features.npz
    out = tmp_path / "features.npz"
    write_features(fallen_back, out, settings)
    with np.load(out) as data:
        assert str(data["device"]) == "cpu" and str(data["device_fallback"]) == provenance.device_fallback


def test_out_of_memory_on_the_cpu_itself_is_not_hidden(checkpoint):
    settings = ModelSettings(checkpoint=str(checkpoint), device="cpu", **SETTINGS)
    plain = load_model(settings)
    cpu = dataclasses.replace(plain, model=OutOfMemoryOnFirstDevice(plain.model))
    with pytest.raises(torch.OutOfMemoryError):
        features_record(cpu, MSAS[1])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks what auto means on a machine without a GPU")
def test_device_auto_resolves_to_the_cpu_here_and_gives_the_cpu_bytes(checkpoint, tmp_path):
    auto, cpu = (load_model(ModelSettings(checkpoint=str(checkpoint), device=device, **SETTINGS))
                 for device in ("auto", "cpu"))
    assert auto.device == torch.device("cpu")
    paths = []
    for name, loaded in (("auto", auto), ("cpu", cpu)):
        paths.append(tmp_path / f"{name}.npz")
        write_features(features_record(loaded, MSAS[1]), paths[-1], loaded.settings)
    assert paths[0].read_bytes() == paths[1].read_bytes()
