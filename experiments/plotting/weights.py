"""Synaptic weights of Izhikevich (2007) distal-reward phases: the rewarded synapse against the
median and 90th percentile of all the others, with reward deliveries and the dopamine they cause.

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


def build(reader: RunReader):
    """Figure, or None when the run recorded no weight statistics."""
    phases = reader.with_data("rewarded_weight")
    if not phases:
        return None
    fig, axes = new_figure(2, 1)
    scale, unit = time_axis(reader, reader.total_ms)
    _distal(reader, phases, axes[0, 0], axes[1, 0], scale, unit)
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
