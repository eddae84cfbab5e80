"""``rnamsm predict-ss``, ``predict-rsa``, ``make-demo-heads`` and ``convert-heads``: parse, then call the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnamsm.heads.convert import run_convert_heads
from rnamsm.heads.demo import run_make_demo_heads
from rnamsm.heads.postprocess import OFFICIAL_THRESHOLD
from rnamsm.heads.predict_rsa import run_predict_rsa
from rnamsm.heads.predict_ss import run_predict_ss
from rnamsm.heads.settings import head_settings
from rnamsm.settings import CONFIG_JSON_OPTION, settings_from_json


def _predict_ss(args: argparse.Namespace) -> int:
    settings = head_settings(args.config_json, args.threshold, args.canonical_only, args.min_hairpin)
    run_predict_ss(args.features, args.head, args.out_dir, args.id, settings, args.device)
    return 0


def _predict_rsa(args: argparse.Namespace) -> int:
    run_predict_rsa(args.features, args.heads, args.out, args.stats, args.id, args.device)
    return 0


def _log_samples(message: str) -> None:
    print(f"rnamsm run-samples: {message}", file=sys.stderr, flush=True)


def _run_samples(args: argparse.Namespace) -> int:
    """``rnamsm run-samples``: many samples' MSAs -> features, SS and RSA, with one loaded model."""
    from rnamsm.errors import RnamsmError
    from rnamsm.formats import sample_jobs
    from rnamsm.heads.batch import HeadFiles, layout_jobs, run_samples
    from rnamsm.model.settings import ModelSettings, with_options

    model = with_options(settings_from_json(ModelSettings, args.model_json, "model"),
                         checkpoint=args.checkpoint, device=args.device)
    heads = head_settings(args.heads_json)
    files = HeadFiles(args.head, tuple(args.heads), tuple(args.stats or ()))
    if (args.samples is None) == (args.results is None) or (args.results is None) != (args.sample is None):
        raise RnamsmError("run-samples: give either SAMPLES.tsv or --results DIR with --sample ID (repeated)")
    source = args.samples or args.results
    jobs = sample_jobs.read(args.samples) if args.samples else layout_jobs(args.results, args.sample)
    outcomes = run_samples(jobs, files, model, heads, args.head_device, _log_samples)
    failed = [outcome.sample for outcome in outcomes if not outcome.ok]
    _log_samples(f"{len(outcomes) - len(failed)} of {len(outcomes)} samples written "
                 f"({sum(outcome.seconds for outcome in outcomes):.1f} s)")
    if len(outcomes) == 1 and failed:  # the reason itself is the last line of the job's log
        raise RnamsmError(f"{failed[0]}: {outcomes[0].reason}")
    if failed:
        raise RnamsmError(f"{source}: {len(failed)} of {len(outcomes)} samples failed (their logs give the "
                          f"reasons): {', '.join(failed)}")
    return 0


def _make_demo_heads(args: argparse.Namespace) -> int:
    for path in run_make_demo_heads(args.out_dir, args.features_like, args.num_maps, args.embed_dim, args.seed,
                                    args.like_checkpoint):
        print(path)
    return 0


