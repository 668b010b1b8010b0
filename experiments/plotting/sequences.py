"""Sequence learning up close: the cortex's predicted next-symbol distribution against the exact one
over a stretch of input, the surprisal of each symbol there, and mean surprisal over the run with
long-range positions (where only a distant symbol tells what comes next) drawn apart.

Conventions (those of ``experiments.protocols.sequence``): ``pred[t]`` and ``optimal[t]`` are
distributions of ``input[t + 1]``; ``surprisal[t]`` is that symbol's surprisal under ``pred[t]``;
``group[t] >= 0`` when ``input[t + 1]`` is a long-range symbol; ``input`` is -1 on padding. Over the
stretch the surprisal is recomputed from ``pred`` and ``optimal``, so the cortex and the exact
predictor are compared on the same symbols.
"""
from __future__ import annotations

import warnings

import numpy as np

from .figures import PHASE_KEY, legend, mark_phases, new_figure, time_axis
from .io import RunReader

STRETCH = 48  # steps shown in the heatmaps: one readable tick label each at 1000 px
EPS = 1e-12
RUN_BLOCKS = 400


def _stretch_phase(reader: RunReader):
    """The last phase with predictions to compare (usually the frozen test phase)."""
    with_pred = [p for p in reader.phases if reader.has(p.name, "pred") and reader.has(p.name, "input")]
    return with_pred[-1] if with_pred else None


def symbols(reader: RunReader, n: int) -> list[str]:
    names = reader.attrs.get("symbols")
    return [str(s) for s in names] if isinstance(names, list) and len(names) >= n else [str(i) for i in range(n)]


def build(reader: RunReader):
    """Figure, or None when the run recorded neither predictions nor surprisal."""
    phase = _stretch_phase(reader)
    overview = reader.with_data("surprisal")
    if phase is None and not overview:
        return None
    has_opt = phase is not None and reader.has(phase.name, "optimal")
    rows = (["pred"] + (["optimal"] if has_opt else []) + ["stretch"] if phase else []) + (["run"] if overview else [])
    ratios = {"pred": 1.6, "optimal": 1.6, "stretch": 1.2, "run": 1.3}
    fig, axes = new_figure(len(rows), 1, gridspec_kw={"height_ratios": [ratios[r] for r in rows]})
    ax_of = dict(zip(rows, axes[:, 0]))
    if phase is not None:
        _stretch(reader, phase, ax_of, fig)
    if overview:
        _run_surprisal(reader, ax_of["run"])
    key = f"\n{PHASE_KEY}" if overview else ""
    fig.suptitle(f"Next-symbol prediction, replica 0 ({reader.run_dir.name}){key}", fontsize=10)
    return fig


def _stretch(reader, phase, ax_of, fig):
    """Columns are steps: what was seen (tick label), what was predicted (heatmaps), what came next
    (circle), and how surprising that was (line below), all at the same x."""
    pred_ds = reader.dataset(phase.name, "pred")
    n = min(STRETCH, pred_ds.shape[1])
    pred = np.asarray(pred_ds[0, :n], dtype=np.float64)
    opt = np.asarray(reader.dataset(phase.name, "optimal")[0, :n], dtype=np.float64) if "optimal" in ax_of else None
    inputs = np.full(n + 1, -1)
    seen = np.asarray(reader.dataset(phase.name, "input")[0, :n + 1])
    inputs[:seen.size] = seen
    group = np.full(n, -1)
    if reader.has(phase.name, "group"):
        g = np.asarray(reader.dataset(phase.name, "group")[0, :n])
        group[:g.size] = g
    labels = symbols(reader, pred.shape[1])
    x, nxt = np.arange(n), inputs[1:]
    valid = nxt >= 0  # -1: padding, nothing came next
    image = None
    for key, dist, title in (("pred", pred, "cortex prediction"), ("optimal", opt, "exact (optimal) distribution")):
        if dist is None:
            continue
        ax = ax_of[key]
        image = ax.imshow(dist.T, aspect="auto", origin="lower", cmap="Greys", vmin=0, vmax=1,
                          interpolation="nearest", extent=(-0.5, n - 0.5, -0.5, dist.shape[1] - 0.5))
        # the symbol that actually came next, so one can see where the mass should have been
        ax.plot(x[valid], nxt[valid], ls="none", marker="o", ms=4, mfc="none", mec="tab:orange")
        ax.set_yticks(range(dist.shape[1]), labels)
        ax.set_ylabel("next symbol (id)")
        _input_ticks(ax, inputs[:n], labels)
        ax.set_xlabel("input symbol seen (one column per step)", fontsize=9)
        ax.set_title(f"{title} of the next symbol (orange circle: the symbol that came next)", fontsize=9,
                     loc="left")
    fig.colorbar(image, ax=[ax_of[k] for k in ("pred", "optimal") if k in ax_of], label="probability (0-1)",
                 pad=0.01)
    ax = ax_of["stretch"]
    for dist, label, style in ((pred, "cortex", dict(marker="o", color="C0")),
                               (opt, "exact predictor", dict(marker="s", color="tab:green", alpha=0.8))):
        if dist is not None:
            surprisal = np.full(n, np.nan)
            surprisal[valid] = -np.log(dist[x[valid], nxt[valid]] + EPS)
            ax.plot(x, surprisal, ms=3, label=label, **style)
    for k, pos in enumerate(np.flatnonzero(group >= 0)):
        ax.axvspan(pos - 0.5, pos + 0.5, color="tab:red", alpha=0.15, lw=0,
                   label="next symbol is long-range" if k == 0 else None)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylabel("surprisal of next (nats)")
    ax.set_xlabel(f"input symbol seen (steps 0-{n - 1} of phase '{phase.name}')")
    _input_ticks(ax, inputs[:n], labels)
    legend(ax, ncols=3)


def _input_ticks(ax, inputs, labels):
    names = [labels[int(i)] if 0 <= i < len(labels) else "·" for i in inputs]  # "·": padding
    ax.set_xticks(range(inputs.size), names, fontsize=8)


def _run_surprisal(reader, ax):
    total = reader.total_ms
    scale, unit = time_axis(reader, total)
    # per-step surprisal is noisy: a few hundred blocks show the trend, not the noise
    stride_ms = total / RUN_BLOCKS if total > 0 else None
    labelled: set[str] = set()
    n_symbols = 0
    for phase in reader.with_data("surprisal"):
        for mask, label, color in ((None, "all positions", "C0"), ("group", "long-range positions", "tab:red")):
            if mask and not reader.has(phase.name, mask):
                continue
            s = reader.reduce(phase.name, "surprisal", stride_ms=stride_ms, mask=mask)
            with warnings.catch_warnings():  # blocks without a long-range position are NaN: gaps
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(s.mean, axis=0)
            ax.plot(s.t_ms / scale, mean, color=color, lw=0.9, marker="." if mask else None, ms=2,
                    label=None if label in labelled else label)
            labelled.add(label)
        if reader.has(phase.name, "pred"):
            n_symbols = reader.dataset(phase.name, "pred").shape[-1]
    n_symbols = n_symbols or len(reader.attrs.get("symbols") or [])
    if n_symbols:
        ax.axhline(np.log(n_symbols), color="0.3", ls="--", lw=1, label=f"chance: ln {n_symbols}")
    mark_phases(ax, reader.phases, scale, label=True)
    ax.set_xlim(0, total / scale)
    ax.set_ylabel("surprisal (nats)")
    ax.set_xlabel(f"time ({unit})")
    legend(ax, ncols=3, title="whole run: block means, mean over replicas", title_fontsize=8)
