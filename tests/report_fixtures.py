"""Builds realistic per-sample result folders for the report tests (shared interface of CONTRIBUTING.md).

The 2DRB_1 sample uses the real RNA-MSM example: its query, its RNAcmap3 MSA, the official base-pair
probabilities and RSA values; ViennaRNA computes the baselines; the features are random but valid.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import RNA

from rnamsm.formats import features as features_file
from tests.conftest import INFERNAL_DATA, RNAMSM_EXAMPLE

#: Text that must never run or be interpreted as markup wherever it appears in a report.
HOSTILE = (
    "<script>document.title='PWNED';document.body.appendChild(Object.assign("
    "document.createElement('div'),{id:'pwned'}))</script> \"quoted\" & </div>"
)


def read_fasta(path: Path) -> list[tuple[str, str]]:
    """(header, sequence) records of a FASTA file."""
    records: list[tuple[str, str]] = []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            records.append((line[1:], ""))
        elif records:
            records[-1] = (records[-1][0], records[-1][1] + line.strip())
    return records


def neff(rows: list[str], threshold: float = 0.8) -> float:
    """Neff: sum over rows of 1 / (rows at >= threshold identity, gaps counted as a symbol)."""
    symbols = np.array([list(row) for row in rows])  # (N, L)
    identity = np.zeros((len(rows), len(rows)))
    for symbol in np.unique(symbols):
        one_hot = (symbols == symbol).astype(np.float64)
        identity += one_hot @ one_hot.T
    identity /= symbols.shape[1]
    return float(np.sum(1.0 / np.sum(identity >= threshold, axis=1)))


def pairs_dbn(length: int, pairs: list[tuple[int, int]]) -> str:
    symbols = ["."] * length
    for i, j in pairs:
        symbols[i - 1], symbols[j - 1] = "(", ")"
    return "".join(symbols)


def write_msa(directory: Path, sample: str, records: list[tuple[str, str]], hit_name: str) -> dict:
    """Alignment files and msa_stats.json; returns the stats."""
    msa = directory / "msa"
    msa.mkdir(parents=True)
    rows = [sequence for _, sequence in records]
    names = [sample] + [name for name, _ in records[1:]]
    (msa / f"{sample}.a2m_msa2").write_text("".join(f">{n}\n{r}\n" for n, r in zip(names, rows, strict=True)))
    # The A3M carries an insertion (lower case) in the second row, as pyhmmer's writer would.
    a3m_rows = [row if k != 1 else row[:10] + "acg" + row[10:] for k, row in enumerate(rows)]
    (msa / f"{sample}.a3m").write_text("".join(f">{n}\n{r}\n" for n, r in zip(names, a3m_rows, strict=True)))
    query = rows[0]
    length = len(query)
    coverage = [sum(row[p] != "-" for row in rows) / len(rows) for p in range(length)]
    identity = [sum(a == b for a, b in zip(query, row, strict=True)) / length for row in rows[1:]]
    hits = []
    for k, name in enumerate(names[1:]):
        accession, _, span = name.partition("/")
        start, _, end = span.partition("-")
        hits.append({
            "name": hit_name if k == 0 else name, "accession": accession, "description": f"homolog {k + 1}",
            "start": int(start), "end": int(end), "strand": "-" if int(end) < int(start) else "+",
            "evalue": float(f"{1e-12 * (k + 1) ** 3:.3g}"), "round": 1 if k < len(names) // 2 else 2,
            "included": True,
        })
    value = neff(rows)
    half = max(1, len(rows) // 2)
    stats = {
        "query_id": sample, "query_length": length, "depth": len(rows), "neff": round(value, 4),
        "coverage": [round(c, 4) for c in coverage], "identity_to_query": [round(i, 4) for i in identity],
        "rounds": [
            {"round": 1, "method": "nhmmer", "hits": half, "depth": half, "neff": round(neff(rows[:half]), 4),
             "seconds": 1.25},
            {"round": 2, "method": "cmsearch", "hits": len(hits), "depth": len(rows), "neff": round(value, 4),
             "seconds": 7.5},
        ],
        "hits": hits,
        "databases": [{"path": "resources/demo/mini_rnacentral.fa", "records": 2110, "residues": 241002,
                       "sha256": hashlib.sha256(b"demo-db").hexdigest()}],
        "timings": {"cmsearch": 7.5, "nhmmer": 1.25, "write_msa": 0.05},
        "warnings": [] if len(rows) > 1 else ["no hits: the MSA holds only the query"],
        "parameters": {"search": {"evalue": 10.0, "rounds": 2}, "msa": {"max_rows": 50000}},
        "rnamsm_version": "0.1.0",
    }
    (msa / "msa_stats.json").write_text(json.dumps(stats, sort_keys=True, indent=2))
    return stats


def write_features(directory: Path, sequence: str, depth: int, untrained: bool) -> None:
    rng = np.random.default_rng(0)
    length = len(sequence)
    logits = rng.normal(size=(8, length, length)).astype(np.float32)
    attention = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    contacts = rng.random((length, length), dtype=np.float32)
    record = features_file.FeaturesRecord(
        sequence=sequence,
        embedding=rng.normal(size=(length, 64)).astype(np.float32),
        attention_maps=attention.astype(np.float32),
        contacts=((contacts + contacts.T) / 2).astype(np.float32),
        attention_coverage=np.ones((length, length), dtype=bool),
        provenance=features_file.Provenance(
            checkpoint_sha256=hashlib.sha256(b"demo-ckpt").hexdigest(), msa_depth=depth,
            msa_sha256=hashlib.sha256(b"msa").hexdigest(), weights_untrained=untrained, device="cpu",
            num_layers=2, num_heads=4, depth_reduction="none"),
    )
    features_file.write(record, directory / "features" / "features.npz")


def write_structure(directory: Path, sample: str, sequence: str, untrained: bool) -> dict:
    length = len(sequence)
    prob = np.loadtxt(RNAMSM_EXAMPLE / "2DRB_1.prob", dtype=np.float32)
    prob = (prob + prob.T) / 2
    pairs = sorted({tuple(sorted((int(i), int(j))))
                    for i, _, j in (line.split() for line in (RNAMSM_EXAMPLE / "2DRB_1.bpseq").read_text().splitlines()
                                    if line and not line.startswith("#")) if int(j) > 0})
    structure = directory / "structure"
    structure.mkdir(parents=True)
    np.save(structure / f"{sample}.prob.npy", prob.astype(np.float32))
    dbn = pairs_dbn(length, pairs)
    ss = {"sequence": sequence, "dbn": dbn, "pairs": [list(p) for p in pairs], "threshold": 0.5,
          "head_sha256": hashlib.sha256(b"demo-head").hexdigest(), "weights_untrained": untrained}
    (structure / "ss.json").write_text(json.dumps(ss, sort_keys=True, indent=2))
    (structure / f"{sample}.dbn").write_text(f">{sample}\n{sequence}\n{dbn}\n")
    partner = {i: j for i, j in pairs} | {j: i for i, j in pairs}
    (structure / f"{sample}.bpseq").write_text(
        "".join(f"{k} {base} {partner.get(k, 0)}\n" for k, base in enumerate(sequence, start=1)))
    return ss


def write_rsa(directory: Path, sample: str, untrained: bool) -> list[float]:
    rows = [line.split() for line in (RNAMSM_EXAMPLE / "2DRB_1_ensemble.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    (directory / "rsa").mkdir(parents=True)
    header = f"# {sample} RSA predicted by rnamsm\n" + ("# WARNING: untrained weights\n" if untrained else "")
    body = "".join(f"{i}\t{nt}\t{float(asa):.2f}\t{float(rsa):.3f}\n" for i, nt, asa, rsa in rows)
    (directory / "rsa" / f"{sample}.rsa.tsv").write_text(header + "index\tnt\tASA\tRSA\n" + body)
    return [float(rsa) for *_, rsa in rows]


def write_baselines(directory: Path, sample: str, sequence: str, alignment: list[str]) -> dict:
    compound = RNA.fold_compound(sequence)
    dbn, mfe = compound.mfe()
    compound.exp_params_rescale(mfe)
    compound.pf()
    bpp = np.array(compound.bpp())[1:, 1:]  # (L, L), upper triangle
    consensus, _ = RNA.alifold(alignment)
    baselines = directory / "baselines"
    baselines.mkdir(parents=True)
    np.save(baselines / f"{sample}.rnafold_bpp.npy", (bpp + bpp.T).astype(np.float32))
    (baselines / f"{sample}.rnafold.dbn").write_text(f">{sample}\n{sequence}\n{dbn} ({mfe:.2f})\n")
    (baselines / f"{sample}.rnaalifold.dbn").write_text(f">{sample}\n{sequence}\n{consensus}\n")
    data = {"rnafold": {"dbn": dbn, "mfe": round(mfe, 2)},
            "rnaalifold": {"dbn": consensus, "consensus_dbn": consensus}, "sequence": sequence}
    (baselines / "baselines.json").write_text(json.dumps(data, sort_keys=True, indent=2))
    return data


def build_2drb1(results: Path, sample: str = "2DRB_1", description: str = "tRNA minihelix (PDB 2DRB)",
                hit_name: str = "CP000232.1/1874215-1874188", untrained: bool = True, rows: int | None = None) -> Path:
    """A complete sample folder for the 2DRB_1 query under ``results/sample`` (+ a benchmark TSV);
    ``rows`` keeps only the first MSA rows."""
    records = read_fasta(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2")[:rows]
    sequence = records[0][1]
    directory = results / sample
    directory.mkdir(parents=True)
    (directory / "query.fa").write_text(f">{sample} {description}\n{sequence}\n")
    stats = write_msa(directory, sample, records, hit_name)
    write_features(directory, sequence, min(stats["depth"], 512), untrained)
    write_structure(directory, sample, sequence, untrained)
    write_rsa(directory, sample, untrained)
    write_baselines(directory, sample, sequence, [row for _, row in records[:200]])
    benchmark = results / "benchmarks" / "run_model" / f"{sample}.tsv"
    benchmark.parent.mkdir(parents=True, exist_ok=True)
    benchmark.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                         "3.2100\t0:00:03\t512.25\t900.10\t400.00\t410.00\t0.00\t1.50\t95.00\t3.05\n")
    return directory


def build_query_only(results: Path, sample: str, sequence: str) -> Path:
    """A sample whose search found nothing: query plus a one-row MSA; later stages absent."""
    directory = results / sample
    directory.mkdir(parents=True)
    (directory / "query.fa").write_text(f">{sample}\n{sequence}\n")
    write_msa(directory, sample, [(sample, sequence)], hit_name="")
    return directory


#: Samples of :func:`build_results` with a report, and their expected index status.
REPORTED = ("2DRB_1", "2DRB_small", "tRNA1", "short1")
STATUS = {"2DRB_1": "ok", "2DRB_small": "ok", "tRNA1": "ok", "short1": "ok", "failed1": "failed",
          "missing1": "missing", "skipped1": "skipped"}


def build_results(results: Path) -> None:
    """A batch: full, shallow, no-hit, short, failed, missing and skipped samples, with reports and index."""
    from rnamsm.cli import main

    build_2drb1(results, description=HOSTILE, hit_name=HOSTILE)
    build_2drb1(results, "2DRB_small", rows=40, untrained=False)
    trna = read_fasta(INFERNAL_DATA / "mrum-tRNA.1.fa")[0][1]
    build_query_only(results, "tRNA1", trna)
    build_query_only(results, "short1", trna[:20])
    for sample in ("failed1", "missing1"):
        (results / sample).mkdir()
        (results / sample / "query.fa").write_text(f">{sample}\n{trna}\n")
    sheet = results.parent / "samples.tsv"
    sheet.write_text("# the batch of the report tests\nsample_id\tfasta\tdescription\n"
                     + "".join(f"{s}\tqueries/{s}.fa\t{HOSTILE if s == '2DRB_1' else ''}\n" for s in STATUS))
    status = results.parent / "status.tsv"
    status.write_text("sample\tstatus\treason\nfailed1\tfailed\thomology search: out of memory <&>\n"
                      "skipped1\tskipped\texcluded by config 'families'\n")
    config = json.dumps({"report": {"min_neff": 50, "title": None}, "model": {"device": "auto"}})
    for sample in REPORTED:
        description = [f"--description={HOSTILE}"] if sample == "2DRB_1" else []
        assert main(["report", str(results / sample), "--config-json", config, *description]) == 0
    assert main(["index", str(results), "--samples", str(sheet), "--status", str(status)]) == 0
