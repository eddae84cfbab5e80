"""A command stopped by a signal (Slurm's time-out and ``scancel`` send SIGTERM, Ctrl-C sends SIGINT)
kills and reaps its child programs, removes its scratch folder and writes no output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, require_program, require_system

DEMO = REPO_ROOT / "resources" / "demo"

pytestmark = pytest.mark.system


def _children(pid: int) -> dict[int, str]:
    """Child processes of ``pid`` from /proc: pid -> command name."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            children[int(entry.name)] = name
    return children


def _running(pid: int, name: str) -> bool:
    """True when process ``pid`` exists, is not a zombie and is called ``name``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.index("(") + 1 : stat.rindex(")")] == name and stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.parametrize(
    ("signum", "target", "status"),
    [(signal.SIGTERM, "process", 143), (signal.SIGTERM, "group", 143), (signal.SIGINT, "process", 130)],
    ids=["sigterm_process", "sigterm_group", "sigint_process"],
)
def test_signal_during_cmcalibrate_leaves_no_child_scratch_or_output(
    tmp_path: Path, signum: signal.Signals, target: str, status: int
) -> None:
    """``rnamsm search`` on the demo data, signalled while its cmcalibrate runs."""
    require_program("cmbuild", "cmcalibrate")
    require_system(Path("/proc/self/stat").is_file(), "no /proc file system")
    scratch_root, out = tmp_path / "tmp", tmp_path / "out"
    scratch_root.mkdir()
    # A child inherits an ignored SIGINT (as a shell's background job has it), and something earlier in a
    # full run can leave pytest's SIGINT ignored: with a handler installed here the child starts with the
    # default disposition, as a command typed at a terminal does.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        search = subprocess.Popen(
            [sys.executable, "-m", "rnamsm", "search", str(DEMO / "queries" / "2DRB_1.fasta"),
             "--db", str(DEMO / "db" / "demo_db.fa.gz"), "--out-dir", str(out), "--threads", "1"],
            env={**os.environ, "TMPDIR": str(scratch_root)}, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        deadline = time.monotonic() + 300
        calibrating: list[int] = []
        while not calibrating and search.poll() is None and time.monotonic() < deadline:
            calibrating = [pid for pid, name in _children(search.pid).items() if name == "cmcalibrate"]
            time.sleep(0.02)
        assert calibrating, f"cmcalibrate never ran (exit status {search.poll()})"
        assert [path.name for path in scratch_root.iterdir()][0].startswith("rnamsm-search-")
        if target == "group":
            os.killpg(search.pid, signum)
        else:
            os.kill(search.pid, signum)
        _, stderr = search.communicate(timeout=60)
    finally:
        if search.poll() is None:
            os.killpg(search.pid, signal.SIGKILL)
            search.wait()
    survivors = [pid for pid in calibrating if _running(pid, "cmcalibrate")]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)  # an orphan re-parented to init; do not leave it running
    assert survivors == [], "cmcalibrate outlived rnamsm search"
    assert list(scratch_root.iterdir()) == []
    assert not out.exists() or list(out.iterdir()) == []
    assert search.returncode == status, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        "rnamsm search: terminated (SIGTERM)" if signum == signal.SIGTERM else "rnamsm search: interrupted"
    )
