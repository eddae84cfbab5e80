"""``rnamsm import-msa``: a user's alignment -> the same query-anchored MSA files a search writes.

The alignment is read by :func:`rnamsm.formats.msa.read` (any format it reads). The query's row is the
one named ``record`` when given, else the first row whose residues are the query's (in the search
alphabet). A query that is not in the alignment is placed in it when ``hmmsearch`` finds it with a
profile HMM built from the alignment (E-value at most :data:`PLACEMENT_MAX_EVALUE`), else refused:
aligned with Infernal ``cmalign`` to a covariance model built from the alignment and its ``SS_cons``
(``placement: cmalign``, the default), or with pyhmmer ``hmmalign`` to the profile HMM (``placement:
hmmalign``, and always for an alignment without ``SS_cons`` pairs).
The query row goes first and only its residue columns stay as match columns (other rows' residues
elsewhere become inserts, dropped from ``.a2m_msa2``), as the official RNA-MSM pipeline does. The
search's filters and depth cap (``filter``) and Neff (``neff``) settings apply; ``msa_stats.json``
records the source file (``source``: path, SHA-256, how the query was found).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import pyhmmer
from pyhmmer.easel import Alphabet, TextMSA, TextSequence
from pyhmmer.plan7 import HMM, Background, Builder

from rnamsm import __version__
from rnamsm.atomic import check_output_targets, write_files
from rnamsm.checksums import file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.formats import msa as msa_format
from rnamsm.formats.msa import Alignment, expand_inserts, match_columns
from rnamsm.formats.msa_stats import MsaSource
from rnamsm.formats.query import Query, normalise_sequence, search_sequence
from rnamsm.formats.structure import dbn_to_pairs, nested_dbn
from rnamsm.homology import infernal_cli
from rnamsm.homology import query as query_mod
from rnamsm.homology.database import DatabaseSummary
from rnamsm.homology.filters import filter_rows
from rnamsm.homology.neff import coverage, encode, identity_to_query, neff
from rnamsm.homology.pipeline import read_query
from rnamsm.homology.realign import cm_align
from rnamsm.homology.result import Round, SearchResult
from rnamsm.homology.settings import SearchSettings
from rnamsm.homology.stats import build_stats
from rnamsm.layout import MsaFiles
from rnamsm.settings import settings_to_mapping

#: Largest hmmsearch E-value (one target) at which an absent query counts as placed in the alignment.
PLACEMENT_MAX_EVALUE = 1e-3
#: How each placement program aligned an absent query (for the warning).
PLACED_WITH = {
    "cmalign": "cmalign against a covariance model built from the alignment and its SS_cons",
    "hmmalign": "hmmalign against a profile HMM built from the alignment",
}
_GAPS = "-."


@dataclass(frozen=True)
class ImportedRow:
    """One row of the imported alignment, re-anchored on the query's columns."""

    name: str
    a3m: str


def _residues(row: str) -> str:
    """A row's residues (match and insert), in the search alphabet."""
    return search_sequence(normalise_sequence("".join(char for char in row if char not in "-.*")))


def _profile(alignment: Alignment) -> HMM:
    """A profile HMM with one match state per match column of ``alignment``."""
    alphabet = Alphabet.rna()
    expanded, rf = expand_inserts(alignment.rows, alignment.length)
    msa = TextMSA(
        name="import",
        sequences=[TextSequence(name=name, sequence=row.upper().replace(".", "-"))
                   for name, row in zip(alignment.names, expanded, strict=True)],
    )
    msa.reference = rf
    hmm, _profile_, _optimized = Builder(alphabet, architecture="hand").build_msa(
        msa.digitize(alphabet), Background(alphabet)
    )
    return hmm


def _cm_structure(alignment: Alignment) -> str:
    """The nested part of the alignment's ``SS_cons`` on its match columns (cmbuild's ``SS_cons``; empty when
    it has no pairs)."""
    if not alignment.structure.strip(".-_,:~"):
        return ""
    pairs = dbn_to_pairs(alignment.structure, f"{alignment.source} SS_cons")
    return nested_dbn(pairs, alignment.length) if pairs else ""


def place_query(alignment: Alignment, query: Query, method: Literal["cmalign", "hmmalign"]) -> tuple[str, str]:
    """The query as an A3M row of ``alignment``'s match columns and the program that aligned it.

    Refused when ``hmmsearch`` (``--max``: no acceleration filters) does not find the query with the
    alignment's profile HMM. ``cmalign``
    aligns it to a CM of the alignment and its ``SS_cons`` (:func:`rnamsm.homology.realign.cm_align`);
    an alignment without ``SS_cons`` pairs, or ``method`` ``hmmalign``, uses ``hmmalign`` to the profile HMM.
    """
    hmm = _profile(alignment)
    sequence = TextSequence(name=query.id, sequence=query.sequence).digitize(Alphabet.rna())
    # HMMER's --max: no acceleration filters (they dropped true members of tRNA.sto; one target needs no speed)
    evalues = [hit.evalue for hits in pyhmmer.hmmer.hmmsearch([hmm], [sequence], Z=1, bias_filter=False, F1=1.0,
                                                               F2=1.0, F3=1.0) for hit in hits]
    if not evalues or min(evalues) > PLACEMENT_MAX_EVALUE:
        best = f"best E-value {min(evalues):.2g}" if evalues else "no hit"
        raise RnamsmError(
            f"{alignment.source}: query {query.id!r} is not in the alignment and cannot be placed in it "
            f"(hmmsearch with the alignment's profile: {best}, needs <= {PLACEMENT_MAX_EVALUE:g}); "
            "is the alignment of this query's family?"
        )
    structure = _cm_structure(alignment) if method == "cmalign" else ""
    if structure:
        infernal_cli.check_programs(("cmbuild", "cmalign"))
        with tempfile.TemporaryDirectory(prefix="rnamsm-place-") as work:
            (row,) = cm_align(replace(alignment, structure=structure), [(query.id, query.sequence)],
                              Path(work), threads=1, prefix="place")
        return row, "cmalign"
    placed = pyhmmer.hmmer.hmmalign(hmm, [sequence], all_consensus_cols=True)
    row, rf = placed.alignment[0], placed.reference
    return "".join(
        ("-" if char in _GAPS else char.upper()) if column == "x" else ("" if char in _GAPS else char.lower())
        for char, column in zip(row, rf, strict=True)
    ), "hmmalign"


