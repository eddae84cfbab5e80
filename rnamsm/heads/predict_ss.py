"""Base pairs for one sample: features + SS head -> bpseq, ct, dbn, prob.npy and ss.json."""

from __future__ import annotations

from pathlib import Path

from rnamsm.atomic import check_output_targets, write_files
from rnamsm.errors import RnamsmError
from rnamsm.formats import features as features_file
from rnamsm.formats.ss_summary import SsSummary
from rnamsm.formats.structure import Structure, pairs_to_dbn, prob_npy_bytes, structure_texts
from rnamsm.heads.head_file import Head, load_head
from rnamsm.heads.postprocess import OFFICIAL_THRESHOLD, PairCallOptions, call_pairs
from rnamsm.heads.settings import HeadSettings
from rnamsm.heads.ss_resnet import predict_ss_probabilities
from rnamsm.layout import StructureFiles, check_sample_id
from rnamsm.model.device import resolve_device


def ss_targets(out_dir: Path, sample_id: str) -> tuple[Path, ...]:
    """The five files of a sample's predict-ss set in ``out_dir``, checked to be writable."""
    check_sample_id(sample_id)
    files = StructureFiles(Path(out_dir), sample_id)
    targets = (files.bpseq, files.ct, files.dbn, files.prob, files.summary)
    check_output_targets(*targets)
    return targets


def ss_files(features: features_file.FeaturesRecord, head: Head, head_name: str, out_dir: Path, sample_id: str,
             settings: HeadSettings, device: str, source: str) -> tuple[dict[Path, str | bytes], SsSummary]:
    """The SS head on in-memory ``features`` -> ``(the five files' contents by path, what ss.json holds)``.

    ``source`` names the features (a file, or a sample) in errors, ``head_name`` the head.
    """
    maps = features_file.needed(features.attention_maps, "attention_maps", source, "the SS head")
    model = head.model.to(resolve_device(device))
    try:
        prob = predict_ss_probabilities(model, features.sequence, maps)  # (L, L)
    except ValueError as error:
        raise RnamsmError(f"{source}: {error} (head {head_name})") from None
    threshold = settings.threshold
    if threshold is None:
        threshold = float(head.metadata.get("threshold", OFFICIAL_THRESHOLD))
    options = PairCallOptions(threshold, settings.canonical_only, settings.min_hairpin)
    pairs = call_pairs(prob, features.sequence, options)
    structure = Structure(sample_id, features.sequence, set(pairs))
    summary = SsSummary(
        sequence=features.sequence,
        dbn=pairs_to_dbn(pairs, len(features.sequence)),
        pairs=tuple(pairs),
        threshold=threshold,
        canonical_only=options.canonical_only,
        min_hairpin=options.min_hairpin,
        head_sha256=head.sha256,
        weights_untrained=head.untrained or features.provenance.weights_untrained,
    )
    files = StructureFiles(Path(out_dir), sample_id)
    contents: dict[Path, str | bytes] = {
        **structure_texts(structure, out_dir),
        files.prob: prob_npy_bytes(prob),
        files.summary: summary.to_json(),
    }
    return contents, summary


def run_predict_ss(
    features_path: Path,
    head_path: Path,
    out_dir: Path,
    sample_id: str,
    settings: HeadSettings | None = None,
    device: str = "auto",
) -> SsSummary:
    """Predict base pairs for one sample and write its structure files; returns what ss.json holds.

    ``settings``: the ``heads`` settings (default: the config schema's); their ``threshold`` ``None``
    uses the head's own (a trained head records one), else 0.516.
    """
    ss_targets(out_dir, sample_id)
    features = features_file.read(features_path)
    head = load_head(head_path, "ss")
    contents, summary = ss_files(features, head, str(head_path), out_dir, sample_id, settings or HeadSettings(),
                                 device, str(features_path))
    write_files(contents)  # one set: all five files or none
    return summary
