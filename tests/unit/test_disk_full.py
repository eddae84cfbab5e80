"""A full disk: every command ends in one line naming the folder and "no space left", and writes its
set of output files whole or not at all (``rnamsm.atomic.atomic_paths``).

The real test mounts a 1 MB tmpfs as the output folder (root only; it skips cleanly where ``mount`` is
not permitted) and fills it; the portable tests inject ``OSError(ENOSPC)`` at the write layer, in
the middle of a set, so they run everywhere.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rnamsm.cli import main
from rnamsm.heads.demo import make_demo_heads
from tests.conftest import INFERNAL_DATA, RNAMSM_EXAMPLE
from tests.support.report_fixtures import build_2drb1

LENGTH = 64  # the prob.npy of predict-ss (16 KiB) needs more than three tmpfs pages, the text files one each
PAGE = 4096
SEARCH_CONFIG = json.dumps({"cm": {"max_rounds": 0}})  # round 1 (nhmmer) only: no Infernal programs needed


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """A query, an MSA, a demo checkpoint, features.npz (L = 64, 8 maps), demo heads and a sample folder."""
    root = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    maps = rng.random((8, LENGTH, LENGTH)).astype(np.float32)
    sequence = ("GGGAAACUUCCCAGUC" * 4)[:LENGTH]
    np.savez(root / "features.npz", sequence=np.array(sequence), attention_maps=maps / maps.sum(-1, keepdims=True),
             embedding=rng.normal(size=(LENGTH, 16)).astype(np.float32), weights_untrained=np.array(True))
    make_demo_heads(root / "heads", num_maps=8, embed_dim=16)
    assert main(["make-demo-checkpoint", str(root / "ckpt")]) == 0
    sample = build_2drb1(root / "results", "s1", rows=50)
    return {"query": INFERNAL_DATA / "mrum-tRNA.1.fa", "db": INFERNAL_DATA / "mrum-tRNAs10.fa",
            "msa": RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2", "ckpt": root / "ckpt", "features": root / "features.npz",
            "ss": root / "heads" / "ss.safetensors", "sample": sample}


def commands(inputs: dict[str, Path], out: Path) -> dict[str, list[str | Path]]:
    """Each command that writes outputs, with its outputs in ``out``."""
    return {
        "validate-input": ["validate-input", inputs["query"], "-o", out / "query.fa"],
        "search": ["search", inputs["query"], "--db", inputs["db"], "--out-dir", out, "--config-json", SEARCH_CONFIG],
        "features": ["features", inputs["msa"], "--checkpoint", inputs["ckpt"], "--out", out / "features.npz"],
        "predict-ss": ["predict-ss", inputs["features"], "--head", inputs["ss"], "--out-dir", out, "--id", "s1"],
        "report": ["report", inputs["sample"], "--out", out / "report.html"],
        "evaluate": ["evaluate", "--pred", RNAMSM_EXAMPLE / "2DRB_1.ct", "--ref", RNAMSM_EXAMPLE / "2DRB_1.bpseq",
                     "--json", out / "scores.json"],
    }


def no_space(capsys, argv: list[str | Path], folder: Path) -> None:
    """``rnamsm argv`` ends in one error line naming ``folder`` and "no space left" (progress lines may precede it)."""
    capsys.readouterr()
    status = main([str(arg) for arg in argv])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert status == 1, lines
    assert "Traceback" not in err and sum("error:" in line for line in lines) == 1, lines
    assert lines[-1].startswith(f"rnamsm {argv[0]}: error: {folder}: no space left"), lines[-1]


def outputs(folder: Path) -> list[str]:
    """Everything in ``folder`` (temporaries included) except the filler."""
    return sorted(path.name for path in folder.iterdir() if path.name != "filler")


def fill(folder: Path, pages_free: int) -> None:
    """Fill the file system of ``folder`` until ``pages_free`` pages are left."""
    stats = os.statvfs(folder)
    size = stats.f_bavail * stats.f_frsize - pages_free * PAGE
    with open(folder / "filler", "ab") as handle:
        handle.write(bytes(size))
    assert os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize == pages_free * PAGE


@pytest.fixture
def tiny_disk(tmp_path) -> Iterator[Path]:
    """A 1 MB tmpfs mounted at a fresh folder (skips where mounting is not permitted)."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_real_full_disk_is_one_line_and_no_partial_set(capsys, tiny_disk, inputs, tmp_path) -> None:
    """On a real full tmpfs, no command gives a traceback and none leaves part of its output set."""
    sizes = {}
    for name, argv in commands(inputs, tmp_path / "roomy").items():  # what each command writes with room
        assert main([str(arg) for arg in argv]) == 0, name
    for path in (tmp_path / "roomy").iterdir():
        sizes[path.name] = -(-path.stat().st_size // PAGE)  # tmpfs pages
    # predict-ss: room for its three text files, not for prob.npy; search: room for all but msa_stats.json
    room = {"predict-ss": sizes["s1.bpseq"] + sizes["s1.ct"] + sizes["s1.dbn"],
            "search": sum(sizes[f"mrum-tRNA.1.{suffix}"] for suffix in ("a3m", "sto", "a2m_msa2"))}
    assert sizes["s1.prob.npy"] > 0 and sizes["msa_stats.json"] > 0
    for name, argv in commands(inputs, tiny_disk).items():
        fill(tiny_disk, room.get(name, 0))
        no_space(capsys, argv, tiny_disk)
        assert outputs(tiny_disk) == [], name
        (tiny_disk / "filler").unlink()
    for argv in commands(inputs, tiny_disk).values():  # with the room back, the same commands work
        assert main([str(arg) for arg in argv]) == 0
    assert outputs(tiny_disk) == sorted(path.name for path in (tmp_path / "roomy").iterdir())


SET_SIZES = {"predict-ss": 5, "search": 4, "evaluate": 2}


@pytest.mark.parametrize(("command", "failing_write"),
                         [(command, write) for command in ("predict-ss", "search") for write in (1, 3, 4)]
                         + [("evaluate", 1), ("evaluate", 2)])
def test_injected_full_disk_mid_set_writes_nothing(capsys, monkeypatch, inputs, tmp_path, command,
                                                   failing_write) -> None:
    """ENOSPC on the first, a middle or the last file of a set: one line, and no file of the set (portable)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "unrelated.txt").write_text("kept")
    calls = []
    write_bytes = Path.write_bytes

    def full_after(self: Path, data: bytes) -> int:
        calls.append(self)
        if len(calls) == failing_write:
            write_bytes(self, data[: len(data) // 2])  # part of the file reaches the disk, as on a real device
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_after)
    no_space(capsys, commands(inputs, out)[command], out)
    assert outputs(out) == ["unrelated.txt"]
    monkeypatch.undo()
    assert main([str(arg) for arg in commands(inputs, out)[command]]) == 0
    assert len(outputs(out)) == SET_SIZES[command] + 1  # the whole set and the unrelated file


def test_injected_full_disk_in_single_file_commands(capsys, monkeypatch, inputs, tmp_path) -> None:
    """validate-input, features and report: ENOSPC while writing is one line and leaves no temporary."""

    def no_room(*_args, **_kwargs) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_room)  # the data of every output is synced before its rename
    out = tmp_path / "out"
    for name in ("validate-input", "features", "report"):
        no_space(capsys, commands(inputs, out)[name], out)
        assert outputs(out) == [], name
