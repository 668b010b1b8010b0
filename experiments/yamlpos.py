"""YAML loading that remembers where each key was written, for error messages.

Only ``yaml.safe_load`` semantics: the document is composed with the safe loader and constructed
with it, so no YAML tag can run code.
"""
from __future__ import annotations

import yaml


class YamlSyntaxError(ValueError):
    """The file is not valid YAML; ``line`` is 1-based or None."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def load_with_lines(text: str) -> tuple[object, dict[tuple, int]]:
    """Parse ``text``; return (data, {key path tuple: 1-based line}).

    Paths use mapping keys (str) and list indices (int), e.g. ``("phases", 1, "strings")``.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlSyntaxError(f"invalid YAML: {exc.problem or exc}", line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"invalid YAML: {exc}", None) from None
    lines: dict[tuple, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def _walk(node, path: tuple, lines: dict) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines)


def line_of(lines: dict[tuple, int], path: tuple) -> int | None:
    """Line of ``path`` or of its closest written ancestor (a missing key points at its parent)."""
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        path = path[:-1]
