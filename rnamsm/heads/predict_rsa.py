"""Solvent accessibility for one sample: features + 1-3 RSA heads -> RSA TSV (ASA averaged over the heads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnamsm.atomic import check_output_targets
from rnamsm.errors import RnamsmError
from rnamsm.formats import features as features_file
from rnamsm.formats import rsa_table
from rnamsm.formats.rsa_table import RsaChain
from rnamsm.heads.head_file import Head, load_head
from rnamsm.heads.official_formats import statistics_from_pickles
from rnamsm.heads.rsa_net import ensemble_asa, predict_rsa
from rnamsm.layout import check_sample_id
from rnamsm.model.device import resolve_device


def load_rsa_heads(head_paths: list[Path], stats_paths: list[Path] | None = None) -> list[Head]:
    """The RSA heads of one ensemble; ``stats_paths``: official statistics pickles, for official ``.pt`` heads."""
    official_stats = statistics_from_pickles(stats_paths) if stats_paths else None
    return [load_head(path, "rsa", official_stats) for path in head_paths]


def rsa_chain(features: features_file.FeaturesRecord, heads: list[Head], head_paths: list[Path], name: str,
              device: str, source: str) -> RsaChain:
    """The RSA ensemble on in-memory ``features`` -> the sample's RSA table (``head_paths``: the heads' files).

    ``source`` names the features (a file, or a sample) in errors.
    """
    embedding = features_file.needed(features.embedding, "embedding", source, "the RSA heads")
    torch_device = resolve_device(device)
    per_model = []
    for path, head in zip(head_paths, heads):
        try:
            model = head.model.to(torch_device)
            per_model.append(predict_rsa(model, head.stats, features.sequence, embedding))
        except ValueError as error:
            raise RnamsmError(f"{source}: {error} (head {path})") from None
    asa, rsa = ensemble_asa(per_model, features.sequence)
    comments = [
        f"{name}: RNA-MSM relative solvent accessibility, ensemble of {len(heads)} head(s), ASA averaged",
        "ASA in square angstrom; RSA = ASA / max ASA (A 400, G 400, C 350, U 350, other 375)",
    ]
    comments += [f"head {path.name} sha256={head.sha256}" for path, head in zip(head_paths, heads)]
    provenance = features.provenance
    comments += [f"features {key}={value}" for key, value in (("checkpoint_sha256", provenance.checkpoint_sha256),
                                                               ("msa_depth", provenance.msa_depth),
                                                               ("msa_sha256", provenance.msa_sha256))
                 if value is not None]
    if provenance.weights_untrained or any(head.untrained for head in heads):
        comments.append("WARNING: weights_untrained: true - random demo weights, these values mean nothing")
    return RsaChain(name, features.sequence, rsa, asa, tuple(comments))


def run_predict_rsa(
    features_path: Path,
    head_paths: list[Path],
    out: Path,
    stats_paths: list[Path] | None = None,
    sample_id: str | None = None,
    device: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Predict RSA with an ensemble of heads and write the TSV -> (asa (L,), rsa (L,)).

    ``stats_paths``: official statistics pickles, needed only for official ``.pt`` heads.
    """
    if sample_id is not None:
        check_sample_id(sample_id)
    check_output_targets(out)
    features = features_file.read(features_path)
    heads = load_rsa_heads(head_paths, stats_paths)
    chain = rsa_chain(features, heads, head_paths, sample_id or out.name.split(".")[0],
                      device, str(features_path))
    rsa_table.write(chain, out)
    return chain.asa, chain.rsa  # type: ignore[return-value]  # rsa_chain always sets asa
