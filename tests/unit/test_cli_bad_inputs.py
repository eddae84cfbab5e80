"""Bad input to any subcommand: exit status 1, one stderr line naming the file (or option), no output.

Each case here gave a traceback (or, for ``baselines --max-rows 0``, a segmentation fault) before it
was fixed; docs/reliability.md lists them. The inputs are small synthetic features (L = 12, 8 maps,
D = 16), demo heads sized for them and the repository's example files, so the module runs in seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from rnamsm.cli import main
from rnamsm.heads.demo import make_demo_heads
from rnamsm.heads.head_file import load_safetensors_head, save_head
from tests.conftest import INFERNAL_DATA, REPO_ROOT, RNAMSM_EXAMPLE, RNAMSM_OUTPUTS
from tests.support.report_fixtures import build_2drb1

SEQUENCE = "GGGAAACUUCCC"
BINARY = b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00" * 8


def _arrays(length: int = len(SEQUENCE)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    maps = rng.random((8, length, length)).astype(np.float32)
    return {"sequence": np.array(SEQUENCE[:length]), "embedding": rng.normal(size=(length, 16)).astype(np.float32),
            "attention_maps": maps / maps.sum(-1, keepdims=True), "weights_untrained": np.array(True)}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """features.npz, demo heads that fit it, a labels folder and a demo checkpoint folder."""
    root = tmp_path_factory.mktemp("inputs")
    np.savez(root / "features.npz", **_arrays())
    make_demo_heads(root / "heads", num_maps=8, embed_dim=16)
    assert main(["make-demo-checkpoint", str(root / "ckpt")]) == 0
    return {"root": root, "features": root / "features.npz", "ss": root / "heads" / "ss.safetensors",
            "rsa": root / "heads" / "rsa_0.safetensors", "ckpt": root / "ckpt"}


def refused(capsys, argv: list[str | Path], names: str | Path, *fragments: str) -> str:
    """Run ``rnamsm argv``: exit 1 and exactly one stderr line naming ``names`` and holding ``fragments``."""
    capsys.readouterr()
    status = main([str(arg) for arg in argv])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 1, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"rnamsm {argv[0]}: error: "), lines[0]
    assert str(names) in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --- features.npz ----------------------------------------------------------------------------------


def _flip_member_bytes(path: Path, member: str) -> None:
    """Overwrite bytes inside one member's data, so that reading it fails its CRC check."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    blob = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 200
    blob[start:start + 16] = bytes(16)
    path.write_bytes(bytes(blob))


def _write_features(path: Path, case: str) -> None:
    arrays = _arrays()
    if case == "empty":
        path.write_bytes(b"")
    elif case == "npy":
        np.save(path.with_suffix(".npy"), arrays["embedding"])
        path.with_suffix(".npy").rename(path)
    elif case == "truncated":
        np.savez(path, **arrays)
        path.write_bytes(path.read_bytes()[:-100])
    elif case == "bad_crc":
        np.savez(path, **arrays)
        _flip_member_bytes(path, "attention_maps.npy")
    elif case == "binary":
        path.write_bytes(BINARY)
    else:
        changes = {
            "string_embedding": {"embedding": np.full((len(SEQUENCE), 16), "a")},
            "nan_embedding": {"embedding": np.full((len(SEQUENCE), 16), np.nan, np.float32)},
            "bool_maps": {"attention_maps": arrays["attention_maps"] > 0.1},
            "untrained_array": {"weights_untrained": np.array([True, False])},
            "empty_sequence": {"sequence": np.array(""), "embedding": np.zeros((0, 16), np.float32),
                               "attention_maps": np.zeros((8, 0, 0), np.float32)},
            "bytes_sequence": {"sequence": np.array(SEQUENCE.encode())},
            "bad_character": {"sequence": np.array("GGGAA!CUUCCC")},
        }[case]
        np.savez(path, **{**arrays, **changes})


