"""Per-family batches: many samples in one run; added samples run alone; a large sheet builds its DAG."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import yaml

from rnamsm.report.batch_index import read_sheet_samples
from rnamsm.search_jobs import search_cost
from tests.conftest import INFERNAL_DATA, RNAMSM_OUTPUTS
from tests.support.queries import append_to_sheet, real_queries, write_sheet
from tests.support.workflow import copy_workflow, run_command


def planned_jobs(workdir: Path) -> set[tuple[str, str]]:
    """(rule, output) pairs that `snakemake --summary` plans to (re)build."""
    result = run_command("snakemake --summary", workdir)
    assert result.returncode == 0, result.stdout[-3000:]
    rows = [line.split("\t") for line in result.stdout.splitlines() if line.count("\t") == 5]
    return {(row[2], row[0]) for row in rows[1:] if row[5] == "update pending"}


def test_finished_batch_then_3_more(demo_run: Path, tmp_path: Path) -> None:
    """The demo's batch (four real queries, run in one `make demo`): every sample reported and linked from the
    index (that nothing is left to plan after it: test_reruns.py, edit `nothing`); three more real queries
    (two Rfam seed tRNAs and a vault RNA) added to its sheet are all that is planned next."""
    workdir = shutil.copytree(demo_run, tmp_path / "batch", symlinks=True)
    sheet = workdir / "config" / "samples.tsv"
    first = read_sheet_samples(sheet)
    assert len(first) >= 4
    by_id = dict(real_queries())
    added = [(name, by_id[name]) for name in ("tRNA5-3", "tRNA5-4", "Vault-3")]
    index = (workdir / "results" / "index.html").read_text()
    for sample_id in first:
        assert (workdir / "results" / sample_id / "report.html").is_file()
        assert f"{sample_id}/report.html" in index

    append_to_sheet(sheet, added)
    planned = planned_jobs(workdir)
    added_ids = {sample_id for sample_id, _ in added}
    planned_samples = {output.split("/")[1] for _, output in planned if output != "results/index.html"}
    assert planned_samples == added_ids
    assert ("batch_index", "results/index.html") in planned
    assert {rule for rule, _ in planned} == {"validate_input", "homology_search", "run_model", "baselines",
                                             "sample_report", "batch_index"}


def test_dag_of_200_samples(tmp_path: Path) -> None:
    """A 200-sample sheet and two families build their DAG (benchmarks/dag_scaling.py times 1,000 samples,
    benchmarks/family_dag.py 1,679 members): Vault's first 30 members re-anchor its alignment in 2 chunk jobs
    (family_chunk, 25 members per job), PK-HAV's 2 members are searched (`msa: search`); one report per
    family."""
    workdir = copy_workflow(tmp_path / "dag")
    queries = real_queries()
    write_sheet(workdir, [(f"s{number:04d}", queries[number % len(queries)][1]) for number in range(200)])
    for name in ("Vault.sto", "PK-HAV.sto"):
        shutil.copy(INFERNAL_DATA / name, workdir / name)
    (workdir / "config" / "families.tsv").write_text(
        "family_id\talignment\tmembers\tmsa\nVault\tVault.sto\tfirst 30\t\nPK-HAV\tPK-HAV.sto\tall\tsearch\n")
    start = time.perf_counter()
    result = run_command("snakemake -n --quiet rules", workdir)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stdout[-3000:]
    rules = {"run_model", "homology_search", "import_msa", "family_chunk", "sample_report", "family_report",
             "batch_index"}
    counts = dict(line.split()[:2] for line in result.stdout.splitlines() if line.split()[:1] and
                  line.split()[0] in rules)
    assert counts == {"run_model": "202", "homology_search": "202", "family_chunk": "2", "sample_report": "202",
                      "family_report": "2", "batch_index": "1"}
    print(f"DAG of 200 samples and 32 members: {elapsed:.1f} s")


#: `snakemake -n` that reports how many asyncio event loops it created (each costs a socket pair and
#: an epoll instance; Snakemake's `input.size_mb` made one per call).
COUNT_EVENT_LOOPS = """\
import asyncio, atexit, sys
from snakemake.cli import main
created = []
original = asyncio.BaseEventLoop.__init__
def counting(self, *args, **kwargs):
    created.append(1)
    original(self, *args, **kwargs)