def _convert_heads(args: argparse.Namespace) -> int:
    for path in run_convert_heads(args.out_dir, args.repo, args.ss, args.rsa, args.stats):
        print(path)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``predict-ss``, ``predict-rsa``, ``make-demo-heads`` and ``convert-heads``."""
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
    parser.add_argument(CONFIG_JSON_OPTION, default=None, metavar="JSON",
                        help="the workflow config's heads section as JSON (threshold, canonical_only, "
                        "min_hairpin; absent keys take their defaults); the flags below win over it")
    parser.add_argument("--threshold", type=float, default=None,
                        help="call pairs with P > threshold (default: the --config-json threshold, else the head's "
                        f"recorded one, else {OFFICIAL_THRESHOLD})")
    parser.add_argument("--canonical-only", action="store_true", default=None, help="keep AU, GC and GU pairs only")
    parser.add_argument("--min-hairpin", type=int, default=None, metavar="N",
                        help="keep pairs enclosing at least N bases (default 0: no limit, as the official code)")
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:1 ...")
    parser.set_defaults(func=_predict_ss)

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
    parser.set_defaults(func=_predict_rsa)

    parser = subparsers.add_parser(
        "run-samples",
        help="many samples' MSAs -> features.npz, base pairs and RSA, loading the model and heads once",
        description="For each sample of SAMPLES.tsv (columns sample, msa, features, structure_dir, rsa, and "
        "optionally query and log; or --results DIR --sample ID ..., the workflow's layout), write the same "
        "files as rnamsm features, predict-ss and predict-rsa with "
        "the same settings, in one process. Samples run largest MSA first, one MSA per forward; a sample that "
        "fails is reported in its log and the others are written (exit status 1 when any failed); a sample "
        "too big for the GPU runs on the CPU.",
    )
    parser.add_argument("samples", type=Path, nargs="?", default=None, metavar="SAMPLES.tsv")
    parser.add_argument("--results", type=Path, default=None, metavar="DIR",
                        help="instead of SAMPLES.tsv: samples of this workflow results folder (its layout)")
    parser.add_argument("--sample", action="append", default=None, metavar="ID",
                        help="with --results: a sample to run (repeat for more)")
    parser.add_argument("--head", type=Path, required=True, help="SS head: our .safetensors or the official .pt")
    parser.add_argument("--heads", type=Path, nargs="+", required=True,
                        help="RSA heads: our .safetensors or official model_pcc_*.pt files")
    parser.add_argument("--stats", type=Path, nargs="+", default=None,
                        help="official statistics pickles for official .pt RSA heads")
    parser.add_argument("--model-json", default=None, metavar="JSON",
                        help="the workflow config's model section as JSON (absent keys: defaults)")
    parser.add_argument("--heads-json", default=None, metavar="JSON",
                        help="the workflow config's heads section as JSON (threshold, canonical_only, min_hairpin)")
    parser.add_argument("--checkpoint", default=None, help="RNA-MSM weights (overrides the model section's)")
    parser.add_argument("--device", default=None, help="device of RNA-MSM (overrides the model section's)")
    parser.add_argument("--head-device", default="auto", help="device of the heads (default auto)")
    parser.set_defaults(func=_run_samples)

    parser = subparsers.add_parser(
        "make-demo-heads",
        help="write random (untrained) SS and RSA heads that fit given features",
        description="Write ss.safetensors and rsa_0..2.safetensors with seeded random weights "
        "(metadata untrained=true) sized for a features.npz or a checkpoint (e.g. the demo checkpoint).",
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    parser.add_argument("--features-like", type=Path, default=None, metavar="FEATURES.npz")
    parser.add_argument("--like-checkpoint", default=None, metavar="CHECKPOINT",
                        help="size the heads for this RNA-MSM checkpoint (file, folder or hub id)")
    parser.add_argument("--num-maps", type=int, default=None, help="attention maps (layers x heads)")
    parser.add_argument("--embed-dim", type=int, default=None, help="embedding dimension D")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=_make_demo_heads)

    parser = subparsers.add_parser(
        "convert-heads",
        help="convert the official SS/RSA head files to rnamsm .safetensors heads",
        description="Read the official head files safely (SS: weights-only state_dict; RSA: pickled modules "
        "rebuilt from their tensors without running pickled code) and write ss.safetensors and "
        "rsa_0..2.safetensors (with their statistics) into OUT_DIR.",
    )
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--repo", type=Path, default=None,
                        help="a clone of yikunpku/RNA-MSM: take the files from their usual places")
    parser.add_argument("--ss", type=Path, default=None, help="rna-msm_attention.pt")
    parser.add_argument("--rsa", type=Path, nargs="+", default=None, help="model_pcc_*.pt files (one ensemble)")
    parser.add_argument("--stats", type=Path, nargs="+", default=None,
                        help="statistic_dict_oh.pickle and statistic_dict_emb.pickle (or statistic_dict.pickle)")
    parser.set_defaults(func=_convert_heads)
