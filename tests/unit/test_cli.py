"""The `rnamsm` entry point: help, version, and errors as one line."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

from rnamsm import __version__
from rnamsm.cli import COMMANDS, build_parser


def rnamsm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnamsm", *args], capture_output=True, text=True)


def test_version() -> None:
    result = rnamsm("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"rnamsm {__version__}"


def test_help_lists_every_subcommand() -> None:
    result = rnamsm("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout


def test_command_table_matches_what_modules_register() -> None:
    """Each module registers exactly the commands the table maps to it, with a working --help."""
    for module_name in sorted({module for module, _ in COMMANDS.values()}):
        subparsers = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module_name).register(subparsers)
        assert set(subparsers.choices) == {name for name, (module, _) in COMMANDS.items() if module == module_name}
    for name in COMMANDS:
        parser = build_parser(name)
        assert parser._subparsers._group_actions[0].choices[name].get_default("func"), name


def test_no_subcommand_prints_help_and_fails() -> None:
    result = rnamsm()
    assert result.returncode == 2
    assert "usage: rnamsm" in result.stdout


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "rnamsm"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout
