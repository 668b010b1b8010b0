"""The whole run on one time axis: population activity, subcortical reward, dopamine (RPE), value,
drives, the cortex's assessments against what the subcortex sensed, eligibility summaries (where
recorded) and fitness.

Phase boundaries are dotted, shift onsets red and dashed, frozen phases shaded, so a failure of
steering after a shift can be read straight down the column. Long runs are drawn as block means
(one block per pixel column or so) with the spread over replicas as a light band, since a stride
sample would miss sparse rewards. Reward and fitness arrive once per trial, so per step they are
spikes between 0 and their value: where trials are recorded they are drawn per trial instead, as
a moving mean of each trial's sum. The time axis counts steps for a cortex without a clock (rate).
"""
from __future__ import annotations

import warnings

import numpy as np

from .figures import PHASE_KEY, legend, mark_phases, new_figure, time_axis
from .events import event_times_ms
from .io import MAX_POINTS, RunReader
from .learning import moving_average

# (row label, dataset names or prefix, y label stem); a row appears only if something is recorded
ROWS = [("neural", ("rate_hz", "activity"), None),
        ("reward", ("reward",), "reward"),
        ("dopamine", ("dopamine",), "dopamine / RPE"),
        ("value", ("value",), "value estimate"),
        ("drives", ("drives/",), "drive"),
        ("assessments", ("assessments/",), "assessed vs sensed"),
        ("eligibility", ("eligibility/",), "eligibility"),
        ("fitness", ("fitness",), "fitness")]
LEGEND = {"eligibility/mean": "mean over E->E synapses", "eligibility/rewarded": "rewarded synapse"}
PER_TRIAL = ("reward", "fitness")  # drawn from trials/<name> where the phase records it


def _names(reader: RunReader, keys) -> list[str]:
    """Datasets matching exact names or prefixes (ending in '/'), over all phases, in first-seen order."""
    found: list[str] = []
    for phase in reader.phases:
        for name in reader.names(phase.name):
            if any(name == k or (k.endswith("/") and name.startswith(k)) for k in keys) and name not in found:
                found.append(name)
    if "rate_hz" in found and "activity" in found:
        found.remove("activity")  # the spiking population rate says it better than filtered counts
    return found


def build(reader: RunReader):
    """Overview figure, or None when the run recorded none of reward, dopamine, value or drives."""
    rows = [(label, _names(reader, keys), stem) for label, keys, stem in ROWS]
    rows = [r for r in rows if r[1]]
    if not any(label in ("reward", "dopamine", "value", "drives") for label, _, _ in rows):
        return None
    total = reader.total_ms
    scale, unit = time_axis(reader, total)
    stride_ms = None if total <= 0 else total / MAX_POINTS
    fig, axes = new_figure(len(rows), 1, sharex=True)
    strides, trial_windows = set(), set()
    for ax, (label, names, stem) in zip(axes[:, 0], rows):
        per_trial = label in PER_TRIAL and bool(reader.with_data(f"trials/{label}"))
        for k, name in enumerate(names):
            legend_label = LEGEND.get(name, name.split("/")[-1]) \
                if len(names) > 1 or label in ("assessments", "eligibility", "drives") else None
            if per_trial:
                trial_windows.add(_draw_trials(reader, ax, name, scale, color=f"C{k}"))
                continue
            strides |= _draw(reader, ax, name, stride_ms, scale, color=f"C{k}", label=legend_label,
                             sensed=label == "assessments")
        units = next((reader.units(p.name, names[0]) for p in reader.phases if reader.has(p.name, names[0])), "a.u.")
        if label == "drives":  # name the drive: "drive level" alone does not say which
            stem = f"{' / '.join(n.split('/')[-1] for n in names)} drive"
        ax.set_ylabel(_ylabel(label, names, f"{stem} per trial" if per_trial else stem, units))
        if label == "dopamine":
            ax.axhline(0, color="0.5", lw=0.6)
            _reward_events(reader, ax, scale)
        if len(names) > 1 or label == "assessments" or ax.get_legend_handles_labels()[0]:
            # below the reward rug, which runs along the top edge
            legend(ax, ncols=min(4, len(names) * 2), bbox_to_anchor=(1.0, 0.92))
        mark_phases(ax, reader.phases, scale, label=ax is axes[0, 0])
    axes[-1, 0].set_xlabel(f"time ({unit})")
    axes[-1, 0].set_xlim(0, total / scale)
    block = f", block means over {max(strides)} samples" if strides and max(strides) > 1 else ""
    trials = f"; reward and fitness: sum per trial, moving mean over {max(trial_windows)} trials" \
        if trial_windows else ""
    k = reader.n_replicas
    spread = f"mean over {k} replicas, band: replica range" if k > 1 else "one replica"
    fig.suptitle(f"Reward, dopamine and drives ({spread}{block}{trials})\n{PHASE_KEY}", fontsize=10)
    return fig


