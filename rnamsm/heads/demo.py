"""``rnamsm make-demo-heads``: random, untrained SS and RSA heads sized for given features."""

from __future__ import annotations

import argparse
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


def _run(args: argparse.Namespace) -> int:
    if args.features_like is not None:
        info = features_file.read_info(args.features_like)
        num_maps, embed_dim = info.attention_maps_shape[0], info.embedding_shape[1]
    elif args.num_maps is not None and args.embed_dim is not None:
        num_maps, embed_dim = args.num_maps, args.embed_dim
    else:
        raise RnamsmError("make-demo-heads: give --features-like FEATURES.npz or both --num-maps and --embed-dim")
    for path in make_demo_heads(args.out_dir, num_maps, embed_dim, args.seed):
        print(path)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``make-demo-heads``."""
    parser = subparsers.add_parser(
        "make-demo-heads",
        help="write random (untrained) SS and RSA heads that fit given features",
        description="Write ss.safetensors and rsa_0..2.safetensors with seeded random weights "
        "(metadata untrained=true) sized for a features.npz (e.g. from the demo checkpoint).",
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    parser.add_argument("--features-like", type=Path, default=None, metavar="FEATURES.npz")
    parser.add_argument("--num-maps", type=int, default=None, help="attention maps (layers x heads)")
    parser.add_argument("--embed-dim", type=int, default=None, help="embedding dimension D")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=_run)
