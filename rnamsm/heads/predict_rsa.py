"""``rnamsm predict-rsa``: features.npz + 1-3 RSA heads -> RSA TSV (ASA averaged over the heads)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rnamsm.atomic import check_output_targets
from rnamsm.errors import RnamsmError
from rnamsm.formats import features as features_file
from rnamsm.heads.features_file import check_sample_id
from rnamsm.heads.head_file import Head, load_head
from rnamsm.heads.official_formats import statistics_from_pickles
from rnamsm.heads.rsa_net import ensemble_asa, predict_rsa
from rnamsm.heads.rsa_tsv import write_rsa_tsv
from rnamsm.model.device import resolve_device


def run_predict_rsa(
    features_path: Path,
    head_paths: list[Path],
    out: Path,
    stats_paths: list[Path] | None = None,
    sample_id: str | None = None,
    device: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Predict RSA with an ensemble of heads and write the TSV -> (asa (L,), rsa (L,)).

    ``stats_paths``: official statistics pickles, needed only for official ``.pt`` heads.
    """
    if sample_id is not None:
        check_sample_id(sample_id)
    check_output_targets(out)
    features = features_file.read(features_path)
    official_stats = statistics_from_pickles(stats_paths) if stats_paths else None
    heads: list[Head] = [load_head(path, "rsa", official_stats) for path in head_paths]
    torch_device = resolve_device(device)
    per_model = []
    for path, head in zip(head_paths, heads):
        try:
            model = head.model.to(torch_device)
            per_model.append(predict_rsa(model, head.stats, features.sequence, features.embedding))
        except ValueError as error:
            raise RnamsmError(f"{features_path}: {error} (head {path})") from None
    asa, rsa = ensemble_asa(per_model, features.sequence)
    name = sample_id or out.name.split(".")[0]
    comments = [
        f"{name}: RNA-MSM relative solvent accessibility, ensemble of {len(heads)} head(s), ASA averaged",
        "ASA in square angstrom; RSA = ASA / max ASA (A 400, G 400, C 350, U 350, other 375)",
    ]
    comments += [f"head {path.name} sha256={head.sha256}" for path, head in zip(head_paths, heads)]
    provenance = features.provenance
    comments += [f"features {key}={value}" for key, value in (("checkpoint_sha256", provenance.checkpoint_sha256),
                                                               ("msa_depth", provenance.msa_depth),
                                                               ("msa_sha256", provenance.msa_sha256))
                 if value is not None]
    if provenance.weights_untrained or any(head.untrained for head in heads):
        comments.append("WARNING: weights_untrained: true - random demo weights, these values mean nothing")
    write_rsa_tsv(out, features.sequence, asa, rsa, comments)
    return asa, rsa


def _run(args: argparse.Namespace) -> int:
    run_predict_rsa(args.features, args.heads, args.out, args.stats, args.id, args.device)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``predict-rsa``."""
    parser = subparsers.add_parser(
        "predict-rsa",
        help="relative solvent accessibility from features.npz with the RNA-MSM RSA heads",
        description="Run 1-3 RSA heads on the embedding in features.npz, average their ASA and write a TSV "
        "(index, nt, ASA, RSA).",
    )
    parser.add_argument("features", type=Path, metavar="FEATURES.npz")
    parser.add_argument("--heads", type=Path, nargs="+", required=True,
                        help="RSA heads: our .safetensors or official model_pcc_*.pt files")
    parser.add_argument("--stats", type=Path, nargs="+", default=None,
                        help="official statistics pickles (statistic_dict_oh/emb.pickle) for official .pt heads")
    parser.add_argument("--out", type=Path, required=True, metavar="TSV")
    parser.add_argument("--id", default=None, help="sample id for the header (default: from --out)")
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda ...")
    parser.set_defaults(func=_run)
