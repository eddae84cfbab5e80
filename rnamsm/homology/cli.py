"""``rnamsm search QUERY.fa --db DB [DB ...] --out-dir DIR``: homolog search and MSA construction."""

from __future__ import annotations

import argparse
import sys

from rnamsm.homology.pipeline import run_search
from rnamsm.homology.settings import DEFAULT_THREADS, search_options
from rnamsm.settings import CONFIG_JSON_OPTION


def _run(args: argparse.Namespace) -> int:
    settings, config_threads = search_options(args.config, args.config_json)
    threads = args.threads if args.threads is not None else config_threads or DEFAULT_THREADS
    result = run_search(args.query, args.db, args.out_dir, settings, threads=threads, work_dir=args.work_dir)
    stats = result.stats
    print(
        f"{stats.query_id}: {stats.depth} rows, Neff {stats.neff:.1f} (round {stats.final_round}, "
        f"{stats.final_alignment}) -> {args.out_dir}",
        file=sys.stderr,
    )
    for warning in result.warnings:
        print(f"rnamsm search: warning: {warning}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``search`` subcommand."""
    parser = subparsers.add_parser(
        "search",
        help="find homologs (nhmmer + CM rounds) and write the query's MSA",
        description="RNAcmap3-style homolog search: nhmmer round, then calibrated CM rounds (cmbuild/"
        "cmcalibrate from the Infernal CLI, cmsearch with pyinfernal). Writes {id}.a3m, {id}.sto, "
        "{id}.a2m_msa2 and msa_stats.json into --out-dir.",
    )
    parser.add_argument("query", metavar="QUERY.fa", help="FASTA file with exactly one query record")
    parser.add_argument("--db", nargs="+", required=True, metavar="DB", help="FASTA, FASTA.gz or Stockholm files")
    parser.add_argument("--out-dir", required=True, help="output directory")
    parser.add_argument("--threads", type=int, default=None,
                        help=f"threads (overrides the config key 'threads'; default {DEFAULT_THREADS})")
    parser.add_argument("--config", default=None, metavar="YAML", help="YAML file of parameter overrides")
    parser.add_argument(
        CONFIG_JSON_OPTION, action="append", metavar="JSON",
        help="JSON object of parameter overrides (same keys as --config; may be repeated, applied in order)",
    )
    parser.add_argument("--work-dir", default=None, help="keep intermediate Stockholm and CM files here")
    parser.set_defaults(func=_run)
