"""``rnamsm validate-input``: parse the command line and call :func:`rnamsm.input.validate.validate_input`."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rnamsm.input.validate import InputSettings, validate_input
from rnamsm.settings import CONFIG_JSON_OPTION, settings_from_json


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_json(InputSettings, args.config_json)
    if args.min_length is not None:
        settings = dataclasses.replace(settings, min_length=args.min_length)
    validate_input(args.output, fasta=args.input, sequence=args.sequence, record_id=args.id, single=args.single,
                   rename=args.rename, settings=settings)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rnamsm validate-input``."""
    parser = subparsers.add_parser(
        "validate-input",
        help="check and normalise query FASTA (upper-case RNA)",
        description="Read query RNA sequences (FASTA, plain or .gz), check them and write them as "
        "upper-case RNA (T->U). Refuses empty or non-FASTA input, non-IUPAC characters, duplicate or "
        "unsafe ids, and sequences shorter than the minimum length.",
    )
    parser.add_argument("input", nargs="?", type=Path, help="query FASTA (plain or .gz)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="normalised FASTA to write")
    parser.add_argument("--id", help="keep only this record (or name the --sequence record)")
    parser.add_argument("--sequence", help="take the query from this string instead of a file")
    parser.add_argument("--single", action="store_true", help="require exactly one record")
    parser.add_argument(
        "--rename", metavar="NEW_ID", help="write the record under this id (the old header becomes its description)"
    )
    parser.add_argument(CONFIG_JSON_OPTION, metavar="JSON", help="the config's input section as a JSON object")
    parser.add_argument(
        "--min-length", type=int, default=None,
        help=f"shortest sequence accepted (nt; overrides the JSON; default {InputSettings().min_length})",
    )
    parser.set_defaults(func=_run)
