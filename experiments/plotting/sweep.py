"""Sweep figures: each metric against the swept parameter, mean and 95% bootstrap interval over seeds
(an interval that stays inside the range the seeds span, so inside the metric's range).

Reads ``<sweep_dir>/results.csv``: one row per run, with the swept parameters as columns named by
their config key path (``cortex.n_units``), ``seed``, ``status`` and one ``<phase>.<metric>``
column per metric (plus ``<phase>.<metric>_chance`` and ``<phase>.optimal_<metric>`` where known).
Parameter and metric columns both contain dots, so metric columns are told apart by their phase
prefix: phases are the prefixes of ``_chance`` / ``optimal_`` columns, or the keys of any run's
``metrics.json`` under the sweep directory. Pass ``params`` / ``metrics`` to override.
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from .figures import FORMATS, bootstrap_interval, legend, new_figure, save

RESERVED = {"run_id", "seed", "status", "run_dir", "path", "error", "wall_time_s", "index", "replica"}
OK_STATUS = {"", "ok", "done", "success", "succeeded", "completed", "finished"}
SIZE_HINTS = ("n_units", "n_exc", "n_inh", "size", "n_neurons")
MAX_HUES = 6
# units of metrics.json names
UNITS = {"cross_entropy": "nats", "kl_to_optimal": "nats", **{name: "fraction" for name in (
    "longrange_correct", "fidelity", "proxy_follow", "conflict", "accuracy", "legal_mass", "longrange_accuracy",
    "fidelity_late", "proxy_reliance", "conflict_share")}}


def _number(text: str):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    return value


def read_results(sweep_dir: Path) -> list[dict]:
    with open(Path(sweep_dir) / "results.csv", newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _phases(sweep_dir: Path, columns: list[str]) -> set[str]:
    phases = {c.split(".")[0] for c in columns if c.endswith("_chance") or ".optimal_" in c}
    if not phases:
        first = next(Path(sweep_dir).rglob("metrics.json"), None)
        if first is not None:
            phases = set(json.loads(first.read_text()))
    return phases


def split_columns(sweep_dir: Path, columns: list[str], params=None, metrics=None):
    """(parameter columns, metric columns) of a results table."""
    phases = _phases(sweep_dir, columns)

    def is_metric(c):
        return "." in c and c.split(".")[0] in phases and not c.endswith("_chance") and ".optimal_" not in c

    metrics = list(metrics) if metrics else [c for c in columns if is_metric(c)]
    params = list(params) if params else [c for c in columns if c not in RESERVED and c not in metrics
                                          and not c.endswith("_chance") and ".optimal_" not in c
                                          and c.split(".")[0] not in phases]
    return params, metrics


def build(sweep_dir: str | Path, params=None, metrics=None) -> list[tuple[str, object]]:
    """(metric, Figure) for each metric column; empty when there is nothing to draw."""
    sweep_dir = Path(sweep_dir)
    rows = read_results(sweep_dir)
    if not rows:
        return []
    params, metric_cols = split_columns(sweep_dir, list(rows[0]), params, metrics)
    ok = [r for r in rows if str(r.get("status", "")).lower() in OK_STATUS]
    varied = [p for p in params if len({str(r.get(p)) for r in ok}) > 1] or params[:1]
    # a numeric parameter makes the x axis; a categorical one (``base``, a model name) the line colour
    varied.sort(key=lambda p: not all(isinstance(r.get(p), float) for r in ok))
    if not varied or not ok:
        return []
    x_name, hue = varied[0], (varied[1] if len(varied) > 1 else None)
    n_failed = len(rows) - len(ok)
    return [(m, _figure(ok, x_name, hue, m, n_failed, sweep_dir.name)) for m in metric_cols]


def _figure(rows, x_name, hue, metric, n_failed, title):
    fig, axes = new_figure(1, 1)
    ax = axes[0, 0]
    xs = sorted({r[x_name] for r in rows}, key=lambda v: (isinstance(v, str), v))
    numeric = all(isinstance(v, float) for v in xs)
    log = numeric and min(xs) > 0 and (x_name.endswith(SIZE_HINTS) or max(xs) / min(xs) >= 20)
    position = {v: (v if numeric else i) for i, v in enumerate(xs)}
    hues = sorted({r.get(hue) for r in rows}, key=str)[:MAX_HUES] if hue else [None]
    for k, h in enumerate(hues):
        sub = [r for r in rows if hue is None or r.get(hue) == h]
        x, means, errors = [], [], []
        for v in xs:
            values = np.array([r[metric] for r in sub if r[x_name] == v and isinstance(r[metric], float)])
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue
            mean, lo, hi = (float(a[0]) for a in bootstrap_interval(values[:, None]))
            x.append(position[v])
            means.append(mean)
            errors.append((mean - lo, hi - mean) if np.isfinite(lo) else (0.0, 0.0))
            ax.plot(np.full(values.size, position[v]), values, ls="none", marker="o", ms=3, color=f"C{k}",
                    alpha=0.35)
        label = f"{hue} = {h:g}" if isinstance(h, float) else (f"{hue} = {h}" if hue else "mean over seeds")
        ax.errorbar(x, means, yerr=np.array(errors).reshape(-1, 2).T, color=f"C{k}", marker="s", ms=5, capsize=4,
                    lw=1.5, label=f"{label} (95% bootstrap interval)")
    for suffix, style, name in (("_chance", dict(color="0.3", ls="--"), "chance"),
                                ("optimal", dict(color="tab:green", ls="-."), "optimal")):
        column = f"{metric}_chance" if suffix == "_chance" else metric.replace(".", ".optimal_", 1)
        levels = [r.get(column) for r in rows if isinstance(r.get(column), float) and math.isfinite(r[column])]
        if levels:
            ax.axhline(float(np.mean(levels)), lw=1.2, label=f"{name} ({np.mean(levels):.3g})", **style)
    if log:
        ax.set_xscale("log")
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
        ax.minorticks_off()
    elif not numeric:
        ax.set_xticks(range(len(xs)), [str(v) for v in xs])
    ax.set_xlabel(f"{x_name} ({'log scale' if log else 'swept value'})")
    phase, _, name = metric.partition(".")
    ax.set_ylabel(f"{name} in phase '{phase}' ({UNITS.get(name, 'a.u.')})")
    legend(ax)
    seeds = max(len({r.get('seed') for r in rows if r[x_name] == v}) for v in xs)
    failed = f"; {n_failed} failed run{'s' if n_failed != 1 else ''} left out" if n_failed else ""
    fig.suptitle(f"{metric} vs {x_name} ({title}: up to {seeds} seeds per point, dots: single runs{failed})",
                 fontsize=11)
    return fig


def plot_sweep(sweep_dir: str | Path, fmt: str = "png", params=None, metrics=None) -> list[Path]:
    """Write ``<sweep_dir>/plots/sweep_<phase>.<metric>.<fmt>`` for each metric; return the paths."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}'; choose from {', '.join(FORMATS)}")
    out = Path(sweep_dir) / "plots"
    return [save(fig, out, f"sweep_{metric}", fmt) for metric, fig in build(sweep_dir, params, metrics)]
