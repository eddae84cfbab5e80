"""RSA metrics as ``evaluation.md`` section 2 defines them: per-chain PCC and MAE, on valid residues."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rnamsm.errors import RnamsmError
from rnamsm.formats.rsa_table import RsaChain

#: Fewest valid residues for a defined per-chain PCC.
MIN_PCC_RESIDUES = 3


@dataclass(frozen=True)
class RsaChainResult:
    """Per-chain scores; ``pcc`` is ``None`` when undefined (too few residues or zero variance)."""

    name: str
    valid: int
    pcc: float | None
    mae: float | None


def valid_mask(sequence: str, reference: np.ndarray) -> np.ndarray:
    """Residues that are A/C/G/U with a present (non-negative, finite) reference value -> (L,) bool."""
    bases = np.array([base in "ACGU" for base in sequence], dtype=bool)
    return bases & np.isfinite(reference) & (reference >= 0)


def score_chain(predicted: RsaChain, reference: RsaChain) -> RsaChainResult:
    """PCC and MAE of one chain over its valid residues."""
    if len(predicted.rsa) != len(reference.rsa) or predicted.sequence != reference.sequence:
        raise RnamsmError(f"record '{reference.name}': predicted and reference RSA cover different sequences")
    valid = valid_mask(reference.sequence, reference.rsa)
    pred, ref = predicted.rsa[valid], reference.rsa[valid]
    count = int(valid.sum())
    mae = float(np.mean(np.abs(pred - ref))) if count else None
    pcc = None
    if count >= MIN_PCC_RESIDUES and np.std(pred) > 0 and np.std(ref) > 0:
        pcc = float(np.corrcoef(pred, ref)[0, 1])
    return RsaChainResult(reference.name, count, pcc, mae)


def summarise_rsa(
    predicted: Sequence[RsaChain], references: Mapping[str, RsaChain]
) -> tuple[dict[str, object], list[RsaChainResult]]:
    """Mean and median PCC over chains, mean per-chain MAE, pooled MAE, and the excluded-chain count."""
    results: list[RsaChainResult] = []
    errors: list[np.ndarray] = []
    for chain in predicted:
        reference = references[chain.name]
        results.append(score_chain(chain, reference))
        valid = valid_mask(reference.sequence, reference.rsa)
        errors.append(np.abs(chain.rsa[valid] - reference.rsa[valid]))
    pccs = [result.pcc for result in results if result.pcc is not None]
    maes = [result.mae for result in results if result.mae is not None]
    pooled = np.concatenate(errors) if errors else np.zeros(0)
    summary: dict[str, object] = {
        "num_chains": len(results),
        "pcc_excluded_chains": len(results) - len(pccs),
        "pcc_mean": float(np.mean(pccs)) if pccs else None,
        "pcc_median": float(np.median(pccs)) if pccs else None,
        "mae_mean": float(np.mean(maes)) if maes else None,
        "mae_pooled": float(np.mean(pooled)) if pooled.size else None,
        "headline": "pcc_mean (mean over chains of per-chain PCC)",
    }
    return summary, results


def composition_means(training: Sequence[RsaChain]) -> dict[str, float]:
    """Mean reference RSA of each nucleotide type over valid residues of training chains."""
    means: dict[str, float] = {}
    for base in "ACGU":
        values = [
            chain.rsa[(np.array(list(chain.sequence)) == base) & valid_mask(chain.sequence, chain.rsa)]
            for chain in training
        ]
        pooled = np.concatenate(values) if values else np.zeros(0)
        means[base] = float(pooled.mean()) if pooled.size else float("nan")
    return means


def composition_prediction(chain: RsaChain, means: Mapping[str, float]) -> RsaChain:
    """The composition-only baseline: each residue gets its nucleotide's mean training RSA."""
    values = np.array([means.get(base, np.nan) for base in chain.sequence], dtype=np.float64)
    return RsaChain(chain.name, chain.sequence, values)
