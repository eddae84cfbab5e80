"""``rnamsm baselines``: ViennaRNA structures of every query, for comparison with the RNA-MSM heads.

- RNAfold on the query alone: MFE structure and energy, and the base-pair probability matrix.
- RNAalifold on the MSA (read by :func:`rnamsm.model.msa.read_msa`, query first): the consensus
  structure over the MSA columns, projected onto the query (pairs whose two columns both hold a
  query residue).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import RNA

from rnamsm.arrays import npy_bytes
from rnamsm.atomic import check_output_targets, write_files
from rnamsm.formats import query as query_format
from rnamsm.heads.features_file import check_sample_id
from rnamsm.heads.structure import Structure, dbn_to_pairs, format_dbn, pairs_to_dbn
from rnamsm.model.msa import Msa, check_query, read_msa
from rnamsm.options import check_at_least

#: Rows given to RNAalifold by default (the first ones, query included).
DEFAULT_ALIFOLD_ROWS = 512


def rnafold(sequence: str) -> tuple[str, float, np.ndarray]:
    """MFE structure, MFE (kcal/mol) and symmetric base-pair probabilities -> float32 (L, L)."""
    compound = RNA.fold_compound(sequence)
    structure, mfe = compound.mfe()
    compound.exp_params_rescale(mfe)
    compound.pf()
    upper = np.array(compound.bpp(), dtype=np.float64)[1:, 1:]  # 1-based upper triangle -> (L, L)
    return structure, float(mfe), (upper + upper.T).astype(np.float32)


def rnaalifold(msa: Msa, max_rows: int = DEFAULT_ALIFOLD_ROWS) -> tuple[str, float, str]:
    """Consensus structure over the alignment columns, its energy, and its projection onto the query.

    Rows are the MSA's first ``max_rows`` (normalised: ``X`` is passed as ``N``). ``max_rows`` below 1 is
    refused (RNAalifold crashes the process on an empty alignment).
    """
    check_at_least(max_rows, 1, "--max-rows")
    rows = [row.replace("X", "N") for row in msa.rows[:max_rows]]
    consensus, energy = RNA.alifold(rows)
    query = msa.query
    position = np.cumsum([char != "-" for char in query])  # column -> 1-based query position
    projected = {
        (int(position[i - 1]), int(position[j - 1]))
        for i, j in dbn_to_pairs(consensus, "RNAalifold consensus")
        if query[i - 1] != "-" and query[j - 1] != "-"
    }
    return consensus, float(energy), pairs_to_dbn(projected, int(position[-1]))


def run_baselines(query_path: Path, msa_path: Path, out_dir: Path, max_rows: int = DEFAULT_ALIFOLD_ROWS) -> dict:
    """Compute both baselines for the one query in ``query_path``; write the files; return baselines.json."""
    check_at_least(max_rows, 1, "--max-rows")
    record = query_format.read(query_path)
    sample = check_sample_id(record.id)
    msa = read_msa(msa_path)
    check_query(msa, record.sequence, str(query_path))
    sequence = record.sequence
    check_output_targets(*(out_dir / f"{sample}{suffix}" for suffix in (".rnafold.dbn", ".rnaalifold.dbn",
                                                                         ".rnafold_bpp.npy")),
                         out_dir / "baselines.json")
    mfe_structure, mfe, bpp = rnafold(sequence)
    consensus, consensus_energy, projected = rnaalifold(msa, max_rows)
    dbn_files = {
        out_dir / f"{sample}.{suffix}.dbn": format_dbn(Structure(sample, sequence, dbn_to_pairs(dbn, suffix)))
        for suffix, dbn in (("rnafold", mfe_structure), ("rnaalifold", projected))
    }
    summary = {
        "sequence": sequence,
        "rnafold": {"dbn": mfe_structure, "mfe": round(mfe, 2)},
        "rnaalifold": {
            "dbn": projected,
            "consensus_dbn": consensus,
            "energy": round(consensus_energy, 2),
            "num_sequences": min(msa.depth, max_rows),
        },
    }
    write_files({  # one set: all four files or none
        **dbn_files,
        out_dir / f"{sample}.rnafold_bpp.npy": npy_bytes(bpp),
        out_dir / "baselines.json": json.dumps(summary, indent=2, sort_keys=True) + "\n",
    })
    return summary


def _run(args: argparse.Namespace) -> int:
    run_baselines(args.query, args.msa, args.out_dir, args.max_rows)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``baselines``."""
    parser = subparsers.add_parser(
        "baselines",
        help="ViennaRNA RNAfold (MFE, base-pair probabilities) and RNAalifold consensus for a query",
        description="Write {ID}.rnafold.dbn, {ID}.rnafold_bpp.npy, {ID}.rnaalifold.dbn (the MSA consensus "
        "projected onto the query) and baselines.json into OUT_DIR.",
    )
    parser.add_argument("query", type=Path, metavar="QUERY.fa")
    parser.add_argument("--msa", type=Path, required=True, help="the query's MSA (a3m, a2m_msa2, fasta, sto)")
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--max-rows", type=int, default=DEFAULT_ALIFOLD_ROWS,
                        help=f"MSA rows given to RNAalifold (default {DEFAULT_ALIFOLD_ROWS})")
    parser.set_defaults(func=_run)
