"""The optimisation loop of ``train-head``: Adam, seeded per-example steps, early stopping."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from rnamsm.training.examples import Example
from rnamsm.training.options import TrainingOptions

#: The loss of one example under a model (a scalar tensor that autograd can differentiate).
LossFunction = Callable[[nn.Module, Example], torch.Tensor]


def fit(model: nn.Module, loss_of: LossFunction, training: list[Example], validation: list[Example],
        options: TrainingOptions) -> tuple[nn.Module, dict[str, object]]:
    """Adam with per-example steps in a seeded order; keeps the best validation epoch.

    Returns the model with the best epoch's weights (in eval mode) and the run's record: epochs run,
    best epoch, rounded training and validation losses per epoch (validation also before the first).
    """
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
