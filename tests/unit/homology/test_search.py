"""End-to-end ``rnamsm search`` on real data: tRNAs in the M. ruminantium genome, the RNA-MSM 2DRB_1
recovery test, the pyinfernal-vs-cmsearch regression, and the edge cases (no hits, short and
low-complexity queries, bad databases)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyinfernal.cm import CMFile

from rnamsm.formats import msa as msa_format
from rnamsm.formats.msa import match_columns
from rnamsm.homology.cm_search import cm_search
from rnamsm.homology.database import SequenceDatabase
from rnamsm.homology.pipeline import run_search
from rnamsm.homology.settings import SearchSettings, resolve_search_options
from rnamsm.settings import settings_to_mapping
from tests.conftest import INFERNAL_DATA, RNAMSM_EXAMPLE, require_program

GENOME = INFERNAL_DATA / "mrum-genome.fa.gz"

pytestmark = pytest.mark.system


def rnamsm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnamsm", *args], capture_output=True, text=True)


def first_record(source: Path, target: Path, index: int = 0) -> Path:
    """Write record ``index`` of a multi-record FASTA file to ``target``."""
    records = source.read_text().split(">")[1:]
    target.write_text(">" + records[index])
    return target


def write_query(path: Path, name: str, sequence: str) -> Path:
    path.write_text(f">{name}\n{sequence}\n")
    return path


def assert_official_format(path: Path, query_id: str, length: int) -> list[tuple[str, str]]:
    """``.a2m_msa2``: FASTA, one line per row, query first, every row L upper-case characters."""
    lines = path.read_text().splitlines()
    assert len(lines) % 2 == 0
    names = [line[1:] for line in lines[0::2]]
    rows = lines[1::2]
    assert all(line.startswith(">") for line in lines[0::2])
    assert names[0] == query_id
    assert all(len(row) == length for row in rows)
    assert all(set(row) <= set("ACGUNRYKMSWBDHV-") for row in rows)
    return list(zip(names, rows, strict=True))


@pytest.fixture(scope="module")
def trna_search(tmp_path_factory: pytest.TempPathFactory):
    """The first tRNA of mrum-tRNAs10.fa against the genome, default parameters."""
    require_program("cmbuild", "cmcalibrate")
    tmp = tmp_path_factory.mktemp("trna")
    query = first_record(INFERNAL_DATA / "mrum-tRNAs10.fa", tmp / "query.fa")
    result = run_search(query, [GENOME], tmp / "out", SearchSettings())
    return result, tmp / "out"


def test_trna_query_finds_the_genomes_trnas(trna_search) -> None:
    result, out = trna_search
    query_id = result.query.id
    rows = assert_official_format(out / f"{query_id}.a2m_msa2", query_id, 72)
    assert len(rows) >= 40
    assert rows[0][1] == result.query.sequence
    # Every row is a distinct genome locus in source coordinates (a tRNA gene of NC_013790.1).
    loci = [name for name, _ in rows[1:]]
    assert len(set(loci)) == len(loci)
    assert all(name.startswith("NC_013790.1/") for name in loci)
    stats = json.loads((out / "msa_stats.json").read_text())
    assert stats["depth"] == len(rows)
    assert stats["query_length"] == 72 and len(stats["coverage"]) == 72
    assert len(stats["identity_to_query"]) == len(rows) - 1
    assert [r["method"] for r in stats["rounds"]][:2] == ["nhmmer", "cmsearch"]
    assert stats["databases"][0]["residues"] == 2937203
    assert stats["search_space"]["cmsearch_Z_residues"] == 2 * 2937203
    # every setting but samples_per_job, which sizes the workflow's jobs and reaches no command
    recorded = {key: value for key, value in settings_to_mapping(SearchSettings()).items() if key != "samples_per_job"}
    assert stats["parameters"] == {**recorded, "threads": 2}
    assert any(step.endswith("cmcalibrate") for step in stats["timings"])


def test_trna_rows_map_to_genome_coordinates(trna_search) -> None:
    """Each included CM hit's row residues equal the genome's bases at its coordinates."""
    result, _ = trna_search
    database = SequenceDatabase(
        [GENOME], split_above=10**9, window=10**9, overlap=1, shuffle_seed=0, volume_nt=None
    )
    genome = next(iter(database.chunks())).block[0].textize().sequence
    complement = str.maketrans("ACGU", "UGCA")
    for hit in result.final.rows:
        residues = "".join(char for char in hit.a3m if char != "-").upper()
        low, high = sorted((hit.start, hit.end))
        expected = genome[low - 1 : high]
        if hit.strand == "-":
            expected = expected.translate(complement)[::-1]
        assert residues == expected, hit.name


def test_trna_outputs_round_trip(trna_search) -> None:
    result, out = trna_search
    query_id = result.query.id
    a3m = msa_format.read(out / f"{query_id}.a3m").records
    sto = msa_format.read(out / f"{query_id}.sto").records
    a2m = msa_format.read(out / f"{query_id}.a2m_msa2").records
    assert [name for name, _ in a3m] == [name for name, _ in sto] == [name for name, _ in a2m]
    assert a3m == sto
    assert [match_columns(row) for _, row in a3m] == [row for _, row in a2m]


def test_recovery_of_the_rnacmap3_2drb1_msa(tmp_path: Path) -> None:
    """Strip the 1,175 non-query rows of the official 2DRB_1 MSA, hide them in the genome, find them again."""
    require_program("cmbuild", "cmcalibrate")
    official = [line.strip() for line in (RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2").read_text().splitlines() if line.strip()]
    names = [line[1:].split()[0] for line in official[0::2]][1:]
    rows = official[1::2][1:]
    assert len(names) == 1175
    homologs = tmp_path / "homologs.fa"
    homologs.write_text("".join(f">{name}\n{row.replace('-', '')}\n" for name, row in zip(names, rows, strict=True)))
    out = tmp_path / "out"
    params = json.dumps({"cm": {"max_rounds": 1}})
    result = rnamsm(
        "search", str(RNAMSM_EXAMPLE / "2DRB_1.fasta"), "--db", str(GENOME), str(homologs), "--out-dir", str(out),
        "--config-json", params, "--threads", "2",
    )
    assert result.returncode == 0, result.stderr
    found = assert_official_format(out / "2DRB_1.a2m_msa2", "2DRB_1", 35)
    recovered = {name.rsplit("/", 1)[0] for name, _ in found[1:]} & set(names)
    assert len(recovered) >= 1100
    stats = json.loads((out / "msa_stats.json").read_text())
    assert [r["method"] for r in stats["rounds"]] == ["nhmmer", "cmsearch"]
    assert stats["rounds"][1]["hits"] >= len(recovered)
    assert stats["depth"] == len(found)


def test_pyinfernal_equals_cmsearch_cli(tmp_path: Path) -> None:
    """tRNA5.c.cm x mrum genome: our chunked, windowed pyinfernal search == the cmsearch program (54 included)."""
    require_program("cmsearch")
    genome = tmp_path / "mrum-genome.fa"
    subprocess.run(f"gzip -dc {GENOME} > {genome}", shell=True, check=True)
    tblout = tmp_path / "cli.tbl"
    subprocess.run(
        ["cmsearch", "--cpu", "2", "--tblout", str(tblout), str(INFERNAL_DATA / "tRNA5.c.cm"), str(genome)],
        check=True, capture_output=True,
    )
    cli = set()
    for line in tblout.read_text().splitlines():
        if line.startswith("#"):
            continue
        fields = line.split()
        if fields[16] == "!":
            cli.add((fields[0], int(fields[7]), int(fields[8]), fields[9]))
    with CMFile(str(INFERNAL_DATA / "tRNA5.c.cm")) as handle:
        cm = handle.read()
    database = SequenceDatabase(
        [GENOME], split_above=1_000_000, window=100_000, overlap=1000, shuffle_seed=0, volume_nt=500_000
    )
    summary = database.scan()
    ours = cm_search(
        cm, database.chunks(), z_residues=2 * summary.residues, E=10, incE=0.01, max_hits=50000, threads=2,
        round_number=2,
    )
    included = {(h.target, h.start, h.end, h.strand) for h in ours if h.included}
    assert len(cli) == 54
    assert included == cli
    assert summary.windows == 30


def test_no_hit_query_gives_one_row_msa_and_warning(tmp_path: Path) -> None:
    """A query with nothing similar in the database: one-row MSA, a warning, exit status 0."""
    require_program("cmbuild", "cmcalibrate")
    # The 5' 40 nt of the Cobalamin riboswitch against the tRNAs only: no homolog at a strict threshold.
    sequence = (INFERNAL_DATA / "Cobalamin.fa").read_text().splitlines()[1][:40]
    query = write_query(tmp_path / "q.fa", "cbl40", sequence)
    out = tmp_path / "out"
    result = rnamsm(
        "search", str(query), "--db", str(INFERNAL_DATA / "mrum-tRNAs10.fa"), "--out-dir", str(out),
        "--config-json", json.dumps({"cm": {"max_rounds": 1, "E": 1e-3, "incE": 1e-3}}),
    )
    assert result.returncode == 0, result.stderr
    rows = assert_official_format(out / "cbl40.a2m_msa2", "cbl40", 40)
    assert rows == [("cbl40", sequence.upper().replace("T", "U"))]
    stats = json.loads((out / "msa_stats.json").read_text())
    assert stats["depth"] == 1 and stats["neff"] == 1.0
    assert any("no homologs found" in warning for warning in stats["warnings"])
    assert "no homologs found" in result.stderr
    assert msa_format.read(out / "cbl40.sto").records == [("cbl40", sequence.upper().replace("T", "U"))]


#: The short query of the edge cases, searched again by the determinism test.
SHORT_QUERY = "GCGGAUUUAGCUCAGUUGGGAGAGC"


@pytest.fixture(scope="module")
def edge_search(tmp_path_factory: pytest.TempPathFactory):
    """``rnamsm search`` (cm.max_rounds 1) of a short or low-complexity query against the metagenome example
    and the ten tRNAs, run once per query name in this module: ``(name, sequence) -> (process, out folder)``."""
    require_program("cmbuild", "cmcalibrate")
    done: dict[str, tuple[subprocess.CompletedProcess, Path]] = {}

    def search(name: str, sequence: str) -> tuple[subprocess.CompletedProcess, Path]:
        if name not in done:
            root = tmp_path_factory.mktemp(f"edge-{name}")
            query = write_query(root / "q.fa", name, sequence)
            result = rnamsm(
                "search", str(query), "--db", str(INFERNAL_DATA / "metag-example.fa"),
                str(INFERNAL_DATA / "mrum-tRNAs10.fa"), "--out-dir", str(root / "out"),
                "--config-json", json.dumps({"cm": {"max_rounds": 1}}),
            )
            done[name] = (result, root / "out")
        return done[name]

    return search


@pytest.mark.parametrize(
    ("name", "sequence", "warning"),
    [
        ("short", SHORT_QUERY, "is 25 nt (< 30)"),
        ("polyU", "U" * 40, "low-complexity"),
    ],
)
def test_short_and_low_complexity_queries(edge_search, name: str, sequence: str, warning: str) -> None:
    result, out = edge_search(name, sequence)
    assert result.returncode == 0, result.stderr
    rows = assert_official_format(out / f"{name}.a2m_msa2", name, len(sequence))
    assert rows[0] == (name, sequence)
    stats = json.loads((out / "msa_stats.json").read_text())
    assert any(warning in text for text in stats["warnings"])
    assert stats["depth"] == len(rows)


def test_missing_infernal_program_is_a_clear_error(tmp_path: Path) -> None:
    python = shutil.which(sys.executable) or sys.executable
    result = subprocess.run(
        [python, "-m", "rnamsm", "search", str(RNAMSM_EXAMPLE / "2DRB_1.fasta"),
         "--db", str(INFERNAL_DATA / "metag-example.fa"), "--out-dir", str(tmp_path / "out")],
        capture_output=True, text=True, env={"PATH": str(tmp_path)},
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "cmbuild" in lines[0] and "cmcalibrate" in lines[0] and "not found on PATH" in lines[0]
    assert "cmalign" in lines[0]  # align: auto (the default) realigns a final HMM round's rows
    assert not (tmp_path / "out").exists()


def test_non_fasta_database_is_a_clear_error(tmp_path: Path) -> None:
    require_program("cmbuild", "cmcalibrate")
    bad = tmp_path / "table.tsv"
    bad.write_text("name\tvalue\nx\t1\n")
    query = RNAMSM_EXAMPLE / "2DRB_1.fasta"
    result = rnamsm("search", str(query), "--db", str(bad), "--out-dir", str(tmp_path / "out"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "not a FASTA" in lines[0]
    assert "Traceback" not in result.stderr


def test_local_end_and_minus_strand_rows_match_the_genome() -> None:
    """Every reported tRNA5 hit (E <= 100, all included) gives a checked row whose residues are the genome's."""
    with CMFile(str(INFERNAL_DATA / "tRNA5.c.cm")) as handle:
        cm = handle.read()
    database = SequenceDatabase(
        [GENOME], split_above=1_000_000, window=100_000, overlap=1000, shuffle_seed=0, volume_nt=None
    )
    chunks = list(database.chunks())
    hits = cm_search(
        cm, chunks, z_residues=2 * database.summary.residues, E=100, incE=100, max_hits=50000, threads=2,
        round_number=2,
    )
    whole = SequenceDatabase([GENOME], split_above=10**9, window=10**9, overlap=1, shuffle_seed=0, volume_nt=None)
    genome = next(iter(whole.chunks())).block[0].textize().sequence
    complement = str.maketrans("ACGU", "UGCA")
    local_ends = 0
    for hit in hits:
        assert hit.included
        low, high = sorted((hit.start, hit.end))
        expected = genome[low - 1 : high]
        if hit.strand == "-":
            expected = expected.translate(complement)[::-1]
        assert "".join(c for c in hit.a3m if c != "-").upper() == expected, hit.name
        local_ends += "-----" in match_columns(hit.a3m) and any(c.islower() for c in hit.a3m)
    assert {hit.strand for hit in hits} == {"+", "-"}
    assert local_ends > 0


