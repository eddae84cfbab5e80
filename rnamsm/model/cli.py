"""Command line of the model stage: ``rnamsm features``, ``convert-checkpoint``, ``make-demo-checkpoint``.

Each command parses its arguments and calls one library function; torch is imported only when a
command runs, so ``rnamsm --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
import typing

from rnamsm.model.settings import KEEPABLE, OPTIONS, ModelSettings, with_options
from rnamsm.settings import CONFIG_JSON_OPTION, settings_from_json


def _choices(name: str) -> tuple[str, ...]:
    """The values a ``Literal`` setting allows."""
    return typing.get_args(typing.get_type_hints(ModelSettings)[name])


def _log_features(message: str) -> None:
    print(f"rnamsm features: {message}", file=sys.stderr, flush=True)


def _features(args: argparse.Namespace) -> int:
    """``rnamsm features``: MSA -> ``features.npz``."""
    from rnamsm.model.features import run_features

    options = {name: getattr(args, name) for name in OPTIONS}
    if options["keep"] is not None:
        options["keep"] = tuple(options["keep"])
    elif args.config_json is None:
        options["keep"] = KEEPABLE  # on its own, the command keeps all three arrays, as it always did
    settings = with_options(settings_from_json(ModelSettings, args.config_json), **options)
    run_features(args.msa, args.out, settings, query=args.query, log=_log_features)
    return 0


def _convert(args: argparse.Namespace) -> int:
    """``rnamsm convert-checkpoint``."""
    from rnamsm.model.export import convert_checkpoint

    out = convert_checkpoint(args.source, args.out, args.to)
    print(f"rnamsm convert-checkpoint: wrote {out} ({args.to} layout)", file=sys.stderr)
    return 0


def _make_demo(args: argparse.Namespace) -> int:
    """``rnamsm make-demo-checkpoint``."""
    from rnamsm.model.export import make_demo_checkpoint

    out = make_demo_checkpoint(args.out, seed=args.seed, fmt=args.format)
    print(f"rnamsm make-demo-checkpoint: wrote {out} (random weights, seed {args.seed})", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``features``, ``convert-checkpoint`` and ``make-demo-checkpoint``."""
    defaults = ModelSettings()
    features = subparsers.add_parser(
        "features", help="RNA-MSM embedding, attention maps and contacts for one MSA",
        description="Run RNA-MSM on an MSA (.a3m, .a2m, .a2m_msa2, aligned FASTA or Stockholm; query first) "
        "and write features.npz (float32 embedding, attention_maps, contacts, plus provenance; --keep chooses). "
        f"Settings come from {CONFIG_JSON_OPTION} (the workflow's model section), then from the options given here.",
    )
    features.add_argument("msa", help="MSA file, query first")
    features.add_argument("--out", "-o", required=True, help="output .npz")
    features.add_argument("--query", help="query FASTA: refuse the MSA unless its first row is this query")
    features.add_argument(CONFIG_JSON_OPTION, metavar="JSON",
                          help="the workflow config's model section as a JSON object (missing keys: defaults)")
    features.add_argument(OPTIONS["checkpoint"],
                          help="official .ckpt file, Hugging Face folder, or hub id "
                          f"(default {defaults.checkpoint})")
    features.add_argument(OPTIONS["device"],
                          help=f"auto (CUDA when available), cpu, cuda or cuda:N (default {defaults.device})")
    features.add_argument(OPTIONS["precision"], choices=_choices("precision"),
                          help="fp32 is the reference; bf16/fp16 are faster on GPUs and change results slightly "
                          f"(default {defaults.precision})")
    features.add_argument(OPTIONS["max_seqs"], type=int,
                          help=f"reduce deeper MSAs to this many rows (official {defaults.max_seqs}; at most 1024)")
    features.add_argument(OPTIONS["depth_method"], choices=_choices("depth_method"),
                          help="auto: hhfilter when on PATH, else the deterministic identity filter "
                          f"(default {defaults.depth_method})")
    features.add_argument(OPTIONS["window_overlap"], type=int,
                          help=f"overlap of the 1023-column windows used for longer MSAs "
                          f"(default {defaults.window_overlap})")
    features.add_argument(OPTIONS["hf_eps_parity"], action="store_true", default=None,
                          help="use an HF config's LayerNorm epsilons (multimolecule numerics) instead of 1e-5")
    features.add_argument(OPTIONS["keep"], nargs="+", choices=KEEPABLE, default=None, metavar="ARRAY",
                          help=f"arrays to write ({', '.join(KEEPABLE)}; default: all three, or the "
                          f"{CONFIG_JSON_OPTION} section's keep, in the workflow {', '.join(defaults.keep)})")
    features.add_argument(OPTIONS["maps_dtype"], choices=_choices("maps_dtype"),
                          help="storage type of kept attention maps: float32, or float16 (half the bytes, "
                          f"absolute error below 2.5e-4; default {defaults.maps_dtype})")
    features.set_defaults(func=_features)

    convert = subparsers.add_parser(
        "convert-checkpoint", help="convert RNA-MSM weights between the official and Hugging Face layouts",
        description="Convert an official .ckpt, a Hugging Face folder or a hub id into the other layout. "
        "Round trips are exact.",
    )
    convert.add_argument("source", help="official .ckpt, Hugging Face folder or hub id")
    convert.add_argument("out", help="output file (official) or folder (hf)")
    convert.add_argument("--to", choices=("hf", "official"), required=True, help="target layout")
    convert.set_defaults(func=_convert)

    demo = subparsers.add_parser(
        "make-demo-checkpoint", help="write a tiny randomly initialised RNA-MSM for demos and tests",
        description="Write a 2-layer, hidden-64, 4-head RNA-MSM with random weights (marked untrained). "
        "The same seed gives the same bytes.",
    )
    demo.add_argument("out", help="output folder (hf) or file (official)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--format", choices=("hf", "official"), default="hf")
    demo.set_defaults(func=_make_demo)
