"""Labelled examples for ``train-head``: frozen features with pairs (SS) or per-residue RSA, and their split.

Examples come from ``features.npz`` files matched by id with label files (bpseq/ct/dbn structures or RSA
tables), or from Stockholm seed alignments whose features a backbone computes here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnamsm.errors import RnamsmError
from rnamsm.formats import features as features_file
from rnamsm.formats import rsa_table
from rnamsm.formats.structure import Pair, read_structure
from rnamsm.model.extract import compute_features
from rnamsm.model.msa import msa_from_records
from rnamsm.model.rnamsm import RnaMsm
from rnamsm.training.stockholm_labels import labelled_msas

#: Label files of an SS example, in order of preference.
STRUCTURE_SUFFIXES = (".bpseq", ".ct", ".dbn")
#: Label files of an RSA example, in order of preference.
RSA_SUFFIXES = (".rsa.tsv", ".txt", ".tsv")


@dataclass(frozen=True)
class Example:
    """One labelled sequence: frozen features and either pairs (SS) or per-residue RSA (``< 0`` = missing)."""

    name: str
    sequence: str
    embedding: np.ndarray | None  # (L, D) float32; the RSA task needs it
    attention_maps: np.ndarray | None  # (M, L, L) float32; the SS task needs it
    pairs: frozenset[Pair] | None = None
    rsa: np.ndarray | None = None  # (L,) float64


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
            maps = features_file.needed(loaded.attention_maps, "attention_maps", str(path), "train-head ss")
            examples.append(Example(key, loaded.sequence, loaded.embedding, maps, pairs=frozenset(structure.pairs)))
        else:
            table = rsa_table.read(_label_file(labels, key, RSA_SUFFIXES), name=key)
            if table.sequence != loaded.sequence:
                raise RnamsmError(f"{labels}: label sequence of '{key}' differs from its features ({path})")
            embedding = features_file.needed(loaded.embedding, "embedding", str(path), "train-head rsa")
            examples.append(Example(key, loaded.sequence, embedding, loaded.attention_maps, rsa=table.rsa))
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
