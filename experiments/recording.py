"""Traces to HDF5, appended in chunks while a run goes, so memory stays bounded.

What ``traces.h5`` holds (names, units, descriptions, sampling intervals, layouts) is declared in
:mod:`experiments.traces`, the one schema shared with ``experiments.plotting``: the recorder writes
a dataset only if the schema declares it for the phase's kind, sets its attributes from there, and
raises ``ValueError`` for an undeclared name or for units that disagree with the schema.
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from experiments import traces
from experiments.traces import FORMAT_VERSION


class Recorder:
    """Append-only HDF5 writer with one group per phase, in the layout of :mod:`experiments.traces`.

    Parameters
    ----------
    path: file to create (overwritten).
    n_replicas: K, the size of every per-replica dataset's first axis.
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
        self._kinds: dict[str, str] = {}

    # -- structure -----------------------------------------------------------------------------
    def phase(self, name: str, **attrs) -> None:
        """Open (or re-open) the group of phase ``name`` and set its attributes; the first opening
        names its ``kind`` (a key of :data:`experiments.traces.SCHEMA`)."""
        kind = attrs.get("kind", self._kinds.get(name))
        if kind not in traces.SCHEMA:
            raise ValueError(f"phase {name}: kind {kind!r} is not one of {', '.join(traces.SCHEMA)}")
        group = self._file.require_group(name)
        if name not in self._phases:
            group.attrs["index"] = len(self._phases)
            self._phases.append(name)
            self._file.attrs["phases"] = json.dumps(self._phases)
        self._kinds[name] = kind
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
    def append(self, phase: str, name: str, array, units: str | None = None, description: str | None = None,
               **attrs) -> None:
        """Append a block to ``/<phase>/<name>``: (K, T, ...) along time, or a 1-D block of events
        where the schema's layout is ``event``. Units, description and sampling attributes come
        from :mod:`experiments.traces`; ``units``/``description``/``attrs`` given here must agree
        with it, and are required only where the cortex states them (its own traces)."""
        entry, attrs = self._declared(phase, name, units, description, attrs)
        array = np.asarray(array)
        if entry.layout == "event":
            self._append(phase, name, array.reshape(-1), 0, attrs)
            return
        if array.ndim < 2 or array.shape[0] != self.n_replicas:
            raise ValueError(f"{phase}/{name}: expected shape (K={self.n_replicas}, T, ...), got {array.shape}")
        self._append(phase, name, array, 1, attrs)

    def append_events(self, phase: str, name: str, array, units: str | None = None,
                      description: str | None = None, **attrs) -> None:
        """Append a 1-D block of events (spike indices, times ...) to ``/<phase>/<name>``."""
        if self._entry(phase, name).layout != "event":
            raise ValueError(f"{phase}/{name}: not an event dataset in experiments/traces.py")
        self.append(phase, name, array, units, description, **attrs)

    def _entry(self, phase: str, name: str) -> traces.Trace:
        kind = self._kinds.get(phase)
        if kind is None:
            raise ValueError(f"{phase}/{name}: open the phase with Recorder.phase({phase!r}, kind=...) first")
        entry = traces.lookup(kind, name)
        if entry is None:
            raise ValueError(f"{phase}/{name}: not a dataset of a {kind} phase (declare it in experiments/traces.py)")
        return entry

    def _declared(self, phase, name, units, description, attrs) -> tuple[traces.Trace, dict]:
        """The schema entry and the dataset's attributes: the schema's, completed by the caller's
        where the cortex states them; a disagreement is an error, not a silent override."""
        entry = self._entry(phase, name)
        schema = entry.attrs()
        given = {k: v for k, v in {"units": units, "description": description, **attrs}.items() if v is not None}
        for key, value in given.items():
            if key in schema and value != schema[key]:
                raise ValueError(f"{phase}/{name}: {key} {value!r}, but experiments/traces.py declares "
                                 f"{schema[key]!r}")
        merged = {**given, **schema}
        missing = [k for k in ("units", "description") if not merged.get(k)]
        if missing:
            raise ValueError(f"{phase}/{name}: no {' or '.join(missing)} (the cortex states them for its own traces)")
        return entry, merged

    def _append(self, phase, name, array, axis, attrs):
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
            ds.attrs.update(attrs)
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

    def carry_over(self, source: str | Path, phases: list[str]) -> None:
        """Copy the root attributes and the groups of ``phases`` from an earlier traces file (a
        resumed run keeps its finished phases; a phase cut short by a crash is left behind)."""
        with h5py.File(source, "r") as old:
            for key, value in old.attrs.items():
                if key not in ("format_version", "n_replicas", "phases"):
                    self._file.attrs[key] = value
            for name in phases:
                old.copy(old[name], self._file, name=name)
                self._phases.append(name)
                self._kinds[name] = str(old[name].attrs["kind"])
        self._file.attrs["phases"] = json.dumps(self._phases)

    def close(self) -> None:
        if self._file.id.valid:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def append_traces(recorder: Recorder, phase: str, arrays: dict, info: dict) -> None:
    """Record a cortex's own traces (``SequenceOutput.extra`` or ``traces()``) under their schema
    names; ``info`` is the cortex's ``trace_info``: name -> (units, description)."""
    for name, value in (arrays or {}).items():
        units, description = info.get(name, (None, None))
        recorder.append(phase, name, value, units=units, description=description)
