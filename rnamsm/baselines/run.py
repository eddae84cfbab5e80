"""``run_baselines``: both ViennaRNA baselines of one query, written to its baselines folder."""

from __future__ import annotations

from pathlib import Path

from rnamsm.atomic import check_output_targets, write_files
from rnamsm.baselines.settings import BaselineSettings
from rnamsm.baselines.vienna import rnaalifold, rnafold
from rnamsm.formats import query as query_format
from rnamsm.formats.baselines import Baselines, RnaalifoldResult, RnafoldResult
from rnamsm.formats.structure import Structure, dbn_to_pairs, format_dbn, prob_npy_bytes
from rnamsm.layout import BaselineFiles, check_sample_id
from rnamsm.model.msa import check_query, read_msa


def run_baselines(query_path: Path, msa_path: Path, out_dir: Path,
                  settings: BaselineSettings | None = None) -> Baselines:
    """Compute both baselines for the one query in ``query_path``; write the files; return ``baselines.json``.

    Writes ``{ID}.rnafold.dbn``, ``{ID}.rnafold_bpp.npy``, ``{ID}.rnaalifold.dbn`` and ``baselines.json``
    into ``out_dir``; ``settings`` default to the workflow config's defaults.
    """
    settings = settings or BaselineSettings()
    record = query_format.read(query_path)
    sample = check_sample_id(record.id)
    msa = read_msa(msa_path)
    check_query(msa, record.sequence, str(query_path))
    sequence = record.sequence
    files = BaselineFiles(Path(out_dir), sample)
    check_output_targets(files.rnafold_dbn, files.rnaalifold_dbn, files.rnafold_bpp, files.summary)
    mfe_structure, mfe, bpp = rnafold(sequence)
    consensus, consensus_energy, projected = rnaalifold(msa, settings.max_rows, settings.alifold)
    summary = Baselines(
        sequence=sequence,
        rnafold=RnafoldResult(dbn=mfe_structure, mfe=round(mfe, 2)),
        rnaalifold=RnaalifoldResult(dbn=projected, consensus_dbn=consensus, energy=round(consensus_energy, 2),
                                    num_sequences=min(msa.depth, settings.max_rows)),
    )
    write_files({  # one set: all four files or none
        files.rnafold_dbn: format_dbn(Structure(sample, sequence, dbn_to_pairs(mfe_structure, "rnafold"))),
        files.rnaalifold_dbn: format_dbn(Structure(sample, sequence, dbn_to_pairs(projected, "rnaalifold"))),
        files.rnafold_bpp: prob_npy_bytes(bpp),
        files.summary: summary.to_json(),
    })
    return summary
