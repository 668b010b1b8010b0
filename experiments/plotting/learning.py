"""Learning curves: each per-string or per-trial metric over the run, with chance and optimal levels.

Phases are laid end to end (string or trial count since the run began), so a curve shows learning
in one phase and what happens to it in the next. Each replica's series is smoothed with a trailing
moving average inside its phase (never across a boundary, where the world may have changed), then
drawn as the mean over replicas with a 95% interval that stays inside the metric's range: a Wilson
interval on the outcomes pooled over replicas for fractions, a bootstrap over replicas otherwise.
Panels are named as the phase summaries in ``metrics.json``.
"""
from __future__ import annotations

import numpy as np

from .figures import PHASE_KEY, band, bootstrap_interval, legend, mark_phases, new_figure, wilson
from .io import RunReader

GROUPS = {"strings/": "string", "trials/": "trial"}
SKIP = {"action", "item", "string_len"}  # per-trial facts, not metrics to follow over learning
# per-string or per-trial series whose phase summary in metrics.json goes by another name
SUMMARY_NAME = {"reward": "subcortex_reward", "proxy_follow": "proxy_reliance", "conflict": "conflict_share",
                "longrange_correct": "longrange_accuracy"}
FRACTIONS = ("fraction", "bool")
# metrics whose first strings lie far above the rest: the axis is fitted to the rest, so that the
# gap to the optimum can be read
FOCUSED = ("cross_entropy", "kl_to_optimal")
MAX_ROWS = 6
MAX_POINTS = 2000


def summary_name(series: str) -> str:
    """The metrics.json name of a per-string or per-trial series (``trials/proxy_follow`` ->
    ``proxy_reliance``)."""
    metric = series.split("/", 1)[1]
    return SUMMARY_NAME.get(metric, metric)


def _metrics(reader: RunReader) -> list[str]:
    """Series to draw: those with a phase summary in metrics.json (all, when it is missing)."""
    summaries = {k for values in reader.metrics.values() if isinstance(values, dict) for k in values}
    names: list[str] = []
    for phase in reader.phases:
        for name in reader.names(phase.name):
            if name.startswith(tuple(GROUPS)) and name not in names and name.split("/", 1)[1] not in SKIP \
                    and (not summaries or summary_name(name) in summaries):
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