FEATURE_CASES = {
    "empty": "empty file, expected a features.npz file",
    "binary": "not a NumPy .npz archive",
    "npy": "a single .npy array, not an .npz archive",
    "truncated": "cannot read a features.npz file (truncated or corrupt)",
    "bad_crc": "cannot read a features.npz file (truncated or corrupt): Bad CRC-32",
    "string_embedding": "embedding must hold floating-point numbers",
    "nan_embedding": "embedding holds NaN or infinite values",
    "bool_maps": "attention_maps must hold floating-point numbers, found bool",
    "untrained_array": "weights_untrained must be one true/false value",
    "empty_sequence": "the sequence is empty",
    "bytes_sequence": "sequence must be one string",
    "bad_character": "invalid character '!' at position 6",
}


@pytest.mark.parametrize(("case", "message"), FEATURE_CASES.items(), ids=FEATURE_CASES)
def test_bad_features_file(capsys, tmp_path, inputs, case, message) -> None:
    features = tmp_path / "features.npz"
    _write_features(features, case)
    out = tmp_path / "structure"
    refused(capsys, ["predict-ss", features, "--head", inputs["ss"], "--out-dir", out, "--id", "q"], features, message)
    assert not out.exists()


def test_bad_features_file_in_every_reader(capsys, tmp_path, inputs) -> None:
    """predict-rsa, make-demo-heads and train-head read features.npz the same way."""
    features = tmp_path / "features.npz"
    _write_features(features, "truncated")
    refused(capsys, ["predict-rsa", features, "--heads", inputs["rsa"], "--out", tmp_path / "q.rsa.tsv"], features)
    refused(capsys, ["make-demo-heads", tmp_path / "heads", "--features-like", features], features)
    labels = tmp_path / "labels"
    labels.mkdir()
    refused(capsys, ["train-head", "ss", "--features", features, "--labels", labels, "--out",
                     tmp_path / "h.safetensors"], features)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["features.npz", "labels"]


# --- output paths ----------------------------------------------------------------------------------


def test_output_in_place_of_a_directory_or_below_a_file(capsys, tmp_path, inputs) -> None:
    """Every writer refuses before writing: nothing is created, nothing existing is touched."""
    folder = tmp_path / "taken"
    folder.mkdir()
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me")
    query, msa = RNAMSM_EXAMPLE / "2DRB_1.fasta", RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2"
    bpseq = RNAMSM_EXAMPLE / "2DRB_1.bpseq"
    cases = [
        (["validate-input", query, "-o", folder], folder, "is a directory"),
        (["features", msa, "--checkpoint", inputs["ckpt"], "--out", blocker / "f.npz"], blocker, "is a file"),
        (["make-demo-checkpoint", blocker], blocker, "is a file, not a folder"),
        (["make-demo-checkpoint", folder, "--format", "official"], folder, "is a directory"),
        (["convert-checkpoint", inputs["ckpt"], folder, "--to", "official"], folder, "is a directory"),
        (["make-demo-heads", blocker, "--num-maps", "8", "--embed-dim", "16"], blocker, "is a file, not a folder"),
        (["predict-rsa", inputs["features"], "--heads", inputs["rsa"], "--out", folder], folder, "is a directory"),
        (["baselines", query, "--msa", msa, "--out-dir", blocker], blocker, "is a file, not a folder"),
        (["evaluate", "--pred", bpseq, "--ref", bpseq, "--json", folder], folder, "is a directory"),
        (["train-head", "ss", "--features", inputs["features"], "--labels", tmp_path, "--out", folder], folder,
         "is a directory"),
        (["search", query, "--db", query, "--out-dir", blocker], blocker, "is a file, not a folder"),
        (["search", query, "--db", query, "--out-dir", tmp_path / "msa", "--work-dir", blocker], blocker,
         "cannot create the output folder"),
    ]
    for argv, name, fragment in cases:
        refused(capsys, argv, name, fragment)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["blocker", "taken"]
    assert not any(folder.iterdir()) and blocker.read_text() == "keep me"


def test_predict_ss_writes_no_partial_set(capsys, tmp_path, inputs) -> None:
    """ss.json being a directory used to fail after the bpseq, ct, dbn and prob.npy were written."""
    out = tmp_path / "structure"
    (out / "ss.json").mkdir(parents=True)
    refused(capsys, ["predict-ss", inputs["features"], "--head", inputs["ss"], "--out-dir", out, "--id", "q"],
            out / "ss.json", "is a directory")
    assert [path.name for path in out.iterdir()] == ["ss.json"]


