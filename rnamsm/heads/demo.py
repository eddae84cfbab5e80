"""Random, untrained SS and RSA heads sized for given features (``rnamsm make-demo-heads``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rnamsm.atomic import check_output_targets, write_files
from rnamsm.errors import RnamsmError
from rnamsm.formats import features as features_file
from rnamsm.heads.head_file import Head, head_bytes, head_metadata
from rnamsm.heads.postprocess import OFFICIAL_THRESHOLD
from rnamsm.heads.rsa_net import RSANet, RsaStatistics
from rnamsm.heads.ss_resnet import PAIR_ONEHOT_CHANNELS, SSResNet
from rnamsm.model.checkpoint import read_checkpoint
from rnamsm.options import check_seed

#: Ensemble size of the official RSA predictor.
RSA_ENSEMBLE_SIZE = 3


def make_demo_heads(out_dir: Path, num_maps: int, embed_dim: int, seed: int = 0) -> list[Path]:
    """Write ``ss.safetensors`` and ``rsa_{0,1,2}.safetensors`` with seeded random weights.

    Architectures are the official ones (SS: width 48, 16 blocks; RSA: 64 planes, one transformer
    block, one-hot + embedding + mask input); only the input sizes follow ``num_maps``/``embed_dim``.
    Metadata says ``untrained=true``; the RSA statistics are the identity (mean 0, std 1).
    """
    if num_maps < 1 or embed_dim < 1:
        raise RnamsmError("make-demo-heads: --num-maps and --embed-dim must be positive")
    torch.manual_seed(check_seed(seed))
    metadata = head_metadata(True, f"make-demo-heads seed={seed}")
    ss_path = out_dir / "ss.safetensors"
    heads = {ss_path: Head("ss", SSResNet(PAIR_ONEHOT_CHANNELS + num_maps), None,
                           {**metadata, "threshold": repr(OFFICIAL_THRESHOLD)})}
    check_output_targets(ss_path, *(out_dir / f"rsa_{index}.safetensors" for index in range(RSA_ENSEMBLE_SIZE)))
    stats = RsaStatistics(
        np.zeros(embed_dim, np.float32), np.ones(embed_dim, np.float32), np.zeros(4), np.ones(4)
    )
    for index in range(RSA_ENSEMBLE_SIZE):
        heads[out_dir / f"rsa_{index}.safetensors"] = Head("rsa", RSANet(4 + embed_dim + 1), stats, metadata)
    write_files({path: head_bytes(head, path) for path, head in heads.items()})  # one set: all four or none
    return list(heads)


def checkpoint_feature_size(checkpoint: str) -> tuple[int, int]:
    """``(attention maps, embedding dimension)`` of the features that ``checkpoint`` gives, from its config."""
    config, _, _ = read_checkpoint(checkpoint)
    return config.num_layers * config.num_heads, config.embed_dim


def run_make_demo_heads(
    out_dir: Path, features_like: Path | None = None, num_maps: int | None = None, embed_dim: int | None = None,
    seed: int = 0, like_checkpoint: str | None = None,
) -> list[Path]:
    """:func:`make_demo_heads` sized for the features in ``features_like``, for the checkpoint ``like_checkpoint``,
    or for ``num_maps`` and ``embed_dim``."""
    if features_like is not None:
        info = features_file.read_info(features_like)
        user = "make-demo-heads --features-like"
        num_maps = features_file.needed(info.attention_maps_shape, "attention_maps", str(features_like), user)[0]
        embed_dim = features_file.needed(info.embedding_shape, "embedding", str(features_like), user)[1]
    elif like_checkpoint is not None:
        num_maps, embed_dim = checkpoint_feature_size(like_checkpoint)
    elif num_maps is None or embed_dim is None:
        raise RnamsmError("make-demo-heads: give --features-like FEATURES.npz, --like-checkpoint CHECKPOINT "
                          "or both --num-maps and --embed-dim")
    return make_demo_heads(out_dir, num_maps, embed_dim, seed)
