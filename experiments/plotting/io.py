"""Read a saved run directory for plotting: only what a figure draws, in bounded memory.

A run's ``traces.h5`` can hold 10^6 steps of many signals (see ``experiments.recording`` for the
layout). Figures never need all of it: a line needs at most a few thousand points, a raster or a
heatmap a short window. :class:`RunReader` therefore reads

* whole-run lines as block means (with the block's min and max) computed slab by slab, so memory
  stays at one slab whatever the run length; datasets too big even for that (``activity`` of many
  units) are sampled whole HDF5 chunks at a time, since reading part of a chunk costs the whole chunk;
* windows (first or last N steps) for heatmaps and membrane potentials;
* spike events (:mod:`.events`) scanned from the nearer end of the file, with a cap on how many.

Only names that :mod:`experiments.traces` (the schema the recorder writes) declares are read: asking
for another is a ``KeyError``, and a file of another ``format_version`` is reported as a problem.
Conventions: time inside a phase is the sample index times the dataset's sampling interval (its
``dt_ms`` attribute, else the phase's ``step_ms``) plus its ``t0_ms`` attribute; global time adds
the phase start, ``start_step * step_ms``, so phases line up on one axis. The rate
cortex has no physical clock (its ``step_ms`` is 1 by convention): :attr:`RunReader.clocked` is
False and figures label its axes in steps. In sequence phases, ``input`` is -1 where a replica's
stream is padded to the block's longest (:meth:`RunReader.padding`): those steps are not activity
and figures leave them out. Event datasets are read by :mod:`experiments.plotting.events`.
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import yaml

from experiments import traces

MAX_POINTS = 5000  # per line: more points than pixels only costs time
SLAB_BYTES = 8 << 20  # read this much per h5py call in exact block means
BYTE_BUDGET = 128 << 20  # above this a block mean samples whole chunks instead of reading all

# Backends whose steps are not simulated time.
UNCLOCKED_BACKENDS = ("rate",)


class NotARunDir(ValueError):
    """The path is not a run directory (no ``config.yaml`` / ``meta.json``)."""


@dataclass(frozen=True)
class Phase:
    """One phase of a run as recorded: where it sits on the global time axis."""

    name: str
    index: int
    kind: str
    start_step: int
    step_ms: float
    plastic: bool
    duration_ms: float
    shift: bool  # True when the world changed at this phase's onset

    @property
    def start_ms(self) -> float:
        return self.start_step * self.step_ms

    @property
    def end_ms(self) -> float:
        return self.start_ms + self.duration_ms


@dataclass
class Series:
    """A (K, n) line reduced over blocks of ``stride`` samples; times in global ms at block centres."""

    t_ms: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    stride: int
    units: str
    exact: bool  # False when only some chunks were read (the line is a sample of the run)


def decode_attr(value):
    """Root/phase attributes hold JSON for lists and dicts; bytes for strings in some h5py builds."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value.item() if isinstance(value, np.generic) else value


