"""Prepared databases: ``rnamsm prepare-db`` on real records, bad inputs refused before anything is written,
and a search of the demo database in 1, 3 and 7 shards (each shard a separate call, as a cluster job) giving
exactly the unsharded hits, E-values and MSA bytes."""

from __future__ import annotations

import gzip
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyhmmer.easel import Alphabet, SequenceFile, TextSequence

from rnamsm.checksums import file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.formats import db_manifest
from rnamsm.formats import msa_stats as msa_stats_format
from rnamsm.homology import infernal_cli, shard_results
from rnamsm.homology.cm_search import cm_chunk
from rnamsm.homology.hits import merge_hits
from rnamsm.homology.nhmmer_round import nhmmer_chunk
from rnamsm.homology.pipeline import RoundJob, RoundMember, read_query, run_round_job, run_search
from rnamsm.homology.prepared_db import PreparedDatabase, prepare_database
from rnamsm.homology.result import SearchResult
from rnamsm.homology.settings import DatabaseSettings, resolve_search_options
from rnamsm.homology.shard_results import write_receipts
from tests.conftest import INFERNAL_DATA, REPO_ROOT, require_program

DEMO_DB = REPO_ROOT / "resources" / "demo" / "db" / "demo_db.fa.gz"
DEMO_QUERY = INFERNAL_DATA / "mrum-tRNA.1.fa"


def one_round_job(resume: Path, database: Path, job: RoundJob, settings, **options) -> shard_results.Receipt:
    """The receipt of ``job`` run for the demo query alone, its search kept in ``resume``."""
    (receipt,) = run_round_job([RoundMember(DEMO_QUERY, resume)], database, job, settings, **options)
    return receipt
#: Residues of the demo database's sequences after windowing: shard sizes that cut it in 3 and 7 shards.
DEMO_WINDOW_RESIDUES = 3280706


def rnamsm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnamsm", *args], capture_output=True, text=True)


def tRNAs() -> list[tuple[str, str]]:
    """The ten real tRNAs of the Infernal tutorial as (name, sequence)."""
    records = (INFERNAL_DATA / "mrum-tRNAs10.fa").read_text().split(">")[1:]
    return [(record.split("\n", 1)[0].split()[0], record.split("\n", 1)[1].replace("\n", "")) for record in records]


