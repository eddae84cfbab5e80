"""The ``rnamsm`` command line: one subcommand per stage.

Each stage module exposes ``register(subparsers)``, which adds its subparser and sets
``func(args) -> int``. Errors meant for the user are :class:`~rnamsm.errors.RnamsmError`
and are printed as a single line on stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rnamsm import __version__
from rnamsm.errors import RnamsmError

#: Modules that provide subcommands, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "rnamsm.fasta",
    "rnamsm.homology.cli",
    "rnamsm.model.features",
    "rnamsm.report.cli",
    "rnamsm.heads.predict_ss",
    "rnamsm.heads.predict_rsa",
    "rnamsm.baselines",
    "rnamsm.evaluation.cli",
    "rnamsm.heads.train",
    "rnamsm.heads.convert",
    "rnamsm.heads.demo",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="rnamsm",
        description="RNA sequences to predicted structure with RNA-MSM: homolog search, MSA, "
        "language-model features, base pairs, solvent accessibility and QC reports.",
    )
    parser.add_argument("--version", action="version", version=f"rnamsm {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except RnamsmError as error:
        print(f"rnamsm {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"rnamsm {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