asyncio.BaseEventLoop.__init__ = counting
atexit.register(lambda: print(f"event loops created: {len(created)}"))
sys.argv = ["snakemake", "-n", "--quiet", "rules"]
main()
"""


def _event_loops_of_dry_run(workdir: Path) -> int:
    (workdir / "count_loops.py").write_text(COUNT_EVENT_LOOPS)
    result = run_command("python count_loops.py", workdir)
    assert result.returncode == 0, result.stdout[-3000:]
    return int(result.stdout.rsplit("event loops created: ", 1)[1].split()[0])


def test_planning_cost_per_sample_has_no_event_loop(tmp_path: Path) -> None:
    """Planning 12 samples creates no more event loops than planning 2: the rules' resource estimates
    (five per sample) read input sizes with os.stat, not through a new event loop per job. Half the
    samples import their own alignment (`msa` column), so that import_msa's estimates count too."""
    queries = real_queries()
    loops = []
    for count in (2, 12):
        workdir = copy_workflow(tmp_path / f"samples{count}")
        shutil.copy(RNAMSM_OUTPUTS / "Cobalamin.a3m", workdir / "own.a3m")
        rows = [f"{sample_id}\t{sequence}\t{'own.a3m' if number % 2 else ''}"
                for number, (sample_id, sequence) in enumerate(queries[:count])]
        (workdir / "config" / "samples.tsv").write_text("\n".join(["sample_id\tsequence\tmsa", *rows]) + "\n")
        loops.append(_event_loops_of_dry_run(workdir))
    assert loops[0] == loops[1], f"event loops for 2 and 12 samples: {loops}"


def test_resource_estimates_follow_input_sizes(tmp_path: Path) -> None:
    """homology_search asks for what rnamsm.search_jobs.search_cost gives for its database's residues (a plain
    file: one per byte, all read at once), the query's length and its threads, in 1 nhmmer and cm.max_rounds CM
    rounds; run_model for what one sample's MSA and query need; an estimate whose inputs do not exist yet is
    <TBD> at planning and evaluated before the job runs."""
    workdir = copy_workflow(tmp_path / "sizes")
    sample_id, sequence = real_queries()[0]
    write_sheet(workdir, [(sample_id, sequence)])
    database = workdir / "big.fa"
    with open(database, "wb") as handle:
        handle.truncate(2**30)  # a sparse 1 GiB database: only its size is read when planning
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config["databases"] = [database.name]
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    planned = run_command(f"snakemake -n results/{sample_id}/msa/msa_stats.json", workdir)
    assert planned.returncode == 0, planned.stdout[-3000:]
    assert "runtime=<TBD>, mem_mb=<TBD>," in planned.stdout  # query.fa not made yet
    query = workdir / "results" / sample_id / "query.fa"
    query.parent.mkdir(parents=True)
    query.write_text(f">{sample_id}\n{sequence}\n")
    result = run_command(f"snakemake -n results/{sample_id}/msa/msa_stats.json", workdir)
    assert result.returncode == 0, result.stdout[-3000:]
    block = result.stdout.split("rule homology_search:", 1)[1].split("\n\n", 1)[0]
    threads = int(re.search(r"threads: (\d+)", block).group(1)) if "threads:" in block else 1
    mem_mb, runtime = search_cost(residues=2**30, largest_shard=2**30, query_length=len(sequence), threads=threads,
                                  nhmmer_rounds=1, cm_rounds=config["search"]["cm"]["max_rounds"])
    assert f"runtime={runtime}, mem_mb={mem_mb}," in block and runtime > 10 and mem_mb > 3800  # above the floors

    # run_model: the measured host memory of one sample from its MSA's rows x columns and its query's length
    # (docs/cluster.md, "Sizing the model job"): a 1,000-byte query and a sparse MSA of 512 x 1,000 cells
    query.write_text(f">{sample_id}\n" + "A" * (1000 - len(sample_id) - 3) + "\n")
    msa = workdir / "results" / sample_id / "msa" / f"{sample_id}.a2m_msa2"
    msa.parent.mkdir(exist_ok=True)
    with open(msa, "wb") as handle:
        handle.truncate(512 * 1000)
    result = run_command(f"snakemake -n results/{sample_id}/features/features.npz", workdir)
    assert result.returncode == 0, result.stdout[-3000:]
    block = result.stdout.split("rule run_model:", 1)[1].split("\n\n", 1)[0]
    assert "mem_mb=5546," in block, block  # 900 MB + 6,000 B x 512,000 + 1,800 B x 1,000²
