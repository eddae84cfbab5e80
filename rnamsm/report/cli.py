"""The ``rnamsm report`` and ``rnamsm index`` subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnamsm.layout import SampleLayout, benchmarks_folder, index_file
from rnamsm.report.batch_index import write_index
from rnamsm.report.family_report import write_family_report
from rnamsm.report.sample_report import write_report
from rnamsm.report.settings import parse_config_json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` and ``index`` subcommands."""
    report = subparsers.add_parser(
        "report", help="write a sample's self-contained HTML QC report",
        description="Read a sample's output folder (results/{sample}) and write one self-contained HTML "
        "report. Sections whose input is missing say so instead of failing.",
    )
    report.add_argument("sample_dir", type=Path, metavar="SAMPLE_DIR", help="the sample's output folder")
    report.add_argument("--out", type=Path, help="output HTML (default: SAMPLE_DIR/report.html)")
    report.add_argument("--title", help="page title (default: 'RNA-MSM report: <sample>')")
    report.add_argument("--description", default="",
                        help="the sample's free-text description (the sample sheet's 'description' column)")
    report.add_argument("--config-json", help="workflow config (or its 'report' section) as JSON; shown "
                        "in the provenance block; report.* keys set thresholds")
    report.add_argument("--benchmarks", type=Path, metavar="DIR",
                        help="Snakemake benchmark folder with <rule>/<sample>.tsv (default: SAMPLE_DIR/../benchmarks)")
    report.set_defaults(func=run_report)

    index = subparsers.add_parser(
        "index", help="write the batch index of all samples' reports",
        description="Write a sortable, filterable HTML table of every sample with links to the reports.",
    )
    index.add_argument("results_dir", type=Path, metavar="RESULTS_DIR", help="folder holding one folder per sample")
    index.add_argument("--samples", type=Path, required=True, metavar="SAMPLES.tsv",
                       help="the workflow's sample sheet (ids from 'sample_id', shown with 'description')")
    index.add_argument("--out", type=Path, help="output HTML (default: RESULTS_DIR/index.html)")
    index.add_argument("--status", type=Path, nargs="+", default=[], metavar="STATUS.tsv",
                       help="'sample<TAB>status<TAB>reason' rows for failed or skipped samples (several files: "
                       "a later one wins), e.g. results/batch_status.tsv and the family chunks' status files")
    index.add_argument("--title", help="page title (default: 'RNA-MSM results')")
    index.add_argument("--config-json", help="workflow config (or its 'report' section) as JSON: QC thresholds")
    index.add_argument("--families", type=Path, metavar="FAMILIES.tsv",
                       help="the workflow's families sheet: its members are listed too, grouped by family")
    index.set_defaults(func=run_index)

    family = subparsers.add_parser(
        "family-report", help="write a family's report: members, column-pair support, SS_cons scores",
        description="Read the outputs of a family's members (results/{family_id}.{member}) and write "
        "results/families/{family_id}/report.html, family.json and reference/{sample}.bpseq (the family's "
        "SS_cons projected onto each member, the reference of the scores; `rnamsm evaluate` gives the same).",
    )
    family.add_argument("alignment", type=Path, metavar="ALIGNMENT", help="the family alignment")
    family.add_argument("--family-id", required=True, help="the family's id (families sheet 'family_id')")
    family.add_argument("--members", default="all", help="which records are members: all, 'first N' or names")
    family.add_argument("--results", type=Path, default=Path("results"), help="folder of the members' outputs")
    family.add_argument("--out-dir", type=Path, help="output folder (default: RESULTS/families/FAMILY_ID)")
    family.add_argument("--description", default="", help="the family's free-text description")
    family.add_argument("--title", help="page title (default: 'RNA-MSM family report: <family>')")
    family.add_argument("--config-json", help="workflow config (or its 'report' section) as JSON: QC thresholds")
    family.add_argument("--status", type=Path, nargs="+", default=[], metavar="STATUS.tsv",
                        help="status files of the family's chunks (rnamsm run-members): a failed member is listed "
                        "with its reason instead of failing the report")
    family.set_defaults(func=run_family_report)


def run_report(args: argparse.Namespace) -> int:
    """Entry point of ``rnamsm report``."""
    config, settings = parse_config_json(args.config_json, args.title)
    out = args.out or SampleLayout(args.sample_dir, args.sample_dir.name).report
    benchmarks = args.benchmarks or benchmarks_folder(args.sample_dir.resolve().parent)
    write_report(args.sample_dir, out, config, settings, benchmarks, args.description)
    return 0


def run_index(args: argparse.Namespace) -> int:
    """Entry point of ``rnamsm index``."""
    _, settings = parse_config_json(args.config_json, args.title)
    write_index(args.results_dir, args.samples, args.out or index_file(args.results_dir), args.status, settings,
                families=args.families)
    return 0


def run_family_report(args: argparse.Namespace) -> int:
    """Entry point of ``rnamsm family-report``."""
    _, settings = parse_config_json(args.config_json, args.title)
    write_family_report(args.alignment, args.family_id, args.results, members=args.members, out_dir=args.out_dir,
                        description=args.description, settings=settings, status=args.status)
    return 0
