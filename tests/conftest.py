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
TEST_DATA = REPO_ROOT / "tests" / "data"  # one folder per source, each with a README.md of provenance
RNAMSM_EXAMPLE = TEST_DATA / "rnamsm_example"  # the official RNA-MSM example 2DRB_1 and its outputs (MIT)
INFERNAL_DATA = TEST_DATA / "infernal"  # Infernal tutorial and test-suite files (BSD)
ORACLE = TEST_DATA / "oracle"  # seeded random RNA-MSM and multimolecule reference outputs (ours)
RNAMSM_OUTPUTS = TEST_DATA / "rnamsm_outputs"  # interface files written by rnamsm itself (ours)
SLURM_LOGS_DATA = TEST_DATA / "slurm"  # Slurm job logs of the local test cluster (ours)
SHARED = REPO_ROOT.parent / "shared"
pytest_plugins = ["tests.slurm.fixtures"]  # the `slurm_cluster` fixture


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


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """The README's demo command, run once per session in a fresh copy of the workflow."""
    from tests.support.readme import readme_setup_commands
    from tests.support.workflow import copy_workflow, run_command

    workdir = copy_workflow(tmp_path_factory.mktemp("demo"))
    demo_command = readme_setup_commands()[0]
    result = run_command(demo_command, workdir)
    assert result.returncode == 0, f"{demo_command} failed:\n{result.stdout[-8000:]}"
    return workdir


@pytest.fixture(scope="session")
def demo_weights(demo_run: Path) -> Path:
    """The demo's random checkpoint and heads (``results/.weights``), made by the workflow's own rules in the
    session's demo run, for runs in fresh checkouts that test something else (they copy it in instead of
    making it again). Read-only: copy it (``tests.support.workflow.seed_demo_weights``), never edit it."""
    from tests.support.workflow import DEMO_WEIGHTS

    return demo_run / DEMO_WEIGHTS


#: Fixtures that bring up a system component: a test that takes one is marked ``system``.
SYSTEM_FIXTURES = {"slurm_cluster", "page", "browser"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Apply the declared markers: ``workflow`` to everything under tests/workflow/, ``system`` to tests
    that take a system component's fixture (those that call ``require_program`` mark themselves)."""
    workflow_dir = REPO_ROOT / "tests" / "workflow"
    for item in items:
        if workflow_dir in Path(item.path).parents:
            item.add_marker(pytest.mark.workflow)
        if SYSTEM_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.system)
