"""``rnamsm train-head``: parse the command line and call :func:`~rnamsm.training.train_head.run_train_head`."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnamsm.training.options import TrainingOptions
from rnamsm.training.train_head import DEFAULT_WIDTH, run_train_head


def _run(args: argparse.Namespace) -> int:
    options = TrainingOptions(args.epochs, args.patience, args.lr, args.validation_fraction, args.seed, args.device)
    record = run_train_head(
        args.task, args.out, options, features=args.features, labels=args.labels, stockholm=args.stockholm,
        checkpoint=args.checkpoint, max_rows=args.max_rows, max_per_file=args.max_per_file, init=args.init,
        stats=args.stats, width=args.width, blocks=args.blocks,
    )
    print(f"best epoch {record['best_epoch']}: validation loss {record['initial_validation_loss']} -> "
          f"{record['best_validation_loss']}; head written to {args.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-head``."""
    parser = subparsers.add_parser(
        "train-head",
        help="fine-tune an SS or RSA head on frozen RNA-MSM features and your labels",
        description="Train a head on labelled examples: features.npz files + labels (bpseq/ct/dbn for ss, RSA "
        "TSV for rsa) matched by id, or Stockholm alignments with SS_cons + a backbone checkpoint. Seeded "
        "train/validation split, Adam, early stopping on the validation loss; the best head is saved in the "
        ".safetensors head format with its training record (and, for ss, the validation-chosen threshold).",
    )
    parser.add_argument("task", choices=("ss", "rsa"))
    parser.add_argument("--features", type=Path, nargs="+", default=None,
                        help="features.npz files or folders (ID.npz, or a results dir with ID/features/features.npz)")
    parser.add_argument("--labels", type=Path, default=None, help="folder with ID.bpseq/.ct/.dbn or ID.rsa.tsv")
    parser.add_argument("--stockholm", type=Path, nargs="+", default=None,
                        help="Stockholm alignments with #=GC SS_cons (each sequence becomes an example)")
    parser.add_argument("--checkpoint", default=None, help="RNA-MSM checkpoint for --stockholm features")
    parser.add_argument("--max-rows", type=int, default=16, help="MSA depth per --stockholm example")
    parser.add_argument("--max-per-file", type=int, default=None, help="at most this many examples per file")
    parser.add_argument("--out", type=Path, required=True, metavar="HEAD.safetensors")
    parser.add_argument("--init", type=Path, default=None, help="start from this head (ours or official)")
    parser.add_argument("--stats", type=Path, nargs="+", default=None,
                        help="statistics pickles (statistic_dict_oh/emb.pickle) for an official RSA --init head")
    parser.add_argument("--width", type=int, default=None,
                        help=f"SS channels (default {DEFAULT_WIDTH['ss']}) or RSA planes (default "
                        f"{DEFAULT_WIDTH['rsa']}, a multiple of 16) for a new head")
    parser.add_argument("--blocks", type=int, default=16, help="SS residual blocks for a new head")
    parser.add_argument("--epochs", type=int, default=TrainingOptions.epochs)
    parser.add_argument("--patience", type=int, default=TrainingOptions.patience,
                        help="stop after this many epochs without improvement")
    parser.add_argument("--lr", type=float, default=TrainingOptions.learning_rate)
    parser.add_argument("--validation-fraction", type=float, default=TrainingOptions.validation_fraction)
    parser.add_argument("--seed", type=int, default=TrainingOptions.seed)
    parser.add_argument("--device", default=TrainingOptions.device)
    parser.set_defaults(func=_run)
