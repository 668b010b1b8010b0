"""Synaptic weights: their distribution over time, and for Izhikevich (2007) distal-reward phases the
rewarded synapse against all the others, with reward deliveries and the dopamine they cause.

The distal-reward panel is the figure of that paper's claim: the one synapse whose pre-post
pairing was rewarded, seconds later, climbs to the maximum while the median and 90th percentile
of the rest stay near baseline.
"""
from __future__ import annotations

import numpy as np

from .figures import PHASE_KEY, legend, mark_phases, new_figure, time_axis
from .events import event_times_ms
from .io import MAX_POINTS, RunReader

DISTAL = ("rewarded_weight", "other_weights_median", "other_weights_p90")
MAX_SNAPSHOTS = 200  # time points read for percentile bands: each one reads a whole chunk
PERCENTILES = (5, 25, 50, 75, 95)


def build(reader: RunReader):
    """Figure, or None when the run recorded no weights."""
    distal = reader.with_data("rewarded_weight")
    sampled = reader.with_data("weights")
    rows = (["distal", "dopamine"] if distal else []) + (["dist", "hist"] if sampled else [])
    if not rows:
        return None
    fig, axes = new_figure(len(rows), 1)
    ax_of = dict(zip(rows, axes[:, 0]))
    scale, unit = time_axis(reader, reader.total_ms)
    if distal:
        _distal(reader, distal, ax_of["distal"], ax_of["dopamine"], scale, unit)
    if sampled:
        _distribution(reader, sampled, ax_of["dist"], ax_of["hist"], scale, unit)
    key = f"\n{PHASE_KEY}" if len(reader.phases) > 1 else ""
    fig.suptitle(f"Synaptic weights ({reader.run_dir.name}){key}", fontsize=10)
    return fig


def _distal(reader, phases, ax, ax_da, scale, unit):
    styles = {"rewarded_weight": ("rewarded synapse", "tab:red", 1.6),
              "other_weights_median": ("other synapses: median", "0.2", 1.0),
              "other_weights_p90": ("other synapses: 90th percentile", "0.55", 1.0)}
    units = "a.u."
    for i, phase in enumerate(phases):
        for name in DISTAL:
            s = reader.reduce(phase.name, name)
            if s is None:
                continue
            units = s.units
            label, color, lw = styles[name]
            x, mean = s.t_ms / scale, s.mean.mean(axis=0)
            if s.mean.shape[0] > 1:
                ax.fill_between(x, s.mean.min(axis=0), s.mean.max(axis=0), color=color, alpha=0.2, lw=0)
            ax.plot(x, mean, color=color, lw=lw, label=label if i == 0 else None)
        t = event_times_ms(reader, phase.name, "reward_times_s", replica=0) / scale
        if t.size:
            # a rug just above the top edge, clear of the weights: one tick per reward delivery
            ax.plot(t, np.full(t.size, 1.04), ls="none", marker="|", ms=8, color="tab:purple", clip_on=False,
                    transform=ax.get_xaxis_transform(), label="reward delivered (replica 0)" if i == 0 else None)
        da = reader.reduce(phase.name, "dopamine", stride_ms=reader.total_ms / MAX_POINTS)
        if da is not None:
            x = da.t_ms / scale
            ax_da.fill_between(x, da.lo[0], da.hi[0], color="tab:purple", alpha=0.3, lw=0,
                               label="range within block" if i == 0 else None)
            ax_da.plot(x, da.mean[0], color="tab:purple", lw=0.8, label="block mean" if i == 0 else None)
            ax_da.set_ylabel(f"dopamine ({da.units})")
    for a in (ax, ax_da):
        mark_phases(a, reader.phases, scale, label=a is ax and len(reader.phases) > 1)
        a.set_xlim(0, reader.total_ms / scale)
        a.set_xlabel(f"time ({unit})")
    ax.set_ylabel(f"weight ({units})")
    ax.legend(loc="upper left", fontsize=8, frameon=False, title="mean over replicas, band: replica range",
              title_fontsize=8)
    legend(ax_da, title="replica 0", title_fontsize=8, ncols=2)


def _snapshots(reader, phase):
    """Global times (ms) and (n_times, K * n_weights) pooled weight samples, at most MAX_SNAPSHOTS times."""
    ds = reader.dataset(phase.name, "weights")
    picks = np.unique(np.linspace(0, ds.shape[1] - 1, min(ds.shape[1], MAX_SNAPSHOTS)).round().astype(int))
    data = np.asarray(ds[:, picks], dtype=np.float64)  # h5py reads an increasing index list directly
    data = np.moveaxis(data, 1, 0).reshape(picks.size, -1)
    return reader.origin_ms(phase.name, "weights") + picks * reader.sample_ms(phase.name, "weights"), data


def _distribution(reader, phases, ax, ax_hist, scale, unit):
    first = last = None
    for i, phase in enumerate(phases):
        t, w = _snapshots(reader, phase)
        q = np.nanpercentile(w, PERCENTILES, axis=1)
        x = t / scale
        ax.fill_between(x, q[0], q[4], color="C0", alpha=0.2, lw=0, label="5-95th percentile" if i == 0 else None)
        ax.fill_between(x, q[1], q[3], color="C0", alpha=0.4, lw=0, label="25-75th percentile" if i == 0 else None)
        ax.plot(x, q[2], color="C0", lw=1.2, label="median" if i == 0 else None)
        first = (t[0], w[0]) if first is None else first
        last = (t[-1], w[-1])
    units = reader.units(phases[0].name, "weights")
    mark_phases(ax, reader.phases, scale, label=True)
    ax.set_xlim(0, reader.total_ms / scale)
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel(f"weight ({units})")
    legend(ax, ncols=3, title="recorded sample, all replicas", title_fontsize=8)
    values = np.concatenate([first[1], last[1]])
    bins = np.linspace(np.nanmin(values), np.nanmax(values) + 1e-12, 50)
    for (t, w), color, when in ((first, "0.5", "first"), (last, "C0", "last")):
        ax_hist.hist(w[np.isfinite(w)], bins=bins, color=color, alpha=0.6,
                     label=f"{when} snapshot, t = {t / scale:g} {unit}")
    ax_hist.set_xlabel(f"weight ({units})")
    ax_hist.set_ylabel("synapses (count)")
    ax_hist.legend(loc="upper right", fontsize=8, frameon=False)
