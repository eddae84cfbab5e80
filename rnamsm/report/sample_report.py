"""The per-sample HTML report (``rnamsm report``)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnamsm import STAGE_VERSIONS, __version__
from rnamsm.checksums import file_sha256
from rnamsm.formats.structure import dbn_to_pairs
from rnamsm.report import figures
from rnamsm.report.html import generation_time, write_page
from rnamsm.report.pairs import Pair, agreements
from rnamsm.report.qc import qc_flags
from rnamsm.report.sample import SampleData, load_sample
from rnamsm.report.settings import ReportSettings

#: Benchmark TSV columns shown in the provenance block.
BENCHMARK_COLUMNS: tuple[str, ...] = ("s", "h:m:s", "max_rss", "cpu_time", "mean_load")
#: Fields of the ``msa_stats.json`` records shown in tables.
ROUND_KEYS: tuple[str, ...] = ("round", "method", "hits", "depth", "neff", "seconds")
HIT_KEYS: tuple[str, ...] = ("name", "accession", "description", "start", "end", "strand", "evalue", "round",
                             "included")
DATABASE_KEYS: tuple[str, ...] = ("path", "records", "residues", "sha256")
#: Final-MSA alignments made by a profile HMM alone (no covariance model placed the rows): flagged.
HMM_ALIGNMENTS = frozenset({"nhmmer", "nhmmer-profile"})
#: CSS class of each alignment symbol (anything else is ``other``).
RESIDUE_CLASSES: dict[str, str] = {"A": "nt-a", "C": "nt-c", "G": "nt-g", "U": "nt-u", "T": "nt-u", "-": "gap"}


def residue_runs(row: str) -> list[tuple[str, str]]:
    """Split an aligned row into runs of one colour class: ``[(css class, text), ...]``."""
    runs: list[tuple[str, str]] = []
    for symbol in row:
        css = RESIDUE_CLASSES.get(symbol.upper(), "other")
        if runs and runs[-1][0] == css:
            runs[-1] = (css, runs[-1][1] + symbol)
        else:
            runs.append((css, symbol))
    return runs


def _records(records: Sequence[Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """The ``keys`` fields of each record, as the template's table rows."""
    return [{key: getattr(record, key) for key in keys} for record in records]


def _pairs_matrix(length: int, pairs: set[Pair]) -> np.ndarray:
    matrix = np.zeros((length, length))  # (L, L)
    for i, j in pairs:
        matrix[i - 1, j - 1] = matrix[j - 1, i - 1] = 1.0
    return matrix


def _predictions(data: SampleData, length: int) -> dict[str, set[Pair]]:
    """Pair sets of each available predictor; problems go to ``data.notes``."""
    predictions: dict[str, set[Pair]] = {}
    if data.structure is not None:
        if len(data.structure.sequence) == length:
            predictions["RNA-MSM"] = set(data.structure.pairs)
        else:
            data.notes["RNA-MSM"] = (f"not available: structure/ss.json: the sequence has "
                                     f"{len(data.structure.sequence)} nt, the query {length}")
    if data.baselines is not None:
        for name, key, dbn in (("RNAfold MFE", "rnafold.dbn", data.baselines.rnafold.dbn),
                               ("RNAalifold", "rnaalifold.dbn", data.baselines.rnaalifold.dbn)):
            if len(dbn) == length:
                predictions[name] = dbn_to_pairs(dbn, key)  # checked when baselines.json was read
            else:
                data.notes[name] = (f"not available: baselines/baselines.json {key}: "
                                    f"expected a dot-bracket of length {length}")
    return predictions


def _structure_context(data: SampleData) -> dict[str, Any] | None:
    length, sequence = data.length, data.sequence
    if length is None or sequence is None:
        return None
    predictions = _predictions(data, length)
    msm = predictions.get("RNA-MSM")
    alifold = predictions.get("RNAalifold")
    probability = "Upper triangle: probability; lower triangle: the predicted pairs (orange)."
    maps = [
        ("RNA-MSM base-pair probability", data.structure_prob, msm, ("structure_prob",), probability),
        ("RNAfold base-pair probability (BPP)", data.rnafold_bpp, predictions.get("RNAfold MFE"),
         ("rnafold_bpp",), probability.replace("predicted pairs", "MFE pairs")),
        ("RNAalifold consensus", None if alifold is None else _pairs_matrix(length, alifold), alifold,
         ("RNAalifold", "baselines"),
         "Consensus pairs mapped to the query: black above the diagonal, orange below."),
    ]
    panels = [
        {"title": title, "caption": caption,
         "uri": figures.pair_map(matrix, pairs or set()) if matrix is not None else None,
         "note": next((data.notes[key] for key in keys if key in data.notes), "not available")}
        for title, matrix, pairs, keys, caption in maps
    ]
    return {
        "maps": panels,
        "msm": None if data.structure is None else {
            "dbn": data.structure.dbn, "pairs": len(msm) if msm is not None else None,
            "threshold": data.structure.threshold,
        },
        "rnafold": data.baselines.rnafold if data.baselines else None,
        "rnaalifold": data.baselines.rnaalifold if data.baselines else None,
        "arcs": figures.arc_diagram(length, msm or set(), predictions.get("RNAfold MFE", set()))
        if msm is not None or "RNAfold MFE" in predictions else None,
        "drawing": figures.structure_drawing(sequence, msm) if msm is not None else None,
        "agreement": agreements(predictions) if len(predictions) > 1 else [],
        "predictors": list(predictions),
    }


