"""Loading RNA-MSM weights: the official Lightning checkpoint, a Hugging Face folder, or a hub id.

``load_checkpoint(source)`` accepts

- a file: the official ``RNA_MSM_pretrained.ckpt``, read without running pickled code
  (:mod:`rnamsm.model.official_checkpoint`);
- a folder in multimolecule's layout (:mod:`rnamsm.model.hf_folder`);
- a Hugging Face hub id (``multimolecule/rnamsm``, optionally ``@revision`` or ``hf://`` in front),
  resolved through ``huggingface_hub``'s cache (:mod:`rnamsm.model.hub`).

The tensors are then checked against the architecture (:func:`build_model`). Every problem (missing,
truncated or corrupt file, wrong shapes, missing keys, wrong vocabulary) is one
:class:`~rnamsm.errors.RnamsmError` naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from rnamsm.checksums import file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.model.alphabet import OFFICIAL_TOKENS
from rnamsm.model.device import resolve_device, resolve_dtype
from rnamsm.model.hf_folder import HfFolder, read_hf_folder
from rnamsm.model.hub import DEFAULT_HUB_ID, download_from_hub, parse_hub_id
from rnamsm.model.official_checkpoint import config_from_official, official_state_dict, read_official
from rnamsm.model.rnamsm import RnaMsm, RnaMsmConfig


@dataclass(frozen=True)
class CheckpointInfo:
    """Where a model's weights came from."""

    source: str
    #: ``official``, ``hf-folder`` or ``hf-hub``.
    format: str
    weights_path: Path
    sha256: str
    #: True when the checkpoint says it is randomly initialised (``"rnamsm_untrained": true``).
    untrained: bool = False
    #: The folder's vocabulary (HF layouts) or the official 12 tokens.
    vocab: tuple[str, ...] = OFFICIAL_TOKENS
    #: Extra metadata (HF ``config.json``, official stub contents, conversion extras).
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def build_model(config: RnaMsmConfig, state: dict[str, torch.Tensor], path: Path) -> RnaMsm:
    """Check keys, shapes and the LM-head tie against ``config``; return the loaded model (CPU, float32)."""
    with torch.device("meta"):
        expected = {key: tuple(value.shape) for key, value in RnaMsm(config).state_dict().items()}
    missing = sorted(set(expected) - set(state))
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise RnamsmError(f"{path}: missing keys {', '.join(missing[:5])}{more}")
    unexpected = sorted(set(state) - set(expected))
    if unexpected:
        raise RnamsmError(f"{path}: unexpected keys {', '.join(unexpected[:5])}")
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise RnamsmError(f"{path}: {key} has shape {tuple(state[key].shape)}, expected {shape}")
    if not torch.equal(state["lm_head.weight"], state["embed_tokens.weight"]):
        raise RnamsmError(f"{path}: lm_head.weight differs from embed_tokens.weight (they must be tied)")
    bad = [key for key, value in state.items() if not value.is_floating_point() or not torch.isfinite(value).all()]
    if bad:
        raise RnamsmError(f"{path}: {bad[0]} is not a finite floating-point tensor")
    with torch.device("meta"):  # no random init and no second copy of the weights: load by assignment
        model = RnaMsm(config)
    model.load_state_dict({key: value.float() for key, value in state.items()}, strict=True, assign=True)
    model.lm_head.weight = model.embed_tokens.weight  # keep the tie as one parameter
    return model.eval()


def read_checkpoint(source: str | os.PathLike[str], hf_eps_parity: bool = False,
                    extra_globals: tuple[str, ...] = ()) -> tuple[RnaMsmConfig, dict[str, torch.Tensor],
                                                                   CheckpointInfo]:
    """Resolve ``source`` and return ``(config, official-layout state dict, info)`` without building a model."""
    text = os.fspath(source)
    path = Path(text)
    if path.is_dir():
        return _from_hf(read_hf_folder(path, hf_eps_parity), text, "hf-folder")
    if path.exists():
        checkpoint = read_official(path, extra_globals)
        state = official_state_dict(checkpoint, path)
        extras = checkpoint.get("rnamsm") if isinstance(checkpoint.get("rnamsm"), dict) else {}
        metadata = {key: value for key, value in checkpoint.items() if key != "state_dict"}
        config = config_from_official(state, path, metadata)
        info = CheckpointInfo(text, "official", path, file_sha256(path), bool(extras.get("untrained", False)),
                              OFFICIAL_TOKENS, metadata)
        return config, state, info
    hub = parse_hub_id(text)
    if hub is None:
        raise RnamsmError(f"{text}: no such checkpoint file or folder (nor a Hugging Face hub id like "
                          f"{DEFAULT_HUB_ID})")
    folder = download_from_hub(*hub)
    return _from_hf(read_hf_folder(folder, hf_eps_parity), text, "hf-hub")


def _from_hf(folder: HfFolder, source: str, kind: str) -> tuple[RnaMsmConfig, dict[str, torch.Tensor],
                                                                 CheckpointInfo]:
    metadata = {"config": folder.hf_config, "word_embeddings": folder.word_embeddings, "lm_bias": folder.lm_bias}
    info = CheckpointInfo(source, kind, folder.weights, file_sha256(folder.weights),
                          bool(folder.hf_config.get("rnamsm_untrained", False)), tuple(folder.vocab), metadata)
    return folder.config, folder.state, info


def load_checkpoint(source: str | os.PathLike[str] = DEFAULT_HUB_ID, device: str = "auto",
                    dtype: torch.dtype | str = torch.float32, hf_eps_parity: bool = False,
                    extra_globals: tuple[str, ...] = ()) -> RnaMsm:
    """Load RNA-MSM from an official checkpoint file, an HF folder or a hub id, ready for inference.

    ``device``: ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``. ``dtype``:
    float32 (reference) or an opt-in bfloat16/float16. ``hf_eps_parity`` uses the HF config's
    LayerNorm epsilons (multimolecule's numerics) instead of the official 1e-5. ``extra_globals`` are
    further pickle globals to stub (never to run). The returned model has ``.checkpoint``
    (:class:`CheckpointInfo`).
    """
    config, state, info = read_checkpoint(source, hf_eps_parity, extra_globals)
    model = build_model(config, state, info.weights_path)
    model.checkpoint = info
    return model.to(device=resolve_device(device), dtype=resolve_dtype(dtype))
