"""``rnamsm train-head`` as a library function: collect labelled examples, train a head, save it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from rnamsm.atomic import check_output_targets
from rnamsm.errors import RnamsmError
from rnamsm.heads.head_file import load_head, save_head
from rnamsm.heads.official_formats import statistics_from_pickles
from rnamsm.options import check_at_least
from rnamsm.training.examples import examples_from_files, examples_from_stockholm
from rnamsm.training.options import TrainingOptions
from rnamsm.training.trainers import train_rsa_head, train_ss_head

#: A new head's width when none is given: SS channels, RSA planes (the official architectures).
DEFAULT_WIDTH = {"ss": 48, "rsa": 64}


def run_train_head(
    task: Literal["ss", "rsa"],
    out: Path,
    options: TrainingOptions,
    *,
    features: Sequence[Path] | None = None,
    labels: Path | None = None,
    stockholm: Sequence[Path] | None = None,
    checkpoint: str | None = None,
    max_rows: int = 16,
    max_per_file: int | None = None,
    init: Path | None = None,
    stats: Sequence[Path] | None = None,
    width: int | None = None,
    blocks: int = 16,
) -> dict[str, object]:
    """Train a head on ``features`` + ``labels``, or on ``stockholm`` seeds with a ``checkpoint``; write ``out``.

    ``init``: start from this head (ours, or an official file; an official RSA head needs its ``stats``
    pickles). ``width``: SS channels or RSA planes of a new head (default :data:`DEFAULT_WIDTH`).
    Returns the training record (also stored in the head's metadata).
    """
    check_at_least(max_rows, 1, "--max-rows")
    if max_per_file is not None:
        check_at_least(max_per_file, 1, "--max-per-file")
    check_output_targets(out)
    if stockholm:
        if task != "ss" or checkpoint is None:
            raise RnamsmError("train-head: --stockholm trains an SS head and needs --checkpoint (the backbone)")
        from rnamsm.model.checkpoint import load_checkpoint

        backbone = load_checkpoint(checkpoint, device=options.device)
        examples = examples_from_stockholm(stockholm, backbone, max_rows, max_per_file)
    elif features and labels:
        examples = examples_from_files(features, labels, task)
    else:
        raise RnamsmError("train-head: give --features and --labels, or --stockholm with --checkpoint")
    official_stats = statistics_from_pickles(stats) if stats else None
    start = load_head(init, task, official_stats) if init is not None else None
    width = DEFAULT_WIDTH[task] if width is None else width
    if task == "ss":
        head, record = train_ss_head(examples, options, width, blocks, start.model if start else None)
    else:
        head, record = train_rsa_head(examples, options, width, start)
    save_head(out, head)
    return record
