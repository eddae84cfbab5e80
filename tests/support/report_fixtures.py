"""Builds realistic per-sample result folders for the report tests (shared interface of CONTRIBUTING.md).

The 2DRB_1 sample uses the real RNA-MSM example: its query, its RNAcmap3 MSA, the official base-pair
probabilities and RSA values; ViennaRNA computes the baselines; the features are random but valid.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from rnamsm.atomic import write_files
from rnamsm.baselines.run import run_baselines
from rnamsm.baselines.settings import BaselineSettings
from rnamsm.formats import features as features_file
from rnamsm.formats import msa as msa_format
from rnamsm.formats import msa_stats as msa_stats_json
from rnamsm.formats import query as query_format
from rnamsm.formats import rsa_table
from rnamsm.formats.baselines import Baselines
from rnamsm.formats.msa import Alignment
from rnamsm.formats.msa_stats import DatabaseStats, HitStats, MsaStats, RoundStats, SearchSpace
from rnamsm.formats.query import Query
from rnamsm.formats.rsa_table import RsaChain
from rnamsm.formats.ss_summary import SsSummary
from rnamsm.formats.structure import Structure, pairs_to_dbn, prob_npy_bytes, read_structure, structure_texts
from rnamsm.layout import SampleLayout, benchmark_file, benchmarks_folder, sample_layout
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


def write_msa(directory: Path, sample: str, records: list[tuple[str, str]], hit_name: str) -> MsaStats:
    """The alignment files and msa_stats.json, through their writers; returns the stats."""
    rows = [sequence for _, sequence in records]
    names = [sample] + [name for name, _ in records[1:]]
    # The A3M carries an insertion (lower case) in the second row, as the search's rows can.
    a3m_rows = [row if k != 1 else row[:10] + "acg" + row[10:] for k, row in enumerate(rows)]
    files = SampleLayout(directory, sample).msa
    msa_format.write(Alignment(tuple(names), tuple(a3m_rows)), files.folder / sample, sample)
    query = rows[0]
    length = len(query)
    coverage = [sum(row[p] != "-" for row in rows) / len(rows) for p in range(length)]
    identity = [sum(a == b for a, b in zip(query, row, strict=True)) / length for row in rows[1:]]
    hits = []
    for k, name in enumerate(names[1:]):
        accession, _, span = name.partition("/")
        start, _, end = span.partition("-")
        evalue = float(f"{1e-12 * (k + 1) ** 3:.3g}")
        hits.append(HitStats(
            name=hit_name if k == 0 else name, accession=accession, description=f"homolog {k + 1}",
            start=int(start), end=int(end), strand="-" if int(end) < int(start) else "+", evalue=evalue,
            score=round(-math.log10(evalue), 2), round=1 if k < len(names) // 2 else 2, included=True,
        ))
    value = round(neff(rows), 4)
    half = max(1, len(rows) // 2)
    round_counts = {"removed_duplicates": 0, "removed_low_coverage": 0, "removed_identity": 0, "removed_depth_cap": 0}
    stats = MsaStats(
        query_id=sample, query_length=length, query_sequence=query, structure="." * length,
        structure_source="rnafold", depth=len(rows), neff=value, neff_approx=False,
        nf=round(value / math.sqrt(length), 3), final_round=2, final_alignment="cmsearch",
        final_reason="round 2 (cmsearch): the highest Neff of the rounds",
        coverage=tuple(round(c, 4) for c in coverage), identity_to_query=tuple(round(i, 4) for i in identity),
        rounds=(
            RoundStats(round=1, method="nhmmer", reported=half, hits=half, depth=half,
                       neff=round(neff(rows[:half]), 4), seconds=1.25, **round_counts),
            RoundStats(round=2, method="cmsearch", reported=len(hits), hits=len(hits), depth=len(rows), neff=value,
                       seconds=7.5, **round_counts),
        ),
        hits=tuple(hits),
        databases=(DatabaseStats(path="resources/demo/mini_rnacentral.fa", records=2110, residues=241002,
                                 sha256=hashlib.sha256(b"demo-db").hexdigest()),),
        search_space=SearchSpace(records=2110, residues=241002, windows=2110, cmsearch_Z_residues=482004,
                                 nhmmer_Z_Mb=0.241002),
        hmm_only=False,
        tool_versions={"infernal_cli": "1.1.4", "pyhmmer": "0.12.3", "pyinfernal": "0.1.1", "viennarna": "2.8.0"},
        timings={"cmsearch": 7.5, "nhmmer": 1.25, "write_msa": 0.05},
        warnings=() if len(rows) > 1 else ("no hits: the MSA holds only the query",),
        parameters={"search": {"evalue": 10.0, "rounds": 2}, "msa": {"max_rows": 50000}},
        rnamsm_version="0.1.0",
    )
    msa_stats_json.write(stats, files.stats)
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


def write_structure(directory: Path, sample: str, sequence: str, untrained: bool) -> SsSummary:
    """The official 2DRB_1 probabilities and structure as a predict-ss output set."""
    prob = np.loadtxt(RNAMSM_EXAMPLE / "2DRB_1.prob", dtype=np.float32)
    prob = (prob + prob.T) / 2
    pairs = sorted(read_structure(RNAMSM_EXAMPLE / "2DRB_1.bpseq").pairs)
    structure = directory / "structure"
    summary = SsSummary(sequence, pairs_to_dbn(pairs, len(sequence)), tuple(pairs), 0.5, False, 0,
                        hashlib.sha256(b"demo-head").hexdigest(), untrained)
    write_files({
        **structure_texts(Structure(sample, sequence, set(pairs)), structure),
        structure / f"{sample}.prob.npy": prob_npy_bytes(prob),
        structure / "ss.json": summary.to_json(),
    })
    return summary


def write_rsa(directory: Path, sample: str, untrained: bool) -> RsaChain:
    """The official 2DRB_1 RSA values as a predict-rsa output."""
    official = rsa_table.read(RNAMSM_EXAMPLE / "2DRB_1_ensemble.txt")
    comments = (f"{sample} RSA predicted by rnamsm",) + (("WARNING: untrained weights",) if untrained else ())
    table = RsaChain(sample, official.sequence, official.rsa, official.asa, comments)
    rsa_table.write(table, directory / "rsa" / f"{sample}.rsa.tsv")
    return table


def write_baselines(directory: Path, max_rows: int) -> Baselines:
    """The baselines stage itself, on the sample's query and MSA (RNAalifold on the first ``max_rows``)."""
    files = SampleLayout(directory, directory.name)
    return run_baselines(files.query, files.msa.a2m_msa2, files.baselines.folder, BaselineSettings(max_rows))


