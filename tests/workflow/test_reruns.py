"""Config-edited reruns: an edit reruns exactly the rules that read the edited value, and what follows."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from rnamsm.checksums import file_sha256
from rnamsm.cli import main
from rnamsm.formats import ss_summary
from rnamsm.heads.head_file import load_head
from rnamsm.heads.postprocess import OFFICIAL_THRESHOLD, PairCallOptions, call_pairs
from tests.conftest import REPO_ROOT
from tests.support.readme import readme_commands
from tests.support.workflow import run_command

DOWNSTREAM_OF_SEARCH = {"homology_search", "run_model", "baselines", "sample_report", "batch_index"}
#: One edit of config/config.yaml per stage: (section, key, new value) -> the rules that must rerun.
RERUN_MATRIX = {
    "nothing": (None, set()),
    "search": (("search", "calibrate_L", 0.03), DOWNSTREAM_OF_SEARCH),
    "model": (("model", "max_seqs", 256), {"run_model", "sample_report", "batch_index"}),
    # the heads run in the model's job (they take the attention maps in memory): a heads edit reruns it
    "heads": (("heads", "threshold", 0.6), {"run_model", "sample_report", "batch_index"}),
    "report": (("report", "title", "Another title"), {"sample_report", "batch_index"}),
    # how many samples share a cluster job changes no output: finished samples stay finished
    "samples_per_job": (("model", "samples_per_job", 1), set()),
    "search_samples_per_job": (("search", "samples_per_job", 1), set()),
}
#: Config leaves that size the workflow's cluster jobs and reach no command (docs/cluster.md).
JOB_SIZE_LEAVES = {("model", "samples_per_job"), ("search", "samples_per_job")}


#: The README's summary command (tests/workflow/test_readme.py leaves it to the edit `nothing` below).
SUMMARY_COMMAND = "snakemake --summary"


def rules_to_rerun(workdir: Path) -> set[str]:
    """Rules whose outputs :data:`SUMMARY_COMMAND` plans to update."""
    result = run_command(SUMMARY_COMMAND, workdir)
    assert result.returncode == 0, result.stdout[-3000:]
    rows = [line.split("\t") for line in result.stdout.splitlines() if line.count("\t") == 5]
    assert rows and rows[0] == ["output_file", "date", "rule", "log-file(s)", "status", "plan"]
    return {row[2] for row in rows[1:] if row[5] == "update pending"}


@pytest.mark.parametrize("edited", sorted(RERUN_MATRIX))
def test_config_edit_reruns_exactly_its_stage_and_downstream(demo_run: Path, tmp_path: Path, edited: str) -> None:
    edit, expected = RERUN_MATRIX[edited]
    workdir = shutil.copytree(demo_run, tmp_path / "run", symlinks=True)
    if edit:
        section, key, value = edit
        config_path = workdir / "config" / "config.yaml"
        config = yaml.safe_load(config_path.read_text())
        config.setdefault(section, {})[key] = value
        config_path.write_text(yaml.safe_dump(config))
    else:
        assert SUMMARY_COMMAND in readme_commands()
    assert rules_to_rerun(workdir) == expected


def test_a_trained_head_is_thresholded_at_its_recorded_threshold(demo_run: Path, tmp_path: Path) -> None:
    """heads.threshold unset: predict_ss uses the threshold a train-head head recorded (was always 0.516)."""
    workdir = shutil.copytree(demo_run, tmp_path / "run", symlinks=True)
    labels = workdir / "labels"
    labels.mkdir()
    features = workdir / "features"
    features.mkdir()
    for mfe in (workdir / "results").glob("*/baselines/*.rnafold.dbn"):  # the demo's RNAfold structures
        sample = mfe.parent.parent.name
        shutil.copy(mfe, labels / f"{sample}.dbn")
        # the workflow's features.npz keep no attention maps (model.keep): rnamsm features alone keeps them
        # (in this process: the commands' own entry point, without a Python and PyTorch start-up each)
        assert main(["features", str(workdir / "results" / sample / "msa" / f"{sample}.a2m_msa2"), "--out",
                     str(features / f"{sample}.npz"), "--checkpoint",
                     str(workdir / "results" / ".weights" / "demo-checkpoint")]) == 0
    assert main(["train-head", "ss", "--features", *sorted(map(str, features.glob("*.npz"))), "--labels",
                 str(labels), "--out", str(workdir / "trained.safetensors"), "--width", "8", "--blocks", "1",
                 "--epochs", "2", "--device", "cpu"]) == 0
    recorded = float(load_head(workdir / "trained.safetensors", "ss").metadata["threshold"])
    assert recorded != OFFICIAL_THRESHOLD  # the validation grid is 0.05, 0.06, ..., 0.95
    config_path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["heads"]["ss_head"] = "trained.safetensors"
    config["heads"].pop("threshold", None)
    config_path.write_text(yaml.safe_dump(config))
    result = run_command("snakemake --cores 1 results/2DRB_1/structure/ss.json", workdir)
    assert result.returncode == 0, result.stdout[-3000:]
    structure = workdir / "results" / "2DRB_1" / "structure"
    summary = ss_summary.read(structure / "ss.json")
    assert summary.head_sha256 == file_sha256(workdir / "trained.safetensors")
    assert summary.threshold == recorded
    prob = np.load(structure / "2DRB_1.prob.npy")
    assert list(summary.pairs) == call_pairs(prob, summary.sequence, PairCallOptions(recorded))


def schema_leaves(schema: dict, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], dict]:
    leaves = {}
    for name, sub in schema.get("properties", {}).items():
        if sub.get("type") == "object" and "properties" in sub:
            leaves.update(schema_leaves(sub, (*prefix, name)))
        else:
            leaves[(*prefix, name)] = sub
    return leaves


def distinctive_value(path: tuple[str, ...], sub: dict, serial: int, workdir: Path):
    """A valid value for a config leaf that no other leaf takes and no default equals."""
    kind = sub.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if path == ("samples",):
        copy = workdir / "config" / "samples-copy.tsv"
        copy.write_text((workdir / "config" / "samples.tsv").read_text())
        return "config/samples-copy.tsv"
    if path == ("families",):  # the demo families: their chunk jobs show family_members_per_job
        copy = workdir / "config" / "families-copy.tsv"
        copy.write_text((workdir / "resources" / "demo" / "families" / "families.tsv").read_text())
        return "config/families-copy.tsv"
    if path == ("databases",):
        return ["resources/demo/queries/Cobalamin.fa"]
    if path == ("search", "shards"):  # an integer or `auto`
        return 3
    if path in {("heads", "ss_head")}:
        return "resources/demo/queries/2DRB_1.fasta"
    if path == ("model", "keep"):
        return ["attention_maps"]
    if path in {("heads", "rsa_heads"), ("heads", "rsa_stats")}:
        return ["resources/demo/queries/mrum-tRNAs10.fa"]
    if "enum" in sub:
        others = [value for value in sub["enum"] if value != sub["default"]]
        return others[-1] if others else sub["default"]
    if "boolean" in kinds:
        return not sub["default"]
    if "integer" in kinds:
        return min(sub.get("maximum", 10**6), 900 + serial)
    if "number" in kinds:
        return round(min(sub.get("maximum", 10**6), 1.0) * (0.5 + serial / 1000), 6)
    if "string" in kinds:
        if "pattern" in sub:
            return "cuda:7"
        return f"value{serial}"
    raise AssertionError(f"no distinctive value for {path}")


def test_every_config_leaf_reaches_a_rule(demo_run: Path) -> None:
    """With every leaf set to a distinctive value, each value shows up in the planned jobs' commands."""
    schema = yaml.safe_load((REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    config: dict = {}
    expected = {}
    for serial, (path, sub) in enumerate(sorted(schema_leaves(schema).items()), start=1):
        value = distinctive_value(path, sub, serial, demo_run)
        node = config
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
        expected[path] = value
    config_file = demo_run / "config" / "every-leaf.yaml"
    config_file.write_text(yaml.safe_dump(config))
    result = run_command(f"snakemake -n -p --forceall --configfile {config_file.relative_to(demo_run)}", demo_run)
    assert result.returncode == 0, result.stdout[-3000:]
    commands = result.stdout
    missing = []
    for path, value in expected.items():
        if path in JOB_SIZE_LEAVES:
            assert f'"{path[-1]}"' not in commands, f"{'.'.join(path)} reaches a command (it would rerun jobs)"
            continue
        if isinstance(value, bool):
            flag = "--" + path[-1].replace("_", "-")
            found = flag in commands or re.search(rf'"{path[-1]}": {json.dumps(value)}', commands)
        elif isinstance(value, list):
            found = all(item in commands for item in value)
        elif len(path) > 1 and path[0] in {"search", "report"}:
            found = f'"{path[-1]}": {json.dumps(value)}' in commands
        else:
            found = str(value) in commands
        if not found:
            missing.append(".".join(path))
    assert not missing, f"config keys that reach no rule: {missing}"


def planned_by_sample(workdir: Path, config: str = "") -> dict[str, set[str]]:
    """Rules that `snakemake --summary` plans to rerun, by sample (the index as 'index', a family's report
    and chunks as 'families/{family_id}'); ``config``: a `--config` value."""
    result = run_command("snakemake --summary" + (f" --config {config}" if config else ""), workdir)
    assert result.returncode == 0, result.stdout[-3000:]
    planned: dict[str, set[str]] = {}
    for row in (line.split("\t") for line in result.stdout.splitlines() if line.count("\t") == 5):
        if row[5] == "update pending":
            parts = row[0].split("/")
            key = parts[1:3] if parts[1] == "families" else parts[1:2]
            sample = "index" if row[0] == "results/index.html" else "/".join(key)
            planned.setdefault(sample, set()).add(row[2])
    return planned


def test_own_msa_reruns_only_its_sample_and_gives_the_searched_features(demo_run: Path, tmp_path: Path) -> None:
    """Cobalamin switched to its own search's .a2m_msa2: only Cobalamin reruns (import, not search) and its
    features equal the searched ones; new content with the old mtime reruns it from the import on; switching
    back to the search reruns only Cobalamin again."""
    workdir = shutil.copytree(demo_run, tmp_path / "run", symlinks=True)
    own = workdir / "resources" / "own" / "Cobalamin.a2m_msa2"
    own.parent.mkdir()
    shutil.copy2(workdir / "results" / "Cobalamin" / "msa" / "Cobalamin.a2m_msa2", own)
    sheet = workdir / "config" / "samples.tsv"
    searched_sheet = sheet.read_text()
    lines = searched_sheet.splitlines()
    lines[0] += "\tmsa"
    lines[1:] = [line + ("\tresources/own/Cobalamin.a2m_msa2" if line.startswith("Cobalamin\t") else "\t")
                 for line in lines[1:]]
    sheet.write_text("\n".join(lines) + "\n")
    downstream = {"run_model", "baselines", "sample_report"}
    assert planned_by_sample(workdir) == {"Cobalamin": {"import_msa", *downstream}, "index": {"batch_index"}}

    result = run_command("snakemake --cores 2", workdir)
    assert result.returncode == 0, result.stdout[-5000:]
    assert planned_by_sample(workdir) == {}
    features = workdir / "results" / "Cobalamin" / "features" / "features.npz"
    with np.load(features) as imported, np.load(demo_run / "results" / "Cobalamin" / "features" /
                                                 "features.npz") as searched:
        assert sorted(imported.files) == sorted(searched.files)
        for key in searched.files:
            assert np.array_equal(imported[key], searched[key]), key
    stats = json.loads((workdir / "results" / "Cobalamin" / "msa" / "msa_stats.json").read_text())
    assert stats["source"]["path"] == "resources/own/Cobalamin.a2m_msa2"

    before = own.stat()
    own.write_text("".join(own.read_text().splitlines(keepends=True)[:-2]))  # one row fewer, same mtime
    os.utime(own, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert planned_by_sample(workdir) == {"Cobalamin": {"import_msa", *downstream}, "index": {"batch_index"}}

    sheet.write_text(searched_sheet)
    assert planned_by_sample(workdir) == {"Cobalamin": {"homology_search", *downstream}, "index": {"batch_index"}}


#: The README's demo families command (tests/workflow/test_readme.py leaves it to the test below).
FAMILIES_COMMAND = "snakemake --cores 2 --config families=resources/demo/families/families.tsv"
FAMILY_RULES = {"family_chunk", "family_report"}


def test_families_add_only_their_jobs_and_an_edit_reruns_only_its_family(demo_run: Path, tmp_path: Path) -> None:
    """The README's families run on the finished demo: only the families' chunk jobs (2 members each, at most
    family_members_per_job), their reports and the index are added; members expanded (safe ids), member and
    family reports written, the index lists the families. New content of one family's alignment (same
    mtime) reruns only that family: here tRNA2's row emptied, so tRNA2 fails alone in its chunk, the run
    succeeds, and the family report and the index list it as failed with its reason."""
    assert FAMILIES_COMMAND in readme_commands()
    workdir = shutil.copytree(demo_run, tmp_path / "run", symlinks=True)
    config = FAMILIES_COMMAND.split("--config ")[1]
    trna = [f"tRNA5.tRNA{number}" for number in (1, 2)]
    hav = ["PK-HAV.AB020564_1_7423-7477", "PK-HAV.X15462_1_90-145"]
    expected = {"families/tRNA5": FAMILY_RULES, "families/PK-HAV": FAMILY_RULES, "index": {"batch_index"}}
    assert planned_by_sample(workdir, config) == expected

    result = run_command(FAMILIES_COMMAND, workdir)
    assert result.returncode == 0, result.stdout[-5000:]
    assert planned_by_sample(workdir, config) == {}
    results = workdir / "results"
    for family, members in (("tRNA5", trna), ("PK-HAV", hav)):
        summary = json.loads((results / "families" / family / "family.json").read_text())
        assert [row["sample"] for row in summary["members"]] == members
        assert summary["scores"]["rnamsm"]["pooled"]["f1"] >= 0 and summary["alignment"]["ss_cons_pairs"] > 0
        assert all((results / sample / "report.html").is_file() for sample in members)
    query = (results / hav[0] / "query.fa").read_text()
    assert query.startswith(f">{hav[0]} AB020564.1/7423-7477\n")  # the record's name kept
    index = (results / "index.html").read_text()
    assert '<a href="families/tRNA5/report.html">tRNA5</a>' in index and 'data-family="PK-HAV"' in index

    alignment = workdir / "resources" / "demo" / "families" / "tRNA5.sto"
    before = alignment.stat()
    alignment.write_text(re.sub(r"(?m)^(tRNA2 +)(\S+)$", lambda row: row[1] + "-" * len(row[2]),
                                alignment.read_text()))  # new content, same mtime
    os.utime(alignment, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert planned_by_sample(workdir, config) == {"families/tRNA5": FAMILY_RULES, "index": {"batch_index"}}
    result = run_command(FAMILIES_COMMAND, workdir)
    assert result.returncode == 0, result.stdout[-5000:]
    reason = ("validate_input: resources/demo/families/tRNA5.sto: row 'tRNA2': sequence is 0 nt, shorter than "
              "the minimum of 10 nt")
    assert (results / "families" / "tRNA5" / "chunks" / "0001.tsv").read_text() == (
        f"sample\tstatus\treason\n{trna[0]}\tok\t\n{trna[1]}\tfailed\t{reason}\n")
    summary = json.loads((results / "families" / "tRNA5" / "family.json").read_text())
    assert [row["sample"] for row in summary["members"]] == trna[:1]
    assert summary["failed"] == [{"sample": trna[1], "record": "tRNA2", "reason": reason}]
    assert not (results / trna[1]).exists() and (results / trna[0] / "report.html").is_file()
    index = (results / "index.html").read_text()
    row = index[index.index(f'data-sample="{trna[1]}"'):]
    assert ">failed<" in row[: row.index("</tr>")] and "sequence is 0 nt" in row[: row.index("</tr>")]
