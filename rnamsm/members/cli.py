"""``rnamsm run-members``: parse the command line and call :func:`rnamsm.members.run.run_members`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from rnamsm.settings import CONFIG_JSON_OPTION


def _log(message: str) -> None:
    print(f"rnamsm run-members: {message}", file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    from rnamsm.heads.batch import HeadFiles
    from rnamsm.members.run import chunk_settings, run_members
    from rnamsm.model.settings import with_options
    from rnamsm.options import check_at_least

    settings = chunk_settings(args.config_json)
    settings = dataclasses.replace(settings, model=with_options(settings.model, checkpoint=args.checkpoint,
                                                                device=args.device))
    statuses = run_members(
        args.alignment, args.family_id, check_at_least(args.chunk, 1, "--chunk"),
        check_at_least(args.members_per_job, 1, "--members-per-job"),
        HeadFiles(args.head, tuple(args.heads), tuple(args.stats or ())), members=args.members,
        results=args.results, settings=settings, description=args.description, head_device=args.head_device,
        log=_log,
    )
    failed = [status.sample for status in statuses if not status.ok]
    _log(f"{len(statuses) - len(failed)} of {len(statuses)} members written"
         + (f"; failed (reasons in the status file): {', '.join(failed)}" if failed else ""))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rnamsm run-members``."""
    parser = subparsers.add_parser(
        "run-members",
        help="one chunk of a family's members end to end (query, MSA, model and heads, baselines, report)",
        description="For each member of chunk K of a family (its members cut --members-per-job per chunk, in "
        "member order): validate-input from its row of ALIGNMENT, import-msa re-anchored on it, RNA-MSM and "
        "the heads (loaded once for the chunk), baselines and the member report, written to "
        "RESULTS/{family_id}.{member}/ as the per-sample commands write them. A member that fails is recorded "
        "with its one-line reason in RESULTS/families/{family_id}/chunks/{K:04d}.tsv and the others go on "
        "(exit status 0).",
    )
    parser.add_argument("alignment", type=Path, metavar="ALIGNMENT", help="the family alignment")
    parser.add_argument("--family-id", required=True, help="the family's id (families sheet 'family_id')")
    parser.add_argument("--members", default="all", help="which records are members: all, 'first N' or names")
    parser.add_argument("--members-per-job", type=int, required=True, metavar="N",
                        help="members per chunk (the config's family_members_per_job)")
    parser.add_argument("--chunk", type=int, required=True, metavar="K", help="the chunk to run (1 for the first)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="folder of the members' outputs")
    parser.add_argument("--head", type=Path, required=True, help="SS head: our .safetensors or the official .pt")
    parser.add_argument("--heads", type=Path, nargs="+", required=True,
                        help="RSA heads: our .safetensors or official model_pcc_*.pt files")
    parser.add_argument("--stats", type=Path, nargs="+", default=None,
                        help="official statistics pickles for official .pt RSA heads")
    parser.add_argument("--checkpoint", default=None, help="RNA-MSM weights (overrides the model section's)")
    parser.add_argument("--device", default=None, help="device of RNA-MSM (overrides the model section's)")
    parser.add_argument("--head-device", default="auto", help="device of the heads (default auto)")
    parser.add_argument("--description", default="", help="the family's free-text description (member reports)")
    parser.add_argument(CONFIG_JSON_OPTION, default=None, metavar="JSON",
                        help="the workflow config's input, search, model, heads, baselines and report sections "
                        "as one JSON object (absent sections and keys: their defaults)")
    parser.set_defaults(func=_run)