def test_hmm_only_path_for_long_queries(tmp_path: Path) -> None:
    """Above ``hmm_only_above`` the CM rounds become nhmmer rounds with a profile built from the MSA; with
    ``align: hits`` no Infernal program runs, at the default ``align: auto`` the final HMM rows are realigned."""
    query = first_record(INFERNAL_DATA / "mrum-tRNAs10.fa", tmp_path / "query.fa")
    options = {"hmm_only_above": 50, "round1": {"incE": 10.0}, "cm": {"incE": 1e-3}}
    settings, _ = resolve_search_options(("test", {**options, "align": "hits"}))
    result = run_search(query, [GENOME], tmp_path / "out", settings)
    methods = [r.method for r in result.stats.rounds]
    assert methods[0] == "nhmmer" and set(methods[1:]) == {"nhmmer-profile"} and len(methods) >= 2
    assert result.stats.hmm_only is True and result.stats.tool_versions["infernal_cli"] is None
    assert result.stats.final_alignment in ("nhmmer", "nhmmer-profile")
    assert "hmm_only_above (50 nt)" in result.stats.final_reason
    assert result.stats.rounds[1].hits > result.stats.rounds[0].hits
    rows = assert_official_format(tmp_path / "out" / "mrum-tRNA.1.a2m_msa2", "mrum-tRNA.1", 72)
    assert len(rows) == result.stats.depth > 10
    require_program("cmbuild", "cmalign")
    realigned = run_search(query, [GENOME], tmp_path / "cmalign", resolve_search_options(("test", options))[0])
    assert [r.method for r in realigned.stats.rounds] == methods
    assert realigned.stats.final_alignment == "cmalign" and realigned.stats.tool_versions["infernal_cli"]
    assert "realigned with cmalign" in realigned.stats.final_reason and "(align: auto)" in realigned.stats.final_reason
    assert assert_official_format(tmp_path / "cmalign" / "mrum-tRNA.1.a2m_msa2", "mrum-tRNA.1", 72) != rows


