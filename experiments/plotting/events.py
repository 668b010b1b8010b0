"""Event datasets (spikes, reward deliveries): read from the file's ends, in bounded amounts.

Event times count from the run start (network time, as Brian2 reports them) or from the phase
start, as their ``origin`` attribute says; their ``units`` attribute (``ms`` or ``s``) gives the
scale, and the schema (:mod:`experiments.traces`) names the dataset that says whose each event is.
Every function here returns global times in ms, on the same axis as :meth:`RunReader.reduce`.
"""
from __future__ import annotations

import h5py
import numpy as np

from experiments import traces

from .io import RunReader, decode_attr


def _event_origin(reader: RunReader, phase: str, ds: h5py.Dataset) -> float:
    """0 when event times count from the run start, the phase start when they count from it."""
    return 0.0 if decode_attr(ds.attrs["origin"]) == "run" else reader.phase(phase).start_ms


def _unit_ms(ds: h5py.Dataset) -> float:
    return traces.EVENT_UNIT_MS[decode_attr(ds.attrs["units"])]


def event_times_ms(reader: RunReader, phase: str, name: str, replica: int | None = 0,
                   max_events: int = 200_000) -> np.ndarray:
    """Global times in ms of the first ``max_events`` events of ``name`` (``reward_times_s`` ...),
    of one replica when the schema names a dataset that says whose each event is."""
    ds = reader.dataset(phase, name)
    if ds is None or ds.shape[0] == 0:
        return np.empty(0)
    t = np.asarray(ds[:max_events], dtype=np.float64) * _unit_ms(ds)
    entry = traces.lookup(reader.phase(phase).kind, name)
    owner = reader.dataset(phase, entry.replica) if entry is not None and entry.replica else None
    if replica is not None and owner is not None:
        t = t[np.asarray(owner[:max_events]) == replica]
    return t + _event_origin(reader, phase, ds)


def spikes(reader: RunReader, phase: str, t0_ms: float, t1_ms: float, replica: int = 0,
           max_read: int = 4_000_000, block: int = 1 << 18):
    """Spikes of ``replica`` in the global window [t0_ms, t1_ms): global times (ms), neuron index.

    Events are appended in time order per flush, so the scan starts at the end of the file
    nearer the window and stops once a block's events of ``replica`` lie wholly beyond it, or
    after ``max_read`` events.
    """
    t_ds, i_ds = reader.dataset(phase, "spikes_time_ms"), reader.dataset(phase, "spikes_index")
    r_ds = reader.dataset(phase, "spikes_replica")
    origin = _event_origin(reader, phase, t_ds)
    t0_ms, t1_ms = t0_ms - origin, t1_ms - origin  # into the file's own time
    n = t_ds.shape[0]
    p = reader.phase(phase)
    from_end = t0_ms + origin > p.start_ms + p.duration_ms / 2
    starts = range(0, n, block)
    ts, idx, read = [], [], 0
    for a in (reversed(starts) if from_end else starts):
        b = min(n, a + block)
        t = np.asarray(t_ds[a:b], dtype=np.float64)
        mine = np.asarray(r_ds[a:b]) == replica if r_ds is not None else np.ones(t.size, bool)
        keep = mine & (t >= t0_ms) & (t < t1_ms)
        ts.append(t[keep])
        idx.append(np.asarray(i_ds[a:b])[keep])
        read += b - a
        # judged on this replica's events only: files written replica after replica must not
        # stop the scan inside another replica's stretch
        t_mine = t[mine]
        beyond = t_mine.size and (t_mine.max() < t0_ms if from_end else t_mine.min() >= t1_ms)
        if beyond or read >= max_read:
            break
    t = np.concatenate(ts) if ts else np.empty(0)
    return origin + t, np.concatenate(idx) if idx else np.empty(0, int)


def spike_extent(reader: RunReader, phase: str, block: int = 1 << 16) -> tuple[float, float] | None:
    """Global (first, last) spike time in ms, from the ends of the file only."""
    ds = reader.dataset(phase, "spikes_time_ms")
    if ds is None or ds.shape[0] == 0:
        return None
    head, tail = np.asarray(ds[:block]), np.asarray(ds[-block:])
    origin = _event_origin(reader, phase, ds)
    return origin + float(head.min()), origin + float(tail.max())
