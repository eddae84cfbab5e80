"""Our head file format (``.safetensors`` with metadata), and loading any supported head file.

One file holds one network. Tensors use the official parameter names; an RSA file also holds its
z-scoring statistics under ``stats.*``. Metadata (all strings): ``format`` = ``rnamsm-head``,
``format_version``, ``kind`` (``ss`` or ``rsa``), ``untrained`` (``true``/``false``), ``source``
and optionally ``threshold`` (SS) and ``training`` (JSON record of a ``train-head`` run).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from rnamsm.atomic import write_files
from rnamsm.checksums import file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.heads.official_formats import load_official_rsa, load_official_ss
from rnamsm.heads.rsa_net import RSANet, RsaStatistics
from rnamsm.heads.ss_resnet import SSResNet
from rnamsm.textfile import check_regular_file

HEAD_FORMAT = "rnamsm-head"
HEAD_FORMAT_VERSION = "1"
_STATS_KEYS = ("embedding_mean", "embedding_std", "onehot_mean", "onehot_std")


@dataclass
class Head:
    """A loaded head: the network, its RSA statistics (``None`` for SS) and its metadata."""

    kind: str
    model: SSResNet | RSANet
    stats: RsaStatistics | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    sha256: str = ""

    @property
    def untrained(self) -> bool:
        """True when the file says its weights are random (demo heads)."""
        return self.metadata.get("untrained", "false") == "true"


def head_bytes(head: Head, path: str | os.PathLike[str]) -> bytes:
    """A head in our safetensors format (deterministic bytes for equal content); ``path`` names it in errors."""
    tensors = {key: value.detach().cpu().contiguous().clone() for key, value in head.model.state_dict().items()}
    if head.kind == "rsa":
        if head.stats is None:
            raise RnamsmError(f"{path}: an RSA head needs its statistics")
        for key in _STATS_KEYS:
            value = getattr(head.stats, key)
            if value is not None:
                tensors[f"stats.{key}"] = torch.from_numpy(np.ascontiguousarray(value))
    metadata = {"untrained": "false", "source": "", **head.metadata}
    metadata.update(format=HEAD_FORMAT, format_version=HEAD_FORMAT_VERSION, kind=head.kind)
    return _canonical_safetensors(save(tensors, metadata=metadata))


def save_head(path: str | os.PathLike[str], head: Head) -> None:
    """Write a head in our safetensors format, atomically (see :func:`head_bytes`)."""
    write_files({path: head_bytes(head, path)})


def _canonical_safetensors(blob: bytes) -> bytes:
    """Rewrite the JSON header with sorted keys (safetensors orders metadata arbitrarily) -> stable bytes."""
    length = int.from_bytes(blob[:8], "little")
    header = json.dumps(json.loads(blob[8 : 8 + length]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + blob[8 + length :]


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        tensors = load_file(str(path))
        with open(path, "rb") as handle:
            header_length = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(header_length))
    except (OSError, SafetensorError, ValueError) as error:
        raise RnamsmError(f"{path}: not a readable safetensors file: {error}") from None
    return tensors, header.get("__metadata__", {}) or {}


def _check_statistics(stats: RsaStatistics, model: RSANet, source: Path) -> None:
    """Refuse RSA statistics that do not fit the network, or would divide by zero or spread NaN."""
    pairs = [("embedding", stats.embedding_mean, stats.embedding_std)]
    if (stats.onehot_mean is None) != (stats.onehot_std is None):
        raise RnamsmError(f"{source}: the one-hot statistics need both a mean and a std")
    if stats.onehot_mean is not None:
        pairs.append(("onehot", stats.onehot_mean, stats.onehot_std))
    for name, mean, std in pairs:
        if mean.ndim != 1 or std.shape != mean.shape:
            raise RnamsmError(f"{source}: {name} statistics must be two 1-D arrays of one length, found "
                              f"{mean.shape} and {std.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise RnamsmError(f"{source}: {name} statistics must be finite with std > 0")
    if stats.onehot_mean is not None and len(stats.onehot_mean) != 4:
        raise RnamsmError(f"{source}: one-hot statistics must have 4 entries (A C G U), found {len(stats.onehot_mean)}")
    channels = (4 if stats.uses_onehot else 0) + len(stats.embedding_mean) + 1
    if model.in_channels != channels:
        raise RnamsmError(f"{source}: statistics for {len(stats.embedding_mean)}-long embeddings give {channels} "
                          f"input channels, the network takes {model.in_channels}")


def _check_head(head: Head, source: Path) -> Head:
    """Refuse a head with non-finite weights, an unusable recorded threshold or unfitting statistics."""
    for name, tensor in head.model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise RnamsmError(f"{source}: weight '{name}' holds NaN or infinite values")
    if "threshold" in head.metadata:
        try:
            threshold = float(head.metadata["threshold"])
        except ValueError:
            threshold = math.nan
        if not 0 <= threshold <= 1:
            raise RnamsmError(f"{source}: metadata threshold {head.metadata['threshold']!r} is not a number in [0, 1]")
    if head.kind == "rsa" and head.stats is not None:
        _check_statistics(head.stats, head.model, source)
    return head


def load_safetensors_head(path: str | os.PathLike[str]) -> Head:
    """Load a head written by :func:`save_head`."""
    path = Path(path)
    tensors, metadata = _read_safetensors(path)
    if metadata.get("format") != HEAD_FORMAT:
        raise RnamsmError(f"{path}: not an rnamsm head file (metadata format={metadata.get('format')!r})")
    if metadata.get("format_version") != HEAD_FORMAT_VERSION:
        raise RnamsmError(f"{path}: unsupported head format version {metadata.get('format_version')!r}")
    kind = metadata.get("kind")
    weights = {key: value for key, value in tensors.items() if not key.startswith("stats.")}
    try:
        if kind == "ss":
            return _check_head(Head("ss", SSResNet.from_state_dict(weights), None, metadata, file_sha256(path)), path)
        if kind == "rsa":
            values = {key: tensors[f"stats.{key}"].numpy() if f"stats.{key}" in tensors else None
                      for key in _STATS_KEYS}
            if values["embedding_mean"] is None or values["embedding_std"] is None:
                raise RnamsmError(f"{path}: an RSA head file must hold stats.embedding_mean and stats.embedding_std")
            stats = RsaStatistics(**values)
            return _check_head(Head("rsa", RSANet.from_state_dict(weights), stats, metadata, file_sha256(path)), path)
    except (KeyError, RuntimeError, TypeError, ValueError) as error:
        raise RnamsmError(f"{path}: tensors do not fit the {kind} head layout: {str(error).splitlines()[0]}") from None
    raise RnamsmError(f"{path}: unknown head kind {kind!r}")


def load_head(
    path: str | os.PathLike[str], kind: str, official_stats: RsaStatistics | None = None
) -> Head:
    """Load an SS or RSA head from our ``.safetensors`` or from an official ``.pt`` file.

    Official RSA files carry no statistics: pass them as ``official_stats`` (from the pickles).
    """
    path = Path(path)
    check_regular_file(path, f"an {kind.upper()} head file")
    if path.suffix == ".safetensors":
        head = load_safetensors_head(path)
        if head.kind != kind:
            raise RnamsmError(f"{path}: this is an {head.kind} head, expected {kind}")
        return head
    source = {"source": f"official:{path.name}"}
    if kind == "ss":
        return _check_head(Head("ss", load_official_ss(path), None, source, file_sha256(path)), path)
    if official_stats is None:
        raise RnamsmError(f"{path}: official RSA files need their statistics pickles (--stats)")
    return _check_head(Head("rsa", load_official_rsa(path), official_stats, source, file_sha256(path)), path)


def head_metadata(untrained: bool, source: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Metadata dict for :class:`Head` with the ``untrained`` flag and provenance."""
    return {"untrained": "true" if untrained else "false", "source": source, **(extra or {})}
