"""Shared pytest helpers.

System components (Infernal's command-line tools, a local Slurm, Chromium) are installed by
``make test``. Outside CI a test that needs a missing one skips with the reason; with ``CI=true`` a
missing component fails the test instead, so CI always proves those tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = REPO_ROOT / "tests" / "data"
SHARED = REPO_ROOT.parent / "shared"


def in_ci() -> bool:
    """True when running under CI (``CI=true``), where skipping a system test is a failure."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_system(available: bool, reason: str) -> None:
    """Skip (outside CI) or fail (in CI) when a system component is missing."""
    if available:
        return
    if in_ci():
        pytest.fail(f"required system component missing in CI: {reason}")
    pytest.skip(reason)


def require_program(*names: str) -> None:
    """Require every named program on PATH (see :func:`require_system`)."""
    missing = [name for name in names if shutil.which(name) is None]
    require_system(not missing, f"program(s) not on PATH: {', '.join(missing)}")


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` (read-only reference data); skips cleanly when absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED
