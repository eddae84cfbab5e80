"""``rnamsm train-head ss|rsa``: fine-tune a head on frozen RNA-MSM features (beyond the official code).

Inputs are labelled examples: features (``features.npz`` files, or computed here from Stockholm
seed alignments with a backbone checkpoint) and labels (bpseq/ct/dbn structures, or RSA tables).
Examples are split into training and validation sets by a seeded shuffle; training uses Adam with
early stopping on the validation loss; the best epoch's head is saved in our format with its
training record. The SS loss is binary cross-entropy over the upper triangle (``i < j``); the RSA
loss is the mean squared error over valid residues. Runs are deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnamsm.atomic import check_output_targets
from rnamsm.errors import RnamsmError
from rnamsm.evaluation.rsa_metrics import valid_mask
from rnamsm.evaluation.structure_metrics import Counts, scores
from rnamsm.formats import features as features_file
from rnamsm.heads.head_file import Head, head_metadata, load_head, save_head
from rnamsm.heads.official_formats import statistics_from_pickles
from rnamsm.heads.postprocess import OFFICIAL_THRESHOLD, PairCallOptions, call_pairs
from rnamsm.heads.rsa_net import RSANet, RsaStatistics, rsa_features
from rnamsm.heads.rsa_tsv import read_rsa_table
from rnamsm.heads.ss_resnet import PAIR_ONEHOT_CHANNELS, SSResNet, ss_features
from rnamsm.heads.stockholm_labels import labelled_msas
from rnamsm.heads.structure import Pair, read_structure
from rnamsm.model.device import resolve_device
from rnamsm.model.extract import compute_features
from rnamsm.model.msa import msa_from_records
from rnamsm.model.rnamsm import RnaMsm
from rnamsm.options import check_at_least, check_positive, check_range, check_seed

#: Thresholds tried on the validation set for the SS head's recorded threshold.
THRESHOLD_GRID = tuple(round(0.05 + 0.01 * step, 2) for step in range(91))
STRUCTURE_SUFFIXES = (".bpseq", ".ct", ".dbn")


@dataclass(frozen=True)
class Example:
    """One labelled sequence: frozen features and either pairs (SS) or per-residue RSA (``< 0`` = missing)."""

    name: str
    sequence: str
    embedding: np.ndarray  # (L, D) float32
    attention_maps: np.ndarray  # (M, L, L) float32
    pairs: frozenset[Pair] | None = None
    rsa: np.ndarray | None = None  # (L,) float64


@dataclass(frozen=True)
class TrainingOptions:
    """Optimisation settings of a ``train-head`` run."""

    epochs: int = 30
    patience: int = 5
    learning_rate: float = 1e-3
    validation_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        check_at_least(self.epochs, 1, "--epochs")
        check_at_least(self.patience, 1, "--patience")
        check_positive(self.learning_rate, "--lr")
        check_range(self.validation_fraction, 0, 1, "--validation-fraction", open_low=True, open_high=True)
        check_seed(self.seed)


# --- collecting examples -------------------------------------------------------------------------


def feature_files(inputs: Sequence[Path]) -> dict[str, Path]:
    """``features.npz`` files keyed by sample id: ``ID.npz`` files, or ``ID/features/features.npz`` in a results dir."""
    found: dict[str, Path] = {}
    for item in inputs:
        if item.is_file():
            candidates = [item]
        elif item.is_dir():
            candidates = sorted(item.glob("*.npz")) + sorted(item.glob("*/features/features.npz"))
        else:
            raise RnamsmError(f"{item}: no such file or folder")
        for path in candidates:
            key = path.parent.parent.name if path.name == "features.npz" else path.name.split(".")[0]
            found[key] = path
    if not found:
        raise RnamsmError(f"no features.npz found in {', '.join(map(str, inputs))}")
    return found


def _label_file(labels: Path, key: str, suffixes: Sequence[str]) -> Path:
    for suffix in suffixes:
        candidate = labels / f"{key}{suffix}"
        if candidate.is_file():
            return candidate
    raise RnamsmError(f"{labels}: no label file for '{key}' (looked for {', '.join(suffixes)})")


def examples_from_files(features: Sequence[Path], labels: Path, task: str) -> list[Example]:
    """Pair each features file with its label file in ``labels`` (same id)."""
    examples = []
    for key, path in sorted(feature_files(features).items()):
        loaded = features_file.read(path)
        if task == "ss":
            structure = read_structure(_label_file(labels, key, STRUCTURE_SUFFIXES), name=key)
            if structure.sequence != loaded.sequence:
                raise RnamsmError(f"{labels}: label sequence of '{key}' differs from its features ({path})")
            examples.append(Example(key, loaded.sequence, loaded.embedding, loaded.attention_maps,
                                    pairs=frozenset(structure.pairs)))
        else:
            table = read_rsa_table(_label_file(labels, key, (".rsa.tsv", ".txt", ".tsv")), name=key)
            if table.sequence != loaded.sequence:
                raise RnamsmError(f"{labels}: label sequence of '{key}' differs from its features ({path})")
            examples.append(Example(key, loaded.sequence, loaded.embedding, loaded.attention_maps, rsa=table.rsa))
    return examples


def examples_from_stockholm(
    paths: Sequence[Path], backbone: RnaMsm, max_rows: int = 16, max_per_file: int | None = None
) -> list[Example]:
    """SS examples from Stockholm seeds (SS_cons projected onto each sequence), features from ``backbone``."""
    examples = []
    for path in paths:
        for labelled in labelled_msas(path, max_rows, max_per_file):
            name = labelled.structure.name
            msa = msa_from_records([(f"row{k}", row) for k, row in enumerate(labelled.rows)], f"{path}:{name}")
            features = compute_features(backbone, msa, progress=False)
            examples.append(Example(name, labelled.structure.sequence, features.embedding, features.attention_maps,
                                    pairs=frozenset(labelled.structure.pairs)))
    names = [example.name for example in examples]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RnamsmError(f"duplicate sequence name '{duplicates[0]}' across the Stockholm files")
    return examples


def split_examples(examples: Sequence[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Seeded shuffle of the examples (sorted by name first), then the first ``fraction`` (>= 1) for validation."""
    if len(examples) < 2:
        raise RnamsmError("train-head needs at least 2 labelled examples (training + validation)")
    ordered = sorted(examples, key=lambda example: example.name)
    order = np.random.default_rng(seed).permutation(len(ordered))
    count = min(max(1, round(fraction * len(ordered))), len(ordered) - 1)
    validation = [ordered[i] for i in order[:count]]
    training = [ordered[i] for i in order[count:]]
    return training, validation


