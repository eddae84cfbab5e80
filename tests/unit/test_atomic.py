"""Atomic outputs: complete new file or the old one, never a partial file; usual permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rnamsm.atomic import atomic_open, atomic_path, atomic_paths, check_output_targets, ensure_directory, write_files
from rnamsm.errors import RnamsmError


def test_success_replaces_target_with_umask_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.tsv"
    old_mask = os.umask(0o022)
    try:
        with atomic_open(target) as handle:
            handle.write("a\tb\n")
    finally:
        os.umask(old_mask)
    assert target.read_text() == "a\tb\n"
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["out.tsv"]


def test_failure_keeps_old_content_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.npz"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.suffix == ".npz" and tmp.parent == tmp_path
        tmp.write_text("half")
        raise RuntimeError("killed mid-way")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.npz"]


def test_temporaries_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "features.npz"
    stale = tmp_path / ".features.npz.abc123.part.npz"
    stale.write_text("half-written by a process that got SIGKILL")
    other = tmp_path / ".other.npz.abc123.part.npz"
    other.write_text("someone else's")
    with atomic_open(target, "wb") as handle:
        handle.write(b"complete")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.npz.abc123.part.npz", "features.npz"]


def test_unwritable_targets_are_one_error_and_nothing_is_written(tmp_path: Path) -> None:
    """A target that is a directory, or below a file, is refused before a temporary is made."""
    folder = tmp_path / "out.tsv"
    folder.mkdir()
    blocker = tmp_path / "results"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(RnamsmError, match=r"out\.tsv: is a directory, cannot write an output file there"):
        with atomic_open(folder) as handle:
            handle.write("never")
    with pytest.raises(RnamsmError, match=r"cannot create its folder: .*results is a file, not a folder"):
        check_output_targets(tmp_path / "ok.tsv", blocker / "sample" / "out.tsv")
    with pytest.raises(RnamsmError, match=r"cannot create the output folder: .*results is a file, not a folder"):
        ensure_directory(blocker / "work")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tsv", "results"]
    assert not any(folder.iterdir()) and blocker.read_text() == "a file where a folder should be"


def test_a_set_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    """atomic_paths renames nothing until every file of the set is written; old versions stay intact."""
    targets = [tmp_path / "a.bpseq", tmp_path / "a.ct", tmp_path / "sub" / "ss.json"]
    targets[0].write_text("old a")
    with pytest.raises(RuntimeError), atomic_paths(*targets) as temporaries:
        temporaries[0].write_text("new a")
        temporaries[1].write_text("new ct")
        raise RuntimeError("failed before the third file")
    assert targets[0].read_text() == "old a" and not targets[1].exists() and not targets[2].exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.bpseq", "sub"]
    write_files({targets[0]: "new a", targets[1]: b"new ct", targets[2]: "{}\n"})
    assert [path.read_text() for path in targets] == ["new a", "new ct", "{}\n"]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.bpseq", "a.ct", "ss.json", "sub"]
