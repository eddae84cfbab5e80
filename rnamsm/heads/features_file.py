"""Reading ``features.npz`` (written by ``rnamsm features``) for the heads."""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnamsm.errors import RnamsmError


@dataclass(frozen=True)
class Features:
    """What the heads need from ``features.npz``."""

    path: Path
    sequence: str
    embedding: np.ndarray  # (L, D) float32
    attention_maps: np.ndarray  # (M, L, L) float32, channel = layer * heads + head
    weights_untrained: bool
    provenance: dict[str, str]


def load_features(path: str | os.PathLike[str]) -> Features:
    """Load and check ``features.npz`` (no pickles are read)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            data = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise RnamsmError(f"{path}: cannot read features: {error}") from None
    missing = sorted({"sequence", "embedding", "attention_maps"} - data.keys())
    if missing:
        raise RnamsmError(f"{path}: features lack {', '.join(missing)}")
    sequence = str(data["sequence"])
    length = len(sequence)
    embedding = data["embedding"].astype(np.float32, copy=False)
    maps = data["attention_maps"].astype(np.float32, copy=False)
    if embedding.ndim != 2 or embedding.shape[0] != length:
        raise RnamsmError(f"{path}: embedding has shape {embedding.shape}, expected ({length}, D)")
    if maps.ndim != 3 or maps.shape[1:] != (length, length):
        raise RnamsmError(f"{path}: attention_maps has shape {maps.shape}, expected (M, {length}, {length})")
    provenance = {key: str(data[key]) for key in ("checkpoint_sha256", "msa_sha256", "msa_depth") if key in data}
    untrained = bool(data["weights_untrained"]) if "weights_untrained" in data else False
    return Features(path, sequence, embedding, maps, untrained, provenance)


_SAMPLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def check_sample_id(sample_id: str) -> str:
    """Return ``sample_id`` if it is a safe sample id (``[A-Za-z0-9][A-Za-z0-9_-]*``), else raise."""
    if not _SAMPLE_ID.fullmatch(sample_id):
        raise RnamsmError(f"sample id {sample_id!r} must match [A-Za-z0-9][A-Za-z0-9_-]*")
    return sample_id
