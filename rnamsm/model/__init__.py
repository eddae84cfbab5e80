"""RNA-MSM: the MSA Transformer behind rnamsm's features (inference only).

Public API (imported lazily, so the command line starts without torch)::

    from rnamsm.model import ModelSettings, compute_features, load_checkpoint, read_msa, reduce_depth, run_features

    model = load_checkpoint("multimolecule/rnamsm", device="auto")   # or a .ckpt file / HF folder
    msa = reduce_depth(read_msa("query.a3m")).msa                    # <= 512 rows, query first
    features = compute_features(model, msa)                          # embedding, attention_maps, contacts

    run_features("query.a3m", "features.npz", ModelSettings(checkpoint="multimolecule/rnamsm"))  # the command
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_checkpoint": "rnamsm.model.checkpoint",
    "read_checkpoint": "rnamsm.model.checkpoint",
    "CheckpointInfo": "rnamsm.model.checkpoint",
    "RnaMsm": "rnamsm.model.rnamsm",
    "RnaMsmConfig": "rnamsm.model.rnamsm",
    "Msa": "rnamsm.model.msa",
    "read_msa": "rnamsm.model.msa",
    "reduce_depth": "rnamsm.model.depth",
    "tokenize_msa": "rnamsm.model.alphabet",
    "Features": "rnamsm.model.extract",
    "compute_features": "rnamsm.model.extract",
    "run_features": "rnamsm.model.features",
    "ModelSettings": "rnamsm.model.settings",
    "convert_checkpoint": "rnamsm.model.export",
    "make_demo_checkpoint": "rnamsm.model.export",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rnamsm.model' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