def _ylabel(label, names, stem, units):
    if label == "neural":
        text = f"population rate ({units})" if names[0] == "rate_hz" else f"mean activity ({units})"
    else:
        text = f"{stem} ({units})"
    # eight stacked rows leave room for about 20 characters per line of label
    head, _, tail = text.rpartition(" (")
    return text if len(text) <= 20 else f"{head}\n({tail}"


def _draw(reader, ax, name, stride_ms, scale, color, label, sensed):
    """Plot one signal across all phases; returns the block widths used (in samples)."""
    strides = set()
    sensed_name = name.replace("assessments/", "sensed/")
    for phase in reader.phases:
        series = reader.reduce(phase.name, name, stride_ms=stride_ms)
        if series is None:
            continue
        first = not strides  # one legend entry per signal, not one per phase
        strides.add(series.stride)
        x = series.t_ms / scale
        if series.mean.shape[0] > 1:  # spread across replicas of the block means
            ax.fill_between(x, series.mean.min(axis=0), series.mean.max(axis=0), color=color, alpha=0.2, lw=0)
        ax.plot(x, series.mean.mean(axis=0), color=color, lw=0.9, label=label if first else None)
        if sensed and reader.has(phase.name, sensed_name):
            s = reader.reduce(phase.name, sensed_name, stride_ms=stride_ms)
            with warnings.catch_warnings():  # steps where nothing was sensed stay NaN, not drawn
                warnings.simplefilter("ignore", RuntimeWarning)
                values = np.nanmean(s.mean, axis=0)
            ax.plot(s.t_ms / scale, values, ls="none", marker="o", ms=2.5, color=color, alpha=0.7,
                    label=f"sensed {name.split('/')[-1]}" if first else None)
        if not series.exact:
            ax.text(0.99, 0.02, "sampled chunks", transform=ax.transAxes, ha="right", fontsize=7, color="0.4")
    return strides


def _draw_trials(reader, ax, name, scale, color) -> int:
    """Plot each trial's sum of ``name`` (``trials/<name>``) as a trailing moving mean inside each
    phase, at the time each trial ends; returns the window in trials."""
    phases = [p for p in reader.phases if reader.has(p.name, f"trials/{name}")]
    total = sum(reader.dataset(p.name, f"trials/{name}").shape[-1] for p in phases)
    window = int(np.clip(total // 50, 1, 500))
    for i, phase in enumerate(phases):
        raw = np.asarray(reader.dataset(phase.name, f"trials/{name}")[...], dtype=np.float64)
        smooth = moving_average(raw.reshape(-1, raw.shape[-1]), window)
        steps = int(reader.h5[phase.name].attrs.get("steps_per_trial", 1))
        x = (phase.start_ms + (np.arange(smooth.shape[1]) + 1) * steps * phase.step_ms) / scale
        if smooth.shape[0] > 1:
            ax.fill_between(x, smooth.min(axis=0), smooth.max(axis=0), color=color, alpha=0.2, lw=0)
        ax.plot(x, smooth.mean(axis=0), color=color, lw=0.9)
    return window


def _reward_events(reader, ax, scale):
    """Reward deliveries recorded as events (distal reward) as a rug along the top of the dopamine row."""
    first = True
    for phase in reader.with_data("reward_times_s"):
        t = event_times_ms(reader, phase.name, "reward_times_s", replica=0) / scale
        ax.plot(t, np.full(t.size, 0.97), ls="none", marker="|", ms=7, color="tab:purple",
                transform=ax.get_xaxis_transform(), label="reward delivered (replica 0)" if first else None)
        first = False
