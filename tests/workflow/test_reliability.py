"""Reliability of workflow runs: killed jobs, transient and permanent failures, locks, bad inputs."""

from __future__ import annotations

import gzip
import html
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from rnamsm.formats import msa as msa_format
from tests.conftest import INFERNAL_DATA, RNAMSM_OUTPUTS
from tests.support.outputs import differences
from tests.support.readme import readme_commands
from tests.support.workflow import copy_workflow, run_command, seed_demo_weights, workflow_env

#: One real tRNA query and a cheap search (one nhmmer round against the ten M. ruminantium tRNAs). The sheet
#: has a comment line above its header, a commented-out row, and '#' and markup in its description.
SMALL_DESCRIPTION = "tRNA #1 of <i>M. ruminantium</i> & co"
SMALL_SHEET = (
    "# one real tRNA query\n"
    "sample_id\tfasta\trecord\tdescription\n"
    "#mrum-tRNA-5\tresources/demo/queries/mrum-tRNAs10.fa\tmrum-tRNA.5\tcommented out\n"
    f"mrum-tRNA-1\tresources/demo/queries/mrum-tRNAs10.fa\tmrum-tRNA.1\t{SMALL_DESCRIPTION}\n"
)
SMALL_CONFIG = {"databases": ["resources/demo/queries/mrum-tRNAs10.fa"], "search": {"cm": {"max_rounds": 0}}}


def small_workflow(path: Path, sheet: str = SMALL_SHEET, weights: Path | None = None) -> Path:
    """A fresh checkout with the small config and ``sheet``; with ``weights`` (the ``demo_weights`` fixture)
    the demo weights are copied in, so that its run starts at the sample's jobs."""
    workdir = copy_workflow(path)
    if weights is not None:
        seed_demo_weights(workdir, weights)
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    config.update(SMALL_CONFIG)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (workdir / "config" / "samples.tsv").write_text(sheet)
    return workdir


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, demo_weights: Path) -> Path:
    """An uninterrupted run of the small workflow."""
    workdir = small_workflow(tmp_path_factory.mktemp("reference") / "run", weights=demo_weights)
    result = run_command("snakemake --cores 2", workdir)
    assert result.returncode == 0, result.stdout[-5000:]
    return workdir