@pytest.fixture(scope="module")
def demo_shards(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The demo database prepared in 1, 3 and 7 shards."""
    folder = tmp_path_factory.mktemp("prepared")
    prepared = {}
    for count in (1, 3, 7):
        settings = DatabaseSettings(shard_nt=-(-DEMO_WINDOW_RESIDUES // count))
        manifest, _ = prepare_database([DEMO_DB], folder / f"demo-{count}", settings, max_query=3500)
        assert len(manifest.shards) == count
        prepared[count] = folder / f"demo-{count}"
    return prepared


def test_prepare_db_drops_and_reports_duplicates_and_empty_records(tmp_path: Path) -> None:
    records = tRNAs()
    (a, seq_a), (b, seq_b), *rest = records
    text = "".join(f">{name} tRNA\n{seq}\n" for name, seq in records)
    text += f">{a} again\n{seq_b[::-1]}\n>copy-of-{b}\n{seq_b}\n>empty-one\n\n"
    db = tmp_path / "db.fa"
    db.write_text(text)
    out = tmp_path / "prepared"
    result = rnamsm("prepare-db", str(db), "--out", str(out), "--config-json", '{"db": {"shard_nt": 300}}')
    assert result.returncode == 0, result.stderr
    assert f"dropped 1 record(s), duplicate names: '{a}'" in result.stderr
    assert f"dropped 1 record(s), duplicate sequences: 'copy-of-{b}'" in result.stderr
    assert "dropped 1 record(s), empty records: 'empty-one'" in result.stderr
    manifest = db_manifest.read(out)
    assert (manifest.records, manifest.residues) == (10, sum(len(seq) for _, seq in records))
    assert manifest.inputs[0].records == 13 and manifest.inputs[0].sha256 == file_sha256(db)
    assert (manifest.cmsearch_Z_residues, manifest.nhmmer_Z_Mb) == db_manifest.search_space(manifest.residues)
    assert len(manifest.shards) > 1 and sum(shard.residues for shard in manifest.shards) == manifest.residues
    database = PreparedDatabase(out)
    seen = {sequence.name: sequence.textize().sequence for chunk in database.chunks() for sequence in chunk.block}
    assert seen == dict(records)
    # Same content again: nothing rewritten; changed content: prepared again.
    before = (out / "manifest.json").stat().st_mtime_ns
    again = rnamsm("prepare-db", str(db), "--out", str(out), "--config-json", '{"db": {"shard_nt": 300}}')
    assert "up to date" in again.stderr and (out / "manifest.json").stat().st_mtime_ns == before
    db.write_text(text.replace(seq_a, seq_a + "A", 1))
    assert "up to date" not in rnamsm("prepare-db", str(db), "--out", str(out), "--config-json",
                                      '{"db": {"shard_nt": 300}}').stderr
    assert db_manifest.read(out).residues == manifest.residues + 1


@pytest.mark.parametrize(("content", "message"), [
    (gzip.compress((INFERNAL_DATA / "mrum-tRNAs10.fa").read_bytes())[:-40], "truncated or corrupt gzip file"),
    (gzip.compress(b"LOCUS       NC_013790\nORIGIN\n//\n"), "not a FASTA, FASTA.gz or Stockholm file"),
], ids=["truncated-gz", "non-fasta"])
def test_truncated_and_non_fasta_inputs_are_refused_before_anything_is_written(
    tmp_path: Path, content: bytes, message: str
) -> None:
    good = tmp_path / "good.fa"
    good.write_bytes((INFERNAL_DATA / "mrum-tRNAs10.fa").read_bytes())
    bad = tmp_path / "bad.fa.gz"
    bad.write_bytes(content)
    result = rnamsm("prepare-db", str(good), str(bad), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and message in lines[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.fa.gz", "good.fa"]


def test_prepare_db_does_not_replace_a_folder_that_is_not_a_prepared_database(tmp_path: Path) -> None:
    db = tmp_path / "db.fa"
    db.write_bytes((INFERNAL_DATA / "mrum-tRNAs10.fa").read_bytes())
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "keep.txt").write_text("mine")
    with pytest.raises(RnamsmError, match="exists and is not a prepared database"):
        prepare_database([db], tmp_path / "results", max_query=100)
    assert [path.name for path in (tmp_path / "results").iterdir()] == ["keep.txt"]


def test_search_refuses_a_query_longer_than_the_prepared_overlap(tmp_path: Path) -> None:
    db = tmp_path / "db.fa"
    db.write_bytes((INFERNAL_DATA / "mrum-tRNAs10.fa").read_bytes())
    prepare_database([db], tmp_path / "prepared", max_query=20)
    query = tmp_path / "long.fa"
    query.write_text(">long\n" + "ACGU" * 130 + "\n")
    with pytest.raises(RnamsmError, match="overlap by 1,000 nt, enough for queries up to 500 nt"):
        run_search(query, [tmp_path / "prepared"], tmp_path / "out")


def test_a_round_job_needs_a_prepared_database_and_a_readable_receipt(tmp_path: Path) -> None:
    """A round job of plain FASTA files, or after a damaged receipt, is one line naming the file."""
    settings, _ = resolve_search_options(("test", {"cm": {"max_rounds": 0}}))
    with pytest.raises(RnamsmError, match="mrum-tRNAs10.fa: a round job searches a prepared database"):
        one_round_job(tmp_path / "resume", INFERNAL_DATA / "mrum-tRNAs10.fa", RoundJob(1, 0, 2), settings)
    (tmp_path / "model.json").write_text('{"round": 2, "status": "stopped"')
    with pytest.raises(RnamsmError, match=r"model.json: unreadable round receipt .*run the round job again"):
        one_round_job(tmp_path / "resume", INFERNAL_DATA / "mrum-tRNAs10.fa", RoundJob(2, 0, 2),
                      settings, after=tmp_path / "model.json")
    counts = rnamsm("search-round", str(DEMO_QUERY), str(DEMO_QUERY), "--db", str(tmp_path / "prepared"),
                    "--resume-dir", str(tmp_path / "resume"), "--round", "1", "--receipt", str(tmp_path / "r.json"))
    assert counts.returncode != 0 and counts.stderr.strip().splitlines() == [
        "rnamsm search-round: error: --resume-dir: 1 folder(s) for 2 query file(s); give one per query, in the "
        "same order"]


@pytest.mark.parametrize(("damage", "message"), [
    (lambda data: data["shards"][0].pop("sha256"), r"manifest.json: shards\[0\]: expected the keys"),
    (lambda data: data["windowing"].pop("overlap"), r"manifest.json: windowing: expected the keys"),
    (lambda data: data.update(format="other/1"), r"format 'other/1' is not 'rnamsm-prepared-db/1'"),
], ids=["shard-key", "windowing-key", "format"])
def test_a_damaged_manifest_is_one_line(tmp_path: Path, damage, message: str) -> None:
    db = tmp_path / "db.fa"
    db.write_bytes((INFERNAL_DATA / "mrum-tRNAs10.fa").read_bytes())
    prepare_database([db], tmp_path / "prepared", max_query=100)
    manifest = tmp_path / "prepared" / "manifest.json"
    data = json.loads(manifest.read_text())
    damage(data)
    manifest.write_text(json.dumps(data))
    with pytest.raises(RnamsmError, match=message):
        PreparedDatabase(tmp_path / "prepared")


def _msa_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.name != "msa_stats.json"}


def _hits(stats: msa_stats_format.MsaStats) -> list[tuple]:
    return [(h.name, h.start, h.end, h.strand, h.evalue, h.score, h.round, h.included) for h in stats.hits]


def test_round1_in_1_3_and_7_shards_equals_unsharded(demo_shards: dict[int, Path], tmp_path: Path) -> None:
    settings, _ = resolve_search_options(("test", {"cm": {"max_rounds": 0}, "round1": {"incE": 1}}))
    results = {count: run_search(DEMO_QUERY, [folder], tmp_path / f"out-{count}", settings, threads=1)
               for count, folder in demo_shards.items()}
    reference = results[1]
    included = [hit for hit in reference.rounds[0].hits if hit.included]
    assert len(included) > 5 and {hit.target for hit in included} == {"NC_013790.1"}  # the genome, in all shards
    for count, result in results.items():
        assert result.rounds[0].hits == reference.rounds[0].hits
        assert _msa_bytes(tmp_path / f"out-{count}") == _msa_bytes(tmp_path / "out-1")
        stats = msa_stats_format.read(tmp_path / f"out-{count}" / "msa_stats.json")
        prepared = stats.prepared_database
        assert prepared.manifest_sha256 == db_manifest.digest(demo_shards[count])
        assert (prepared.name, prepared.residues, prepared.cmsearch_Z_residues) == ("demo_db", 3063706, 6127412)
        assert len(prepared.shards) == count and all(len(shard.seconds) == 1 for shard in prepared.shards)
    # Each shard of the 7 a separate call (a cluster job), merged: the same hits.
    query = read_query(DEMO_QUERY)
    digital = TextSequence(name=query.id, sequence=query.sequence).digitize(Alphabet.rna())
    database = PreparedDatabase(demo_shards[7])
    r1 = settings.round1
    per_shard = [
        nhmmer_chunk(digital, PreparedDatabase(demo_shards[7]).chunk(index), length=len(query),
                     z_mb=database.manifest.nhmmer_Z_Mb, E=r1.E, incE=r1.incE, max_hits=r1.max_hits, threads=1,
                     round_number=1)
        for index in range(7)
    ]
    assert merge_hits(reversed(per_shard), r1.max_hits) == reference.rounds[0].hits


def test_a_round_job_of_several_queries_reads_each_shard_once(
    demo_shards: dict[int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two tRNA queries in the same round jobs (the workflow's ``search.samples_per_job``), 2 shard jobs over 3
    shards: each job reads each of its shards once for both queries, keeps each query's hits in its own
    folder, and each query's merge writes the MSA files of its own one-job search, searching nothing."""
    settings, _ = resolve_search_options(("test", {"cm": {"max_rounds": 0}, "round1": {"incE": 1}}))
    second = tmp_path / "mrum-tRNA.5.fa"
    with SequenceFile(INFERNAL_DATA / "mrum-tRNAs10.fa") as records:
        (record,) = [record for record in records if record.name == "mrum-tRNA.5"]
    second.write_text(f">mrum-tRNA.5\n{record.sequence}\n")
    members = [RoundMember(DEMO_QUERY, tmp_path / "resume-1"), RoundMember(second, tmp_path / "resume-2")]
    reads: list[int] = []
    chunk = PreparedDatabase.chunk
    monkeypatch.setattr(PreparedDatabase, "chunk", lambda self, index: reads.append(index) or chunk(self, index))
    jobs = [run_round_job(members, demo_shards[3], RoundJob(1, job, 2), settings, threads=1) for job in range(2)]
    assert [[(receipt.member, receipt.status, receipt.searched) for receipt in job] for job in jobs] == [
        [(str(member.resume_dir), "searched", shards) for member in members] for shards in ((0, 2), (1,))]
    assert sorted(reads) == [0, 1, 2]
    monkeypatch.setattr(PreparedDatabase, "chunk", chunk)
    for member in members:
        name = member.query.stem
        merged = run_search(member.query, [demo_shards[3]], tmp_path / f"merged-{name}", settings, threads=1,
                            resume_dir=member.resume_dir)
        alone = run_search(member.query, [demo_shards[1]], tmp_path / f"alone-{name}", settings, threads=1)
        assert merged.stats.prepared_database.resumed_shards == 3 and len(alone.final.rows) > 5
        assert _msa_bytes(tmp_path / f"merged-{name}") == _msa_bytes(tmp_path / f"alone-{name}")
        assert _hits(merged.stats) == _hits(alone.stats)


def test_cm_round_in_7_shards_equals_unsharded_and_resumes_after_sigkill(
    demo_shards: dict[int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CM round: the 7-shard search, killed (SIGKILL) mid-round and run again, resumes at its unfinished
    shards and writes the unsharded MSA files (realigned with cmalign) byte for byte; 3 shard jobs merged
    give the unsharded round-2 hits, and so do the round jobs of the workflow (``rnamsm search-round``)."""
    require_program("cmbuild", "cmcalibrate", "cmalign")
    overrides = {"cm": {"max_rounds": 1}, "calibrate_cache": str(tmp_path / "calibrations"), "align": "cmalign"}
    settings, _ = resolve_search_options(("test", overrides))
    one = run_search(DEMO_QUERY, [demo_shards[1]], tmp_path / "out-1", settings, threads=1,
                     work_dir=tmp_path / "work-1")
    assert len(one.rounds) == 2 and len(one.final.rows) > 10
    command = [sys.executable, "-m", "rnamsm", "search", str(DEMO_QUERY), "--db", str(demo_shards[7]),
               "--out-dir", str(tmp_path / "out-7"), "--resume-dir", str(tmp_path / "resume"), "--threads", "1",
               "--config-json", json.dumps(overrides)]
    finished = tmp_path / "resume"
    killed = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list(finished.glob("round2-*.json"))) < 2 and killed.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    done = len(list(finished.glob("round2-*.json")))
    assert 2 <= done < 7 and not (tmp_path / "out-7").exists()
    assert len(list(finished.glob("round1-*.json"))) == 7
    rerun = rnamsm(*command[3:])
    assert rerun.returncode == 0, rerun.stderr
    seven = msa_stats_format.read(tmp_path / "out-7" / "msa_stats.json")
    assert seven.prepared_database.resumed_shards == 7 + done  # round 1 and the finished round-2 shards
    assert _msa_bytes(tmp_path / "out-7") == _msa_bytes(tmp_path / "out-1")
    assert _hits(seven) == _hits(one.stats)
    assert not finished.exists()  # emptied once the search wrote its files
    cm = infernal_cli.read_cm(tmp_path / "work-1" / "round2.cm", len(one.query))
    manifest = db_manifest.read(demo_shards[3])
    per_shard = [
        cm_chunk(cm, PreparedDatabase(demo_shards[3]).chunk(index), z_residues=manifest.cmsearch_Z_residues,
                 E=settings.cm.E, incE=settings.cm.incE, max_hits=settings.filter.max_rows, threads=1, round_number=2)
        for index in range(3)
    ]
    assert merge_hits(per_shard, settings.filter.max_rows) == one.rounds[1].hits
    _round_jobs_give_the_one_job_msa(demo_shards, tmp_path, one, monkeypatch)


def _round_jobs_give_the_one_job_msa(demo_shards: dict[int, Path], tmp_path: Path, one: SearchResult,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The 3 shards searched by 2 shard jobs per round (shards 0 and 2, then 1), round 2's CM built by its model
    job and its calibration taken from the resume folder (where the model job keeps it for the others; seeded
    here with the one-job search's, so nothing calibrates): the merge writes the one-job MSA bytes without
    searching again. With a Neff stop reached in round 1, round 2's jobs do nothing."""
    settings, _ = resolve_search_options(("test", {"cm": {"max_rounds": 1}, "align": "cmalign"}))
    resume = tmp_path / "round-jobs"
    calibrated = shard_results.calibrations(resume)
    calibrated.mkdir(parents=True)
    for path in (tmp_path / "calibrations").glob("*.cm"):
        shutil.copyfile(path, calibrated / path.name)

    def no_calibration(*args: object, **kwargs: object) -> None:
        raise AssertionError("a round job calibrated a CM that its resume folder holds")

    monkeypatch.setattr(infernal_cli, "calibrate_cm", no_calibration)
    jobs = [RoundJob(1, 0, 2), RoundJob(1, 1, 2), RoundJob(2, None, 2), RoundJob(2, 0, 2), RoundJob(2, 1, 2)]
    receipts = [one_round_job(resume, demo_shards[3], job, settings, threads=1) for job in jobs]
    assert [(receipt.status, receipt.shards, receipt.searched) for receipt in receipts] == [
        ("searched", (0, 2), (0, 2)), ("searched", (1,), (1,)), ("model", (), ()),
        ("searched", (0, 2), (0, 2)), ("searched", (1,), (1,))]
    again = one_round_job(resume, demo_shards[3], RoundJob(2, 1, 2), settings, threads=1)
    assert again.searched == ()  # a rerun job finds its shards finished
    merged = run_search(DEMO_QUERY, [demo_shards[3]], tmp_path / "merged", settings, threads=1, resume_dir=resume)
    assert merged.stats.prepared_database.resumed_shards == 6  # every shard of both rounds: nothing searched
    assert _msa_bytes(tmp_path / "merged") == _msa_bytes(tmp_path / "out-1")
    assert _hits(merged.stats) == _hits(one.stats) and not resume.exists()
    assert all(len(shard.seconds) == 2 and min(shard.seconds) > 0 for shard in merged.stats.prepared_database.shards)
    # Neff 1 is reached in round 1: no CM round, so round 2's model job and (after it) its shard jobs stop.
    stop, _ = resolve_search_options(("test", {"cm": {"max_rounds": 1, "min_rounds": 0}, "neff": {"stop": 1}}))
    assert one_round_job(resume, demo_shards[3], RoundJob(1, 0, 1), stop, threads=1).status == "searched"
    model = one_round_job(resume, demo_shards[3], RoundJob(2, None, 1), stop, threads=1)
    assert model.status == "stopped"
    write_receipts(tmp_path / "model.json", [model])
    after = one_round_job(resume, demo_shards[3], RoundJob(2, 0, 1), stop, threads=1,
                          after=tmp_path / "model.json")
    assert (after.status, after.searched) == ("stopped", ())
    assert len(run_search(DEMO_QUERY, [demo_shards[3]], tmp_path / "stopped", stop, threads=1,
                          resume_dir=resume).rounds) == 1


def test_caps_inside_the_loop_keep_the_best_included_hits(demo_shards: dict[int, Path], tmp_path: Path) -> None:
    """round1.max_hits applied per shard and at the merge: the best included hits of the uncapped search."""
    uncapped, _ = resolve_search_options(("test", {"cm": {"max_rounds": 0}, "round1": {"incE": 1}}))
    capped, _ = resolve_search_options(("test", {"cm": {"max_rounds": 0}, "round1": {"incE": 1, "max_hits": 5}}))
    whole = run_search(DEMO_QUERY, [demo_shards[1]], tmp_path / "whole", uncapped, threads=1)
    sharded = run_search(DEMO_QUERY, [demo_shards[7]], tmp_path / "sharded", capped, threads=1)
    best = [hit for hit in whole.rounds[0].hits if hit.included][:5]
    assert len(best) == 5 and [hit for hit in sharded.rounds[0].hits if hit.included] == best
    assert [hit for hit in sharded.rounds[0].hits if not hit.included] == [
        hit for hit in whole.rounds[0].hits if not hit.included]


def test_search_cache_reuses_a_finished_search_in_another_results_folder(
    demo_shards: dict[int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """search.cache: the second results folder runs no search and gets the same MSA files; provenance says so."""
    settings, _ = resolve_search_options(("test", {"cm": {"max_rounds": 0}, "round1": {"incE": 1},
                                                   "cache": str(tmp_path / "cache")}))
    first = run_search(DEMO_QUERY, [demo_shards[3]], tmp_path / "first", settings, threads=1)
    assert first.stats.search_cache.reused is False

    def no_search(*args, **kwargs):
        raise AssertionError("searched again")

    monkeypatch.setattr("rnamsm.homology.pipeline.nhmmer_chunk", no_search)
    second = run_search(DEMO_QUERY, [demo_shards[3]], tmp_path / "second", settings, threads=1)
    assert _msa_bytes(tmp_path / "second") == _msa_bytes(tmp_path / "first")
    assert second.stats.search_cache == msa_stats_format.SearchCacheStats(first.stats.search_cache.key, True)
    assert msa_stats_format.read(tmp_path / "second" / "msa_stats.json").search_cache.reused is True
    assert _hits(second.stats) == _hits(first.stats)
    # Another database (the same content in 7 shards has another manifest) or other settings: searched.
    with pytest.raises(AssertionError, match="searched again"):
        run_search(DEMO_QUERY, [demo_shards[7]], tmp_path / "third", settings, threads=1)
    other, _ = resolve_search_options(("test", {"cm": {"max_rounds": 0}, "cache": str(tmp_path / "cache")}))
    with pytest.raises(AssertionError, match="searched again"):
        run_search(DEMO_QUERY, [demo_shards[3]], tmp_path / "fourth", other, threads=1)
