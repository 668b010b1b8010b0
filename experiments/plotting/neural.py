"""Neural activity in detail: a raster (spiking) or activity heatmap (rate), the population rate
under it, and a few membrane potentials, in a short window at the end of each phase.

A whole run of 10^6 steps cannot be read as spikes; a window of about a second (spiking) or a few
hundred steps (rate) shows what the network does once a phase has run, side by side across phases.
In a sequence phase the window ends at replica 0's last real step, not at the padding that fills
its last block up to the longest replica's, and padded steps inside the window are hatched and
left out of every trace (they are a frozen network, not activity).
"""
from __future__ import annotations

import warnings

import numpy as np
from matplotlib import colormaps

from .figures import mark_phases, new_figure, note_empty, time_axis
from .events import spike_extent, spikes
from .io import RunReader

WINDOW_MS_SPIKING = 1000.0
WINDOW_STEPS_RATE = 300
MAX_UNITS = 100  # heatmap rows: more than this and single units are no longer visible at 700 px
MAX_PHASE_COLUMNS = 6  # at 1000 px, six columns still leave each window ~130 px
N_VOLTAGE_TRACES = 3
PADDING = dict(facecolor="none", hatch="///", edgecolor="0.6", lw=0)


def _columns(reader: RunReader):
    """Phases to draw, and all phases with neural data (more than MAX_PHASE_COLUMNS: the first, the
    shifts, then the rest in order, and the last)."""
    phases = reader.with_data("activity", "spikes_time_ms", "rate_hz", "v_mv")
    if len(phases) <= MAX_PHASE_COLUMNS:
        return phases, phases
    middle = sorted(phases[1:-1], key=lambda p: not p.shift)[:MAX_PHASE_COLUMNS - 2]
    return [phases[0]] + sorted(middle, key=lambda p: p.index) + [phases[-1]], phases


def _window(reader: RunReader, phase) -> tuple[float, float]:
    """Global [t0, t1) ms of the last window of a phase: before replica 0's padding, and where
    spikes were recorded, if they were."""
    spiking = reader.has(phase.name, "spikes_time_ms") or reader.has(phase.name, "v_mv")
    span = WINDOW_MS_SPIKING if spiking else WINDOW_STEPS_RATE * phase.step_ms
    end = phase.end_ms
    active = reader.active_end(phase.name, replica=0)
    if active:
        end = min(end, phase.start_ms + active * reader.sample_ms(phase.name, "input"))
    extent = spike_extent(reader, phase.name)
    if extent is not None:  # long runs may record spikes only early on: show where they are
        end = min(end, np.ceil(extent[1] / 10.0) * 10.0)
    return max(phase.start_ms, end - span), end


