"""The README is the user's manual: its commands are the ones the tests run."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.readme import readme_commands, readme_setup_commands
from tests.support.workflow import run_command

#: README commands that other tests run: (command, the test that runs it).
RUN_ELSEWHERE = {
    "make demo": "tests/conftest.py::demo_run (the session's demo run)",
    "make test": ".ci/run (CI runs the README's test command)",
    "snakemake --profile slurm": "tests/workflow/test_slurm_run.py (on the local single-node Slurm)",
    "snakemake --cores 2 --config families=resources/demo/families/families.tsv":
        "tests/workflow/test_reruns.py::test_families_add_only_their_jobs_and_an_edit_reruns_only_its_family",
    'snakemake -n --config "heads={threshold: 0.6}"':
        "tests/workflow/test_reliability.py::test_readme_nested_config_command_reaches_the_jobs",
    "snakemake --summary": "tests/workflow/test_reruns.py::test_config_edit_reruns_exactly_its_stage_and_downstream"
                           " (edit `nothing`: in a copy of the finished demo run)",
    "snakemake --report report.zip":
        "tests/workflow/test_demo_outputs.py::test_snakemake_report_attaches_the_sample_reports",
}


def test_readme_opens_with_the_two_setup_commands() -> None:
    assert readme_setup_commands() == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command() -> None:
    ci = REPO_ROOT / ".ci" / "run"
    assert ci.stat().st_mode & stat.S_IXUSR
    lines = [line for line in ci.read_text().splitlines() if line.strip() and not line.startswith("#")]
    commands = [line for line in lines if not line.startswith(("set ", "export "))]
    assert commands == [f"exec {readme_setup_commands()[1]}"]


def test_make_test_runs_pytest() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "tests/run-tests.sh" in makefile.split("\ntest:")[1].split("\n\n")[0]
    assert "pytest" in (REPO_ROOT / "tests" / "run-tests.sh").read_text()


@pytest.mark.parametrize("command", [c for c in readme_commands() if c not in RUN_ELSEWHERE])
def test_readme_command_runs(command: str, demo_run: Path, tmp_path: Path) -> None:
    """Every other README command succeeds in a copy of the finished demo run."""
    result = run_command(command, demo_run)
    assert result.returncode == 0, result.stdout[-5000:]
