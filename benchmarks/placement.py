"""Placing a query absent from the user's alignment: ``cmalign`` (CM with the SS_cons) vs ``hmmalign`` (profile HMM).

    .venv/bin/python benchmarks/placement.py [--shared ../shared] [--per-family N] [--families tRNA5.sto ...]

Hold-out test on the Rfam/Infernal alignments of ``../shared/data``: a fixed-seed draw of ``--per-family``
members per family is taken out of its alignment one at a time and placed back into the others with
:func:`rnamsm.homology.import_msa.place_query`, once per method. The family's ``SS_cons`` projected onto the
member through its placed row (the pairs whose two columns hold a residue of the member; the family
report's projection) is scored against the same projection through the member's own row, with
``rnamsm evaluate``'s metric code: pooled F1 per family and method, the share of members whose residues
land in exactly their own columns, and the seconds per placement. Results:
``benchmarks/results/placement.json``, summary in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnamsm.errors import RnamsmError  # noqa: E402
from rnamsm.evaluation.structure_metrics import aggregate, score_sequence  # noqa: E402
from rnamsm.formats import msa as msa_format  # noqa: E402
from rnamsm.formats.msa import Alignment  # noqa: E402
from rnamsm.formats.query import Query, search_sequence  # noqa: E402
from rnamsm.formats.structure import Structure, dbn_to_pairs  # noqa: E402
from rnamsm.homology.import_msa import place_query  # noqa: E402
from rnamsm.homology.infernal_cli import infernal_version  # noqa: E402
from rnamsm.report.family_report import member_columns  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Families with an SS_cons that pairs (snR75's pairs nothing), by file name, and their folder in ../shared/data.
FAMILIES = {
    "tRNA5.sto": "infernal_tutorial", "Cobalamin.sto": "infernal_tutorial", "5S_rRNA.sto": "infernal_tutorial",
    "tRNA.sto": "infernal_testsuite", "Vault.sto": "infernal_testsuite", "RNaseP.sto": "infernal_testsuite",
    "srp-euk.sto": "infernal_testsuite", "Plant_SRP.sto": "infernal_testsuite", "PK-HAV.sto": "infernal_testsuite",
}
METHODS = ("cmalign", "hmmalign")


def held_out(alignment: Alignment, index: int) -> tuple[Alignment, Query]:
    """The alignment without row ``index`` (same columns and SS_cons) and that row's residues as the query."""
    keep = [number for number in range(len(alignment.rows)) if number != index]
    rest = Alignment(tuple(alignment.names[n] for n in keep), tuple(alignment.rows[n] for n in keep),
                     alignment.structure, alignment.source)
    residues = member_columns(alignment.rows[index]).sequence
    return rest, Query(f"heldout{index}", "", search_sequence(residues))


def family_scores(path: Path, per_family: int, seed: int) -> dict:
    """Per method: pooled / mean F1 of the projected SS_cons, exact-column share, refusals, seconds per placement."""
    alignment = msa_format.read(path)
    consensus = {(i - 1, j - 1) for i, j in dbn_to_pairs(alignment.structure, f"{path} SS_cons")}
    indices = sorted(random.Random(seed).sample(range(len(alignment.rows)), min(per_family, len(alignment.rows))))
    results: dict[str, dict] = {method: {"scored": [], "exact": 0, "refused": 0, "seconds": 0.0} for method in METHODS}
    for index in indices:
        rest, query = held_out(alignment, index)
        truth = member_columns(alignment.rows[index])
        reference = Structure(query.id, query.sequence, truth.projected(consensus))
        for method in METHODS:
            start = time.perf_counter()
            try:
                row, used = place_query(rest, query, method)
            except RnamsmError:
                results[method]["refused"] += 1
                continue
            results[method]["seconds"] += time.perf_counter() - start
            assert used == method, (path, method, used)
            placed = member_columns(row)
            predicted = Structure(query.id, query.sequence, placed.projected(consensus))
            results[method]["scored"].append(score_sequence(predicted, reference))
            results[method]["exact"] += placed.columns == truth.columns
    summary = {"rows": len(alignment.rows), "columns": alignment.length, "ss_cons_pairs": len(consensus),
               "held_out": len(indices)}
    for method, result in results.items():
        scored = result["scored"]
        pooled = aggregate(scored, "all") if scored else None
        summary[method] = {
            "f1_pooled": round(pooled["pooled"]["f1"], 4) if pooled else None,
            "f1_mean": round(pooled["per_sequence_mean"]["f1"], 4) if pooled else None,
            "exact_columns": result["exact"], "refused": result["refused"],
            "seconds_per_placement": round(result["seconds"] / max(len(scored), 1), 3),
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared", help="the ../shared folder")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--per-family", type=int, default=10, metavar="N", help="members held out per family")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "placement.json")
    args = parser.parse_args()
    families = {}
    for name in args.families:
        families[name] = family_scores(args.shared / "data" / FAMILIES[name] / name, args.per_family, args.seed)
        print(name, json.dumps(families[name]), flush=True)
    document = {
        "command": f"benchmarks/placement.py --per-family {args.per_family} --seed {args.seed}",
        "infernal": infernal_version(),
        "machine": f"{platform.machine()}, {sys.platform}, {os.cpu_count()} CPUs",
        "load_average_at_end": round(os.getloadavg()[0], 1),
        "families": families,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
