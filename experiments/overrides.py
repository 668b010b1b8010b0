"""``--set key.path=value`` overrides, applied to the raw YAML data before validation."""
from __future__ import annotations

from typing import Any

import yaml


def parse_override(text: str) -> tuple[list[str], Any]:
    """``'cortex.n_units=64'`` -> (['cortex', 'n_units'], 64); the value is read as a YAML scalar."""
    if "=" not in text:
        raise ValueError("expected key.path=value")
    key, value = text.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise ValueError(f"bad key path '{key}'")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return parts, parsed


def apply_overrides(raw: dict, overrides, problems) -> None:
    """Apply ``key.path=value`` overrides in place. List items are addressed by index or, for
    lists of named items (phases), by name: ``phases.train.strings=500``. ``problems`` is the
    config layer's collector (``add(path, message)``, ``overridden``)."""
    for text in overrides:
        try:
            parts, value = parse_override(text)
        except ValueError as exc:
            problems.add(("--set",), f"'{text}': {exc}")
            continue
        node: Any = raw
        path: list = []
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                index = _list_index(node, part)
                if index is None:
                    names = [str(x.get("name")) for x in node if isinstance(x, dict) and "name" in x]
                    problems.add(tuple(path) + (part,), f"no list item '{part}' (use an index 0..{len(node) - 1}" + (f" or a name: {', '.join(names)})" if names else ")"))
                    problems.overridden.add(tuple(path) + (part,))
                    break
                path.append(index)
                if last:
                    node[index] = value
                else:
                    node = node[index]
            elif isinstance(node, dict):
                path.append(part)
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {})
            else:
                problems.add(tuple(path), f"--set {text}: cannot set a key inside a {type(node).__name__}")
                break
        problems.overridden.add(tuple(path))


def _list_index(items: list, part: str) -> int | None:
    if part.lstrip("-").isdigit():
        index = int(part)
        return index if -len(items) <= index < len(items) else None
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return i
    return None