# --- losses ---------------------------------------------------------------------------------------


def _ss_target(example: Example) -> tuple[torch.Tensor, torch.Tensor]:
    length = len(example.sequence)
    target = torch.zeros(length, length)
    for i, j in example.pairs or ():
        target[i - 1, j - 1] = 1.0
    upper = torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)
    return target, upper


def ss_loss(model: SSResNet, example: Example, device: torch.device) -> torch.Tensor:
    """Mean binary cross-entropy over the upper triangle of one example."""
    target, upper = _ss_target(example)
    logits = model(ss_features(example.sequence, example.attention_maps).to(device))[0]  # (L, L)
    return nn.functional.binary_cross_entropy_with_logits(logits[upper.to(device)], target.to(device)[upper.to(device)])


def rsa_loss(model: RSANet, stats: RsaStatistics, example: Example, device: torch.device) -> torch.Tensor:
    """Mean squared error over the valid residues of one example."""
    valid = torch.from_numpy(valid_mask(example.sequence, example.rsa)).to(device)
    prediction = model(rsa_features(example.sequence, example.embedding, stats).to(device))[0]  # (L,)
    target = torch.from_numpy(example.rsa.astype(np.float32)).to(device)
    return ((prediction - target)[valid] ** 2).mean() if bool(valid.any()) else prediction.sum() * 0.0


# --- the training loop ---------------------------------------------------------------------------


def _fit(model: nn.Module, loss_of, training: list[Example], validation: list[Example], options: TrainingOptions,
         device: torch.device) -> tuple[nn.Module, dict[str, object]]:
    """Adam with per-example steps in a seeded order; keeps the best validation epoch."""
    generator = torch.Generator().manual_seed(options.seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=options.learning_rate)

    def validation_loss() -> float:
        model.eval()
        with torch.no_grad():
            return float(np.mean([loss_of(model, example).item() for example in validation]))

    history_train: list[float] = []
    history_val = [validation_loss()]
    best_state, best_epoch, stale = copy.deepcopy(model.state_dict()), 0, 0
    for epoch in range(1, options.epochs + 1):
        model.train()
        losses = []
        for index in torch.randperm(len(training), generator=generator).tolist():
            optimiser.zero_grad()
            loss = loss_of(model, training[index])
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        history_train.append(float(np.mean(losses)))
        history_val.append(validation_loss())
        if history_val[-1] < history_val[best_epoch]:
            best_state, best_epoch, stale = copy.deepcopy(model.state_dict()), epoch, 0
        else:
            stale += 1
            if stale >= options.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    record: dict[str, object] = {
        "epochs_run": len(history_train),
        "best_epoch": best_epoch,
        "train_loss": [round(value, 6) for value in history_train],
        "validation_loss": [round(value, 6) for value in history_val],
        "initial_validation_loss": round(history_val[0], 6),
        "best_validation_loss": round(history_val[best_epoch], 6),
    }
    return model, record


