"""Prepared databases in the workflow: `databases_dir` shared by results folders, one prepare_db job per
database content, a changed database file re-prepares it and reruns only the searches that read it,
`search.cache` lets a second results folder copy the finished searches, and the demo database's search runs
as three shard jobs (`search.shards: auto`) that resume after a failed one and give the one-job MSA bytes;
through a CM round too, after one of its shard jobs is killed (SIGKILL)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import psutil
import yaml

from rnamsm.formats import db_manifest
from rnamsm.homology.pipeline import run_search
from rnamsm.homology.settings import resolve_search_options
from tests.conftest import INFERNAL_DATA
from tests.support.workflow import copy_workflow, finish_command, run_command, start_command

SHEET = (
    "sample_id\tfasta\trecord\tdatabase\n"
    "trna-1\tresources/demo/queries/mrum-tRNAs10.fa\tmrum-tRNA.1\tdb/trnas.fa\n"
    "trna-2\tresources/demo/queries/mrum-tRNAs10.fa\tmrum-tRNA.2\tdb/metag.fa;db/trnas.fa\n"
    "demo\tresources/demo/queries/mrum-tRNAs10.fa\tmrum-tRNA.1\tresources/demo/db/demo_db.fa.gz\n"
)
TARGETS = ("results/trna-1/msa/msa_stats.json results/trna-2/msa/msa_stats.json "
           "results/demo/msa/msa_stats.json")
#: Shards of 1.2 Mb: the demo database (895 kB of .gz, about 3.6 Mb for `auto`) is 3 shards and 3 shard jobs.
SEARCH = {"cm": {"max_rounds": 0}, "db": {"shard_nt": 1200000}}
#: The demo sample's search again with one CM round (config overlay of the last step): its CM calibrated at
#: the smallest length (the cost of the test) into a calibration cache that the one-job search then reads.
CM_ROUND = {"cm": {"max_rounds": 1}, "calibrate_L": 0.01}
DEMO_TARGET = "results/demo/msa/msa_stats.json"


def results_folder(path: Path, databases_dir: Path, cache: Path) -> Path:
    """A checkout whose two samples search two database sets (one file shared) prepared in ``databases_dir``,
    finished searches kept in ``cache``."""
    workdir = copy_workflow(path)
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config.update({"databases_dir": str(databases_dir), "search": {**SEARCH, "cache": str(cache)}})
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (workdir / "config" / "samples.tsv").write_text(SHEET)
    (workdir / "db").mkdir()
    (workdir / "db" / "trnas.fa").write_bytes((INFERNAL_DATA / "mrum-tRNAs10.fa").read_bytes())
    (workdir / "db" / "metag.fa").write_bytes((INFERNAL_DATA / "metag-example.fa").read_bytes())
    return workdir


def planned(workdir: Path) -> list[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run of the two searches plans."""
    result = run_command(f"snakemake -n {TARGETS}", workdir)
    assert result.returncode == 0, result.stdout[-3000:]
    jobs = re.findall(r"^rule (\w+):\n(?:    .*\n)*?    wildcards: (\S+)", result.stdout, flags=re.MULTILINE)
    return sorted(jobs)


def msa_files(workdir: Path, sample: str) -> dict[str, bytes]:
    folder = workdir / "results" / sample / "msa"
    return {path.name: path.read_bytes() for path in folder.glob(f"{sample}.*")}


def shard_benchmarks(workdir: Path, pattern: str = "demo.round1.*.tsv") -> dict[str, int]:
    """Benchmark file -> mtime (ns) of the demo sample's round jobs that finished (round 1's shard jobs)."""
    folder = workdir / "results" / "benchmarks" / "search_round"
    return {path.name: path.stat().st_mtime_ns for path in folder.glob(pattern)}