class RunReader:
    """Opens a run directory read-only; collects problems instead of failing on partial runs.

    ``problems`` lists, in words, every file or dataset that is missing, unreadable or shorter
    than the phase it belongs to. Raises :class:`NotARunDir` if ``config.yaml`` or ``meta.json``
    is missing.
    """

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        missing = [n for n in ("config.yaml", "meta.json") if not (self.run_dir / n).is_file()]
        if not self.run_dir.is_dir() or missing:
            raise NotARunDir(f"{self.run_dir}: not a run directory (missing {', '.join(missing) or 'directory'})")
        self.problems: list[str] = []
        self.config = self._load("config.yaml", yaml.safe_load) or {}
        self.meta = self._load("meta.json", json.loads) or {}
        self.metrics = self._load("metrics.json", json.loads) or {}
        error = self.run_dir / "error.txt"
        self.error = error.read_text(errors="replace").strip() if error.is_file() else ""
        self.h5: h5py.File | None = None
        self.attrs: dict = {}
        self.phases: list[Phase] = []
        self._open_traces()

    # -- opening -------------------------------------------------------------------------------
    def _load(self, name, parse):
        path = self.run_dir / name
        if not path.is_file():
            self.problems.append(f"{name}: missing")
            return None
        try:
            return parse(path.read_text())
        except Exception as exc:  # a half-written file must not stop the other plots
            self.problems.append(f"{name}: unreadable ({type(exc).__name__}: {exc})")
            return None

    def _open_traces(self):
        path = self.run_dir / "traces.h5"
        if not path.is_file():
            self.problems.append("traces.h5: missing")
            return
        try:
            self.h5 = h5py.File(path, "r")
        except OSError as exc:
            self.problems.append(f"traces.h5: unreadable, truncated or corrupt ({exc})")
            return
        try:
            self._read_layout()
        except (OSError, KeyError, ValueError) as exc:  # opens, but its metadata is damaged
            self.problems.append(f"traces.h5: unreadable layout ({type(exc).__name__}: {exc})")

    def _read_layout(self):
        self.attrs = {k: decode_attr(v) for k, v in self.h5.attrs.items()}
        version = self.attrs.get("format_version")
        if version != traces.FORMAT_VERSION:
            self.problems.append(f"traces.h5: format_version {version}, this reader reads "
                                 f"{traces.FORMAT_VERSION} (experiments/traces.py)")
        variant_before = None
        for name in self.attrs.get("phases") or []:
            if name not in self.h5:
                self.problems.append(f"traces.h5: phase '{name}' missing")
                continue
            a = {k: decode_attr(v) for k, v in self.h5[name].attrs.items()}
            variant = a.get("variant")
            shift = variant_before is not None and variant != variant_before
            variant_before = variant
            phase = Phase(name, int(a.get("index", len(self.phases))), str(a.get("kind", "")),
                          int(a.get("start_step", 0)), float(a.get("step_ms", 1.0)),
                          bool(a.get("plastic", True)), 0.0, shift)
            self.phases.append(phase)
        self.phases = [self._with_duration(p) for p in self.phases]
        self._check()

    def _with_duration(self, phase: Phase) -> Phase:
        """The phase with its duration: its ``n_steps`` (written when it ended), else as far as
        its step-aligned datasets reach (a run that stopped inside the phase)."""
        durations = [ds.shape[1] * self.sample_ms(phase.name, n) for n, ds in self._step_datasets(phase)]
        expected = self.h5[phase.name].attrs.get("n_steps")
        duration = max(durations + [int(expected) * phase.step_ms if expected is not None else 0.0])
        return Phase(**{**phase.__dict__, "duration_ms": duration})

    def _check(self):
        """Report required datasets that are absent and step-level datasets cut short."""
        for phase in self.phases:
            if phase.kind not in traces.SCHEMA:
                self.problems.append(f"traces.h5: /{phase.name} has kind '{phase.kind}', not one of "
                                     f"{', '.join(traces.SCHEMA)}")
            for need in traces.REQUIRED.get(phase.kind, ()):
                if not self.has(phase.name, need):
                    self.problems.append(f"traces.h5: /{phase.name}/{need} missing")
            for name, ds in self._step_datasets(phase):
                got_ms = ds.shape[1] * self.sample_ms(phase.name, name)
                if got_ms + self.sample_ms(phase.name, name) <= phase.duration_ms:
                    want = int(round(phase.duration_ms / self.sample_ms(phase.name, name)))
                    self.problems.append(f"traces.h5: /{phase.name}/{name} truncated "
                                         f"({ds.shape[1]} of {want} samples)")

    # -- lookup --------------------------------------------------------------------------------
    def names(self, phase: str) -> list[str]:
        """Dataset paths inside a phase group, e.g. ``['reward', 'drives/hunger']``."""
        if self.h5 is None or phase not in self.h5:
            return []
        out: list[str] = []
        self.h5[phase].visititems(lambda n, obj: out.append(n) if isinstance(obj, h5py.Dataset) else None)
        return out

    def _step_datasets(self, phase: Phase):
        """(name, dataset) of the phase's datasets that run the length of the phase."""
        for name in self.names(phase.name):
            entry = traces.lookup(phase.kind, name)
            if entry is not None and entry.layout in traces.ALIGNED:
                yield name, self.h5[phase.name][name]

    def _resolve(self, phase: str, name: str) -> str | None:
        """``name`` if the phase holds it; KeyError for a name the schema does not declare."""
        if not traces.declared(name):
            raise KeyError(f"'{name}' is not a dataset of experiments/traces.py")
        if self.h5 is None or phase not in self.h5:
            return None
        found = self.h5[phase].get(name)
        return name if isinstance(found, h5py.Dataset) else None

    def has(self, phase: str, name: str) -> bool:
        return self._resolve(phase, name) is not None

    def dataset(self, phase: str, name: str) -> h5py.Dataset | None:
        found = self._resolve(phase, name)
        return self.h5[phase][found] if found else None

    def phase(self, name: str) -> Phase:
        return next(p for p in self.phases if p.name == name)

    def with_data(self, *names: str) -> list[Phase]:
        """Phases holding at least one of ``names``."""
        return [p for p in self.phases if any(self.has(p.name, n) for n in names)]

    def units(self, phase: str, name: str, default: str = "a.u.") -> str:
        """The dataset's ``units`` attribute as an axis label says it (``1``: dimensionless), else
        ``default``."""
        ds = self.dataset(phase, name)
        units = decode_attr(ds.attrs.get("units", "")) if ds is not None else ""
        units = str(units) if units else default
        return "dimensionless" if units == "1" else units

    def sample_ms(self, phase: str, name: str) -> float:
        """Sampling interval of a step-level dataset, in ms: its ``dt_ms``, else the phase's step."""
        ds = self.dataset(phase, name)
        if ds is not None and "dt_ms" in ds.attrs:
            return float(ds.attrs["dt_ms"])
        return self.phase(phase).step_ms

    def origin_ms(self, phase: str, name: str) -> float:
        """Global time of a step-level dataset's first sample: the phase start plus its ``t0_ms``."""
        ds = self.dataset(phase, name)
        return self.phase(phase).start_ms + (float(ds.attrs.get("t0_ms", 0.0)) if ds is not None else 0.0)

    def index_at(self, phase: str, name: str, t_ms: float) -> int:
        """Index of the sample of ``name`` at global time ``t_ms`` (not clipped above)."""
        return max(0, int(np.floor((t_ms - self.origin_ms(phase, name)) / self.sample_ms(phase, name))))

    @property
    def clocked(self) -> bool:
        """False for a backend without physical time (the rate cortex): its axes count steps."""
        backend = self.attrs.get("backend", self.meta.get("backend", ""))
        return str(backend) not in UNCLOCKED_BACKENDS

    def padding(self, phase: str, start: int = 0, stop: int | None = None, replicas=slice(None)):
        """Boolean array, True at padded steps ``[start, stop)`` of a sequence phase (``input`` is -1
        there), or None when the phase records no ``input`` (nothing is padded)."""
        ds = self.dataset(phase, "input")
        if ds is None or ds.ndim != 2:
            return None
        a, b, _ = slice(start, stop).indices(ds.shape[1])
        return np.asarray(ds[replicas, a:b]) < 0

    def active_end(self, phase: str, replica: int = 0) -> int | None:
        """Steps of the phase up to and including ``replica``'s last non-padded one (None: nothing
        is padded in this phase)."""
        padded = self.padding(phase, replicas=replica)
        if padded is None:
            return None
        real = np.flatnonzero(~padded)
        return int(real[-1]) + 1 if real.size else 0

    @property
    def n_replicas(self) -> int:
        return int(self.attrs.get("n_replicas", self.meta.get("replicas", 1)) or 1)

    @property
    def total_ms(self) -> float:
        return max((p.end_ms for p in self.phases), default=0.0)

    # -- reading -------------------------------------------------------------------------------
    def reduce(self, phase: str, name: str, stride_ms: float | None = None, mask: str | None = None,
               byte_budget: int = BYTE_BUDGET) -> Series | None:
        """Block mean, min and max over time of a (K, T, ...) dataset, averaged over trailing axes.

        ``stride_ms`` is the block width (default: the phase cut into at most MAX_POINTS blocks);
        pass the same value for every phase so blocks are equally wide across the run. ``mask``
        names a (K, T) dataset: only steps where it is >= 0 count (e.g. long-range positions).
        """
        ds = self.dataset(phase, name)
        if ds is None or ds.ndim < 2 or ds.shape[1] == 0:
            return None
        dt = self.sample_ms(phase, name)
        n = ds.shape[1]
        stride = max(1, int(round(stride_ms / dt)) if stride_ms else math.ceil(n / MAX_POINTS))
        masked = self.dataset(phase, mask) if mask else None
        step_bytes = ds.dtype.itemsize * ds.size // n
        if n * step_bytes <= byte_budget:
            starts, means, los, his = self._reduce_all(ds, masked, stride, step_bytes)
            exact = True
        else:
            starts, means, los, his, stride = self._reduce_chunks(ds, masked, step_bytes, byte_budget)
            exact = False
        t_ms = self.origin_ms(phase, name) + (starts + (stride - 1) / 2) * dt
        return Series(t_ms, means, los, his, stride, self.units(phase, name), exact)

    def _reduce_all(self, ds, masked, stride, step_bytes):
        n = ds.shape[1]
        slab = max(stride, (SLAB_BYTES // max(1, step_bytes)) // stride * stride)
        parts = [_block_stats(self._read(ds, masked, a, min(n, a + slab)), stride) for a in range(0, n, slab)]
        starts = np.arange(0, n, stride)
        return (starts, *(np.concatenate([p[i] for p in parts], axis=1) for i in range(3)))

    def _reduce_chunks(self, ds, masked, step_bytes, byte_budget):
        """One point per chunk read, at evenly spaced chunks: the cost of a read is its chunks."""
        n = ds.shape[1]
        chunk = ds.chunks[1] if ds.chunks else max(1, (1 << 20) // step_bytes)
        n_chunks = math.ceil(n / chunk)
        n_read = max(2, min(n_chunks, byte_budget // max(1, chunk * step_bytes), MAX_POINTS))
        picks = np.unique(np.linspace(0, n_chunks - 1, n_read).round().astype(int))
        stats = [_block_stats(self._read(ds, masked, c * chunk, min(n, (c + 1) * chunk)), chunk) for c in picks]
        return (picks * chunk, *(np.concatenate([s[i] for s in stats], axis=1) for i in range(3)), chunk)

    @staticmethod
    def _read(ds, masked, a, b):
        block = np.asarray(ds[:, a:b], dtype=np.float64)
        if block.ndim > 2:
            block = block.reshape(block.shape[0], block.shape[1], -1).mean(axis=2)
        if masked is not None:
            block[np.asarray(masked[:, a:b]) < 0] = np.nan
        return block

    def window(self, phase: str, name: str, start: int, stop: int | None = None, replicas=slice(None)):
        """Raw samples ``[start, stop)`` (negative counts from the end) and their global times in ms."""
        ds = self.dataset(phase, name)
        n = ds.shape[1]
        a, b, _ = slice(start, stop).indices(n)
        data = np.asarray(ds[replicas, a:b])
        return self.origin_ms(phase, name) + np.arange(a, b) * self.sample_ms(phase, name), data

    def close(self):
        if self.h5 is not None:
            self.h5.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _block_stats(block: np.ndarray, stride: int):
    """NaN-aware mean, min and max over consecutive blocks of ``stride`` columns of a (K, L) array."""
    k, length = block.shape
    pad = (-length) % stride
    if pad:
        block = np.concatenate([block, np.full((k, pad), np.nan)], axis=1)
    blocks = block.reshape(k, -1, stride)
    with warnings.catch_warnings():  # all-NaN blocks (nothing sensed) are expected: they stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(blocks, axis=2), np.nanmin(blocks, axis=2), np.nanmax(blocks, axis=2)
