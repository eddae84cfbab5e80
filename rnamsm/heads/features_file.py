"""Reading ``features.npz`` (written by ``rnamsm features``) for the heads."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnamsm.arrays import read_npz
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


#: What the heads read from ``features.npz`` (the other arrays are not loaded).
_KEYS = ("sequence", "embedding", "attention_maps", "weights_untrained", "checkpoint_sha256", "msa_sha256",
         "msa_depth")
_WHAT = "a features.npz file"


def _sequence(path: Path, value: np.ndarray) -> str:
    if value.ndim != 0 or value.dtype.kind != "U":
        raise RnamsmError(f"{path}: sequence must be one string, found a {value.dtype} array of shape {value.shape}")
    sequence = str(value)
    if not sequence:
        raise RnamsmError(f"{path}: the sequence is empty")
    bad = next((index for index, char in enumerate(sequence) if not ("A" <= char <= "Z" or char == "-")), None)
    if bad is not None:
        raise RnamsmError(f"{path}: sequence: invalid character {sequence[bad]!r} at position {bad + 1} "
                          "(expected upper-case letters and '-')")
    return sequence


def _float_array(path: Path, name: str, value: np.ndarray, expected: tuple[int | None, ...], shape: str) -> np.ndarray:
    if value.dtype.kind != "f":
        raise RnamsmError(f"{path}: {name} must hold floating-point numbers, found {value.dtype}")
    if value.ndim != len(expected) or any(size is not None and size != got for size, got in zip(expected, value.shape)):
        raise RnamsmError(f"{path}: {name} has shape {value.shape}, expected {shape}")
    if not all(bool(np.isfinite(part).all()) for part in (value if value.ndim == 3 else (value,))):  # map by map
        raise RnamsmError(f"{path}: {name} holds NaN or infinite values")
    return value.astype(np.float32, copy=False)


def load_features(path: str | os.PathLike[str]) -> Features:
    """Load and check ``features.npz`` (no pickles are read).

    Every problem (not an archive, truncated, a missing array, a wrong shape or dtype, non-finite
    values, a sequence that is not one upper-case string) is one :class:`RnamsmError` naming the file.
    """
    path = Path(path)
    data = read_npz(path, _WHAT, _KEYS)
    missing = sorted({"sequence", "embedding", "attention_maps"} - data.keys())
    if missing:
        raise RnamsmError(f"{path}: features lack {', '.join(missing)}")
    sequence = _sequence(path, data["sequence"])
    length = len(sequence)
    embedding = _float_array(path, "embedding", data["embedding"], (length, None), f"({length}, D)")
    maps = _float_array(path, "attention_maps", data["attention_maps"], (None, length, length),
                        f"(M, {length}, {length})")
    if embedding.shape[1] == 0 or maps.shape[0] == 0:
        raise RnamsmError(f"{path}: embedding {embedding.shape} or attention_maps {maps.shape} is empty")
    provenance = {key: str(data[key]) for key in ("checkpoint_sha256", "msa_sha256", "msa_depth") if key in data}
    untrained = False
    if "weights_untrained" in data:
        flag = data["weights_untrained"]
        if flag.ndim != 0 or flag.dtype.kind not in "bi":
            raise RnamsmError(f"{path}: weights_untrained must be one true/false value, found {flag.dtype} "
                              f"of shape {flag.shape}")
        untrained = bool(flag)
    return Features(path, sequence, embedding, maps, untrained, provenance)


_SAMPLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def check_sample_id(sample_id: str) -> str:
    """Return ``sample_id`` if it is a safe sample id (``[A-Za-z0-9][A-Za-z0-9_-]*``), else raise."""
    if not _SAMPLE_ID.fullmatch(sample_id):
        raise RnamsmError(f"sample id {sample_id!r} must match [A-Za-z0-9][A-Za-z0-9_-]*")
    return sample_id