def test_outputs_are_deterministic(edge_search, tmp_path: Path) -> None:
    """Two runs (the short-query case's and one more) give byte-identical MSA files and identical stats apart
    from the run timings."""
    first, out_a = edge_search("short", SHORT_QUERY)
    query = write_query(tmp_path / "q.fa", "short", SHORT_QUERY)
    second = rnamsm(
        "search", str(query), "--db", str(INFERNAL_DATA / "metag-example.fa"), str(INFERNAL_DATA / "mrum-tRNAs10.fa"),
        "--out-dir", str(tmp_path / "b"), "--config-json", json.dumps({"cm": {"max_rounds": 1}}),
    )
    stats = []
    for result, out in ((first, out_a), (second, tmp_path / "b")):
        assert result.returncode == 0, result.stderr
        document = json.loads((out / "msa_stats.json").read_text())
        del document["timings"]
        for round_ in document["rounds"]:
            del round_["seconds"]
        stats.append(document)
    assert stats[0] == stats[1] and stats[0]["depth"] > 1
    for suffix in ("a3m", "sto", "a2m_msa2"):
        assert (out_a / f"short.{suffix}").read_bytes() == (tmp_path / "b" / f"short.{suffix}").read_bytes()


def test_calibration_cache_key_and_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key ignores cmbuild's DATE/COM lines but not -L; a cached entry replaces cmcalibrate."""
    from rnamsm.homology import infernal_cli

    text = (INFERNAL_DATA / "tRNA5.c.cm").read_text()
    first, second = tmp_path / "a.cm", tmp_path / "b.cm"
    first.write_text(text)
    second.write_text(re.sub(r"(?m)^(DATE|COM) .*$", r"\1     another run, another folder", text))
    key = infernal_cli.calibration_key(first, length_mb=0.02, version="1.1.4")
    assert key == infernal_cli.calibration_key(second, length_mb=0.02, version="1.1.4")
    assert key != infernal_cli.calibration_key(first, length_mb=0.1, version="1.1.4")
    assert key != infernal_cli.calibration_key(first, length_mb=0.02, version="1.1.5")

    cache = tmp_path / "cache"
    monkeypatch.setattr(infernal_cli, "infernal_version", lambda: "1.1.4")
    monkeypatch.setattr(infernal_cli, "calibrate_cm", lambda path, **_: Path(path).write_text(text + "calibrated\n"))
    assert not infernal_cli.calibrate_cm_cached(first, length_mb=0.02, threads=1, cache_dir=cache)
    assert (cache / f"{key}.cm").read_text() == text + "calibrated\n"
    monkeypatch.setattr(infernal_cli, "calibrate_cm", lambda path, **_: pytest.fail("cmcalibrate ran"))
    assert infernal_cli.calibrate_cm_cached(second, length_mb=0.02, threads=1, cache_dir=cache)
    assert second.read_text() == text + "calibrated\n"


