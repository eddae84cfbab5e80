"""Command line of the model stage: ``rnamsm features``, ``convert-checkpoint``, ``make-demo-checkpoint``.

Torch is imported only when a command runs, so ``rnamsm --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from rnamsm import __version__
from rnamsm.errors import RnamsmError

#: Stderr prefix of the features command.
_PREFIX = "rnamsm features:"


def _log(message: str) -> None:
    print(f"{_PREFIX} {message}", file=sys.stderr, flush=True)


def run_features(args: argparse.Namespace) -> int:
    """``rnamsm features``: MSA -> ``features.npz``."""
    from rnamsm.atomic import check_output_targets
    from rnamsm.checksums import file_sha256
    from rnamsm.model.checkpoint import load_checkpoint
    from rnamsm.model.depth import reduce_depth
    from rnamsm.model.device import PRECISIONS, cuda_visible_devices, resolve_device
    from rnamsm.model.extract import compute_features, write_features
    from rnamsm.model.msa import check_query, read_msa
    from rnamsm.options import check_at_least

    check_output_targets(args.out)
    check_at_least(args.window_overlap, 0, "--window-overlap")
    device = resolve_device(args.device)
    _log(f"device={device} CUDA_VISIBLE_DEVICES={cuda_visible_devices()} precision={args.precision}")
    msa = read_msa(args.msa)
    if args.query:
        from rnamsm.formats import query as query_format

        check_query(msa, query_format.read(args.query).sequence, str(args.query))
    reduction = reduce_depth(msa, args.max_seqs, args.depth_method)
    if reduction.method != "none":
        detail = (f"{reduction.survivors} passed the 90% identity filter, topped up in file order; hhfilter is "
                  "not on PATH, so features differ from the official ones" if reduction.method == "identity-filter"
                  else "official hhfilter -id 90 -diff N call")
        _log(f"{args.msa}: {reduction.input_depth} rows > max_seqs {args.max_seqs}: kept {reduction.msa.depth} "
             f"with {reduction.method} ({detail})")
    model = load_checkpoint(args.checkpoint, device=str(device), dtype=PRECISIONS[args.precision],
                            hf_eps_parity=args.hf_eps_parity)
    if not 0 <= args.window_overlap < model.config.max_length:
        raise RnamsmError(f"--window-overlap must be between 0 and {model.config.max_length - 1} (the window is "
                          f"{model.config.max_length} columns), got {args.window_overlap}")
    info = model.checkpoint
    if info.untrained:
        _log(f"{args.checkpoint}: randomly initialised weights (demo only; the features carry no biology)")
    features = compute_features(model, reduction.msa, window_overlap=args.window_overlap)
    if len(features.windows) > 1:
        uncovered = int((~features.coverage).sum())
        _log(f"{args.msa}: {reduction.msa.length} columns > {model.config.max_length}: "
             f"{len(features.windows)} overlapping windows, {uncovered} pairs share no window")
    write_features(args.out, features, {
        "sequence": reduction.msa.query,
        "checkpoint_sha256": info.sha256,
        "checkpoint_format": info.format,
        "weights_untrained": info.untrained,
        "msa_depth": reduction.msa.depth,
        "msa_input_depth": reduction.input_depth,
        "msa_sha256": file_sha256(args.msa),
        "depth_reduction": reduction.method,
        "depth_filter_survivors": reduction.survivors,
        "device": str(device),
        "precision": args.precision,
        "num_layers": model.config.num_layers,
        "num_heads": model.config.num_heads,
        "rnamsm_version": __version__,
    })
    _log(f"wrote {args.out} (L={reduction.msa.length}, depth={reduction.msa.depth}, "
         f"{model.config.num_layers * model.config.num_heads} maps)")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    """``rnamsm convert-checkpoint``."""
    from rnamsm.model.export import convert_checkpoint

    out = convert_checkpoint(args.source, args.out, args.to)
    print(f"rnamsm convert-checkpoint: wrote {out} ({args.to} layout)", file=sys.stderr)
    return 0


def run_make_demo(args: argparse.Namespace) -> int:
    """``rnamsm make-demo-checkpoint``."""
    from rnamsm.model.export import make_demo_checkpoint

    out = make_demo_checkpoint(args.out, seed=args.seed, fmt=args.format)
    print(f"rnamsm make-demo-checkpoint: wrote {out} (random weights, seed {args.seed})", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``features``, ``convert-checkpoint`` and ``make-demo-checkpoint``."""
    features = subparsers.add_parser(
        "features", help="RNA-MSM embedding, attention maps and contacts for one MSA",
        description="Run RNA-MSM on an MSA (.a3m, .a2m, .a2m_msa2, aligned FASTA or Stockholm; query first) "
        "and write features.npz (float32 embedding, attention_maps, contacts, plus provenance).",
    )
    features.add_argument("msa", help="MSA file, query first")
    features.add_argument("--checkpoint", required=True,
                          help="official .ckpt file, Hugging Face folder, or hub id (e.g. multimolecule/rnamsm)")
    features.add_argument("--out", "-o", required=True, help="output .npz")
    features.add_argument("--query", help="query FASTA: refuse the MSA unless its first row is this query")
    features.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    features.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32",
                          help="fp32 is the reference; bf16/fp16 are faster on GPUs and change results slightly")
    features.add_argument("--max-seqs", type=int, default=512,
                          help="reduce deeper MSAs to this many rows (official 512; at most 1024)")
    features.add_argument("--depth-method", choices=("auto", "hhfilter", "identity"), default="auto",
                          help="auto: hhfilter when on PATH, else the deterministic identity filter")
    features.add_argument("--window-overlap", type=int, default=512,
                          help="overlap of the 1023-column windows used for longer MSAs")
    features.add_argument("--hf-eps-parity", action="store_true",
                          help="use an HF config's LayerNorm epsilons (multimolecule numerics) instead of 1e-5")
    features.set_defaults(func=run_features)

    convert = subparsers.add_parser(
        "convert-checkpoint", help="convert RNA-MSM weights between the official and Hugging Face layouts",
        description="Convert an official .ckpt, a Hugging Face folder or a hub id into the other layout. "
        "Round trips are exact.",
    )
    convert.add_argument("source", help="official .ckpt, Hugging Face folder or hub id")
    convert.add_argument("out", help="output file (official) or folder (hf)")
    convert.add_argument("--to", choices=("hf", "official"), required=True, help="target layout")
    convert.set_defaults(func=run_convert)

    demo = subparsers.add_parser(
        "make-demo-checkpoint", help="write a tiny randomly initialised RNA-MSM for demos and tests",
        description="Write a 2-layer, hidden-64, 4-head RNA-MSM with random weights (marked untrained). "
        "The same seed gives the same bytes.",
    )
    demo.add_argument("out", help="output folder (hf) or file (official)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--format", choices=("hf", "official"), default="hf")
    demo.set_defaults(func=run_make_demo)
