"""The model stage as calls: load the checkpoint once, then MSA file -> ``features.npz`` per sample.

:func:`load_model` resolves the device and loads the checkpoint (:class:`LoadedModel`);
:func:`features_record` reads and checks one MSA (and its query, when given), reduces a deep MSA and
computes its features (windowed for long MSAs) with their provenance; :func:`run_features` (what
``rnamsm features`` runs) is the two followed by :func:`rnamsm.formats.features.write`. The batch
runner (:mod:`rnamsm.heads.batch`) calls the same two functions for many samples with one model.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field

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
from rnamsm.model.extract import Features, compute_features
from rnamsm.model.msa import Msa, check_query, read_msa
from rnamsm.model.rnamsm import RnaMsm
from rnamsm.model.settings import KEEPABLE, ModelSettings


def _quiet(_message: str) -> None:
    """Default ``log`` of the functions here: say nothing."""


@dataclass
class LoadedModel:
    """RNA-MSM loaded once with its settings, for any number of samples (:func:`features_record`)."""

    model: RnaMsm
    settings: ModelSettings
    device: torch.device
    #: CPU threads of the forward pass (the CPU sums depend on it: recorded in the provenance).
    threads: int
    #: A CPU copy of the model, made on the first sample too big for the GPU.
    cpu_model: RnaMsm | None = field(default=None, repr=False)

    def on_cpu(self) -> RnaMsm:
        """The model on the CPU (the loaded one when it already is)."""
        if self.device.type == "cpu":
            return self.model
        if self.cpu_model is None:
            self.cpu_model = load_checkpoint(self.settings.checkpoint, device="cpu",
                                             dtype=PRECISIONS[self.settings.precision],
                                             hf_eps_parity=self.settings.hf_eps_parity)
        return self.cpu_model


def load_model(settings: ModelSettings | None = None, log: Callable[[str], None] = _quiet) -> LoadedModel:
    """Resolve the device and load the checkpoint of ``settings`` (default: the workflow's defaults).

    ``log`` gets the device line and, for random demo weights, a warning. A ``window_overlap`` the
    model's window cannot take is one :class:`RnamsmError`.
    """
    settings = settings or ModelSettings()
    device = resolve_device(settings.device)
    threads = torch.get_num_threads()  # the CPU sums depend on it: recorded (docs/model.md, "Determinism")
    log(f"device={device} CUDA_VISIBLE_DEVICES={cuda_visible_devices()} precision={settings.precision} "
        f"threads={threads}")
    model = load_checkpoint(settings.checkpoint, device=str(device), dtype=PRECISIONS[settings.precision],
                            hf_eps_parity=settings.hf_eps_parity)
    if not 0 <= settings.window_overlap < model.config.max_length:
        raise RnamsmError(f"window_overlap (--window-overlap) must be between 0 and {model.config.max_length - 1} "
                          f"(the window is {model.config.max_length} columns), got {settings.window_overlap}")
    if model.checkpoint.untrained:
        log(f"{settings.checkpoint}: randomly initialised weights (demo only; the features carry no biology)")
    return LoadedModel(model, settings, device, threads)


def _compute(loaded: LoadedModel, msa: Msa, msa_path: str | os.PathLike[str],
             log: Callable[[str], None]) -> tuple[Features, str, str | None]:
    """Features of ``msa`` -> ``(features, device used, fallback note)``: a GPU out of memory retries on the CPU."""
    try:
        return compute_features(loaded.model, msa, window_overlap=loaded.settings.window_overlap), \
            str(loaded.device), None
    except torch.OutOfMemoryError:
        if loaded.device.type == "cpu":
            raise
    torch.cuda.empty_cache()
    note = f"{loaded.device} out of memory (L={msa.length}, depth={msa.depth}): ran on cpu"
    log(f"{msa_path}: {note}")
    return compute_features(loaded.on_cpu(), msa, window_overlap=loaded.settings.window_overlap), "cpu", note


def features_record(loaded: LoadedModel, msa_path: str | os.PathLike[str],
                    query: str | os.PathLike[str] | None = None,
                    log: Callable[[str], None] = _quiet) -> features_file.FeaturesRecord:
    """Run the loaded RNA-MSM on the MSA at ``msa_path`` (query first) -> its features with provenance.

    ``query``: a one-record FASTA; the MSA is refused unless its first row is that query. One MSA per
    forward (padding the depth would change results). A sample too big for the GPU runs on the CPU,
    recorded in the provenance (``device``, ``device_fallback``); nothing is ever truncated.
    """
    settings = loaded.settings
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
    model = loaded.model
    features, device, fallback = _compute(loaded, reduction.msa, msa_path, log)
    if len(features.windows) > 1:
        uncovered = int((~features.coverage).sum())
        log(f"{msa_path}: {reduction.msa.length} columns > {model.config.max_length}: "
            f"{len(features.windows)} overlapping windows, {uncovered} pairs share no window")
    info = model.checkpoint
    return features_file.FeaturesRecord(
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
            device=device,
            device_fallback=fallback,
            precision=settings.precision,
            threads=loaded.threads,
            num_layers=model.config.num_layers,
            num_heads=model.config.num_heads,
            rnamsm_version=__version__,
        ),
    )


def write_features(record: features_file.FeaturesRecord, out: str | os.PathLike[str], settings: ModelSettings,
                   log: Callable[[str], None] = _quiet) -> None:
    """Write the arrays of ``record`` that ``settings.keep`` names to ``out`` (``features.npz``), maps as
    ``settings.maps_dtype``, and log what was written."""
    dropped = {name: None for name in KEEPABLE if name not in settings.keep}
    features_file.write(dataclasses.replace(record, **dropped), out, settings.maps_dtype)
    maps = record.attention_maps.shape[0] if record.attention_maps is not None else 0
    kept = ", ".join(name for name in KEEPABLE if name in settings.keep) or "no arrays"
    log(f"wrote {out} (L={len(record.sequence)}, depth={record.provenance.msa_depth}, {maps} maps; kept {kept})")


def run_features(msa_path: str | os.PathLike[str], out: str | os.PathLike[str],
                 settings: ModelSettings | None = None, query: str | os.PathLike[str] | None = None,
                 log: Callable[[str], None] = _quiet) -> features_file.FeaturesRecord:
    """Run RNA-MSM on the MSA at ``msa_path`` (query first) and write ``features.npz`` to ``out``; return it.

    ``query``: a one-record FASTA; the MSA is refused unless its first row is that query. ``log`` gets
    one line per step worth telling (device, depth reduction, untrained weights, windows, output).
    ``settings`` default to the workflow's defaults (:class:`ModelSettings`; ``keep``: embedding and contacts).
    """
    check_output_targets(out)
    loaded = load_model(settings, log)
    record = features_record(loaded, msa_path, query, log)
    write_features(record, out, loaded.settings, log)
    return record
