"""rnamsm.layout: the one place that names the per-sample outputs; the workflow takes its paths from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rnamsm.cli import main
from rnamsm.errors import RnamsmError
from rnamsm.formats import msa as msa_format
from rnamsm.formats.msa import Alignment
from rnamsm.formats.structure import Structure, structure_texts
from rnamsm.layout import (
    SampleLayout,
    benchmark_file,
    check_sample_id,
    family_layout,
    is_sample_id,
    log_file,
    member_sample_id,
    names_pattern,
    sample_layout,
)
from tests.conftest import REPO_ROOT

WORKFLOW_FILES = (REPO_ROOT / "Snakefile", *sorted((REPO_ROOT / "workflow" / "rules").glob("*.smk")))


def test_the_layout_of_a_sample() -> None:
    """The layout of CONTRIBUTING.md, path by path."""
    files = sample_layout("S1")
    root = Path("results/S1")
    assert files == SampleLayout(root, "S1")
    assert files.query == root / "query.fa"
    assert (files.msa.a3m, files.msa.sto, files.msa.a2m_msa2, files.msa.stats) == (
        root / "msa/S1.a3m", root / "msa/S1.sto", root / "msa/S1.a2m_msa2", root / "msa/msa_stats.json")
    assert files.features == root / "features/features.npz"
    structure = files.structure
    assert (structure.bpseq, structure.ct, structure.dbn, structure.prob, structure.summary) == (
        root / "structure/S1.bpseq", root / "structure/S1.ct", root / "structure/S1.dbn",
        root / "structure/S1.prob.npy", root / "structure/ss.json")
    assert files.rsa == root / "rsa/S1.rsa.tsv"
    baselines = files.baselines
    assert (baselines.rnafold_dbn, baselines.rnafold_bpp, baselines.rnaalifold_dbn, baselines.summary) == (
        root / "baselines/S1.rnafold.dbn", root / "baselines/S1.rnafold_bpp.npy",
        root / "baselines/S1.rnaalifold.dbn", root / "baselines/baselines.json")
    assert files.report == root / "report.html"
    assert files.report_inputs() == (files.query, files.msa.stats, files.features, structure.summary, files.rsa,
                                     baselines.summary)
    assert benchmark_file("run_model", "S1") == Path("results/benchmarks/run_model/S1.tsv")
    assert log_file("run_model", "S1") == Path("logs/run_model/S1.log")
    assert str(sample_layout("{sample}").msa.a3m) == "results/{sample}/msa/{sample}.a3m"  # a rule's pattern


def test_format_writers_name_their_files_as_the_layout_does(tmp_path: Path) -> None:
    """The MSA and structure writers take a folder and a name; the files they write are the layout's."""
    files = sample_layout("S1", tmp_path)
    alignment = Alignment(("S1", "hit"), ("GGGAAACCC", "GGGaAAACCC"))
    assert list(msa_format.texts(alignment, files.msa.folder / "S1", "S1")) == [
        files.msa.a3m, files.msa.sto, files.msa.a2m_msa2]
    structure = files.structure
    assert list(structure_texts(Structure("S1", "GGGAAACCC", {(1, 9)}), structure.folder)) == [
        structure.bpseq, structure.ct, structure.dbn]


def test_sample_ids_are_checked() -> None:
    """A sheet's sample id, or a family member's {family_id}.{member} (one dot, between two sample ids)."""
    assert check_sample_id("tRNA_1-b") == "tRNA_1-b" and check_sample_id("tRNA5.tRNA_1") == "tRNA5.tRNA_1"
    assert is_sample_id("tRNA_1-b") and not is_sample_id("tRNA5.tRNA_1")  # the sheets' ids have no dot
    assert member_sample_id("tRNA5", "tRNA_1") == "tRNA5.tRNA_1"
    assert family_layout("tRNA5").report == Path("results/families/tRNA5/report.html")
    for bad in ("../x", "a..b", "a.b.c", "a.", ".a", "-a", "a.-b", ""):
        with pytest.raises(RnamsmError, match="must match"):
            check_sample_id(bad)


def test_names_pattern_matches_exactly_the_names_inside_a_path() -> None:
    """The wildcard constraint of a set of sample ids (a prefix tree): inside an output path it matches each id
    and no other (a prefix, an extension, a member id, a regex character of an id), and nothing for no ids."""
    names = ["s1", "s10", "s2", "tRNA5.tRNA_1", "tRNA5.tRNA_10", "a-b", "a_b", "x"]
    output = re.compile(rf"results/(?P<sample>{names_pattern(names)})/msa/rounds/round1\.0\.json")
    candidates = {*names, "s", "s100", "s3", "tRNA5", "tRNA5.tRNA_", "tRNA5xtRNA_1", "a", "a-", "ab", "x.", ""}
    for candidate in candidates:
        match = output.fullmatch(f"results/{candidate}/msa/rounds/round1.0.json")
        assert (match is not None and match["sample"] == candidate) == (candidate in names), candidate
    assert names_pattern(["s10", "s1", "s1"]) == "s1(?:0)?"
    assert re.fullmatch(names_pattern([]), "") is None and re.fullmatch(names_pattern([]), "s1") is None


def test_workflow_names_no_output_path_of_its_own() -> None:
    """Rules and common.smk take every results/ and logs/ path from rnamsm.layout (they spelled them out)."""
    literal = re.compile(r"""["'][^"'\n]*\b(?:results|logs)/[^"'\n]*["']""")
    found = [f"{path.name}: {match.group()}" for path in WORKFLOW_FILES for match in literal.finditer(path.read_text())]
    assert not found, found


def test_workflow_states_no_model_size() -> None:
    """Demo heads are sized from the checkpoint itself (common.smk restated 8 x 64 and 120 x 768)."""
    for path in WORKFLOW_FILES:
        text = path.read_text()
        assert "--num-maps" not in text and "--embed-dim" not in text and "FEATURE_SIZE" not in text, path.name


def test_demo_heads_sized_like_a_checkpoint(tmp_path: Path) -> None:
    """`make-demo-heads --like-checkpoint` (what the workflow runs) gives the heads of the checkpoint's sizes."""
    assert main(["make-demo-checkpoint", str(tmp_path / "ckpt")]) == 0
    assert main(["make-demo-heads", str(tmp_path / "like"), "--like-checkpoint", str(tmp_path / "ckpt")]) == 0
    assert main(["make-demo-heads", str(tmp_path / "sized"), "--num-maps", "8", "--embed-dim", "64"]) == 0
    for name in ("ss.safetensors", "rsa_0.safetensors", "rsa_1.safetensors", "rsa_2.safetensors"):
        assert (tmp_path / "like" / name).read_bytes() == (tmp_path / "sized" / name).read_bytes(), name