def start_snakemake(command: str, workdir: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        command, shell=True, cwd=workdir, env=workflow_env(**env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )


def wait_for(condition, timeout: float = 300, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_sigkill_mid_stage_then_rerun_incomplete(reference_run: Path, demo_weights: Path, tmp_path: Path) -> None:
    """A run killed in homology_search, its rerun killed in run_model (one workflow copy carries both kills):
    each leaves no partial output, and after `--unlock` the last `--rerun-incomplete` gives the uninterrupted
    run's outputs."""
    workdir = small_workflow(tmp_path / "run", weights=demo_weights)
    command = "snakemake --cores 2"
    # The killed stage leaves no output behind, only possibly a hidden temporary.
    for stage, output in (("homology_search", "msa/msa_stats.json"), ("run_model", "features/features.npz")):
        log = workdir / "logs" / stage / "mrum-tRNA-1.log"
        process = start_snakemake(command, workdir)
        wait_for(log.exists, what=f"{stage} to start")
        time.sleep(1.0)  # into the job's work (its imports and computation)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        partial = workdir / "results" / "mrum-tRNA-1" / output
        assert not partial.exists() or partial.stat().st_size > 0, stage
        assert run_command("snakemake --unlock", workdir).returncode == 0
        command = "snakemake --cores 2 --rerun-incomplete"

    result = run_command(command, workdir)
    assert result.returncode == 0, result.stdout[-5000:]
    assert differences(reference_run / "results", workdir / "results") == []
    assert not list((workdir / "results").rglob(".*.part*"))


def test_index_reads_the_sheet_like_the_workflow_and_shows_the_description(reference_run: Path) -> None:
    """No phantom sample from the comment above the header or the commented-out row (the index used to fail on
    '#mrum-tRNA-5'); the sheet's description reaches the index and the report as text."""
    results = reference_run / "results"
    index = (results / "index.html").read_text()
    assert re.findall(r'data-sample="([^"]*)"', index) == ["mrum-tRNA-1"]
    escaped = html.escape(SMALL_DESCRIPTION, quote=False)
    assert f'<td class="description">{escaped}</td>' in index
    report = (results / "mrum-tRNA-1" / "report.html").read_text()
    assert f'<p id="sample-description">{escaped}</p>' in report


def test_hash_inside_sheet_fields_reaches_the_jobs(tmp_path: Path) -> None:
    """'#' inside a field is data: the sample is searched against its own database, not the config's."""
    workdir = small_workflow(tmp_path / "run", sheet=(
        "# minihelices, batch #7\n"
        "sample_id\tfasta\tdatabase\tdescription\n"
        "#s_off\tresources/q#1.fa\t\tcommented out\n"
        "2DRB_1\tresources/q#1.fa\tresources/db#2.fa\tminihelix #3 (PDB 2DRB)\n"
    ))
    shutil.copy(workdir / "resources" / "demo" / "queries" / "2DRB_1.fasta", workdir / "resources" / "q#1.fa")
    shutil.copy(workdir / "resources" / "demo" / "queries" / "mrum-tRNAs10.fa", workdir / "resources" / "db#2.fa")
    result = run_command("snakemake -n -p", workdir)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "rnamsm validate-input 'resources/q#1.fa' --rename 2DRB_1 " in result.stdout
    assert "rnamsm search results/2DRB_1/query.fa --db 'resources/db#2.fa' " in result.stdout
    assert "--description='minihelix #3 (PDB 2DRB)' " in result.stdout
    assert "s_off" not in result.stdout


def test_readme_nested_config_command_reaches_the_jobs(tmp_path: Path) -> None:
    """The README's `--config "heads={threshold: 0.6}"`: Snakemake passes 0.6 as text, the workflow reads a number."""
    command = next(line for line in readme_commands() if line.startswith('snakemake -n --config "heads={'))
    result = run_command(f"{command} -p", small_workflow(tmp_path / "run"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert '"threshold": 0.6' in result.stdout


def test_config_files_are_code(tmp_path: Path) -> None:
    """docs/reliability.md, untrusted files: Snakemake evaluates the YTE expressions of a config file with
    `__use_yte__: true`, even on a dry run (here one that writes a file and sets the threshold)."""
    workdir = small_workflow(tmp_path / "run")
    marker = tmp_path / "yte-ran"
    (workdir / "overlay.yaml").write_text(
        f"__use_yte__: true\nheads:\n  threshold: ?open({str(marker)!r}, 'w').write('ran') * 0 + 0.25\n")
    result = run_command("snakemake -n -p --configfile overlay.yaml", workdir)
    assert result.returncode == 0, result.stdout[-3000:]
    assert marker.read_text() == "ran" and '"threshold": 0.25' in result.stdout


def test_transient_failure_is_retried_and_a_second_run_is_refused(reference_run: Path, demo_weights: Path,
                                                                   tmp_path: Path) -> None:
    """One run whose model job fails once (`--retries 1`), and a second run started on the same results while
    it runs (one workflow run carries both cases): the second refuses (the first's lock), the first retries
    the job and finishes unharmed, with the uninterrupted run's outputs."""
    workdir = small_workflow(tmp_path / "run", weights=demo_weights)
    marker = tmp_path / "model-failed-once"
    first = start_snakemake("snakemake --cores 2 --retries 1", workdir, RNAMSM_FAIL_ONCE=f"run-samples:{marker}")
    wait_for(lambda: any((workdir / ".snakemake" / "locks").glob("*")), what="the first run's lock")
    second = run_command("snakemake --cores 2", workdir)
    assert second.returncode != 0
    assert "cannot be locked" in second.stdout or "LockException" in second.stdout, second.stdout[-3000:]
    output, _ = first.communicate(timeout=900)
    assert first.returncode == 0, output[-5000:]
    assert marker.exists(), "the injected failure did not happen"
    assert "Error in rule run_model" in output and "Trying to restart job" in output
    assert differences(reference_run / "results", workdir / "results") == []


#: Bad (and awkward but valid) inputs, one sample each, all in one `--keep-going` run:
#: sample -> (query file content or None for the good tRNA, database content or None, expected status, reason part).
TRNA = "GGAGCUAUAGCUCAAUGGCAGAGCGUUUGGCUGACAUCCAAAAGGUUAUGGGUUCGAUUCCCUUUAGCCCCA"
WORKFLOW_INPUT_MATRIX = {
    "good": (None, None, "ok", ""),
    "crlf-gz-dna": ((">q desc\r\n" + TRNA.lower().replace("u", "t") + "\r\n").encode(), None, "ok", ""),
    "empty-query": (b"", None, "failed", "validate_input: rnamsm validate-input: error: "),
    "binary-query": (bytes(range(256)), None, "failed", "binary file, not FASTA"),
    "invalid-character": (f">q\n{TRNA[:20]}Z{TRNA[20:]}\n".encode(), None, "failed", "invalid character 'Z'"),
    "gapped-query": (f">q\n{TRNA[:20]}-{TRNA[20:]}\n".encode(), None, "failed", "invalid character '-'"),
    "two-records": (f">a\n{TRNA}\n>b\n{TRNA}\n".encode(), None, "failed", "expected one record, found 2"),
    "too-short": (b">q\nACGUACGUA\n", None, "failed", "sequence is 9 nt, shorter than the minimum of 10 nt"),
    "database-not-fasta": (
        None, b"LOCUS       NC_013790\nORIGIN\n//\n", "failed", "homology_search: rnamsm search: error: "
    ),
    "database-duplicates": (None, f">x\n{TRNA}\n>x\n{TRNA}\n>empty\n\n>y\n{TRNA}\n".encode(), "ok", ""),
    # Rfam-style ids (accession/start-end) are not file names: the workflow renames the query to the sample id.
    "rfam-ids": (f">AB001721.1/2-116 tRNA\n{TRNA}\n>CP000232.1/1874215-1874188\n{TRNA[::-1]}\n".encode(), None,
                 "ok", ""),
    "too-long": (f">q\n{(TRNA * 50)[:3501]}\n".encode(), None, "failed",
                 "sample 'too-long' (resources/bad-inputs/too-long.fa): sequence is 3,501 nt, longer than the "
                 "maximum of 3,500 nt"),
}
#: The `record` column of the samples above that pick one record of their file.
WORKFLOW_RECORDS = {"rfam-ids": "AB001721.1/2-116"}
#: Samples with their own alignment (`msa` column; query: a tRNA of mrum-tRNAs10.fa), in the same run:
#: sample -> (query record, alignment (a file of tests/data or bytes), file name, expected status, reason part).
WORKFLOW_MSA_MATRIX = {
    "msa-query-not-first": ("mrum-tRNA.3", INFERNAL_DATA / "mrum-tRNAs10.cmalign.sto", "cmalign.sto", "ok", ""),
    "msa-placed-no-ss-cons": ("mrum-tRNA.1", INFERNAL_DATA / "tRNA5-noss.sto", "tRNA5-noss.sto.gz", "ok", ""),
    "msa-placed-cmalign": ("mrum-tRNA.1", INFERNAL_DATA / "tRNA5.sto", "tRNA5.sto", "ok", ""),
    "msa-cannot-place": ("mrum-tRNA.1", RNAMSM_OUTPUTS / "Cobalamin.sto", "Cobalamin.sto", "failed",
                         "import_msa: rnamsm import-msa: error: resources/bad-inputs/Cobalamin.sto: query "
                         "'msa-cannot-place' is not in the alignment and cannot be placed"),
    "msa-ragged": ("mrum-tRNA.1", b">a\nGGAGCUAUAG\n>b\nGGAGCU\n", "ragged.fa", "failed",
                   "ragged.fa: row 2 ('b') has 6 match columns"),
    "msa-empty": ("mrum-tRNA.1", b"", "empty.a3m", "failed", "empty.a3m: no sequences found"),
}
#: Samples with only their alignment (no `fasta`): the query is the row named `record`, else the first row:
#: sample -> (record, file name of a WORKFLOW_MSA_MATRIX alignment, the query row expected).
WORKFLOW_MSA_ONLY = {
    "msa-only-record": ("mrum-tRNA.7", "cmalign.sto", "mrum-tRNA.7"),
    "msa-only-first-row": ("", "tRNA5-noss.sto.gz", "tRNA1"),
}


def test_bad_inputs_fail_their_sample_only_and_the_index_says_why(demo_weights: Path, tmp_path: Path) -> None:
    workdir = small_workflow(tmp_path / "run", weights=demo_weights)
    inputs = workdir / "resources" / "bad-inputs"
    inputs.mkdir()
    rows = ["# one sample per bad input", "sample_id\tfasta\trecord\tdatabase\tdescription\tmsa",
            "#s_off\tresources/demo/queries/mrum-tRNAs10.fa\tmrum-tRNA.1\t\tcommented out\t"]
    for sample, (query, database, _, _) in WORKFLOW_INPUT_MATRIX.items():
        fasta, record = "resources/demo/queries/mrum-tRNAs10.fa", "mrum-tRNA.1"
        if query is not None:
            fasta = f"resources/bad-inputs/{sample}.fa" + (".gz" if sample.endswith("-gz-dna") else "")
            record = WORKFLOW_RECORDS.get(sample, "")
            (workdir / fasta).write_bytes(gzip.compress(query) if fasta.endswith(".gz") else query)
        db = ""
        if database is not None:
            db = f"resources/bad-inputs/{sample}.db.fa"
            (workdir / db).write_bytes(database)
        rows.append(f"{sample}\t{fasta}\t{record}\t{db}\t{sample} #1\t")
    for sample, (record, alignment, name, _, _) in WORKFLOW_MSA_MATRIX.items():
        content = alignment if isinstance(alignment, bytes) else alignment.read_bytes()
        (inputs / name).write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
        rows.append(f"{sample}\tresources/demo/queries/mrum-tRNAs10.fa\t{record}\t\t{sample} #1\t"
                    f"resources/bad-inputs/{name}")
    for sample, (record, name, _) in WORKFLOW_MSA_ONLY.items():
        rows.append(f"{sample}\t\t{record}\t\t{sample} #1\tresources/bad-inputs/{name}")
    (workdir / "config" / "samples.tsv").write_text("\n".join(rows) + "\n")
    expected = {sample: entry[2:] for sample, entry in WORKFLOW_INPUT_MATRIX.items()}
    expected.update({sample: entry[3:] for sample, entry in WORKFLOW_MSA_MATRIX.items()})
    expected.update({sample: ("ok", "") for sample in WORKFLOW_MSA_ONLY})

    result = run_command("snakemake --cores 2 --keep-going", workdir)
    assert result.returncode != 0
    status = (workdir / "results" / "batch_status.tsv").read_text().splitlines()
    rows_by_sample = {line.split("\t")[0]: line.split("\t")[1:] for line in status[1:]}
    index = (workdir / "results" / "index.html").read_text()
    for sample, (expected_status, reason) in expected.items():
        got_status, got_reason = rows_by_sample[sample]
        assert got_status == expected_status and reason in got_reason, (sample, got_status, got_reason)
        assert "Traceback" not in got_reason
        report = workdir / "results" / sample / "report.html"
        assert report.is_file() == (expected_status == "ok"), sample
        assert f'<td class="description">{sample} #1</td>' in index  # the onerror index reads the sheet
        if expected_status == "failed":
            stage = got_reason.split(":")[0]
            log_lines = (workdir / "logs" / stage / f"{sample}.log").read_text().strip().splitlines()
            assert len(log_lines) == 1 and "Traceback" not in log_lines[0], log_lines
    assert "shorter than the minimum of 10 nt" in index and "cannot be placed" in index
    assert "s_off" not in index and list(rows_by_sample) == list(expected)
    assert (workdir / "results" / "rfam-ids" / "query.fa").read_text().startswith(">rfam-ids AB001721.1/2-116 tRNA\n")
    stats = json.loads((workdir / "results" / "database-duplicates" / "msa" / "msa_stats.json").read_text())
    assert any("duplicate" in warning for warning in stats["warnings"]), stats["warnings"]
    placed = json.loads((workdir / "results" / "msa-placed-no-ss-cons" / "msa" / "msa_stats.json").read_text())
    assert placed["source"]["placement"] == "hmmalign" and placed["source"]["path"].endswith("tRNA5-noss.sto.gz")
    placed = json.loads((workdir / "results" / "msa-placed-cmalign" / "msa" / "msa_stats.json").read_text())
    assert placed["source"]["placement"] == "cmalign"  # SS_cons: a CM of the alignment placed the query
    assert "not in the alignment: placed with cmalign" in (workdir / "results" / "msa-placed-cmalign" / "report.html"
                                                           ).read_text()
    moved = json.loads((workdir / "results" / "msa-query-not-first" / "msa" / "msa_stats.json").read_text())
    assert moved["source"]["record"] == "mrum-tRNA.3" and moved["depth"] == 10
    assert not (workdir / "logs" / "homology_search" / "msa-query-not-first.log").exists()  # no search ran
    for sample, (_, name, row) in WORKFLOW_MSA_ONLY.items():  # the query: that row's residues, found as that row
        only = json.loads((workdir / "results" / sample / "msa" / "msa_stats.json").read_text())
        assert only["source"]["record"] == row and only["source"]["placement"] in ("record", "sequence"), only
        residues = msa_format.read(workdir / "resources" / "bad-inputs" / name).records
        expected_query = next(r for n, r in residues if n == row).replace("-", "").replace(".", "").upper()
        assert only["query_sequence"] == expected_query
        assert (workdir / "results" / sample / "query.fa").read_text().startswith(f">{sample} {row}\n")


BAD_WORKFLOW_INPUTS = {
    "unknown-sheet-column": (
        lambda workdir: (workdir / "config" / "samples.tsv").write_text(
            "sample_id\tsequence\tcolour\ns1\tACGUACGUACGU\tred\n"),
        "line 2 ('s1'): unknown key(s) ('colour' was unexpected)",
    ),
    "missing-sheet-values": (
        lambda workdir: (workdir / "config" / "samples.tsv").write_text("sample_id\tsequence\tfasta\ns1\t\t\n"),
        "line 2 ('s1'): give exactly one of 'sequence' or 'fasta'",
    ),
    "sample-id-traversal": (
        lambda workdir: (workdir / "config" / "samples.tsv").write_text(
            "sample_id\tsequence\n../../etc\tACGUACGUACGU\n"),
        "sample_id: '../../etc' is not allowed",
    ),
    "config-wrong-type": (
        lambda workdir: (workdir / "config" / "config.yaml").write_text(
            (workdir / "config" / "config.yaml").read_text().replace("min_length: 10", "min_length: ten")),
        "input.min_length: 'ten' is not of type 'integer'",
    ),
    "config-python-tag": (
        lambda workdir: (workdir / "config" / "config.yaml").write_text(
            'x: !!python/object/apply:os.system ["touch PWNED"]\n' + (workdir / "config" / "config.yaml").read_text()),
        "config/config.yaml: line 1: not valid YAML: Python tag '!!python/object/apply:os.system' is not allowed",
    ),
    "missing-sheet": (
        lambda workdir: (workdir / "config" / "samples.tsv").unlink(),
        "config/samples.tsv: sample sheet not found",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_WORKFLOW_INPUTS))
def test_bad_workflow_input_is_one_clear_message(case: str, tmp_path: Path) -> None:
    workdir = small_workflow(tmp_path / "run")
    damage, expected = BAD_WORKFLOW_INPUTS[case]
    damage(workdir)
    result = run_command("snakemake -n", workdir)
    assert result.returncode != 0
    assert expected in result.stdout, result.stdout[-3000:]
    assert "Traceback" not in result.stdout
    assert not (workdir / "results").exists()
