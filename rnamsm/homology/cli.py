"""``rnamsm search QUERY.fa --db DB [DB ...] --out-dir DIR``: homolog search and MSA construction;
``rnamsm search-round QUERY.fa [QUERY.fa ...] --db PREPARED --resume-dir DIR [DIR ...] --round N [--job K --jobs
J]``: one job of a round of sharded searches;
``rnamsm import-msa ALIGNMENT --query QUERY.fa --out-dir DIR``: the same files from the user's alignment;
``rnamsm prepare-db DB [DB ...] --out DIR``: a search database prepared once, in shards."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnamsm.errors import RnamsmError
from rnamsm.formats.query import MAX_QUERY_LENGTH
from rnamsm.homology.import_msa import import_msa
from rnamsm.homology.pipeline import RoundJob, RoundMember, run_round_job, run_search
from rnamsm.homology.prepared_db import prepare_database
from rnamsm.homology.settings import DEFAULT_THREADS, search_options
from rnamsm.homology.shard_results import write_receipts
from rnamsm.settings import CONFIG_JSON_OPTION


def _run(args: argparse.Namespace) -> int:
    settings, config_threads = search_options(args.config, args.config_json)
    threads = args.threads if args.threads is not None else config_threads or DEFAULT_THREADS
    result = run_search(args.query, args.db, args.out_dir, settings, threads=threads, work_dir=args.work_dir,
                        resume_dir=args.resume_dir)
    stats = result.stats
    print(
        f"{stats.query_id}: {stats.depth} rows, Neff {stats.neff:.1f} (round {stats.final_round}, "
        f"{stats.final_alignment}) -> {args.out_dir}",
        file=sys.stderr,
    )
    if stats.search_cache is not None and stats.search_cache.reused:
        print(f"{stats.query_id}: copied from search.cache (entry {stats.search_cache.key[:16]}), not searched",
              file=sys.stderr)
    for warning in result.warnings:
        print(f"rnamsm search: warning: {warning}", file=sys.stderr)
    return 0


def _round(args: argparse.Namespace) -> int:
    settings, config_threads = search_options(args.config, args.config_json)
    threads = args.threads if args.threads is not None else config_threads or DEFAULT_THREADS
    if (args.job is None) != (args.jobs is None):
        raise RnamsmError("--job and --jobs go together (a shard job); without both the job is the round's model")
    if len(args.resume_dir) != len(args.query):
        raise RnamsmError(f"--resume-dir: {len(args.resume_dir)} folder(s) for {len(args.query)} query file(s); "
                          "give one per query, in the same order")
    job = RoundJob(args.round, args.job, args.jobs or 1)
    members = [RoundMember(Path(query), Path(folder)) for query, folder in zip(args.query, args.resume_dir)]
    receipts = run_round_job(members, args.db, job, settings, threads=threads, after=args.after)
    write_receipts(args.receipt, receipts)
    what = "model" if job.job is None else f"shard job {job.job} of {job.jobs}"
    for member, receipt in zip(members, receipts, strict=True):
        print(f"{member.query}: round {job.number}, {what}: {receipt.status}"
              + (f", searched shard(s) {list(receipt.searched)} of {list(receipt.shards)}" if receipt.shards else ""),
              file=sys.stderr)
    return 0


def _import(args: argparse.Namespace) -> int:
    settings, _threads = search_options(args.config, args.config_json)
    result = import_msa(args.alignment, args.query, args.out_dir, settings, record=args.record,
                        placement=args.placement)
    stats = result.stats
    print(f"{stats.query_id}: {stats.depth} rows, Neff {stats.neff:.1f} (from {args.alignment}) -> {args.out_dir}",
          file=sys.stderr)
    for warning in result.warnings:
        print(f"rnamsm import-msa: warning: {warning}", file=sys.stderr)
    return 0


def _prepare(args: argparse.Namespace) -> int:
    settings, _threads = search_options(args.config, args.config_json)
    manifest, current = prepare_database(args.databases, args.out, settings.db, max_query=args.max_query,
                                         name=args.name)
    if current:
        print(f"{args.out}: up to date (same inputs and settings), nothing written", file=sys.stderr)
        return 0
    print(f"{manifest.name}: {manifest.records:,} records, {manifest.residues:,} nt, {manifest.windows:,} "
          f"sequences in {len(manifest.shards)} shard(s) -> {args.out}", file=sys.stderr)
    for reason, dropped in sorted(manifest.dropped.items()):
        if dropped.count:
            shown = ", ".join(repr(name) for name in dropped.first)
            more = f" and {dropped.count - len(dropped.first)} more" if dropped.count > len(dropped.first) else ""
            print(f"rnamsm prepare-db: dropped {dropped.count:,} record(s), {reason.replace('_', ' ')}: "
                  f"{shown}{more}", file=sys.stderr)
    return 0


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, metavar="YAML", help="YAML file of parameter overrides")
    parser.add_argument(
        CONFIG_JSON_OPTION, action="append", metavar="JSON",
        help="JSON object of parameter overrides (same keys as --config; may be repeated, applied in order)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``search``, ``search-round``, ``prepare-db`` and ``import-msa`` subcommands."""
    parser = subparsers.add_parser(
        "search",
        help="find homologs (nhmmer + CM rounds) and write the query's MSA",
        description="RNAcmap3-style homolog search: nhmmer round, then calibrated CM rounds (cmbuild/"
        "cmcalibrate from the Infernal CLI, cmsearch with pyinfernal). Writes {id}.a3m, {id}.sto, "
        "{id}.a2m_msa2 and msa_stats.json into --out-dir.",
    )
    parser.add_argument("query", metavar="QUERY.fa", help="FASTA file with exactly one query record")
    parser.add_argument("--db", nargs="+", required=True, metavar="DB",
                        help="FASTA, FASTA.gz or Stockholm files, or one prepared database (rnamsm prepare-db)")
    parser.add_argument("--out-dir", required=True, help="output directory")
    parser.add_argument("--threads", type=int, default=None,
                        help=f"threads (overrides the config key 'threads'; default {DEFAULT_THREADS})")
    _add_config(parser)
    parser.add_argument("--work-dir", default=None, help="keep intermediate Stockholm and CM files here")
    parser.add_argument("--resume-dir", default=None,
                        help="keep each finished shard of a prepared database here, so that a killed search run "
                        "again with the same folder searches only the unfinished shards")
    parser.set_defaults(func=_run)

    round_job = subparsers.add_parser(
        "search-round",
        help="one job of a round of sharded searches (the workflow's shard jobs)",
        description="One job of round N of the searches of one or more queries in a prepared database: each "
        "query's search replayed up to round N from the shard results kept in its --resume-dir folder, then, "
        "with --job K --jobs J, shards K, K+J, K+2J, ... of round N searched for every query (each shard read "
        "once) and kept there; without them, round N's CM of each query built and calibrated (kept there too). "
        "rnamsm search with a query's --resume-dir folder then writes its MSA files, searching nothing again. "
        "Writes --receipt (what the job did, per query).",
    )
    round_job.add_argument("query", nargs="+", metavar="QUERY.fa",
                           help="FASTA files with exactly one query record each")
    round_job.add_argument("--db", required=True, metavar="PREPARED", help="the prepared database (rnamsm prepare-db)")
    round_job.add_argument("--resume-dir", nargs="+", required=True, metavar="DIR",
                           help="each query's search folder of finished shards, in the order of the queries")
    round_job.add_argument("--round", type=int, required=True, help="the round (1: nhmmer)")
    round_job.add_argument("--job", type=int, default=None, help="this shard job's number (0 to --jobs - 1)")
    round_job.add_argument("--jobs", type=int, default=None, help="shard jobs of the round")
    round_job.add_argument("--receipt", required=True, metavar="JSON", help="write what the job did here")
    round_job.add_argument("--after", default=None, metavar="JSON",
                           help="receipts of the job this one follows: nothing to do for a query whose search "
                           "stopped there")
    round_job.add_argument("--threads", type=int, default=None,
                           help=f"threads (overrides the config key 'threads'; default {DEFAULT_THREADS})")
    _add_config(round_job)
    round_job.set_defaults(func=_round)

    prepare = subparsers.add_parser(
        "prepare-db",
        help="prepare a search database once: deduplicated, windowed, in shards, with a manifest",
        description="One streaming pass over the database files: empty records, duplicate names and duplicate "
        "sequences are dropped (reported), long records cut into windows, and the result written to --out as "
        "shards of about db.shard_nt residues with manifest.json (inputs and SHA-256, totals, the search space "
        "Z of every E-value, shards). Give the folder to rnamsm search --db. Nothing is rewritten when the "
        "inputs and settings did not change.",
    )
    prepare.add_argument("databases", nargs="+", metavar="DB", help="FASTA, FASTA.gz or Stockholm files")
    prepare.add_argument("--out", required=True, metavar="DIR", help="folder of the prepared database")
    prepare.add_argument("--name", default=None, help="database name (default: the first file's name)")
    prepare.add_argument("--max-query", type=int, default=MAX_QUERY_LENGTH, metavar="NT",
                         help="longest query to be searched: windows overlap by twice this "
                         f"(default {MAX_QUERY_LENGTH}, input.max_length)")
    _add_config(prepare)
    prepare.set_defaults(func=_prepare)

    imported = subparsers.add_parser(
        "import-msa",
        help="your own alignment as the query's MSA (instead of a search)",
        description="Turn an alignment (A3M, A2M/.a2m_msa2, aligned FASTA, Stockholm; .gz too) into the files "
        "a search writes: {id}.a3m, {id}.sto, {id}.a2m_msa2 and msa_stats.json in --out-dir. The query row "
        "(found by its residues, or named by --record; when absent, placed with cmalign to a CM of the alignment "
        "and its SS_cons, or with hmmalign) goes first and only its columns stay; "
        "the search's filter and neff settings apply.",
    )
    imported.add_argument("alignment", metavar="ALIGNMENT", help="the alignment file")
    imported.add_argument("--query", required=True, metavar="QUERY.fa", help="FASTA file with the one query record")
    imported.add_argument("--out-dir", required=True, help="output directory")
    imported.add_argument("--record", default=None, help="name of the query's row in the alignment")
    imported.add_argument("--placement", choices=("cmalign", "hmmalign"), default=None,
                          help="how a query absent from the alignment is aligned to it (overrides the config key "
                          "'placement'; default cmalign; alignments without SS_cons pairs always use hmmalign)")
    _add_config(imported)
    imported.set_defaults(func=_import)
