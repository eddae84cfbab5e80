"""``rnamsm validate-input``: parse the command line and call :func:`rnamsm.input.validate.validate_input`."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rnamsm.input.validate import InputSettings, validate_input
from rnamsm.options import check_at_least
from rnamsm.settings import CONFIG_JSON_OPTION, settings_from_json


def _run(args: argparse.Namespace) -> int:
    settings = settings_from_json(InputSettings, args.config_json)
    flags = {"min_length": args.min_length, "max_length": args.max_length}
    for key, value in flags.items():
        if value is not None:
            check_at_least(value, 1, f"--{key.replace('_', '-')}")
    settings = dataclasses.replace(settings, **{key: value for key, value in flags.items() if value is not None})
    validate_input(args.output, fasta=args.input, sequence=args.sequence, msa=args.msa,
                   record_id=args.id, single=args.single,
                   rename=args.rename, settings=settings)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rnamsm validate-input``."""
    parser = subparsers.add_parser(
        "validate-input",
        help="check and normalise query FASTA (upper-case RNA)",
        description="Read query RNA sequences (FASTA, plain or .gz), check them and write them as "
        "upper-case RNA (T->U). Refuses empty or non-FASTA input, non-IUPAC characters, duplicate ids, "
        "sequences shorter than --min-length, and written queries longer than --max-length or whose id "
        "is unsafe as a file name (other records of the file may have any id, e.g. Rfam's 'AB001721.1/2-116').",
    )
    parser.add_argument("input", nargs="?", type=Path, help="query FASTA (plain or .gz)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="normalised FASTA to write")
    parser.add_argument("--id", help="keep only this record (or name the --sequence record, or the --msa row)")
    parser.add_argument("--sequence", help="take the query from this string instead of a file")
    parser.add_argument(
        "--msa", type=Path, metavar="ALIGNMENT",
        help="take the query from a row of this alignment (any MSA format): the row named --id, else the first row",
    )
    parser.add_argument("--single", action="store_true", help="require exactly one record")
    parser.add_argument(
        "--rename", metavar="NEW_ID", help="write the record under this id (the old header becomes its description)"
    )
    parser.add_argument(CONFIG_JSON_OPTION, metavar="JSON", help="the config's input section as a JSON object")
    parser.add_argument(
        "--min-length", type=int, default=None,
        help=f"shortest sequence accepted (nt; overrides the JSON; default {InputSettings().min_length})",
    )
    parser.add_argument(
        "--max-length", type=int, default=None,
        help=f"longest query written (nt; overrides the JSON; default {InputSettings().max_length}, sized for a "
        "24 GiB node)",
    )
    parser.set_defaults(func=_run)
