"""Learning curves: each per-string or per-trial metric over the run, with chance and optimal levels.

Phases are laid end to end (string or trial count since the run began), so a curve shows learning
in one phase and what happens to it in the next. Each replica's series is smoothed with a trailing
moving average inside its phase (never across a boundary, where the world may have changed), then
drawn as the mean over replicas with a 95% interval band.
"""
from __future__ import annotations

import numpy as np

from .figures import PHASE_KEY, band, legend, mark_phases, new_figure
from .io import RunReader

GROUPS = {"strings/": "string", "trials/": "trial"}
SKIP = {"action", "item", "string_len"}  # per-trial facts, not metrics to follow over learning
DEFAULT_UNITS = {"cross_entropy": "nats/symbol", "kl_to_optimal": "nats/symbol", "longrange_correct": "fraction",
                 "fidelity": "fraction", "proxy_follow": "fraction", "conflict": "fraction"}
# per-trial series whose phase summary in metrics.json goes by another name (for its chance level)
SUMMARY_NAME = {"reward": "subcortex_reward", "proxy_follow": "proxy_reliance"}
FRACTIONS = ("fraction", "bool")
MAX_ROWS = 6
MAX_POINTS = 2000


def _metrics(reader: RunReader) -> list[str]:
    names: list[str] = []
    for phase in reader.phases:
        for name in reader.names(phase.name):
            if name.startswith(tuple(GROUPS)) and name not in names and name.split("/", 1)[1] not in SKIP:
                names.append(name)
    return names[:MAX_ROWS]


def _offsets(reader: RunReader, prefix: str) -> dict[str, tuple[int, int]]:
    """Each phase's [first, last) index on the x axis of a group: counts run on across phases."""
    out, start = {}, 0
    for phase in reader.phases:
        lengths = [reader.dataset(phase.name, n).shape[-1] for n in reader.names(phase.name) if n.startswith(prefix)]
        out[phase.name] = (start, start + max(lengths, default=0))
        start = out[phase.name][1]
    return out


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing NaN-aware moving average along the last axis (NaN where the window holds no value)."""
    finite = np.isfinite(values)
    sums = np.cumsum(np.where(finite, values, 0.0), axis=-1)
    counts = np.cumsum(finite, axis=-1)
    sums[..., window:] = sums[..., window:] - sums[..., :-window]
    counts[..., window:] = counts[..., window:] - counts[..., :-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def build(reader: RunReader):
    """Figure with one row per metric series, or None when no strings/ or trials/ series exist."""
    names = _metrics(reader)
    if not names:
        return None
    fig, axes = new_figure(len(names), 1)
    windows = []
    for ax, name in zip(axes[:, 0], names):
        prefix = name.split("/")[0] + "/"
        metric = name.split("/", 1)[1]
        offsets = _offsets(reader, prefix)
        total = max((b for _, b in offsets.values()), default=1)
        window = int(np.clip(total // 50, 1, 500))
        windows.append((GROUPS[prefix], window))
        units = DEFAULT_UNITS.get(metric, "a.u.")
        drawn_levels: set[str] = set()
        for phase in reader.phases:
            ds = reader.dataset(phase.name, name)
            x0, x1 = offsets[phase.name]
            if ds is not None and ds.shape[-1]:
                units = reader.units(phase.name, name, units)
                raw = np.asarray(ds[...], dtype=np.float64).reshape(-1, ds.shape[-1])
                if ds.dtype.kind in "iub":  # integer codes: a negative value means 'does not apply'
                    raw[raw < 0] = np.nan
                values = moving_average(raw, window)
                step = max(1, values.shape[1] // MAX_POINTS)
                x = x0 + np.arange(values.shape[1])[::step] + 1
                band(ax, x, values[:, ::step], label=None if ax.lines else "model", color="C0")
            _levels(ax, reader.metrics.get(phase.name, {}), SUMMARY_NAME.get(metric, metric), x0, x1, drawn_levels)
        mark_phases(ax, reader.phases, label=True, x_of=lambda p, o=offsets: o[p.name])
        ax.set_xlim(0, total)
        if units in FRACTIONS:  # a 95% band from 3 replicas can reach past 0 and 1: show what can happen
            ax.set_ylim(-0.05, 1.05)
        # a moving average of 0/1 outcomes is a fraction
        ax.set_ylabel(f"{metric.replace('_', ' ')} ({'fraction' if units == 'bool' else units})")
        ax.set_xlabel(f"{GROUPS[prefix]} (# since start of run)")
        legend(ax, ncols=3)
    k = reader.n_replicas
    spread = f"mean over {k} replicas, band: 95% interval" if k > 1 else "one replica"
    smooth = ", ".join(sorted({f"moving average over {w} {g}s" if w > 1 else f"one point per {g}"
                               for g, w in windows}))
    fig.suptitle(f"Learning curves ({spread}; {smooth})\n{PHASE_KEY}", fontsize=10)
    return fig


def _levels(ax, phase_metrics: dict, metric: str, x0: int, x1: int, drawn: set):
    """Chance and optimal levels of one phase, as horizontal segments over its part of the axis."""
    if x1 <= x0:
        return
    optimal = phase_metrics.get(f"optimal_{metric}", 0.0 if metric == "kl_to_optimal" else None)
    for kind, value, style in (("chance", phase_metrics.get(f"{metric}_chance"), dict(color="0.3", ls="--")),
                               ("optimal", optimal, dict(color="tab:green", ls="-."))):
        if isinstance(value, (int, float)) and np.isfinite(value):
            ax.hlines(value, x0, x1, lw=1.2, label=None if kind in drawn else kind, **style)
            drawn.add(kind)
