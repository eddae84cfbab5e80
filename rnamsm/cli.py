"""The ``rnamsm`` command line: one subcommand per stage.

Each stage module exposes ``register(subparsers)``, which adds its subparser(s) and sets
``func(args) -> int``. Only the module of the command being run is imported (stage modules pull in
torch, pyhmmer or matplotlib), so ``--help`` and every rule's start-up stay fast. Errors meant for
the user are :class:`~rnamsm.errors.RnamsmError`, printed as one line on stderr with exit status 1.
SIGTERM (Slurm's time-out and ``scancel``) takes the Ctrl-C path: child programs are killed and
waited for, scratch folders and output temporaries are removed; exit status 143 (SIGINT: 130).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from rnamsm import __version__
from rnamsm.errors import RnamsmError

#: Every subcommand: name -> (module that registers it, one-line summary), in ``--help`` order.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate-input": ("rnamsm.input.cli", "check and normalise query FASTA (upper-case RNA)"),
    "search": ("rnamsm.homology.cli", "find homologs (nhmmer + CM rounds) and write the query's MSA"),
    "search-round": ("rnamsm.homology.cli", "one job of a round of a sharded search (the workflow's shard jobs)"),
    "import-msa": ("rnamsm.homology.cli", "your own alignment as the query's MSA (instead of a search)"),
    "prepare-db": ("rnamsm.homology.cli", "prepare a search database once: deduplicated, windowed, in shards"),
    "features": ("rnamsm.model.cli", "RNA-MSM embedding, attention maps and contacts for one MSA"),
    "predict-ss": ("rnamsm.heads.cli", "base pairs from features.npz with the RNA-MSM SS head"),
    "predict-rsa": ("rnamsm.heads.cli", "relative solvent accessibility from features.npz"),
    "run-samples": ("rnamsm.heads.cli", "many samples' features, base pairs and RSA with the model loaded once"),
    "baselines": ("rnamsm.baselines.cli", "ViennaRNA MFE and base-pair probabilities, RNAalifold consensus"),
    "report": ("rnamsm.report.cli", "write a sample's self-contained HTML QC report"),
    "index": ("rnamsm.report.cli", "write the batch index of all samples' reports"),
    "family-report": ("rnamsm.report.cli", "write a family's report: members, column-pair support, SS_cons scores"),
    "evaluate": ("rnamsm.evaluation.cli", "score predicted base pairs (F1, MCC, ...) or RSA (PCC, MAE)"),
    "train-head": ("rnamsm.training.cli", "fine-tune an SS or RSA head on frozen RNA-MSM features"),
    "convert-checkpoint": ("rnamsm.model.cli", "convert RNA-MSM weights between official and HF layouts"),
    "convert-heads": ("rnamsm.heads.cli", "convert the official SS/RSA head files to rnamsm heads"),
    "make-demo-checkpoint": ("rnamsm.model.cli", "write a tiny random RNA-MSM for demos and tests"),
    "make-demo-heads": ("rnamsm.heads.cli", "write random (untrained) SS and RSA heads that fit given features"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the parser; only ``command``'s module is imported, the others are listed by summary."""
    parser = argparse.ArgumentParser(
        prog="rnamsm",
        description="RNA sequences to predicted structure with RNA-MSM: homolog search, MSA, "
        "language-model features, base pairs, solvent accessibility and QC reports.",
    )
    parser.add_argument("--version", action="version", version=f"rnamsm {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    if command in COMMANDS:
        importlib.import_module(COMMANDS[command][0]).register(subparsers)
    for name, (_, summary) in COMMANDS.items():
        if name not in subparsers.choices:
            subparsers.add_parser(name, help=summary, add_help=False)
    return parser


#: Fault injection for the reliability tests: ``COMMAND:MARKER`` makes the first run of COMMAND fail
#: (and create MARKER); later runs, which find MARKER, work. Unset in normal use.
FAIL_ONCE_VARIABLE = "RNAMSM_FAIL_ONCE"


def _injected_failure(command: str) -> bool:
    """True when RNAMSM_FAIL_ONCE asks this run of ``command`` to fail (see FAIL_ONCE_VARIABLE)."""
    target, _, marker = os.environ.get(FAIL_ONCE_VARIABLE, "").partition(":")
    if target != command or not marker or os.path.exists(marker):
        return False
    with open(marker, "w", encoding="utf-8") as handle:
        handle.write("failed once\n")
    return True


class Terminated(KeyboardInterrupt):
    """SIGTERM raised as an interrupt, so that every ``finally``/``with`` cleanup runs as on Ctrl-C.

    It is a :class:`KeyboardInterrupt` so that code handling interrupts (``subprocess.run`` kills and
    waits for its child, ``tempfile.TemporaryDirectory`` removes its folder) needs no second case.
    """


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signal.Signals(signum).name)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Raise :class:`Terminated` on SIGTERM inside the block (only the main thread can handle signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    if not getattr(args, "func", None):
        build_parser().print_help()
        return 2
    if _injected_failure(args.command):
        print(f"rnamsm {args.command}: error: simulated transient failure ({FAIL_ONCE_VARIABLE})", file=sys.stderr)
        return 75
    try:
        with _sigterm_as_interrupt():
            return int(args.func(args) or 0)
    except RnamsmError as error:
        print(f"rnamsm {args.command}: error: {error}", file=sys.stderr)
        return 1
    except Terminated:
        print(f"rnamsm {args.command}: terminated (SIGTERM)", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(f"rnamsm {args.command}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())
