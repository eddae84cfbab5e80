"""Scoring predicted structures (or RSA tables) against references: ``run_evaluate`` and its parts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from rnamsm.atomic import check_output_targets, write_files
from rnamsm.errors import RnamsmError
from rnamsm.evaluation.rsa_metrics import composition_means, composition_prediction, summarise_rsa
from rnamsm.evaluation.structure_metrics import VARIANTS, score_sequence, scores, summarise
from rnamsm.formats import rsa_table
from rnamsm.formats.structure import read_structure

Task = Literal["auto", "ss", "rsa"]

STRUCTURE_SUFFIXES = (".bpseq", ".ct", ".dbn", ".db", ".dot")
RSA_SUFFIXES = (".rsa.tsv", ".txt")


def file_id(path: Path, suffixes: tuple[str, ...]) -> str:
    """The id of a file: its name without the extension of its kind (``16s_A.fulgidus_domain2.ct`` ->
    ``16s_A.fulgidus_domain2``; ``2DRB_1.rsa.tsv`` -> ``2DRB_1``), else without its last suffix."""
    name = path.name
    suffix = next((suffix for suffix in suffixes if name.lower().endswith(suffix)), None)
    return name[: -len(suffix)] if suffix else path.stem


def collect(path: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """A file, or the files with one of ``suffixes`` in a folder, keyed by id (duplicates refused)."""
    if path.is_file():
        return {file_id(path, suffixes): path}
    if not path.is_dir():
        raise RnamsmError(f"{path}: no such file or folder")
    found: dict[str, Path] = {}
    for candidate in sorted(path.iterdir()):
        if candidate.is_file() and candidate.name.lower().endswith(suffixes):
            key = file_id(candidate, suffixes)
            if key in found:
                raise RnamsmError(f"{path}: two files for id '{key}': {found[key].name} and {candidate.name}")
            found[key] = candidate
    if not found:
        raise RnamsmError(f"{path}: no files ending in {', '.join(suffixes)}")
    return found


def _matched(pred: dict[str, Path], ref: dict[str, Path], pred_arg: Path,
             ref_arg: Path) -> list[tuple[str, Path, Path]]:
    """``(id, predicted file, reference file)`` per predicted file, sorted by id.

    Two single files pair whatever their names. Otherwise a prediction pairs with the reference of the
    same id; one whose id ends in a predictor tag (``2DRB_1.rnafold``) pairs with the reference of the id
    without it when no other prediction claims that reference. Any prediction left is one error listing them.
    """
    if pred_arg.is_file() and ref_arg.is_file():
        return [(key, pred[key], ref_arg) for key in pred]
    pairs = {key: (pred[key], ref[key]) for key in pred if key in ref}
    untagged: dict[str, list[str]] = {}
    unpaired = []
    for key in sorted(set(pred) - set(pairs)):
        stem, dot, _ = key.rpartition(".")
        if dot:
            untagged.setdefault(stem, []).append(key)
        else:
            unpaired.append(key)
    for stem, keys in untagged.items():
        if stem in ref and stem not in pairs and len(keys) == 1:
            pairs[stem] = (pred[keys[0]], ref[stem])
        else:
            unpaired.extend(keys)
    if unpaired:
        names = ", ".join(sorted(pred[key].name for key in unpaired))
        raise RnamsmError(
            f"{ref_arg}: no reference for {len(unpaired)} predicted file(s): {names} (a file's id is its name "
            "without the extension; a predictor tag such as '.rnafold' is dropped only when that pairs one "
            "prediction with one reference)"
        )
    return [(key, *pairs[key]) for key in sorted(pairs)]


def evaluate_structures(pred_arg: Path, ref_arg: Path) -> tuple[dict[str, object], list[dict[str, object]]]:
    """Score every predicted structure against the reference of the same id -> (summary, per-sequence rows)."""
    pred, ref = collect(pred_arg, STRUCTURE_SUFFIXES), collect(ref_arg, STRUCTURE_SUFFIXES)
    results, rows = [], []
    for key, pred_path, ref_path in _matched(pred, ref, pred_arg, ref_arg):
        reference = read_structure(ref_path, name=key)
        result = score_sequence(read_structure(pred_path, name=key), reference)
        results.append(result)
        row: dict[str, object] = {"id": key, "length": result.length}
        for variant in VARIANTS:
            prefix = "" if variant == "all" else f"{variant}_"
            counts = result.counts[variant]
            row.update({f"{prefix}{name}": value for name, value in scores(counts).items()})
            row.update({f"{prefix}tp": counts.tp, f"{prefix}fp": counts.fp, f"{prefix}fn": counts.fn})
        rows.append(row)
    return summarise(results), rows


def evaluate_rsa(
    pred_arg: Path, ref_arg: Path, composition_from: Path | None
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """Per-chain PCC/MAE of predicted RSA tables, plus the composition baseline when training data is given."""
    pred, ref = collect(pred_arg, RSA_SUFFIXES), collect(ref_arg, RSA_SUFFIXES)
    pairs = _matched(pred, ref, pred_arg, ref_arg)
    references = {key: rsa_table.read(ref_path, name=key) for key, _, ref_path in pairs}
    predicted = [rsa_table.read(pred_path, name=key) for key, pred_path, _ in pairs]
    summary, results = summarise_rsa(predicted, references)
    rows = [{"id": r.name, "valid": r.valid, "pcc": r.pcc, "mae": r.mae} for r in results]
    if composition_from is not None:
        training = [rsa_table.read(path) for path in collect(composition_from, RSA_SUFFIXES).values()]
        means = composition_means(training)
        baseline, _ = summarise_rsa([composition_prediction(chain, means) for chain in references.values()],
                                    references)
        summary["composition_baseline"] = {**baseline, "means": means}
    return summary, rows


def format_cell(value: object) -> str:
    """A summary or table value as text: NA for a missing value, floats with 6 decimals."""
    if value is None:
        return "NA"
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def tsv_path(json_path: Path) -> Path:
    """The per-sequence TSV written beside ``OUT.json``: ``OUT.per_sequence.tsv``."""
    return json_path.with_name(json_path.name.removesuffix(".json") + ".per_sequence.tsv")


def write_outputs(json_path: Path, summary: dict[str, object], rows: list[dict[str, object]]) -> Path:
    """Write the summary JSON and, beside it, ``<stem>.per_sequence.tsv``, as one set (both or neither)."""
    table = tsv_path(json_path)
    check_output_targets(json_path, table)
    columns = list(rows[0]) if rows else ["id"]
    lines = ["\t".join(columns)] + ["\t".join(format_cell(row[column]) for column in columns) for row in rows]
    write_files({json_path: json.dumps(summary, indent=2, sort_keys=True) + "\n", table: "\n".join(lines) + "\n"})
    return table


def resolve_task(task: Task, pred_arg: Path) -> Literal["ss", "rsa"]:
    """``task``, or for ``auto`` the task the predictions' file names say (RSA tables end in .rsa.tsv or .txt)."""
    if task != "auto":
        return task
    probe = pred_arg if pred_arg.is_file() else next(iter(sorted(pred_arg.glob("*"))), pred_arg)
    return "rsa" if probe.name.lower().endswith(RSA_SUFFIXES) else "ss"


def run_evaluate(pred_arg: Path, ref_arg: Path, task: Task = "auto", json_path: Path | None = None,
                 composition_from: Path | None = None) -> tuple[str, dict[str, object], list[dict[str, object]]]:
    """Score ``pred_arg`` against ``ref_arg`` -> ``(task, summary, per-sequence rows)``.

    With ``json_path`` the summary is written there and the rows beside it (:func:`write_outputs`);
    ``composition_from`` (RSA) adds the composition-only baseline fitted on those training references.
    """
    if json_path is not None:
        check_output_targets(json_path, tsv_path(json_path))
    resolved = resolve_task(task, pred_arg)
    if resolved == "rsa":
        summary, rows = evaluate_rsa(pred_arg, ref_arg, composition_from)
    else:
        summary, rows = evaluate_structures(pred_arg, ref_arg)
    if json_path is not None:
        write_outputs(json_path, summary, rows)
    return resolved, summary, rows
