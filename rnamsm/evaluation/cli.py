"""The ``rnamsm evaluate`` subcommand."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnamsm.evaluation.evaluate import format_cell, run_evaluate
from rnamsm.evaluation.structure_metrics import METRIC_NAMES


def _print_summary(task: str, summary: dict[str, object]) -> None:
    if task == "rsa":
        for key in ("num_chains", "pcc_mean", "pcc_median", "mae_mean", "mae_pooled", "pcc_excluded_chains"):
            print(f"{key}\t{format_cell(summary[key])}")
        return
    print(f"sequences\t{summary['num_sequences']}")
    for label, block in (("all", summary), ("canonical", summary["canonical"]), ("shifted", summary["shifted"])):
        for aggregate in ("pooled", "per_sequence_mean", "per_sequence_median"):
            values = "\t".join(f"{name}={block[aggregate][name]:.4f}" for name in METRIC_NAMES)
            print(f"{label}\t{aggregate}\t{values}")


def _run(args: argparse.Namespace) -> int:
    task, summary, _ = run_evaluate(args.pred, args.ref, args.task, args.json, args.composition_from)
    _print_summary(task, summary)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``evaluate``."""
    parser = subparsers.add_parser(
        "evaluate",
        help="precision/recall/F1/MCC of predicted base pairs, or PCC/MAE of predicted RSA",
        description="Compare predictions with references (single files, or folders matched by id = file name "
        "without its extension, e.g. 16s_A.fulgidus_domain2.ct; a prediction's tag such as 2DRB_1.rnafold.dbn "
        "is dropped when that pairs it with exactly one reference). Structures: .bpseq, .ct, .dbn; pooled and "
        "per-sequence mean/median, all pairs "
        "and canonical pairs, exact matching (±1 shifted matching reported separately). RSA: .rsa.tsv or "
        "official .txt tables; per-chain PCC (mean, median) and MAE.",
    )
    parser.add_argument("--pred", type=Path, required=True, help="predicted file or folder")
    parser.add_argument("--ref", type=Path, required=True, help="reference file or folder")
    parser.add_argument("--task", choices=("auto", "ss", "rsa"), default="auto")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT.json",
                        help="write the summary here and a per-sequence TSV beside it")
    parser.add_argument("--composition-from", type=Path, default=None, metavar="TRAIN_REFS",
                        help="RSA: training references for the composition-only baseline")
    parser.set_defaults(func=_run)