def _choose_threshold(model: SSResNet, validation: list[Example], device: torch.device) -> tuple[float, float]:
    """Threshold with the best pooled F1 on the validation set (ties: the lower threshold)."""
    with torch.no_grad():
        probabilities = [
            torch.sigmoid(model(ss_features(ex.sequence, ex.attention_maps).to(device)))[0].cpu().numpy()
            for ex in validation
        ]
    best = (OFFICIAL_THRESHOLD, -1.0)
    for threshold in THRESHOLD_GRID:
        total = Counts(0, 0, 0, 0)
        for example, prob in zip(validation, probabilities):
            called = set(call_pairs(prob, example.sequence, PairCallOptions(threshold)))
            tp = len(called & set(example.pairs or ()))
            total = total + Counts(tp, len(called) - tp, len(example.pairs or ()) - tp, 0)
        f1 = scores(total)["f1"]
        if f1 > best[1]:
            best = (threshold, f1)
    return best


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def train_ss_head(
    examples: Sequence[Example], options: TrainingOptions, width: int = 48, blocks: int = 16,
    init: SSResNet | None = None,
) -> tuple[Head, dict[str, object]]:
    """Train an SS head (new, or fine-tuned from ``init``) -> (head with metadata, training record)."""
    if init is None:
        check_at_least(width, 1, "--width")
        check_at_least(blocks, 0, "--blocks")
    _seed_everything(options.seed)
    device = resolve_device(options.device)
    training, validation = split_examples(examples, options.validation_fraction, options.seed)
    num_maps = training[0].attention_maps.shape[0]
    if any(example.attention_maps.shape[0] != num_maps for example in examples):
        raise RnamsmError("train-head: the examples' features have different numbers of attention maps")
    model = copy.deepcopy(init) if init is not None else SSResNet(PAIR_ONEHOT_CHANNELS + num_maps, width, blocks)
    if model.num_maps != num_maps:
        raise RnamsmError(f"train-head: the initial head expects {model.num_maps} maps, the features have {num_maps}")
    model.to(device)
    model, record = _fit(model, lambda m, ex: ss_loss(m, ex, device), training, validation, options, device)
    threshold, f1 = _choose_threshold(model, validation, device)
    record.update(task="ss", threshold=threshold, validation_f1=round(f1, 6))
    return _finish("ss", model.cpu(), None, record, training, validation, options, examples), record


def _embedding_statistics(training: Sequence[Example]) -> RsaStatistics:
    stacked = np.concatenate([example.embedding for example in training]).astype(np.float64)
    onehot = np.concatenate([
        (np.frombuffer(ex.sequence.encode(), np.uint8)[:, None] == np.frombuffer(b"ACGU", np.uint8)).astype(float)
        for ex in training
    ])
    floor = 1e-6
    return RsaStatistics(
        stacked.mean(0).astype(np.float32), np.maximum(stacked.std(0), floor).astype(np.float32),
        onehot.mean(0), np.maximum(onehot.std(0), floor),
    )


def train_rsa_head(
    examples: Sequence[Example], options: TrainingOptions, planes: int = 64, init: Head | None = None,
) -> tuple[Head, dict[str, object]]:
    """Train an RSA head (new with training-set statistics, or fine-tuned from ``init``)."""
    _seed_everything(options.seed)
    device = resolve_device(options.device)
    training, validation = split_examples(examples, options.validation_fraction, options.seed)
    dim = training[0].embedding.shape[1]
    if any(example.embedding.shape[1] != dim for example in examples):
        raise RnamsmError("train-head: the examples' features have different embedding sizes")
    if init is not None:
        model, stats = copy.deepcopy(init.model), init.stats
        channels = (4 if stats.uses_onehot else 0) + dim + 1
        if len(stats.embedding_mean) != dim or model.in_channels != channels:
            raise RnamsmError(f"train-head: the initial head expects {len(stats.embedding_mean)}-long embeddings "
                              f"({model.in_channels} input channels), the features have {dim}")
    else:
        if planes < 16 or planes % 16:
            raise RnamsmError(f"train-head rsa: --width (the RSA head's planes) must be a multiple of 16, got {planes}")
        stats = _embedding_statistics(training)
        model = RSANet(4 + dim + 1, planes)
    model.to(device)
    model, record = _fit(model, lambda m, ex: rsa_loss(m, stats, ex, device), training, validation, options, device)
    record.update(task="rsa")
    return _finish("rsa", model.cpu(), stats, record, training, validation, options, examples), record