def test_report_and_index_outputs(capsys, tmp_path) -> None:
    sample = tmp_path / "results" / "S1"
    sample.mkdir(parents=True)
    (tmp_path / "samples.tsv").write_text("sample_id\nS1\n")
    refused(capsys, ["report", sample, "--out", sample], sample, "is a directory")
    refused(capsys, ["index", tmp_path / "results", "--samples", tmp_path / "samples.tsv", "--out",
                     tmp_path / "samples.tsv" / "index.html"], tmp_path / "samples.tsv", "is a file, not a folder")
    assert not any(sample.iterdir())


# --- numeric options -------------------------------------------------------------------------------


def test_numeric_options_out_of_range(capsys, tmp_path, inputs) -> None:
    query, msa = RNAMSM_EXAMPLE / "2DRB_1.fasta", RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2"
    features, labels, head = inputs["features"], tmp_path / "labels", tmp_path / "h.safetensors"
    labels.mkdir()
    for name in ("A", "B"):
        shutil.copy(features, tmp_path / f"{name}.npz")
        (labels / f"{name}.dbn").write_text(f">{name}\n{SEQUENCE}\n(((......)))\n")
    train = ["train-head", "ss", "--features", tmp_path / "A.npz", tmp_path / "B.npz", "--labels", labels,
             "--out", head, "--epochs", "1", "--blocks", "1"]
    predict = ["predict-ss", features, "--head", inputs["ss"], "--out-dir", tmp_path / "ss", "--id", "q"]
    cases = [
        ([*predict, "--threshold", "nan"], "--threshold must be a number in [0, 1], got nan"),
        ([*predict, "--threshold", "1.5"], "--threshold must be a number in [0, 1], got 1.5"),
        ([*predict, "--min-hairpin", "-1"], "--min-hairpin must be at least 0, got -1"),
        (["baselines", query, "--msa", msa, "--out-dir", tmp_path / "b", "--max-rows", "0"],  # was a segfault
         "--max-rows must be at least 1, got 0"),
        ([*train, "--lr", "nan"], "--lr must be a positive finite number, got nan"),
        ([*train, "--validation-fraction", "nan"], "--validation-fraction must be a number in (0, 1), got nan"),
        ([*train, "--epochs", "0"], "--epochs must be at least 1, got 0"),
        ([*train, "--seed", "-1"], "--seed must be between 0 and 2**63 - 1, got -1"),
        ([*train, "--width", "0"], "--width must be at least 1, got 0"),
        (["make-demo-checkpoint", tmp_path / "c", "--seed", str(2**70)], "--seed must be between 0 and 2**63 - 1"),
        (["make-demo-heads", tmp_path / "h", "--num-maps", "8", "--embed-dim", "16", "--seed", "-1"],
         "--seed must be between 0 and 2**63 - 1, got -1"),
        (["features", msa, "--checkpoint", inputs["ckpt"], "--out", tmp_path / "f.npz", "--window-overlap", "-1"],
         "--window-overlap must be at least 0, got -1"),
        (["search", query, "--db", query, "--out-dir", tmp_path / "msa", "--config-json", '{"cm": {"E": NaN}}'],
         "cm.E: expected a finite number, got nan"),
    ]
    for argv, message in cases:
        refused(capsys, argv, message.split()[0], message)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["A.npz", "B.npz", "labels"]


# --- checkpoints and heads -------------------------------------------------------------------------


def test_broken_checkpoint_folder(capsys, tmp_path, inputs) -> None:
    vocab = tmp_path / "vocab"
    shutil.copytree(inputs["ckpt"], vocab)
    (vocab / "vocab.txt").write_bytes(BINARY)
    config = tmp_path / "config"
    shutil.copytree(inputs["ckpt"], config)
    (config / "config.json").write_text("[1, 2]\n")
    refused(capsys, ["convert-checkpoint", vocab, tmp_path / "out.ckpt", "--to", "official"], vocab / "vocab.txt",
            "not UTF-8 text")
    refused(capsys, ["convert-checkpoint", config, tmp_path / "out.ckpt", "--to", "official"],
            config / "config.json", "expected a JSON object, found list")
    assert not (tmp_path / "out.ckpt").exists()