def build(reader: RunReader):
    """Figure of the last window of each phase, or None when no neural trace was recorded."""
    phases, every = _columns(reader)
    if not phases:
        return None
    rows = ["top", "rate"] + (["v"] if any(reader.has(p.name, "v_mv") for p in phases) else [])
    fig, axes = new_figure(len(rows), len(phases), sharex="col", sharey="row",
                           gridspec_kw={"height_ratios": [2.2, 1, 1.2][:len(rows)]})
    # seconds once the windows lie beyond 2 s: tick labels like 599200 ms are hard to read
    scale, unit = time_axis(reader, max(_window(reader, p)[1] for p in phases))
    image = None
    for col, phase in enumerate(phases):
        t0, t1 = _window(reader, phase)
        ax_top, ax_rate = axes[0, col], axes[1, col]
        # two short lines: five or six columns of 'name (world shift): last 300 steps' overlap
        ax_top.set_title(f"{phase.name}\nlast {(t1 - t0) / scale:g} {unit}", fontsize=9,
                         color="tab:red" if phase.shift else "black")
        spikes = None
        if reader.has(phase.name, "spikes_time_ms"):
            spikes = _raster(reader, phase, t0, t1, ax_top, scale)
        elif reader.has(phase.name, "activity"):
            image = _heatmap(reader, phase, t0, t1, ax_top, scale) or image
        else:
            note_empty(ax_top, "no spikes or activity recorded")
        _population(reader, phase, t0, t1, ax_rate, scale, spikes)
        if "v" in rows:
            _voltages(reader, phase, t0, t1, axes[2, col], scale)
        for ax in axes[:, col]:
            ax.set_xlim(t0 / scale, t1 / scale)
            # a phase onset inside the window (short phases) is marked like everywhere else
            mark_phases(ax, [p for p in reader.phases if t0 < p.start_ms < t1], scale)
            _hatch_padding(reader, phase, t0, t1, ax, scale, label=ax is axes[1, col])
        axes[-1, col].set_xlabel(f"time ({unit})")
        for ax in axes[:-1, col]:
            ax.tick_params(labelbottom=False)
    for ax in axes[:, 1:].flat:  # rows share their y axis: its label once, on the left
        ax.set_ylabel("")
    # one legend for the figure, under it: inside a narrow column it would push the columns apart
    handles = {}
    for ax in axes[1:, :].flat:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(text, handle)
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=min(6, len(handles)),
                   fontsize=8, frameon=False)
    if image is not None:
        fig.colorbar(image, ax=axes[0, :].tolist(), label=f"activity ({_units(reader, phases)})", pad=0.01)
    shown = "" if len(phases) == len(every) else (
        f"\nphases shown: {len(phases)} of {len(every)} (first, world shifts, last); not shown: "
        + ", ".join(p.name for p in every if p not in phases))
    shift = "; red title: world shift" if any(p.shift for p in phases) else ""
    fig.suptitle(f"Neural activity, replica 0 ({reader.run_dir.name}){shift}{shown}", fontsize=10)
    return fig


def _indices(reader, phase, name, t0, t1):
    return reader.index_at(phase.name, name, t0), reader.index_at(phase.name, name, t1)


def _read(reader, phase, name, t0, t1, replicas=slice(None)):
    """Samples of ``name`` in the global window [t0, t1) ms and their times; NaN at padded steps."""
    a, b = _indices(reader, phase, name, t0, t1)
    t, data = reader.window(phase.name, name, a, b, replicas=replicas)
    padded = reader.padding(phase.name, a, b, replicas) \
        if reader.sample_ms(phase.name, name) == phase.step_ms else None
    if padded is not None and padded.any():
        data = data.astype(np.float64)
        n = min(padded.shape[-1], data.shape[0 if padded.ndim == 1 else 1])
        if padded.ndim == 1:
            data[:n][padded[:n]] = np.nan
        else:
            data[:, :n][padded[:, :n]] = np.nan
    return t, data


def _hatch_padding(reader, phase, t0, t1, ax, scale, label):
    """Hatch the spans where replica 0's stream is padded."""
    a, b = _indices(reader, phase, "input", t0, t1)
    padded = reader.padding(phase.name, a, b, replicas=0)
    if padded is None or not padded.any():
        return
    dt = reader.sample_ms(phase.name, "input")
    edges = np.flatnonzero(np.diff(np.concatenate([[0], padded.astype(np.int8), [0]])))
    for k, (first, stop) in enumerate(zip(edges[::2], edges[1::2])):
        x0 = reader.origin_ms(phase.name, "input") + (a + first) * dt
        ax.axvspan(x0 / scale, (x0 + (stop - first) * dt) / scale, zorder=0, **PADDING,
                   label="padding: replica 0 has no input" if label and k == 0 else None)


def _units(reader, phases):
    return next((reader.units(p.name, "activity") for p in phases if reader.has(p.name, "activity")), "a.u.")


