"""Neural activity in detail: a raster (spiking) or activity heatmap (rate), the population rate
under it, and a few membrane potentials, in a short window at the end of each phase.

A whole run of 10^6 steps cannot be read as spikes; a window of about a second (spiking) or a few
hundred steps (rate) shows what the network does once a phase has run, side by side across phases.
"""
from __future__ import annotations

import numpy as np

from .figures import legend, mark_phases, new_figure, note_empty, time_scale
from .events import spike_extent, spikes
from .io import RunReader

WINDOW_MS_SPIKING = 1000.0
WINDOW_STEPS_RATE = 300
MAX_UNITS = 100  # heatmap rows: more than this and single units are no longer visible at 700 px
MAX_PHASE_COLUMNS = 4
N_VOLTAGE_TRACES = 3


def _columns(reader: RunReader):
    phases = reader.with_data("activity", "spikes_t_ms", "rate_hz", "v_mV")
    if len(phases) > MAX_PHASE_COLUMNS:  # keep the first, the shifts (then the rest), and the last
        middle = sorted(phases[1:-1], key=lambda p: not p.shift)[:MAX_PHASE_COLUMNS - 2]
        phases = [phases[0]] + sorted(middle, key=lambda p: p.index) + [phases[-1]]
    return phases


def _window(reader: RunReader, phase) -> tuple[float, float]:
    """Global [t0, t1) ms of the last window of a phase that holds spikes, if spikes were recorded."""
    spiking = reader.has(phase.name, "spikes_t_ms") or reader.has(phase.name, "v_mV")
    span = WINDOW_MS_SPIKING if spiking else WINDOW_STEPS_RATE * phase.step_ms
    end = phase.end_ms
    extent = spike_extent(reader, phase.name)
    if extent is not None:  # long runs may record spikes only early on: show where they are
        end = min(end, np.ceil(extent[1] / 10.0) * 10.0)
    return max(phase.start_ms, end - span), end


def build(reader: RunReader):
    """Figure of the last window of each phase, or None when no neural trace was recorded."""
    phases = _columns(reader)
    if not phases:
        return None
    rows = ["top", "rate"] + (["v"] if any(reader.has(p.name, "v_mV") for p in phases) else [])
    fig, axes = new_figure(len(rows), len(phases), sharex="col", sharey="row",
                           gridspec_kw={"height_ratios": [2.2, 1, 1.2][:len(rows)]})
    # seconds once the windows lie beyond 2 s: tick labels like 599200 ms are hard to read
    scale, unit = time_scale(max(_window(reader, p)[1] for p in phases))
    image = None
    for col, phase in enumerate(phases):
        t0, t1 = _window(reader, phase)
        ax_top, ax_rate = axes[0, col], axes[1, col]
        shift = " (world shift)" if phase.shift and "shift" not in phase.name.lower() else ""
        title = f"{phase.name}{shift}: last {(t1 - t0) / scale:g} {unit}"
        ax_top.set_title(title, fontsize=10)
        spikes = None
        if reader.has(phase.name, "spikes_t_ms"):
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
        axes[-1, col].set_xlabel(f"time ({unit})")
        for ax in axes[:-1, col]:
            ax.tick_params(labelbottom=False)
    for row in range(1, len(rows)):  # once per row: the y axis is shared, so is the headroom
        if axes[row, -1].get_legend_handles_labels()[0]:
            legend(axes[row, -1], ncols=3)
    if image is not None:
        fig.colorbar(image, ax=axes[0, :].tolist(), label=f"activity ({_units(reader, phases)})", pad=0.01)
    fig.suptitle(f"Neural activity, replica 0 ({reader.run_dir.name})", fontsize=11)
    return fig


def _read(reader, phase, name, t0, t1, replicas=slice(None)):
    """Samples of ``name`` in the global window [t0, t1) ms and their times."""
    return reader.window(phase.name, name, reader.index_at(phase.name, name, t0),
                         reader.index_at(phase.name, name, t1), replicas=replicas)


def _units(reader, phases):
    return next((reader.units(p.name, "activity") for p in phases if reader.has(p.name, "activity")), "a.u.")


def _raster(reader, phase, t0, t1, ax, scale):
    t, i = spikes(reader, phase.name, t0, t1)
    n_neurons = int(reader.attrs.get("n_neurons", 0)) or (int(i.max()) + 1 if i.size else 1)
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
    lo, hi = np.nanpercentile(data, [1, 99])
    image = ax.imshow(data.T, aspect="auto", origin="lower", cmap="viridis", vmin=lo, vmax=hi,
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
        ax.plot(t / scale, data.mean(axis=0), color="black", lw=0.8, label=f"mean of {data.shape[0]} replicas")
    ax.set_ylabel(f"population rate ({reader.units(phase.name, name, 'Hz')})" if name == "rate_hz"
                  else f"mean activity ({reader.units(phase.name, name)})")


def _voltages(reader, phase, t0, t1, ax, scale):
    if not reader.has(phase.name, "v_mV"):
        note_empty(ax, "no membrane potential recorded")
        ax.set_ylabel("V (mV)")
        return
    t, v = _read(reader, phase, "v_mV", t0, t1, replicas=0)
    for k in range(min(N_VOLTAGE_TRACES, v.shape[1] if v.ndim > 1 else 1)):
        ax.plot(t / scale, v[:, k] if v.ndim > 1 else v, lw=0.7, label=f"neuron {k}")
    ax.set_ylabel(f"V ({reader.units(phase.name, 'v_mV', 'mV')})")