def test_broken_head_files(capsys, tmp_path, inputs) -> None:
    features = inputs["features"]
    empty, text = tmp_path / "empty.pt", tmp_path / "notes.pt"
    empty.write_bytes(b"")
    text.write_text("this is not a torch file\n")
    threshold = tmp_path / "threshold.safetensors"
    head = load_safetensors_head(inputs["ss"])
    head.metadata["threshold"] = "abc"
    save_head(threshold, head)
    nan = tmp_path / "nan.safetensors"
    head = load_safetensors_head(inputs["ss"])
    with torch.no_grad():
        head.model.conv1.weight.fill_(float("nan"))
    save_head(nan, head)
    zero_std = tmp_path / "zero_std.safetensors"
    head = load_safetensors_head(inputs["rsa"])
    head.stats.embedding_std[:] = 0
    save_head(zero_std, head)
    out = tmp_path / "out"
    ss = ["predict-ss", features, "--out-dir", out, "--id", "q", "--head"]
    refused(capsys, [*ss, empty], empty, "empty file, expected an SS head file")
    refused(capsys, [*ss, text], text, "not a loadable SS state_dict")
    refused(capsys, [*ss, threshold], threshold, "metadata threshold 'abc' is not a number in [0, 1]")
    refused(capsys, [*ss, nan], nan, "weight 'conv1.weight' holds NaN or infinite values")
    refused(capsys, ["predict-rsa", features, "--heads", zero_std, "--out", out / "q.rsa.tsv"], zero_std,
            "embedding statistics must be finite with std > 0")
    refused(capsys, ["convert-heads", "--out-dir", out, "--ss", tmp_path / "missing.pt"], tmp_path / "missing.pt",
            "no such file")
    assert not out.exists()


# --- report and index ------------------------------------------------------------------------------


def test_index_sample_sheet_that_is_not_text(capsys, tmp_path) -> None:
    (tmp_path / "results").mkdir()
    binary, huge = tmp_path / "binary.tsv", tmp_path / "huge.tsv"
    binary.write_bytes(BINARY)
    huge.write_text("sample_id\n" + "A" * 200_000 + "\n")
    for sheet, message in ((binary, "cannot read a sample sheet (TSV): not UTF-8 text"),
                           (huge, f"line 2: invalid sample id '{'A' * 40}... (200000 characters)'")):
        refused(capsys, ["index", tmp_path / "results", "--samples", sheet], sheet, message)
    assert not (tmp_path / "results" / "index.html").exists()


def test_report_notes_unreadable_sample_files(capsys, tmp_path) -> None:
    """A truncated features.npz, an msa_stats.json of the wrong types and an RSA table with NaN used to crash
    the report; now each is a warning naming the file and the report shows the section as not available."""
    sample = tmp_path / "S1"
    (sample / "features").mkdir(parents=True)
    (sample / "msa").mkdir()
    (sample / "rsa").mkdir()
    (sample / "query.fa").write_text(f">S1\n{SEQUENCE}\n")
    np.savez(sample / "features" / "features.npz", **_arrays())
    features = sample / "features" / "features.npz"
    features.write_bytes(features.read_bytes()[:-100])
    stats = sample / "msa" / "msa_stats.json"  # a real search's, with a depth of the wrong type
    stats.write_text(json.dumps({**json.loads((RNAMSM_OUTPUTS / "Cobalamin.msa_stats.json").read_text()),
                                 "depth": "deep"}))
    rsa = sample / "rsa" / "S1.rsa.tsv"
    rsa.write_text("index\tnt\tASA\tRSA\n1\tG\tnan\tnan\n")
    capsys.readouterr()
    assert main(["report", str(sample)]) == 0
    warnings = capsys.readouterr().err.strip().splitlines()
    assert len(warnings) == 3 and all(line.startswith("rnamsm report: warning: ") for line in warnings), warnings
    for path, message in ((features, "truncated or corrupt"), (stats, 'depth: expected an integer, found "deep"'),
                          (rsa, "line 2: ASA and RSA must be finite numbers")):
        assert any(str(path) in line and message in line for line in warnings), (path, warnings)
    assert "could not be read" in (sample / "report.html").read_text()


# --- special files, databases, long queries, links in a sample folder -------------------------------


