"""Bad input, one type for all of it: experiment configs, ``--set`` overrides, sweep files, engines.

Every problem is one line ``FILE: key.path: message (line N)``: the file (or the command-line
option, e.g. ``--engine``), the dotted key path inside it, what is wrong, and where it was written
when that is known. Code that checks input collects every problem it finds in a :class:`Problems`
and raises one :class:`InputError` at the end, so the user sees all of them at once. The
``neurosteer`` command (experiments/cli.py) prints them and exits with status 2.
"""
from __future__ import annotations

import difflib

from experiments.yamlpos import line_of


class InputError(ValueError):
    """Bad input; ``problems`` holds one ``FILE: key.path: message`` line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


class Problems:
    """Collects (key path, message) pairs for one file and formats them with file and line.

    ``lines`` maps key paths to the 1-based line where they were written (experiments.yamlpos);
    paths set on the command line go into ``overridden`` and are reported as ``(from --set)``.
    """

    def __init__(self, source: str, lines: dict | None = None):
        self.source = source
        self.lines = lines or {}
        self.overridden: set[tuple] = set()
        self.items: list[tuple[tuple, str]] = []

    def add(self, path: tuple, message: str) -> None:
        """Record one problem at ``path`` (mapping keys and list indices, e.g. ``("phases", 1)``)."""
        self.items.append((tuple(path), message))

    def format(self) -> list[str]:
        """One ``FILE: key.path: message (line N)`` line per problem, in the order they were added."""
        out = []
        for path, message in self.items:
            dotted = ".".join(str(p) for p in path) or "(top level)"
            if any(path[: len(o)] == o for o in self.overridden):
                where = " (from --set)"
            else:
                line = line_of(self.lines, path)
                where = f" (line {line})" if line else ""
            out.append(f"{self.source}: {dotted}: {message}{where}")
        return out

    def raise_if_any(self) -> None:
        """Raise :class:`InputError` with every problem collected so far, if there is one."""
        if self.items:
            raise InputError(self.format())


def did_you_mean(key, choices) -> str:
    """``"; did you mean 'x'?"`` for the choice closest to ``key``, or ``""`` if none is close."""
    close = difflib.get_close_matches(str(key), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def unknown(key, choices, what: str = "key") -> str:
    """``unknown KEY 'k'`` with the closest choice, or the list of choices when none is close."""
    choices = [str(c) for c in choices]
    hint = did_you_mean(key, choices) or (f"; known: {', '.join(sorted(choices))}" if choices else "")
    return f"unknown {what} '{key}'{hint}"
