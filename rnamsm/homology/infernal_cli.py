"""The Infernal command-line tools that pyinfernal lacks: ``cmbuild``, ``cmcalibrate`` and ``cmalign``."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from pyinfernal.cm import CM, CMFile

from rnamsm.atomic import atomic_open, atomic_path
from rnamsm.errors import RnamsmError
from rnamsm.formats import msa as msa_format
from rnamsm.homology.settings import SearchSettings

#: Programs ``rnamsm search`` runs as subprocesses (``cmalign`` too unless ``align: hits``).
REQUIRED_PROGRAMS = ("cmbuild", "cmcalibrate")


def search_programs(settings: SearchSettings, hmm_only: bool = False) -> tuple[str, ...]:
    """The Infernal programs a search with ``settings`` runs (``hmm_only``: a query above ``hmm_only_above``)."""
    rounds = REQUIRED_PROGRAMS if settings.cm.max_rounds and not hmm_only else ()
    return tuple(dict.fromkeys((*rounds, *(("cmbuild", "cmalign") if settings.align != "hits" else ()))))


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
    _run([*_calibrate_command(length_mb, threads), os.fspath(cm_path)], os.fspath(cm_path))


def forecast_calibration(cm_path: str | os.PathLike[str], *, length_mb: float | None, threads: int) -> float:
    """Seconds ``cmcalibrate --forecast`` predicts for calibrating the CM on ``threads`` CPUs at ``-L length_mb``
    (``None``: Infernal's default length). Nothing is calibrated.

    The prediction times a small sample of the CM's dynamic programming on this machine, so it moves with
    the machine's load: callers wanting a stable figure take the least of a few.
    """
    command = ["cmcalibrate", "--forecast", "--nforecast", str(threads),
               *([] if length_mb is None else ["-L", f"{length_mb:g}"]), os.fspath(cm_path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        raise RnamsmError(f"{cm_path}: cmcalibrate --forecast failed: {lines[-1] if lines else result.returncode}")
    times = [line.split()[-1] for line in result.stdout.splitlines()
             if line.strip() and not line.startswith("#") and line.strip() != "[ok]"]
    if len(times) != 1 or times[0].count(":") != 2 or not times[0].replace(":", "").isdigit():
        raise RnamsmError(f"{cm_path}: cmcalibrate --forecast gave no single hr:min:sec time ({times})")
    hours, minutes, seconds = (int(part) for part in times[0].split(":"))
    return float(3600 * hours + 60 * minutes + seconds)


def align_to_cm(
    cm_path: str | os.PathLike[str], sequences: Sequence[tuple[str, str]], out: str | os.PathLike[str], *,
    threads: int,
) -> None:
    """``cmalign`` (Infernal's defaults) of ``(name, residues)`` records to the CM; Stockholm written to ``out``.

    The records go to ``out`` with the suffix ``.fa`` first (FASTA text from :mod:`rnamsm.formats.msa`).
    """
    fasta = Path(out).with_suffix(".fa")
    with atomic_open(fasta) as handle:
        handle.write(msa_format.format_fasta([name for name, _ in sequences], [row for _, row in sequences]))
    _run(["cmalign", "--cpu", str(threads), "-o", os.fspath(out), os.fspath(cm_path), os.fspath(fasta)],
         os.fspath(fasta))


def _calibrate_command(length_mb: float | None, threads: int) -> list[str]:
    command = ["cmcalibrate", "--cpu", str(threads)]
    if length_mb is not None:
        command += ["-L", f"{length_mb:g}"]
    return command


def calibration_key(cm_path: str | os.PathLike[str], *, length_mb: float | None, version: str) -> str:
    """SHA-256 naming one calibration: the uncalibrated CM, the Infernal version and the ``-L`` option.

    cmbuild's ``DATE`` and ``COM`` lines (time and command line, with temporary paths) are left out,
    so the same alignment built in another run or folder gives the same key. cmcalibrate's results
    do not depend on ``--cpu`` (fixed seed), so the thread count is not part of the key.
    """
    digest = hashlib.sha256()
    digest.update(f"rnamsm-cmcalibrate-v1\0infernal {version}\0-L {length_mb!r}\0".encode())
    with open(cm_path, "rb") as handle:
        for line in handle:
            if not line.startswith((b"DATE ", b"COM ")):
                digest.update(line)
    return digest.hexdigest()


def calibrate_cm_cached(
    cm_path: str | os.PathLike[str], *, length_mb: float | None, threads: int, cache_dir: str | os.PathLike[str] | None
) -> bool:
    """:func:`calibrate_cm`, reusing ``cache_dir/<key>.cm`` when that calibration was done before.

    Returns True when the calibrated CM came from the cache. Without ``cache_dir`` it always
    calibrates. Entries are written atomically, so concurrent searches may share one cache folder.
    """
    if cache_dir is None:
        calibrate_cm(cm_path, length_mb=length_mb, threads=threads)
        return False
    cache = Path(cache_dir)
    entry = cache / f"{calibration_key(cm_path, length_mb=length_mb, version=infernal_version())}.cm"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        if entry.is_file():
            with atomic_path(cm_path) as tmp:
                shutil.copyfile(entry, tmp)
            return True
    except OSError as error:
        raise RnamsmError(f"{cache}: calibration cache not usable ({error.strerror or error})") from error
    calibrate_cm(cm_path, length_mb=length_mb, threads=threads)
    try:
        with atomic_path(entry) as tmp:
            shutil.copyfile(cm_path, tmp)
    except OSError as error:
        raise RnamsmError(f"{cache}: cannot write the calibration cache ({error.strerror or error})") from error
    return False


def read_cm(cm_path: str | os.PathLike[str], expected_length: int) -> CM:
    """Load a calibrated CM and check that it has ``expected_length`` consensus columns."""
    with CMFile(os.fspath(Path(cm_path))) as handle:
        cm = handle.read()
    if cm.filter_hmm.M != expected_length:
        raise RnamsmError(
            f"{cm_path}: CM has {cm.filter_hmm.M} consensus columns, expected {expected_length} (one per query base)"
        )
    return cm