def moving_sums(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing sums of the finite values along the last axis, and how many finite values each holds."""
    finite = np.isfinite(values)
    sums = np.cumsum(np.where(finite, values, 0.0), axis=-1)
    counts = np.cumsum(finite, axis=-1).astype(np.float64)
    sums[..., window:] = sums[..., window:] - sums[..., :-window]
    counts[..., window:] = counts[..., window:] - counts[..., :-window]
    return sums, counts


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing NaN-aware moving average along the last axis (NaN where the window holds no value)."""
    sums, counts = moving_sums(values, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def curve(raw: np.ndarray, window: int, fraction: bool, every: int = 1):
    """Mean over replicas (rows of ``raw``) of the trailing moving average, and its 95% interval,
    at every ``every``-th value (the points drawn: a bootstrap at all 10^5 strings of a long run
    would hold 1,000 resamples of each).

    Fractions pool the outcomes of all replicas in the window (a Wilson interval); other metrics
    resample the replicas' moving averages (a bootstrap interval)."""
    if fraction:
        sums, counts = moving_sums(raw, window)
        s, n = sums.sum(axis=0)[::every], counts.sum(axis=0)[::every]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, s / np.maximum(n, 1), np.nan)
        return (mean, *wilson(s, n))
    return bootstrap_interval(moving_average(raw, window)[:, ::every])


def build(reader: RunReader):
    """Figure with one row per metric series, or None when no strings/ or trials/ series exist."""
    names = _metrics(reader)
    if not names:
        return None
    fig, axes = new_figure(len(names), 1)
    windows = []
    for ax, name in zip(axes[:, 0], names):
        prefix = name.split("/")[0] + "/"
        metric, summary = name.split("/", 1)[1], summary_name(name)
        offsets = _offsets(reader, prefix)
        total = max((b for _, b in offsets.values()), default=1)
        window = int(np.clip(total // 50, 1, 500))
        windows.append((GROUPS[prefix], window))
        units = next(reader.units(p.name, name) for p in reader.phases if reader.has(p.name, name))
        drawn_levels: dict[str, float] = {}
        means = []
        for phase in reader.phases:
            ds = reader.dataset(phase.name, name)
            x0, x1 = offsets[phase.name]
            if ds is not None and ds.shape[-1]:
                raw = np.asarray(ds[...], dtype=np.float64).reshape(-1, ds.shape[-1])
                if ds.dtype.kind in "iub":  # integer codes: a negative value means 'does not apply'
                    raw[raw < 0] = np.nan
                step = max(1, raw.shape[-1] // MAX_POINTS)
                mean, lo, hi = curve(raw, window, units in FRACTIONS, every=step)
                x = x0 + np.arange(raw.shape[-1])[::step] + 1
                band(ax, x, mean, lo, hi, label=None if ax.lines else "model", color="C0")
                means.append(mean)
            _levels(ax, reader.metrics.get(phase.name, {}), summary, x0, x1, drawn_levels)
        mark_phases(ax, reader.phases, label=True, x_of=lambda p, o=offsets: o[p.name])
        ax.set_xlim(0, total)
        focused = metric in FOCUSED and bool(means)
        if units in FRACTIONS:
            ax.set_ylim(-0.05, 1.05)
        elif focused:
            _focus(ax, np.concatenate(means), drawn_levels)
        # a moving average of 0/1 outcomes is a fraction
        ax.set_ylabel(f"{summary}\n({'fraction' if units == 'bool' else units})")
        ax.set_xlabel(f"{GROUPS[prefix]} (# since start of run)")
        box = legend(ax, ncols=3)
        if focused:
            _note_above(box, ax.get_ylim()[1], np.concatenate(means), drawn_levels)
    k = reader.n_replicas
    spread = f"mean over {k} replicas, band: 95% interval (fractions: Wilson, others: bootstrap)" if k > 1 \
        else "one replica, band: 95% Wilson interval for fractions"
    smooth = ", ".join(sorted({f"moving average over {w} {g}s" if w > 1 else f"one point per {g}"
                               for g, w in windows}))
    fig.suptitle(f"Learning curves ({spread}; {smooth})\n{PHASE_KEY}", fontsize=10)
    return fig


def _focus(ax, mean: np.ndarray, levels: dict[str, float]):
    """Fit the y axis to the curve once learnt (its lower 90%) and to the optimum, so that the gap
    between them fills a readable part of the axis."""
    finite = mean[np.isfinite(mean)]
    if finite.size == 0:
        return
    floor = min([float(finite.min())] + ([levels["optimal"]] if "optimal" in levels else []))
    top = float(np.percentile(finite, 90))
    hi = top + 0.6 * max(top - floor, 1e-3)
    lo = floor - 0.15 * max(top - floor, 1e-3)
    ax.set_ylim(lo, hi)


def _note_above(box, top: float, mean: np.ndarray, levels: dict[str, float]):
    """Say in the legend's title what lies above the axis' ``top``: the first points, the chance level."""
    peak = np.nanmax(mean) if np.isfinite(mean).any() else -np.inf
    above = [f"curve up to {peak:.3g}"] if peak > top else []
    above += [f"chance {levels['chance']:.3g}"] if levels.get("chance", -np.inf) > top else []
    if above:
        box.set_title(f"above the axis: {', '.join(above)}", prop={"size": 8})


def _levels(ax, phase_metrics: dict, metric: str, x0: int, x1: int, drawn: dict):
    """Chance and optimal levels of one phase, as horizontal segments over its part of the axis;
    ``drawn`` collects the highest chance and lowest optimal level drawn so far."""
    if x1 <= x0:
        return
    optimal = phase_metrics.get(f"optimal_{metric}", 0.0 if metric == "kl_to_optimal" else None)
    for kind, value, style in (("chance", phase_metrics.get(f"{metric}_chance"), dict(color="0.3", ls="--")),
                               ("optimal", optimal, dict(color="tab:green", ls="-."))):
        if isinstance(value, (int, float)) and np.isfinite(value):
            ax.hlines(value, x0, x1, lw=1.2, label=None if kind in drawn else kind, **style)
            drawn[kind] = (max if kind == "chance" else min)(drawn.get(kind, value), value)