def _msa_context(data: SampleData, settings: ReportSettings) -> dict[str, Any] | None:
    stats = data.msa_stats
    if stats is None:
        return None
    length, neff = stats.query_length, stats.neff
    return {
        "depth": stats.depth,
        "neff": neff,
        "nf": neff / math.sqrt(length) if length > 0 else None,
        "rounds": _records(stats.rounds, ROUND_KEYS),
        "coverage": figures.coverage_plot(stats.coverage) if stats.coverage else None,
        "identity": figures.identity_histogram(stats.identity_to_query) if stats.identity_to_query else None,
        "rows": len(stats.identity_to_query),
        "warnings": stats.warnings,
        "hits": _records(stats.hits[: settings.max_hits], HIT_KEYS),
        "hits_total": len(stats.hits),
        "source": stats.source,
        "final": {"round": stats.final_round, "alignment": stats.final_alignment, "reason": stats.final_reason,
                  "hmm_only": stats.final_alignment in HMM_ALIGNMENTS},
        "alignment": None if data.alignment is None else [
            {"name": name, "runs": residue_runs(row)} for name, row in data.alignment
        ],
    }


def _provenance(data: SampleData, config: dict[str, Any]) -> dict[str, Any]:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    stats = data.msa_stats
    return {
        "version": __version__,
        "stage_versions": sorted(STAGE_VERSIONS.items()),
        "config": json.dumps(config, sort_keys=True, indent=2) if config else None,
        "config_sha256": hashlib.sha256(canonical.encode("utf-8")).hexdigest() if config else None,
        "search_version": stats.rnamsm_version if stats else None,
        "search_parameters": json.dumps(stats.parameters, sort_keys=True, indent=2)
        if stats and stats.parameters else None,
        "features": data.features,
        "head_sha256": data.structure.head_sha256 if data.structure else None,
        "databases": _records(stats.databases, DATABASE_KEYS) if stats else [],
        "search_space": stats.search_space if stats else None,
        "prepared": stats.prepared_database if stats else None,
        "timings": sorted(stats.timings.items()) if stats else [],
        "benchmarks": [(rule, [row.get(column, "") for column in BENCHMARK_COLUMNS])
                       for rule, row in sorted(data.benchmarks.items())],
        "benchmark_columns": BENCHMARK_COLUMNS,
    }


def _output_files(directory: Path, out: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The regular files of the sample folder (except the report and hidden files), linked relative to ``out``.

    Symbolic links are never followed (a link to a file outside the folder would show that file's size
    and checksum): they are returned by name as the second item, for the report to say so.
    """
    listing, links = [], []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts) or path.resolve() == out.resolve():
            continue
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            links.append(relative.as_posix())
        if not stat.S_ISREG(mode):
            continue
        listing.append({
            "name": relative.as_posix(),
            "href": urllib.parse.quote(Path(os.path.relpath(path, out.parent)).as_posix()),
            "size": path.stat().st_size,
            "sha256": file_sha256(path),
        })
    return listing, links


def build_context(data: SampleData, out: Path, config: dict[str, Any], settings: ReportSettings,
                  description: str) -> dict[str, Any]:
    """Everything the ``sample.html`` template shows; ``description`` is the sample sheet's."""
    rsa = data.rsa
    files, skipped_links = _output_files(data.files.directory, out)
    return {
        "title": settings.title or f"RNA-MSM report: {data.sample}",
        "sample": data.sample,
        "sample_description": description,
        "query": data.query,
        "sequence": data.sequence,
        "length": data.length,
        "untrained": data.weights_untrained,
        "flags": qc_flags(data, settings),
        "thresholds": settings,
        "msa": _msa_context(data, settings),
        "alignment_file": data.alignment_file.name if data.alignment_file else None,
        "structure": _structure_context(data),
        "rsa": None if rsa is None else {
            "plot": figures.rsa_profile(rsa.rsa.tolist(), list(rsa.sequence)),
            "rows": list(zip(range(1, len(rsa.rsa) + 1), rsa.sequence, rsa.asa.tolist(), rsa.rsa.tolist(),
                             strict=True)),
            "mean": float(np.mean(rsa.rsa)),
        },
        "provenance": _provenance(data, config),
        "files": files,
        "skipped_links": skipped_links,
        "notes": data.notes,
    }


def write_report(sample_dir: Path, out: Path, config: dict[str, Any], settings: ReportSettings,
                 benchmarks_dir: Path | None, description: str) -> None:
    """Read a sample folder and write its self-contained HTML report to ``out`` (``description``: the sheet's)."""
    generated = generation_time()
    data = load_sample(sample_dir, benchmarks_dir, settings.alignment_rows)
    write_page("sample.html", out, build_context(data, out, config, settings, description), generated)