def build_2drb1(results: Path, sample: str = "2DRB_1", description: str = "tRNA minihelix (PDB 2DRB)",
                hit_name: str = "CP000232.1/1874215-1874188", untrained: bool = True, rows: int | None = None) -> Path:
    """A complete sample folder for the 2DRB_1 query under ``results/sample`` (+ a benchmark TSV);
    ``rows`` keeps only the first MSA rows."""
    records = read_fasta(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2")[:rows]
    sequence = records[0][1]
    directory = results / sample
    directory.mkdir(parents=True)
    query_format.write(Query(sample, description, sequence), SampleLayout(directory, sample).query)
    stats = write_msa(directory, sample, records, hit_name)
    write_features(directory, sequence, min(stats.depth, 512), untrained)
    write_structure(directory, sample, sequence, untrained)
    write_rsa(directory, sample, untrained)
    write_baselines(directory, max_rows=200)
    benchmark = benchmark_file("run_model", sample, benchmarks_folder(results))
    benchmark.parent.mkdir(parents=True, exist_ok=True)
    benchmark.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                         "3.2100\t0:00:03\t512.25\t900.10\t400.00\t410.00\t0.00\t1.50\t95.00\t3.05\n")
    return directory


def build_query_only(results: Path, sample: str, sequence: str) -> Path:
    """A sample whose search found nothing: query plus a one-row MSA; later stages absent."""
    directory = results / sample
    directory.mkdir(parents=True)
    query_format.write(Query(sample, "", sequence), SampleLayout(directory, sample).query)
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
        query_format.write(Query(sample, "", trna), sample_layout(sample, results).query)
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


def build_family(results: Path, family_id: str, alignment: Path, weights: Path, members: str = "all",
                 description: str = "", member_reports: bool = False) -> list[str]:
    """Every member of a family run through the workflow's commands (validate-input --msa, import-msa,
    features with the demo checkpoint, predict-ss with demo heads, baselines, and with ``member_reports``
    report), then its family report; ``weights`` is a folder for the demo weights (made once). Returns the
    member sample ids."""
    from rnamsm.cli import main
    from rnamsm.input.families import family_members

    checkpoint, heads = weights / "checkpoint", weights / "heads"
    if not checkpoint.exists():
        assert main(["make-demo-checkpoint", str(checkpoint), "--seed", "0"]) == 0
        assert main(["make-demo-heads", str(heads), "--like-checkpoint", str(checkpoint)]) == 0
    samples = []
    for member in family_members(family_id, alignment, members).members:
        files = sample_layout(member.sample, results)
        steps = (
            ["validate-input", "--msa", str(alignment), "--id", member.record, "--rename", member.sample,
             "-o", str(files.query)],
            ["import-msa", str(alignment), "--query", str(files.query), "--record", member.record,
             "--out-dir", str(files.msa.folder)],
            ["features", str(files.msa.a2m_msa2), "--query", str(files.query), "--checkpoint", str(checkpoint),
             "--out", str(files.features), "--device", "cpu"],
            ["predict-ss", str(files.features), "--head", str(heads / "ss.safetensors"), "--out-dir",
             str(files.structure.folder), "--id", member.sample, "--device", "cpu"],
            ["baselines", str(files.query), "--msa", str(files.msa.a2m_msa2), "--out-dir",
             str(files.baselines.folder)],
            ["report", str(files.directory), f"--description={description}"],
        )
        for step in steps if member_reports else steps[:-1]:
            assert main(step) == 0, step
        samples.append(member.sample)
    assert main(["family-report", str(alignment), "--family-id", family_id, f"--members={members}",
                 "--results", str(results), f"--description={description}"]) == 0
    return samples
