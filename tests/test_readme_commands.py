"""The README's two commands: each works in a new shell, and CI runs the second one as written."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _two_commands() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_each_readme_command_activates_the_venv_it_relies_on():
    commands = _two_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands), commands
    for command in commands:  # a new shell has no venv active: each command makes and enters its own
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e "), command
    assert commands[1].endswith(" && pytest")


def test_ci_runs_the_readme_test_command_as_written():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert f"{_two_commands()[1]} || exit" in lines
