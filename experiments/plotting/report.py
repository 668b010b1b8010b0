"""``report.md``: one page per run: what was run, the metrics per phase next to chance with every
replica's value, the figures.

Plain Markdown with relative links, so it renders on GitHub, in VS Code and in Jupyter, and stays
valid when the run directory is moved or copied off a cluster.
"""
from __future__ import annotations

import math
from pathlib import Path

from .io import RunReader

MAX_CONFIG_LINES = 40
MAX_VALUE_CHARS = 70
IMAGE_FORMATS = ("png", "svg")  # a browser shows these inline; a PDF gets a link


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.4g}"
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"


def _flatten(tree, prefix: str = ""):
    """``key.path: value`` pairs of a nested config; lists of dicts (phases) are left to their own table."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _flatten(value, f"{prefix}{key}.")
    else:
        yield prefix[:-1], tree


def _header(reader: RunReader, problems: list[str]) -> list[str]:
    meta = reader.meta
    status = "ok"
    if reader.error:
        status = f"**failed**: {_fmt(reader.error.splitlines()[-1])} (see error.txt)"
    elif problems:
        status = "**incomplete** (see Problems)"
    command = meta.get("command", "–")
    command = " ".join(map(str, command)) if isinstance(command, list) else str(command)
    rows = [("status", status), ("command", f"`{command}`"), ("seed", meta.get("seed")),
            ("replicas", meta.get("replicas", reader.n_replicas)),
            ("backend", f"{meta.get('backend', reader.attrs.get('backend', '–'))}"
                        + (f" ({meta['codegen_target']})" if meta.get("codegen_target") else "")),
            ("git", meta.get("git_hash")), ("wall time (s)", meta.get("wall_time_s"))]
    lines = [f"# Run report: {reader.run_dir.name}", "", "| | |", "|---|---|"]
    # the command is kept whole: it is what reproduces the run
    lines += [f"| {k} | {v if k == 'command' else _fmt(v)} |" for k, v in rows if v is not None]
    return lines


def _config(reader: RunReader) -> list[str]:
    config = reader.config if isinstance(reader.config, dict) else {}
    phases = config.get("phases")
    pairs = [(k, v) for k, v in _flatten({k: v for k, v in config.items() if k != "phases"})]
    lines = ["", "## Configuration", ""]
    lines += [f"- `{k}`: {_fmt(v)}" for k, v in pairs[:MAX_CONFIG_LINES]]
    if len(pairs) > MAX_CONFIG_LINES:
        lines.append(f"- … {len(pairs) - MAX_CONFIG_LINES} more keys in config.yaml")
    if isinstance(phases, list) and phases and all(isinstance(p, dict) for p in phases):
        keys = list(dict.fromkeys(k for p in phases for k in p))[:8]
        lines += ["", "Phases:", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines += ["| " + " | ".join(_fmt(p.get(k)) for k in keys) + " |" for p in phases]
    return lines


def _metrics(reader: RunReader) -> list[str]:
    lines = ["", "## Metrics", ""]
    if not reader.metrics:
        return lines + ["No metrics.json (the run did not finish)."]
    recorded = {p.name: p for p in reader.phases}
    for phase, values in reader.metrics.items():
        if not isinstance(values, dict):
            continue
        info = recorded.get(phase)
        about = f" ({info.kind}{'' if info.plastic else ', frozen'}{', after a shift' if info.shift else ''})" \
            if info else ""
        per_replica = values.get("per_replica") or {}
        lines += [f"### {phase}{about}", "", "| metric | value | chance | per replica |", "|---|---|---|---|"]
        for name, value in values.items():
            if name == "per_replica" or name.endswith("_chance"):
                continue
            reps = per_replica.get(name) or []
            shown = ", ".join(_fmt(v) for v in reps)  # every replica: a cut list hides the outliers
            lines.append(f"| {name} | {_fmt(value)} | {_fmt(values.get(name + '_chance'))} | {shown or '–'} |")
        lines.append("")
    return lines


def write_report(reader: RunReader, figures: dict[str, Path], problems: list[str],
                 skipped: dict[str, str]) -> Path:
    """Write ``<run_dir>/report.md`` and return its path."""
    lines = _header(reader, problems) + _config(reader) + _metrics(reader)
    if problems:
        lines += ["## Problems", ""] + [f"- {p}" for p in problems] + [""]
    lines += ["## Figures", ""]
    for name, path in figures.items():
        rel = path.relative_to(reader.run_dir).as_posix()
        lines += [f"### {name}", "", f"![{name}]({rel})" if path.suffix[1:] in IMAGE_FORMATS
                  else f"[{name} ({path.suffix[1:]})]({rel})", ""]
    if skipped:
        lines += ["Not drawn: " + "; ".join(f"{k} ({why})" for k, why in skipped.items()), ""]
    out = reader.run_dir / "report.md"
    out.write_text("\n".join(lines) + "\n")
    return out