def _raster(reader, phase, t0, t1, ax, scale):
    t, i = spikes(reader, phase.name, t0, t1)
    n_neurons = int(reader.h5[phase.name].attrs.get("sample_units", 0)) or (int(i.max()) + 1 if i.size else 1)
    # dot size shrinks with the number of spikes so dense rasters stay grey, not black
    ax.scatter(t / scale, i, s=max(0.3, min(4.0, 2e4 / max(1, t.size))), c="black", marker="|" if t.size < 3000
               else ".", linewidths=0.6, rasterized=True)
    if t.size == 0:
        note_empty(ax, "no spikes in this window")
    ax.set_ylabel("neuron (index)")
    return t, n_neurons


def _heatmap(reader, phase, t0, t1, ax, scale):
    dt = reader.sample_ms(phase.name, "activity")
    t, data = _read(reader, phase, "activity", t0, t1, replicas=0)
    if data.size == 0:
        note_empty(ax, "activity empty")
        return None
    n_units = data.reshape(data.shape[0], -1).shape[1]
    data = data.reshape(data.shape[0], -1)[:, :MAX_UNITS]
    if not np.isfinite(data).any():
        note_empty(ax, "padding only")
        return None
    lo, hi = np.nanpercentile(data, [1, 99])
    cmap = colormaps["viridis"].with_extremes(bad=(1.0, 1.0, 1.0, 0.0))  # padding: the hatching shows through
    image = ax.imshow(data.T, aspect="auto", origin="lower", cmap=cmap, vmin=lo, vmax=hi,
                      interpolation="nearest",
                      extent=(t[0] / scale, (t[-1] + dt) / scale,
                              -0.5, data.shape[1] - 0.5))
    ax.set_ylabel("unit (index)" if n_units <= MAX_UNITS else f"unit (index, first {MAX_UNITS} of {n_units})")
    return image


def _population(reader, phase, t0, t1, ax, scale, spikes):
    name = "rate_hz" if reader.has(phase.name, "rate_hz") else "activity"
    if not reader.has(phase.name, name) and spikes is not None:
        # no recorded rate: count the raster's spikes in 5 ms bins, per neuron
        t, n_neurons = spikes
        bins = np.arange(t0, t1 + 5.0, 5.0)
        counts, _ = np.histogram(t, bins)
        ax.step(bins[:-1] / scale, counts / (n_neurons * 5e-3), where="post", lw=0.9, color="tab:blue",
                label=f"from the raster, 5 ms bins, {n_neurons} neurons")
        ax.set_ylabel("population rate (Hz)")
        return
    if not reader.has(phase.name, name):
        note_empty(ax, "no population signal")
        ax.set_ylabel("population (a.u.)")
        return
    t, data = _read(reader, phase, name, t0, t1)
    if data.ndim > 2:  # mean over the recorded sample of units
        data = data.reshape(data.shape[0], data.shape[1], -1).mean(axis=2)
    ax.plot(t / scale, data[0], color="tab:blue", lw=0.9, label="replica 0")
    if data.shape[0] > 1:
        with warnings.catch_warnings():  # a step where every replica is padded stays a gap
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(data, axis=0)
        # padded replicas drop out of the mean: near a block's end it is the longest replica's alone
        ax.plot(t / scale, mean, color="black", lw=0.8, label=f"mean of {data.shape[0]} replicas"
                + (" (where not padded)" if reader.has(phase.name, "input") else ""))
    ax.set_ylabel(f"population rate ({reader.units(phase.name, name, 'Hz')})" if name == "rate_hz"
                  else f"mean activity ({reader.units(phase.name, name)})")


def _voltages(reader, phase, t0, t1, ax, scale):
    if not reader.has(phase.name, "v_mv"):
        note_empty(ax, "no membrane potential recorded")
        ax.set_ylabel("V (mV)")
        return
    t, v = _read(reader, phase, "v_mv", t0, t1, replicas=0)
    for k in range(min(N_VOLTAGE_TRACES, v.shape[1] if v.ndim > 1 else 1)):
        ax.plot(t / scale, v[:, k] if v.ndim > 1 else v, lw=0.7, color=f"C{k + 1}", label=f"neuron {k}")
    ax.set_ylabel(f"V ({reader.units(phase.name, 'v_mv', 'mV')})")
