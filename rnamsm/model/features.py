"""The model stage as one call: MSA file -> ``features.npz`` (what ``rnamsm features`` runs).

:func:`run_features` reads and checks the MSA (and the query, when given), reduces deep MSAs, loads the
checkpoint, computes the features (windowed for long MSAs) and writes them with their provenance
through :mod:`rnamsm.formats.features`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch

from rnamsm import __version__
from rnamsm.atomic import check_output_targets
from rnamsm.checksums import file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.formats import features as features_file
from rnamsm.formats import query as query_format
from rnamsm.model.checkpoint import load_checkpoint
from rnamsm.model.depth import reduce_depth
from rnamsm.model.device import PRECISIONS, cuda_visible_devices, resolve_device
from rnamsm.model.extract import compute_features
from rnamsm.model.msa import check_query, read_msa
from rnamsm.model.settings import ModelSettings


def _quiet(_message: str) -> None:
    """Default ``log`` of :func:`run_features`: say nothing."""


def run_features(msa_path: str | os.PathLike[str], out: str | os.PathLike[str],
                 settings: ModelSettings | None = None, query: str | os.PathLike[str] | None = None,
                 log: Callable[[str], None] = _quiet) -> features_file.FeaturesRecord:
    """Run RNA-MSM on the MSA at ``msa_path`` (query first) and write ``features.npz`` to ``out``; return it.

    ``query``: a one-record FASTA; the MSA is refused unless its first row is that query. ``log`` gets
    one line per step worth telling (device, depth reduction, untrained weights, windows, output).
    ``settings`` default to the workflow's defaults (:class:`ModelSettings`).
    """
    settings = settings or ModelSettings()
    check_output_targets(out)
    device = resolve_device(settings.device)
    threads = torch.get_num_threads()  # the CPU sums depend on it: recorded (docs/model.md, "Determinism")
    log(f"device={device} CUDA_VISIBLE_DEVICES={cuda_visible_devices()} precision={settings.precision} "
        f"threads={threads}")
    msa = read_msa(msa_path)
    if query is not None:
        check_query(msa, query_format.read(query).sequence, str(query))
    reduction = reduce_depth(msa, settings.max_seqs, settings.depth_method)
    if reduction.method != "none":
        detail = (f"{reduction.survivors} passed the 90% identity filter, topped up in file order; hhfilter is "
                  "not on PATH, so features differ from the official ones" if reduction.method == "identity-filter"
                  else "official hhfilter -id 90 -diff N call")
        log(f"{msa_path}: {reduction.input_depth} rows > max_seqs {settings.max_seqs}: kept {reduction.msa.depth} "
            f"with {reduction.method} ({detail})")
    model = load_checkpoint(settings.checkpoint, device=str(device), dtype=PRECISIONS[settings.precision],
                            hf_eps_parity=settings.hf_eps_parity)
    if not 0 <= settings.window_overlap < model.config.max_length:
        raise RnamsmError(f"window_overlap (--window-overlap) must be between 0 and {model.config.max_length - 1} "
                          f"(the window is {model.config.max_length} columns), got {settings.window_overlap}")
    info = model.checkpoint
    if info.untrained:
        log(f"{settings.checkpoint}: randomly initialised weights (demo only; the features carry no biology)")
    features = compute_features(model, reduction.msa, window_overlap=settings.window_overlap)
    if len(features.windows) > 1:
        uncovered = int((~features.coverage).sum())
        log(f"{msa_path}: {reduction.msa.length} columns > {model.config.max_length}: "
            f"{len(features.windows)} overlapping windows, {uncovered} pairs share no window")
    record = features_file.FeaturesRecord(
        sequence=reduction.msa.query,
        embedding=features.embedding,
        attention_maps=features.attention_maps,
        contacts=features.contacts,
        attention_coverage=features.coverage,
        windows=features.windows,
        provenance=features_file.Provenance(
            checkpoint_sha256=info.sha256,
            checkpoint_format=info.format,
            weights_untrained=info.untrained,
            msa_depth=reduction.msa.depth,
            msa_input_depth=reduction.input_depth,
            msa_sha256=file_sha256(msa_path),
            depth_reduction=reduction.method,
            depth_filter_survivors=reduction.survivors,
            device=str(device),
            precision=settings.precision,
            threads=threads,
            num_layers=model.config.num_layers,
            num_heads=model.config.num_heads,
            rnamsm_version=__version__,
        ),
    )
    features_file.write(record, out)
    log(f"wrote {out} (L={reduction.msa.length}, depth={reduction.msa.depth}, "
        f"{model.config.num_layers * model.config.num_heads} maps)")
    return record