def run_rnamsm(*argv: str | Path) -> subprocess.CompletedProcess:
    """``python -m rnamsm argv`` in a child process, so that a reader that blocks fails the test, not hangs it."""
    return subprocess.run([sys.executable, "-m", "rnamsm", *map(str, argv)], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120, stdin=subprocess.DEVNULL)


def test_fifo_input_is_refused_not_waited_on(tmp_path, inputs) -> None:
    """A named pipe given as any input used to block the command forever (nobody writes to it)."""
    fifo = tmp_path / "input.fifo"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    cases = [
        ["validate-input", fifo, "-o", out / "query.fa"],
        ["features", fifo, "--checkpoint", inputs["ckpt"], "--out", out / "features.npz"],
        ["predict-ss", fifo, "--head", inputs["ss"], "--out-dir", out, "--id", "s1"],
        ["predict-ss", inputs["features"], "--head", fifo, "--out-dir", out, "--id", "s1"],
        ["predict-rsa", fifo, "--heads", inputs["rsa"], "--out", out / "s1.rsa.tsv"],
        ["search", INFERNAL_DATA / "mrum-tRNA.1.fa", "--db", fifo, "--out-dir", out],
        ["baselines", fifo, "--msa", RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2", "--out-dir", out],
    ]
    for argv in cases:
        result = run_rnamsm(*argv)
        errors = [line for line in result.stderr.strip().splitlines() if ": error: " in line]  # no progress lines
        assert result.returncode == 1 and len(errors) == 1 and "Traceback" not in result.stderr, (argv, result.stderr)
        assert f"{fifo}: is a named pipe (FIFO), not a regular file; expected " in errors[0], errors[0]
    assert not out.exists()


def test_database_that_is_a_directory_or_a_fifo_is_named_as_such(capsys, tmp_path) -> None:
    """Both used to be reported as "database file not found"."""
    fifo = tmp_path / "db.fifo"
    os.mkfifo(fifo)
    query = INFERNAL_DATA / "mrum-tRNA.1.fa"
    for database, problem in ((tmp_path, "is a directory"), (fifo, "is a named pipe (FIFO)"),
                              (tmp_path / "missing.fa", "no such file")):
        line = refused(capsys, ["search", query, "--db", database, "--out-dir", tmp_path / "msa"], database, problem,
                       "expected a database file")
        assert "not found" not in line
    assert not (tmp_path / "msa").exists()


def test_search_of_a_5_mb_query_names_the_query_length(capsys, tmp_path) -> None:
    """It used to blame the database window setting ("window overlap ... must be shorter than the window")."""
    query = tmp_path / "huge.fa"
    query.write_text(">huge\n" + "ACGU" * 1_250_000 + "\n")
    line = refused(capsys, ["search", query, "--db", INFERNAL_DATA / "mrum-tRNAs10.fa", "--out-dir", tmp_path / "msa"],
                   query, "query 'huge' is 5,000,000 nt, too long to search", "the longest query is 49,999 nt")
    assert "window overlap" not in line
    assert not (tmp_path / "msa").exists()


def test_report_lists_regular_files_only_and_says_links_were_skipped(capsys, tmp_path) -> None:
    """A link in the sample folder was followed: the report showed its target's size and SHA-256."""
    secret = tmp_path / "secret.txt"
    secret.write_text("root:$6$not-for-the-report\n")
    sample = build_2drb1(tmp_path / "results", "s1", rows=20)
    (sample / "msa" / "shadow").symlink_to(secret)
    (sample / "etc").symlink_to(tmp_path, target_is_directory=True)
    (sample / "dangling").symlink_to(tmp_path / "nowhere")
    capsys.readouterr()
    assert main(["report", str(sample)]) == 0
    html = (sample / "report.html").read_text()
    files = html[html.index('<section id="files">'):]
    assert hashlib.sha256(secret.read_bytes()).hexdigest() not in html
    assert ">msa/shadow<" not in files and "secret.txt" not in files
    assert "Symbolic links skipped" in files
    for name in ("dangling", "etc", "msa/shadow"):
        assert name in files[files.index('id="skipped-links"'):]
    assert ">query.fa<" in files and ">msa/msa_stats.json<" in files  # the regular files are still listed
