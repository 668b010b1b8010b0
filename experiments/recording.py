"""Traces to HDF5, appended in chunks while a run goes, so memory stays bounded.

Layout of ``traces.h5`` (read by ``experiments.plotting`` and by users):

* root attributes: ``format_version``, ``n_replicas``, ``phases`` (JSON list, in run order), plus
  whatever the runner adds through :meth:`Recorder.meta` (backend, world kind, symbols ...).
* one group per phase, ``/<phase>``, with attributes ``index``, ``kind`` (``sequence``,
  ``closed_loop`` or ``distal_reward``), ``start_step`` (global step index of the phase's first
  step), ``step_ms`` (simulated ms per step, 1 for the rate backend) and ``plastic``.
* step-level datasets of shape ``(K, T, ...)`` (replica first, time second), appended along the
  time axis: e.g. ``input``, ``surprisal``, ``activity``, ``reward``, ``dopamine``. Names may contain
  ``/`` (``drives/hunger``) to make sub-groups. Attributes ``units`` and ``description``.
* event datasets of shape ``(N,)`` appended along their only axis: the spiking cortex's
  ``spikes_replica``, ``spikes_index``, ``spikes_time_ms`` (network time since reset: attribute
  ``origin`` = ``run``), the distal-reward runner's ``spikes_i``, ``spikes_t_ms``, ``spikes_replica``,
  ``reward_times_s``, ``reward_replica``.
* a spiking cortex adds, in open and closed loop alike, ``rate_hz`` (K, T) excitatory population
  rate, ``v_mv`` (K, T, n_v) membrane potential of a few neurons at each step's start and, in
  closed loop with reward-modulated STDP, ``eligibility/mean`` (K, T) (see
  ``SpikingCortex.trace_info``).

Every dataset a runner writes has a ``units`` attribute (``1`` for dimensionless quantities,
counts and indices) and a ``description``; datasets sampled slower than the phase's steps say
so with a ``dt_ms`` attribute.
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

FORMAT_VERSION = 1


class Recorder:
    """Append-only HDF5 writer with one group per phase.

    Parameters
    ----------
    path: file to create (overwritten).
    n_replicas: K, the size of every step-level dataset's first axis.
    chunk_steps: HDF5 chunk length along time; also the natural flush size for callers.
    """

    def __init__(self, path: str | Path, n_replicas: int, chunk_steps: int = 4096):
        self.path = Path(path)
        self.n_replicas = int(n_replicas)
        self.chunk_steps = int(chunk_steps)
        self._file = h5py.File(self.path, "w")
        self._file.attrs["format_version"] = FORMAT_VERSION
        self._file.attrs["n_replicas"] = self.n_replicas
        self._phases: list[str] = []

    # -- structure -----------------------------------------------------------------------------
    def phase(self, name: str, **attrs) -> None:
        """Open (or re-open) the group of phase ``name`` and set its attributes."""
        group = self._file.require_group(name)
        if name not in self._phases:
            group.attrs["index"] = len(self._phases)
            self._phases.append(name)
            self._file.attrs["phases"] = json.dumps(self._phases)
        self.attrs(name, **attrs)

    def attrs(self, phase: str, **attrs) -> None:
        """Set attributes on a phase group (values must be HDF5-storable; dicts go to JSON)."""
        group = self._file.require_group(phase)
        for key, value in attrs.items():
            group.attrs[key] = json.dumps(value) if isinstance(value, (dict, list, tuple)) else value

    def meta(self, **attrs) -> None:
        """Set root attributes (run-wide facts: backend, world kind, symbols ...)."""
        for key, value in attrs.items():
            self._file.attrs[key] = json.dumps(value) if isinstance(value, (dict, list, tuple)) else value

    # -- data ----------------------------------------------------------------------------------
    def append(self, phase: str, name: str, array, units: str = "", description: str = "", **attrs) -> None:
        """Append a (K, T, ...) block along the time axis of ``/<phase>/<name>``; ``units``,
        ``description`` and ``attrs`` become the dataset's attributes when it is created."""
        array = np.asarray(array)
        if array.ndim < 2 or array.shape[0] != self.n_replicas:
            raise ValueError(f"{phase}/{name}: expected shape (K={self.n_replicas}, T, ...), got {array.shape}")
        self._append(phase, name, array, 1, units, description, attrs)

    def append_events(self, phase: str, name: str, array, units: str = "", description: str = "", **attrs) -> None:
        """Append a 1-D block of events (spike indices, times ...) to ``/<phase>/<name>``."""
        array = np.asarray(array).reshape(-1)
        self._append(phase, name, array, 0, units, description, attrs)

    def _append(self, phase, name, array, axis, units, description, attrs):
        group = self._file.require_group(phase)
        if name not in group:
            shape = list(array.shape)
            shape[axis] = 0
            maxshape = list(array.shape)
            maxshape[axis] = None
            # chunks of at most ~1 MiB along time keep appends cheap and partial reads small
            per_step = array.dtype.itemsize * max(1, int(np.prod(array.shape)) // max(1, array.shape[axis]))
            chunks = list(array.shape)
            chunks[axis] = max(1, min(self.chunk_steps, (1 << 20) // per_step))
            chunks = [max(1, c) for c in chunks]
            ds = group.create_dataset(name, shape=tuple(shape), maxshape=tuple(maxshape), dtype=array.dtype,
                                      chunks=tuple(chunks), compression="gzip", compression_opts=1, shuffle=True)
            if units:
                ds.attrs["units"] = units
            if description:
                ds.attrs["description"] = description
            for key, value in attrs.items():
                ds.attrs[key] = value
        ds = group[name]
        n_old = ds.shape[axis]
        n_new = n_old + array.shape[axis]
        if n_new == n_old:
            return
        new_shape = list(ds.shape)
        new_shape[axis] = n_new
        ds.resize(tuple(new_shape))
        index = [slice(None)] * ds.ndim
        index[axis] = slice(n_old, n_new)
        ds[tuple(index)] = array

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._file.id.valid:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def append_traces(recorder: Recorder, phase: str, traces: dict, info: dict) -> None:
    """Record a cortex's own traces (``SequenceOutput.extra`` or ``traces()``): 1-D arrays as
    events, the rest as (K, T, ...) step data; ``info`` maps a name to (units, description)."""
    for name, value in (traces or {}).items():
        value = np.asarray(value)
        units, description = info.get(name, ("", ""))
        if value.ndim == 1:
            extra = {"origin": "run"} if name == "spikes_time_ms" else {}
            recorder.append_events(phase, name, value, units=units, description=description, **extra)
        else:
            recorder.append(phase, name, value, units=units, description=description)