def test_calibration_forecast_grows_with_the_length_and_a_bad_cm_is_one_line(tmp_path: Path) -> None:
    """``cmcalibrate --forecast`` of the tutorial's tRNA CM: seconds, longer at Infernal's default -L than at 0.2 Mb."""
    from rnamsm.errors import RnamsmError
    from rnamsm.homology import infernal_cli

    require_program("cmcalibrate")
    cm = INFERNAL_DATA / "tRNA5.c.cm"
    default = infernal_cli.forecast_calibration(cm, length_mb=None, threads=2)
    short = infernal_cli.forecast_calibration(cm, length_mb=0.2, threads=2)
    assert default > 2 * short > 0  # linear in -L: 1.6 Mb is 8 times 0.2 Mb
    (tmp_path / "bad.cm").write_text("not a CM\n")
    with pytest.raises(RnamsmError, match=r"bad\.cm: cmcalibrate --forecast failed: .+"):
        infernal_cli.forecast_calibration(tmp_path / "bad.cm", length_mb=None, threads=2)


def test_cm_inserts_drop_builds_the_cm_from_the_query_columns_only(tmp_path: Path) -> None:
    """``cm.inserts``: the first CM of a tRNA query over the tutorial's ten tRNAs is built from the nhmmer rows
    with their insertions (``keep``, the default) or from exactly the same rows without them (``drop``, as
    RNAcmap3 builds its CMs); both CM rounds find the tRNAs, and msa_stats.json records the setting."""
    require_program("cmbuild", "cmcalibrate")
    query = first_record(INFERNAL_DATA / "mrum-tRNAs10.fa", tmp_path / "query.fa")
    inputs = {}
    for inserts in ("keep", "drop"):
        options = {"round1": {"incE": 10.0}, "cm": {"max_rounds": 1, "inserts": inserts}, "align": "hits"}
        result = run_search(query, [INFERNAL_DATA / "mrum-tRNAs10.fa"], tmp_path / inserts,
                            resolve_search_options(("test", options))[0], work_dir=tmp_path / f"{inserts}-work")
        assert [r.method for r in result.stats.rounds] == ["nhmmer", "cmsearch"]
        assert result.stats.final_alignment == "cmsearch" and result.stats.depth >= 6
        assert result.stats.parameters["cm"]["inserts"] == inserts
        inputs[inserts] = msa_format.read(tmp_path / f"{inserts}-work" / "round2.sto")
    kept, dropped = inputs["keep"], inputs["drop"]
    assert any(any(c.islower() for c in row) for row in kept.rows)  # the tRNAs' variable loops insert
    assert dropped.names == kept.names and dropped.structure == kept.structure
    assert dropped.rows == tuple(match_columns(row) for row in kept.rows)
    assert (tmp_path / "keep-work" / "round2.cm").read_bytes() != (tmp_path / "drop-work" / "round2.cm").read_bytes()
