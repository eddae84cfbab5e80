"""The README's commands, so that tests run exactly what the README tells users to type."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"


def code_blocks(language: str = "sh") -> list[str]:
    """The README's fenced code blocks of one language, in order."""
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)


def readme_commands() -> list[str]:
    """Every command line in the README's ``sh`` blocks (comments and blank lines dropped)."""
    commands = []
    for block in code_blocks():
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def readme_setup_commands() -> list[str]:
    """The two set-up commands the README opens with: (demo, test)."""
    first_block = code_blocks()[0]
    return [line.strip() for line in first_block.splitlines() if line.strip() and not line.startswith("#")]