def ran_jobs(output: str) -> list[tuple[str, str]]:
    """(rule, wildcards) of every job a run's output shows."""
    return sorted(re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    wildcards: (.+)$", output, flags=re.MULTILINE))


def kill_first_shard_job(run: subprocess.Popen, round_number: int, min_cpu_seconds: float) -> str:
    """SIGKILL the first shard job of round ``round_number`` that a Snakemake run starts, once it has done
    ``min_cpu_seconds`` of its work (interpreter, imports, the replay of the rounds before); return its
    `--receipt` (the job's output)."""
    process, deadline = psutil.Process(run.pid), time.monotonic() + 600
    while time.monotonic() < deadline:
        assert run.poll() is None, "the run ended before a shard job of the round started"
        for child in process.children(recursive=True):
            try:
                args, cpu = child.cmdline(), child.cpu_times()
            except psutil.Error:
                continue  # ended meanwhile
            shard_job = args[1:4] == ["-m", "rnamsm", "search-round"] and "--job" in args
            if shard_job and args[args.index("--round") + 1] == str(round_number) \
                    and cpu.user + cpu.system >= min_cpu_seconds:
                child.send_signal(signal.SIGKILL)
                return args[args.index("--receipt") + 1]
        time.sleep(0.02)
    raise AssertionError(f"no shard job of round {round_number} started")


def test_prepared_once_shared_by_results_folders_and_redone_on_new_content(tmp_path: Path) -> None:
    databases, cache = tmp_path / "databases", tmp_path / "searches"
    first = results_folder(tmp_path / "first", databases, cache)
    # The first shard job to run fails (the others and the other samples go on); the rerun runs only it.
    marker = tmp_path / "shard-job-failed"
    result = run_command(f"snakemake --cores 2 --keep-going {TARGETS}", first,
                         RNAMSM_FAIL_ONCE=f"search-round:{marker}")
    assert result.returncode != 0 and marker.exists(), result.stdout[-5000:]
    finished = shard_benchmarks(first)
    assert len(finished) == 2 and not (first / "results" / "demo" / "msa" / "msa_stats.json").exists()
    result = run_command(f"snakemake --cores 2 {TARGETS}", first)
    assert result.returncode == 0, result.stdout[-5000:]
    assert [rule for rule, _ in ran_jobs(result.stdout)] == ["homology_search", "search_round"]
    after = shard_benchmarks(first)
    assert len(after) == 3 and {name: after[name] for name in finished} == finished  # finished shards not redone
    prepared = sorted(path for path in databases.iterdir() if not path.name.startswith("."))
    assert [path.name.split("-")[0] for path in prepared] == ["demo_db", "metag", "trnas"]
    for sample, folder in (("trna-1", prepared[2]), ("trna-2", prepared[1]), ("demo", prepared[0])):
        stats = json.loads((first / "results" / sample / "msa" / "msa_stats.json").read_text())
        assert stats["prepared_database"]["manifest_sha256"] == db_manifest.digest(folder)
    assert len(db_manifest.read(prepared[0]).shards) == 3
    demo = json.loads((first / "results" / "demo" / "msa" / "msa_stats.json").read_text())["prepared_database"]
    assert demo["resumed_shards"] == 3  # the merge took every shard from the shard jobs, searching none
    # The three shard jobs merged: the MSA files of one search of the same database in one process.
    settings, _ = resolve_search_options(("test", SEARCH))
    run_search(first / "results" / "demo" / "query.fa", [prepared[0]], tmp_path / "one-job", settings, threads=2)
    assert msa_files(first, "demo") == {path.name: path.read_bytes() for path in (tmp_path / "one-job").glob("demo.*")}
    assert not (first / "results" / "trna-1" / "msa" / "resume").exists()  # emptied by the finished search
    assert not (first / "results" / "demo" / "msa" / "resume").exists()
    assert db_manifest.read(prepared[1]).records == 13  # metag's 3 records and the 10 tRNAs
    # A second results folder with the same databases prepares nothing.
    second = results_folder(tmp_path / "second", databases, cache)
    assert {rule for rule, _ in planned(second)} == {"validate_input", "search_round", "homology_search"}
    # ... and its searches are copies from search.cache (the shard jobs find it too and search nothing): the
    # same MSA files, provenance saying so.
    result = run_command(f"snakemake --cores 2 {TARGETS}", second)
    assert result.returncode == 0, result.stdout[-5000:]
    assert "round 1, shard job 0 of 3: cached" in (second / "logs" / "search_round" / "demo.round1.0.log").read_text()
    for sample in ("trna-1", "trna-2", "demo"):
        assert msa_files(second, sample) == msa_files(first, sample) and len(msa_files(first, sample)) == 3
        stats = json.loads((second / "results" / sample / "msa" / "msa_stats.json").read_text())
        assert stats["search_cache"]["reused"] is True
        assert "copied from search.cache" in (second / "logs" / "homology_search" / f"{sample}.log").read_text()
    # New content of metag.fa: that database is prepared again and only trna-2's search reruns.
    with open(first / "db" / "metag.fa", "a") as handle:
        handle.write(">added\nACGUACGUAGCUAGCUAGCUAGCUAGCAUCGAUCGAUCGAUGCUAG\n")
    jobs = planned(first)
    assert [rule for rule, _ in jobs] == ["homology_search", "prepare_db"]
    assert jobs[0][1] == "sample=trna-2" and jobs[1][1].startswith("database=metag-")
    # A CM round in shard jobs, one of them killed: the demo sample searched again with CM_ROUND.
    cm_round_killed_and_resumed(first, prepared[0], tmp_path)


def cm_round_killed_and_resumed(workdir: Path, prepared: Path, tmp_path: Path) -> None:
    """The demo sample's search with one CM round (a config overlay): 3 shard jobs in round 1, round 2's
    model job, 3 shard jobs in round 2, the merge. The first round-2 shard job is killed (SIGKILL) mid-run and
    the others go on (--keep-going); the rerun runs that job and the merge only, the other jobs' benchmarks
    untouched, and the MSA files are those of the one-job search with the same settings."""
    calibrations = tmp_path / "calibrations"
    overlay = workdir / "cm-round.yaml"
    overlay.write_text(yaml.safe_dump({"search": {**CM_ROUND, "calibrate_cache": str(calibrations)}}))
    command = f"snakemake {DEMO_TARGET} --cores 2 --configfile {overlay.name}"
    output = tmp_path / "killed-run.txt"
    run = start_command(f"{command} --keep-going", workdir, output)
    receipt = Path(kill_first_shard_job(run, round_number=2, min_cpu_seconds=0.25))
    result = finish_command(run, output, timeout=1200)
    assert result.returncode != 0 and "Error in rule search_round" in result.stdout, result.stdout[-5000:]
    killed = receipt.stem.split(".")[1]  # round2.{job}.json
    # Round 2's receipts that a later job still needs are kept (round 1's went once the model job had run).
    round2 = {f"round2.{job}" for job in ("model", 0, 1, 2)} - {receipt.stem}
    rounds = workdir / "results" / "demo" / "msa" / "rounds"
    assert sorted(path.stem for path in rounds.iterdir()) == sorted(round2)
    finished = shard_benchmarks(workdir, "demo.round[12].*.tsv")
    assert sorted(finished) == sorted(f"demo.{name}.tsv" for name in round2 | {f"round1.{job}" for job in range(3)})
    result = run_command(command, workdir)
    assert result.returncode == 0, result.stdout[-5000:]
    assert ran_jobs(result.stdout) == [("homology_search", "sample=demo"),
                                       ("search_round", f"group=demo, round=2, job={killed}")]
    after = shard_benchmarks(workdir, "demo.round[12].*.tsv")
    assert len(after) == 7 and {name: after[name] for name in finished} == finished  # finished jobs not redone
    stats = json.loads((workdir / DEMO_TARGET).read_text())
    assert (stats["final_round"], stats["prepared_database"]["resumed_shards"]) == (2, 6)  # merged, none searched
    settings, _ = resolve_search_options(("test", {**SEARCH, **CM_ROUND, "calibrate_cache": str(calibrations)}))
    one = run_search(workdir / "results" / "demo" / "query.fa", [prepared], tmp_path / "one-job-cm", settings,
                     threads=2)
    assert len(one.rounds) == 2
    assert msa_files(workdir, "demo") == {path.name: path.read_bytes()
                                          for path in (tmp_path / "one-job-cm").glob("demo.*")}


def test_a_round_job_searches_a_group_of_samples_and_an_added_sample_gets_its_own(tmp_path: Path) -> None:
    """Three tRNA queries searching the demo database in 3 shards share each round job (`search.samples_per_job`,
    default 8): round 1 is 3 shard jobs for the 3 searches, not 9, and each sample's MSA files are the bytes
    of its own one-job search. A fourth sample added to the finished batch forms its own group: only its jobs
    run, and the finished searches' files are untouched."""
    workdir = copy_workflow(tmp_path / "groups")
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config.update({"databases_dir": str(tmp_path / "databases"), "search": SEARCH})
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    rows = [f"t{number}\tresources/demo/queries/mrum-tRNAs10.fa\tmrum-tRNA.{number}\tresources/demo/db/demo_db.fa.gz"
            for number in range(1, 5)]
    sheet = workdir / "config" / "samples.tsv"
    sheet.write_text("\n".join(["sample_id\tfasta\trecord\tdatabase", *rows[:3]]) + "\n")
    targets = " ".join(f"results/t{number}/msa/msa_stats.json" for number in range(1, 5))
    result = run_command(f"snakemake --cores 2 {targets.rsplit(' ', 1)[0]}", workdir)
    assert result.returncode == 0, result.stdout[-5000:]
    jobs = [(rule, wildcards) for rule, wildcards in ran_jobs(result.stdout) if rule != "prepare_db"]
    per_sample = [(rule, f"sample=t{number}") for rule in ("homology_search", "validate_input") for number in (1, 2, 3)]
    assert jobs == sorted([*per_sample, *(("search_round", f"group=t1, round=1, job={job}") for job in range(3))])
    (prepared,) = [path for path in (tmp_path / "databases").iterdir() if not path.name.startswith(".")]
    settings, _ = resolve_search_options(("test", SEARCH))
    for number in (1, 2, 3):
        one = tmp_path / f"one-job-{number}"
        run_search(workdir / "results" / f"t{number}" / "query.fa", [prepared], one, settings, threads=2)
        assert msa_files(workdir, f"t{number}") == {path.name: path.read_bytes() for path in one.glob("t*.*")}
        stats = json.loads((workdir / "results" / f"t{number}" / "msa" / "msa_stats.json").read_text())
        assert stats["prepared_database"]["resumed_shards"] == 3  # merged from the shard jobs, nothing searched
    finished = {path: path.stat().st_mtime_ns for path in (workdir / "results").glob("t[123]/msa/*")}
    sheet.write_text("\n".join(["sample_id\tfasta\trecord\tdatabase", *rows]) + "\n")
    result = run_command(f"snakemake --cores 2 {targets}", workdir)
    assert result.returncode == 0, result.stdout[-5000:]
    assert ran_jobs(result.stdout) == sorted([("homology_search", "sample=t4"), ("validate_input", "sample=t4"),
                                              *(("search_round", f"group=t4, round=1, job={job}") for job in range(3))])
    assert {path: path.stat().st_mtime_ns for path in finished} == finished
