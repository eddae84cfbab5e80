"""The Infernal command-line tools that pyinfernal lacks: ``cmbuild`` and ``cmcalibrate``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pyinfernal.cm import CM, CMFile

from rnamsm.errors import RnamsmError

#: Programs ``rnamsm search`` runs as subprocesses.
REQUIRED_PROGRAMS = ("cmbuild", "cmcalibrate")


def check_programs(names: tuple[str, ...] = REQUIRED_PROGRAMS) -> None:
    """Raise :class:`RnamsmError` naming every required program missing from PATH."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        raise RnamsmError(
            f"Infernal program(s) not found on PATH: {', '.join(missing)} (install Infernal >= 1.1: "
            "Debian/Ubuntu package 'infernal', or 'conda install -c bioconda infernal')"
        )


def infernal_version() -> str:
    """Version of the Infernal CLI on PATH, from ``cmbuild -h`` (e.g. ``"1.1.4"``)."""
    result = subprocess.run(["cmbuild", "-h"], capture_output=True, text=True, check=False)
    for line in result.stdout.splitlines():
        if line.startswith("# INFERNAL"):
            return line.split()[2]
    return "unknown"


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        detail = "; ".join(lines[-2:]) if lines else f"exit status {result.returncode}"
        raise RnamsmError(f"{what}: {command[0]} failed: {detail}")


def build_cm(stockholm: str | os.PathLike[str], cm_path: str | os.PathLike[str]) -> None:
    """``cmbuild --hand``: one consensus column per ``x`` of the alignment's ``#=GC RF`` line."""
    _run(["cmbuild", "--hand", "-F", os.fspath(cm_path), os.fspath(stockholm)], os.fspath(stockholm))


def calibrate_cm(cm_path: str | os.PathLike[str], *, length_mb: float | None, threads: int) -> None:
    """``cmcalibrate`` in place; ``length_mb`` is ``-L`` (``None``: Infernal's default, 1.6 Mb)."""
    command = ["cmcalibrate", "--cpu", str(threads)]
    if length_mb is not None:
        command += ["-L", f"{length_mb:g}"]
    _run([*command, os.fspath(cm_path)], os.fspath(cm_path))


def read_cm(cm_path: str | os.PathLike[str], expected_length: int) -> CM:
    """Load a calibrated CM and check that it has ``expected_length`` consensus columns."""
    with CMFile(os.fspath(Path(cm_path))) as handle:
        cm = handle.read()
    if cm.filter_hmm.M != expected_length:
        raise RnamsmError(
            f"{cm_path}: CM has {cm.filter_hmm.M} consensus columns, expected {expected_length} (one per query base)"
        )
    return cm
