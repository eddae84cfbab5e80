"""The ``rnamsm baselines`` subcommand."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rnamsm.baselines.run import run_baselines
from rnamsm.baselines.settings import BaselineSettings
from rnamsm.options import check_at_least
from rnamsm.settings import CONFIG_JSON_OPTION, settings_from_json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``baselines``."""
    parser = subparsers.add_parser(
        "baselines",
        help="ViennaRNA RNAfold (MFE, base-pair probabilities) and RNAalifold consensus for a query",
        description="Write {ID}.rnafold.dbn, {ID}.rnafold_bpp.npy, {ID}.rnaalifold.dbn (the MSA consensus "
        "projected onto the query) and baselines.json into OUT_DIR.",
    )
    parser.add_argument("query", type=Path, metavar="QUERY.fa")
    parser.add_argument("--msa", type=Path, required=True, help="the query's MSA (a3m, a2m_msa2, fasta, sto)")
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument(CONFIG_JSON_OPTION, metavar="JSON",
                        help="the workflow config's 'baselines' section as JSON (absent keys: their defaults)")
    parser.add_argument("--max-rows", type=int, default=None,
                        help=f"MSA rows given to RNAalifold (overrides the JSON; default {BaselineSettings.max_rows})")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_json(BaselineSettings, args.config_json)
    if args.max_rows is not None:
        settings = dataclasses.replace(settings, max_rows=check_at_least(args.max_rows, 1, "--max-rows"))
    run_baselines(args.query, args.msa, args.out_dir, settings)
    return 0
