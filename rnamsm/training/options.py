"""Optimisation settings of a ``train-head`` run."""

from __future__ import annotations

from dataclasses import dataclass

from rnamsm.options import check_at_least, check_positive, check_range, check_seed


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