def _query_row(alignment: Alignment, query: Query, record: str | None) -> tuple[int, str]:
    """The index of the query's row and how it was found (``record`` or ``sequence``); -1 when absent."""
    if record is not None:
        if record not in alignment.names:
            raise RnamsmError(f"{alignment.source}: no row named {record!r}")
        index = alignment.names.index(record)
        if _residues(alignment.rows[index]) != query.sequence:
            raise RnamsmError(f"{alignment.source}: row {record!r} does not hold the query {query.id!r}'s residues")
        return index, "record"
    for index, row in enumerate(alignment.rows):
        if _residues(row) == query.sequence:
            return index, "sequence"
    return -1, "absent"


def reanchor(names: Sequence[str], rows: Sequence[str], index: int) -> list[tuple[str, str]]:
    """A3M rows with row ``index`` first and its residue columns as the only match columns.

    Other rows keep their residues: upper case in the query's columns, lower case (inserts) elsewhere.
    """
    expanded, _rf = expand_inserts(rows, len(match_columns(rows[0])))
    keep = [char not in _GAPS for char in expanded[index]]
    order = [index, *(number for number in range(len(rows)) if number != index)]
    anchored = []
    for number in order:
        anchored.append((names[number], "".join(
            ("-" if char in _GAPS else char.upper()) if column else ("" if char in _GAPS else char.lower())
            for char, column in zip(expanded[number], keep, strict=True)
        )))
    return anchored


def import_msa(
    alignment_path: str | os.PathLike[str],
    query_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    settings: SearchSettings | None = None,
    *,
    record: str | None = None,
    placement: Literal["cmalign", "hmmalign"] | None = None,
) -> SearchResult:
    """Write ``{id}.a3m|.sto|.a2m_msa2`` and ``msa_stats.json`` for the query of ``query_path`` from an alignment.

    ``settings`` (default: the schema's ``search`` defaults) give the filters, depth cap and Neff. The
    query row's residues become the query sequence (the search alphabet); with ``record``, that row must be
    the query. ``placement`` (default: ``settings.placement``) is how a query absent from the alignment is
    aligned to it (see :func:`place_query`). Raises :class:`RnamsmError` (one line) for an alignment that
    cannot be read or a query that cannot be placed.
    """
    settings = SearchSettings() if settings is None else settings
    query = read_query(query_path)
    out_dir = Path(out_dir)
    files = MsaFiles(out_dir, query.id)
    check_output_targets(files.a3m, files.sto, files.a2m_msa2, files.stats)
    alignment = msa_format.read(alignment_path)
    names, rows = list(alignment.names), list(alignment.rows)
    index, placement_used = _query_row(alignment, query, record)
    warnings = query_mod.query_warnings(query)
    if index < 0:
        row, placement_used = place_query(alignment, query, settings.placement if placement is None else placement)
        names.append(query.id)
        rows.append(row)
        index = len(rows) - 1
        warnings.append(f"query {query.id!r} is not in {alignment_path}; placed with {PLACED_WITH[placement_used]}")
    anchored = reanchor(names, rows, index)
    hits = [ImportedRow(name, row) for name, row in anchored[1:]]
    flt = settings.filter
    kept, counts = filter_rows(
        query.sequence, hits, min_coverage=flt.min_coverage, max_identity=flt.max_identity, max_rows=flt.max_rows
    )
    codes = encode([query.sequence] + [match_columns(row.a3m) for row in kept])
    value, approx = neff(codes, settings.neff.identity, settings.neff.max_rows)
    structure = query_mod.fold(query.sequence)
    final = Round(1, "user", [], kept, counts, value, approx, 0.0, structure, "rnafold")
    if not kept:
        warnings.append(f"query {query.id!r}: no other rows left after the filters; the MSA holds the query only")
    result_alignment = Alignment((query.id, *(row.name for row in kept)), (query.sequence, *(row.a3m for row in kept)),
                                 structure)
    msa_files = msa_format.texts(result_alignment, out_dir / query.id, query.id)
    source = MsaSource(kind="user", path=str(alignment_path), sha256=file_sha256(alignment_path),
                       record=anchored[0][0], placement=placement_used, rows=len(alignment.rows))
    stats = build_stats(
        query=query, rounds=[final], final=final, coverage=coverage(codes), identities=identity_to_query(codes),
        summary=DatabaseSummary([], 0, 0, 0, [], [], []), z_residues=0, z_mb=0.0, structure=structure,
        structure_source="rnafold", final_alignment="user",
        final_reason="the alignment given to rnamsm import-msa"
        + (f"; the query placed in it with {placement_used}" if placement_used in PLACED_WITH else ""),
        hmm_only=False, infernal_version=None,
        parameters={key: value for key, value in settings_to_mapping(settings).items() if key in ("filter", "neff")},
        timings={}, warnings=warnings, version=__version__, source=source,
    )
    paths = dict(zip(msa_format.SEARCH_SUFFIXES, msa_files, strict=True))
    paths["stats"] = files.stats
    write_files({**msa_files, paths["stats"]: stats.to_json()})
    return SearchResult(query, [final], final, paths, stats, warnings)
