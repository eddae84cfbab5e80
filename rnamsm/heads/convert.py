"""``rnamsm convert-heads``: official RNA-MSM head files -> our safetensors head files."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnamsm.atomic import check_output_targets, write_files
from rnamsm.checksums import file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.heads.head_file import Head, head_bytes, head_metadata
from rnamsm.heads.official_formats import load_official_rsa, load_official_ss, statistics_from_pickles
from rnamsm.heads.postprocess import OFFICIAL_THRESHOLD

#: Where the official files sit inside a clone of github.com/yikunpku/RNA-MSM.
OFFICIAL_SS_PATH = Path("_downstream_tasks/SS/model/rna-msm_attention.pt")
OFFICIAL_RSA_DIR = Path("_downstream_tasks/RSA/models/OH+RNA-MSM_Emb")
OFFICIAL_RSA_STATS = ("statistic_dict_oh.pickle", "statistic_dict_emb.pickle")


def convert_heads(
    out_dir: Path, ss: Path | None = None, rsa: list[Path] | None = None, stats: list[Path] | None = None
) -> list[Path]:
    """Convert the given official files; returns the written paths (``ss.safetensors``, ``rsa_K.safetensors``).

    Every input is read and checked before the first output is written, so a bad file leaves no partial set.
    """
    heads: list[tuple[Path, Head]] = []
    if ss is not None:
        model = load_official_ss(ss)
        metadata = head_metadata(False, f"official:{ss.name} sha256={file_sha256(ss)}",
                                 {"threshold": repr(OFFICIAL_THRESHOLD)})
        heads.append((out_dir / "ss.safetensors", Head("ss", model, None, metadata)))
    if rsa:
        if not stats:
            raise RnamsmError("converting RSA heads needs their statistics pickles (--stats)")
        statistics = statistics_from_pickles(stats)
        for index, path in enumerate(sorted(rsa)):
            model = load_official_rsa(path)
            metadata = head_metadata(False, f"official:{path.name} sha256={file_sha256(path)}")
            heads.append((out_dir / f"rsa_{index}.safetensors", Head("rsa", model, statistics, metadata)))
    if not heads:
        raise RnamsmError("nothing to convert: give --repo, --ss or --rsa")
    check_output_targets(*(target for target, _ in heads))
    write_files({target: head_bytes(head, target) for target, head in heads})  # one set: all or none
    return [target for target, _ in heads]


def _run(args: argparse.Namespace) -> int:
    ss, rsa, stats = args.ss, args.rsa, args.stats
    if args.repo is not None:
        if not args.repo.is_dir():
            raise RnamsmError(f"{args.repo}: no such folder, expected a clone of yikunpku/RNA-MSM (--repo)")
        ss = ss or (args.repo / OFFICIAL_SS_PATH if (args.repo / OFFICIAL_SS_PATH).is_file() else None)
        rsa = rsa or sorted((args.repo / OFFICIAL_RSA_DIR).glob("model_pcc_*.pt"))
        stats = stats or [args.repo / OFFICIAL_RSA_DIR / name for name in OFFICIAL_RSA_STATS]
    for path in convert_heads(args.out_dir, ss, rsa, stats):
        print(path)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``convert-heads``."""
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
    parser.set_defaults(func=_run)