def _finish(kind: str, model: nn.Module, stats: RsaStatistics | None, record: dict[str, object],
            training: list[Example], validation: list[Example], options: TrainingOptions,
            examples: Sequence[Example]) -> Head:
    record.update(
        seed=options.seed, learning_rate=options.learning_rate, patience=options.patience,
        max_epochs=options.epochs, validation_fraction=options.validation_fraction,
        train_ids=sorted(example.name for example in training),
        validation_ids=sorted(example.name for example in validation),
    )
    extra = {"training": json.dumps(record, sort_keys=True)}
    if kind == "ss":
        extra["threshold"] = repr(record["threshold"])
    for value in record.get("validation_loss", []):
        if not math.isfinite(value):
            raise RnamsmError("train-head: the validation loss became non-finite; lower --lr")
    return Head(kind, model, stats, head_metadata(False, f"train-head {kind} on {len(examples)} examples", extra))


# --- command line ---------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    options = TrainingOptions(args.epochs, args.patience, args.lr, args.validation_fraction, args.seed, args.device)
    check_at_least(args.max_rows, 1, "--max-rows")
    if args.max_per_file is not None:
        check_at_least(args.max_per_file, 1, "--max-per-file")
    check_output_targets(args.out)
    if args.stockholm:
        if args.task != "ss" or args.checkpoint is None:
            raise RnamsmError("train-head: --stockholm trains an SS head and needs --checkpoint (the backbone)")
        from rnamsm.model.checkpoint import load_checkpoint

        backbone = load_checkpoint(args.checkpoint, device=args.device)
        examples = examples_from_stockholm(args.stockholm, backbone, args.max_rows, args.max_per_file)
    elif args.features and args.labels:
        examples = examples_from_files(args.features, args.labels, args.task)
    else:
        raise RnamsmError("train-head: give --features and --labels, or --stockholm with --checkpoint")
    official_stats = statistics_from_pickles(args.stats) if args.stats else None
    init = load_head(args.init, args.task, official_stats) if args.init is not None else None
    if args.task == "ss":
        head, record = train_ss_head(examples, options, args.width, args.blocks, init.model if init else None)
    else:
        head, record = train_rsa_head(examples, options, args.width, init)
    save_head(args.out, head)
    print(f"best epoch {record['best_epoch']}: validation loss {record['initial_validation_loss']} -> "
          f"{record['best_validation_loss']}; head written to {args.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-head``."""
    parser = subparsers.add_parser(
        "train-head",
        help="fine-tune an SS or RSA head on frozen RNA-MSM features and your labels",
        description="Train a head on labelled examples: features.npz files + labels (bpseq/ct/dbn for ss, RSA "
        "TSV for rsa) matched by id, or Stockholm alignments with SS_cons + a backbone checkpoint. Seeded "
        "train/validation split, Adam, early stopping on the validation loss; the best head is saved in the "
        ".safetensors head format with its training record (and, for ss, the validation-chosen threshold).",
    )
    parser.add_argument("task", choices=("ss", "rsa"))
    parser.add_argument("--features", type=Path, nargs="+", default=None,
                        help="features.npz files or folders (ID.npz, or a results dir with ID/features/features.npz)")
    parser.add_argument("--labels", type=Path, default=None, help="folder with ID.bpseq/.ct/.dbn or ID.rsa.tsv")
    parser.add_argument("--stockholm", type=Path, nargs="+", default=None,
                        help="Stockholm alignments with #=GC SS_cons (each sequence becomes an example)")
    parser.add_argument("--checkpoint", default=None, help="RNA-MSM checkpoint for --stockholm features")
    parser.add_argument("--max-rows", type=int, default=16, help="MSA depth per --stockholm example")
    parser.add_argument("--max-per-file", type=int, default=None, help="at most this many examples per file")
    parser.add_argument("--out", type=Path, required=True, metavar="HEAD.safetensors")
    parser.add_argument("--init", type=Path, default=None, help="start from this head (ours or official)")
    parser.add_argument("--stats", type=Path, nargs="+", default=None,
                        help="statistics pickles (statistic_dict_oh/emb.pickle) for an official RSA --init head")
    parser.add_argument("--width", type=int, default=None,
                        help="SS channels (default 48) or RSA planes (default 64, a multiple of 16) for a new head")
    parser.add_argument("--blocks", type=int, default=16, help="SS residual blocks for a new head")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=5, help="stop after this many epochs without improvement")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.set_defaults(func=lambda args: _run(_with_default_width(args)))


def _with_default_width(args: argparse.Namespace) -> argparse.Namespace:
    if args.width is None:
        args.width = 48 if args.task == "ss" else 64
    return args
