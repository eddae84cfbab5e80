"""``rnamsm predict-ss``: features.npz + SS head -> bpseq, ct, dbn, prob.npy and ss.json."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from rnamsm.arrays import npy_bytes
from rnamsm.atomic import check_output_targets, write_files
from rnamsm.errors import RnamsmError
from rnamsm.formats import features as features_file
from rnamsm.heads.features_file import check_sample_id
from rnamsm.heads.head_file import load_head
from rnamsm.heads.postprocess import OFFICIAL_THRESHOLD, PairCallOptions, call_pairs
from rnamsm.heads.ss_resnet import predict_ss_probabilities
from rnamsm.heads.structure import Structure, pairs_to_dbn, structure_texts
from rnamsm.model.device import resolve_device
from rnamsm.options import check_at_least, check_range


def run_predict_ss(
    features_path: Path,
    head_path: Path,
    out_dir: Path,
    sample_id: str,
    threshold: float | None = None,
    canonical_only: bool = False,
    min_hairpin: int = 0,
    device: str = "auto",
) -> dict[str, object]:
    """Predict base pairs for one sample and write its structure files; returns the ss.json content.

    ``threshold``: ``None`` uses the head's own (a trained head records one) or 0.516.
    """
    check_sample_id(sample_id)
    if threshold is not None:
        check_range(threshold, 0, 1, "--threshold")
    check_at_least(min_hairpin, 0, "--min-hairpin")
    prob_path, summary_path = out_dir / f"{sample_id}.prob.npy", out_dir / "ss.json"
    check_output_targets(*(out_dir / f"{sample_id}{suffix}" for suffix in (".bpseq", ".ct", ".dbn")),
                         prob_path, summary_path)
    features = features_file.read(features_path)
    head = load_head(head_path, "ss")
    model = head.model.to(resolve_device(device))
    try:
        prob = predict_ss_probabilities(model, features.sequence, features.attention_maps)  # (L, L)
    except ValueError as error:
        raise RnamsmError(f"{features_path}: {error} (head {head_path})") from None
    if threshold is None:
        threshold = float(head.metadata.get("threshold", OFFICIAL_THRESHOLD))
    options = PairCallOptions(threshold, canonical_only, min_hairpin)
    pairs = call_pairs(prob, features.sequence, options)
    structure = Structure(sample_id, features.sequence, set(pairs))
    summary = {
        "sequence": features.sequence,
        "dbn": pairs_to_dbn(pairs, len(features.sequence)),
        "pairs": [[i, j] for i, j in pairs],
        "threshold": threshold,
        "canonical_only": canonical_only,
        "min_hairpin": min_hairpin,
        "head_sha256": head.sha256,
        "weights_untrained": head.untrained or features.provenance.weights_untrained,
    }
    write_files({  # one set: all five files or none
        **structure_texts(structure, out_dir),
        prob_path: npy_bytes(np.ascontiguousarray(prob, dtype=np.float32)),
        summary_path: json.dumps(summary, indent=2, sort_keys=True) + "\n",
    })
    return summary


def _run(args: argparse.Namespace) -> int:
    run_predict_ss(
        args.features, args.head, args.out_dir, args.id, args.threshold, args.canonical_only, args.min_hairpin,
        args.device,
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``predict-ss``."""
    parser = subparsers.add_parser(
        "predict-ss",
        help="base pairs from features.npz with the RNA-MSM SS head",
        description="Run the SS head on features.npz and write {ID}.bpseq, .ct, .dbn, .prob.npy and ss.json. "
        "Post-processing follows the official predictor: upper triangle, P > threshold, multiplets resolved "
        "by dropping the lowest-probability pair.",
    )
    parser.add_argument("features", type=Path, metavar="FEATURES.npz")
    parser.add_argument("--head", type=Path, required=True, help="SS head: our .safetensors or the official .pt")
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--id", required=True, help="sample id (file names and record names)")
    parser.add_argument("--threshold", type=float, default=None,
                        help=f"call pairs with P > threshold (default: the head's, else {OFFICIAL_THRESHOLD})")
    parser.add_argument("--canonical-only", action="store_true", help="keep AU, GC and GU pairs only")
    parser.add_argument("--min-hairpin", type=int, default=0, metavar="N",
                        help="keep pairs enclosing at least N bases (default 0: no limit, as the official code)")
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:1 ...")
    parser.set_defaults(func=_run)
