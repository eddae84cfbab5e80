"""Static checks: ruff, snakemake --lint, and the conda environment files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT
from tests.support.workflow import workflow_env

BIN = Path(sys.executable).parent


def test_ruff_clean() -> None:
    result = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_snakemake_lint_clean() -> None:
    result = subprocess.run(
        [str(BIN / "snakemake"), "--lint"], cwd=REPO_ROOT, capture_output=True, text=True, env=workflow_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_conda_envs_parse_and_every_rule_env_exists() -> None:
    envs = sorted((REPO_ROOT / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        spec = yaml.safe_load(env.read_text())
        assert spec["channels"] == ["conda-forge", "bioconda", "nodefaults"], env
        assert spec["dependencies"], env
    for rules in (REPO_ROOT / "workflow" / "rules").glob("*.smk"):
        for conda_path in re.findall(r'conda:\s*\n\s*"([^"]+)"', rules.read_text()):
            assert (rules.parent / conda_path).resolve().is_file(), f"{rules.name}: {conda_path}"
