"""Figure helpers shared by every plot: size, time axis, phase marks, saving.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot), so nothing leaks between
figures or into a user's interactive session; saving picks the Agg canvas for raster formats.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

DPI = 100
WIDTH_IN = 10.0
HEIGHT_IN = 7.0
FORMATS = ("png", "pdf", "svg")
SHIFT_COLOR = "tab:red"
PHASE_COLOR = "0.35"


def new_figure(nrows: int, ncols: int = 1, height_in: float | None = None, **subplot_kw):
    """A 10 in wide figure (1000 px at 100 dpi), taller when it has many rows; returns (fig, axes 2-D)."""
    height = height_in or max(HEIGHT_IN, 1.7 * nrows + 1.0)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return fig, axes


def time_scale(span_ms: float) -> tuple[float, str]:
    """Divisor and unit for a time axis spanning ``span_ms``: ms up to 2 s, s up to 2 h, else h."""
    if span_ms <= 2000:
        return 1.0, "ms"
    if span_ms <= 2 * 3600e3:
        return 1e3, "s"
    return 3600e3, "h"


PHASE_KEY = "dotted line: next phase; red dashed: world shift; grey: plasticity off"
CHAR_WIDTH = 0.0068  # a 9 pt character as a share of a 10 in wide axes: enough to keep names apart


def mark_phases(ax, phases, scale: float = 1.0, label: bool = False, x_of=None):
    """Vertical lines at phase onsets (shift onsets in red, dashed), light shading where learning is off.

    ``x_of(phase) -> (x0, x1)`` maps a phase to the axis' x range (default: its global time / scale).
    With ``label``, phase names are written above the top edge, on a second or third line where
    short phases would make neighbouring names overlap.
    """
    x_of = x_of or (lambda p: (p.start_ms / scale, p.end_ms / scale))
    top = blended_transform_factory(ax.transData, ax.transAxes)
    spans = [x_of(p) for p in phases]
    lo, hi = min((a for a, _ in spans), default=0.0), max((b for _, b in spans), default=1.0)
    ends: list[float] = []  # per text line: where its last name ends, as a share of the axis
    for i, (phase, (x0, x1)) in enumerate(zip(phases, spans)):
        if not phase.plastic:
            ax.axvspan(x0, x1, color="0.92", zorder=0, lw=0)
        if i > 0 or phase.shift:
            color = SHIFT_COLOR if phase.shift else PHASE_COLOR
            ax.axvline(x0, color=color, ls="--" if phase.shift else ":", lw=1.2, zorder=1)
        if label:
            start = (x0 - lo) / max(hi - lo, 1e-12)
            level = next((k for k, end in enumerate(ends) if end < start), len(ends))
            if level == len(ends):
                ends.append(0.0)
            ends[level] = start + CHAR_WIDTH * (len(phase.name) + 1)
            ax.annotate(phase.name, xy=(x0, 1.0), xycoords=top, xytext=(2, 1 + 10 * level),
                        textcoords="offset points", ha="left", va="bottom", fontsize=9, annotation_clip=False,
                        color=SHIFT_COLOR if phase.shift else "black")


def time_axis(reader, span_ms: float) -> tuple[float, str]:
    """Divisor and unit of a run's time axis: steps for a backend without a clock (the rate
    cortex, whose ``step_ms`` is only a convention), else ms, s or h by :func:`time_scale`."""
    if not reader.clocked:
        return (reader.phases[0].step_ms if reader.phases else 1.0), "steps"
    return time_scale(span_ms)


Z95 = 1.959964  # two-sided 95% quantile of the normal distribution
N_BOOTSTRAP = 1000


def wilson(successes, n):
    """95% Wilson score interval (lo, hi) of a proportion: ``successes`` of ``n`` outcomes (NaN where
    n = 0). Unlike mean +- t * sd it never leaves [0, 1], and it is not empty at 0 or n successes."""
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.asarray(successes, dtype=np.float64) / n
        z2 = Z95 ** 2 / n
        centre = (p + z2 / 2) / (1 + z2)
        half = Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n)) / (1 + z2)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def bootstrap_interval(values: np.ndarray, seed: int = 0):
    """NaN-aware mean over the rows of a (K, n) array (replicas or seeds) and its 95% percentile
    bootstrap interval (lo, hi) over rows: it stays inside the range the rows themselves span, so
    inside the metric's range. lo and hi are NaN where fewer than two rows are finite."""
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0.0)
    # resample rows as multiplicities: (B, K) @ (K, n) keeps memory at B * n whatever K is
    rng = np.random.default_rng(seed)
    k = values.shape[0]
    counts = np.stack([np.bincount(row, minlength=k) for row in rng.integers(0, k, (N_BOOTSTRAP, k))])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / finite.sum(axis=0)
        means = (counts @ filled) / (counts @ finite)
    with warnings.catch_warnings():  # columns without any finite value stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(means, [2.5, 97.5], axis=0)
    few = finite.sum(axis=0) < 2
    return mean, np.where(few, np.nan, lo), np.where(few, np.nan, hi)


def band(ax, x, mean, lo, hi, label: str | None, color=None):
    """A line with its interval as a light band (no band where the interval is NaN)."""
    (line,) = ax.plot(x, mean, color=color, lw=1.3, label=label)
    if np.isfinite(lo).any():
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.25, lw=0)
    return line


def legend(ax, headroom: float | None = None, **kwargs):
    """Legend in the upper right corner, above the data: the y range grows by ``headroom`` (default:
    by the legend's number of lines) to make room."""
    if headroom is None:
        entries = len(ax.get_legend_handles_labels()[0]) + bool(kwargs.get("title"))
        headroom = 0.12 + 0.16 * -(-entries // kwargs.get("ncols", 1))
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + headroom * (hi - lo))
    kwargs = {"loc": "upper right", "fontsize": 8, "frameon": False, **kwargs}
    return ax.legend(**kwargs)


def note_empty(ax, text: str):
    """Say on the axes why it is empty rather than leaving a blank box."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")


def unlabelled(fig: Figure) -> list[str]:
    """Axes titles/indices whose x or y label is missing or carries no '(unit)': empty list when all fine."""
    bad = []
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.has_data() and not ax.images:
            continue
        is_colorbar = ax.get_label() == "<colorbar>"
        # stacked panels share one time axis, columns one y axis: the label on the bottom (left)
        # panel serves them all
        xlabel = next((a.get_xlabel() for a in ax.get_shared_x_axes().get_siblings(ax) if a.get_xlabel()), "")
        ylabel = next((a.get_ylabel() for a in ax.get_shared_y_axes().get_siblings(ax) if a.get_ylabel()), "")
        labels = [ax.get_ylabel() or ax.get_xlabel()] if is_colorbar else [xlabel, ylabel]
        if not all(lbl and "(" in lbl and lbl.rstrip().endswith(")") for lbl in labels):
            bad.append(f"axes {i} '{ax.get_title()}': {labels}")
    return bad


def save(fig: Figure, out_dir: Path, name: str, fmt: str) -> Path:
    """Write ``out_dir/name.fmt`` at DPI, the figure's exact size (no tight bbox: size stays predictable).
    A ``/`` in ``name`` (metric names such as ``assessor_error/taste.sweet``) becomes ``-``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name.replace('/', '-')}.{fmt}"
    fig.savefig(path, format=fmt, dpi=DPI)
    return path
