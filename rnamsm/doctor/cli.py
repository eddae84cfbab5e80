"""``rnamsm doctor``: parse, run the checks, print one line per check; exit 1 when one fails."""

from __future__ import annotations

import argparse

from rnamsm.sheets import CONFIG_FILE


def _doctor(args: argparse.Namespace) -> int:
    from rnamsm.doctor.checks import run_checks

    counts = {"ok": 0, "warn": 0, "FAIL": 0}
    for check in run_checks(tuple(args.configfile)):
        print(check.line(), flush=True)
        counts[check.status] += 1
    print(f"doctor: {counts['FAIL']} failed, {counts['warn']} warning(s), {counts['ok']} ok")
    return 1 if counts["FAIL"] else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``doctor``."""
    parser = subparsers.add_parser(
        "doctor", help="check what a workflow run with this config needs on this node (run it on a GPU node)",
        description=f"Run in the workflow's folder. Reads {CONFIG_FILE} (updated by --configfile files, as "
        "Snakemake does), the sheets, the weights and the databases, checks the programs on PATH and the CUDA "
        "devices, and prints one line per check: ok, warn or FAIL. Exit status 1 when a check fails.")
    parser.add_argument("--configfile", nargs="+", default=[], metavar="FILE",
                        help=f"config files applied over {CONFIG_FILE}, as `snakemake --configfile` does")
    parser.set_defaults(func=_doctor)
