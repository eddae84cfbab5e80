"""Training an SS or RSA head from labelled examples (new, or fine-tuned from a given head).

Examples are split into training and validation sets by a seeded shuffle; training uses Adam with
early stopping on the validation loss (:func:`~rnamsm.training.loop.fit`); the best epoch's head gets
its training record in its metadata, and an SS head the validation-chosen threshold. Runs are
deterministic for a given seed.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from rnamsm.errors import RnamsmError
from rnamsm.heads.head_file import Head, head_metadata
from rnamsm.heads.rsa_net import RSANet, RsaStatistics
from rnamsm.heads.ss_resnet import PAIR_ONEHOT_CHANNELS, SSResNet
from rnamsm.model.device import resolve_device
from rnamsm.options import check_at_least
from rnamsm.training.examples import Example, split_examples
from rnamsm.training.loop import fit
from rnamsm.training.losses import rsa_loss, ss_loss
from rnamsm.training.options import TrainingOptions
from rnamsm.training.threshold import choose_threshold


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
    model, record = fit(model, lambda m, ex: ss_loss(m, ex, device), training, validation, options)
    threshold, f1 = choose_threshold(model, validation, device)
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
    model, record = fit(model, lambda m, ex: rsa_loss(m, stats, ex, device), training, validation, options)
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
