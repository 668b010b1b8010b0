"""Export a run directory to NWB 2 (``neurosteer export RUN_DIR --nwb FILE``; the ``[nwb]`` extra).

What goes where (names and units from ``traces.h5``, i.e. :mod:`experiments.traces`):

* **Units table**: one unit per recorded neuron and replica (columns ``replica``, ``local_index``),
  its spike times in seconds of network time, all phases together (``spikes_*`` events);
* **epochs**: one per phase, ``[start, stop)`` in seconds, tagged with the phase's name, its
  variant and ``plastic`` / ``frozen``;
* **subject**: the simulated network (``subject_id`` from the run's name and seed);
* **processing module ``misc``**: every per-step and sampled dataset of every phase as a
  ``TimeSeries`` named ``<phase>_<dataset>`` (``/`` becomes ``_``): reward, dopamine, value,
  drives, assessments, sensed signals, activity, population rates, membrane potentials ... with the
  dataset's units and description, time first, then replicas (then units or neurons), starting at
  the phase start and sampled every step (or its own ``dt_ms``).

Time: the spiking cortex's steps are ``step_ms`` of simulated time; the rate cortex has no clock,
so one of its steps is exported as 1 ms (as ``traces.h5`` records it). Per-string and per-trial
tables and the prediction prefixes are not exported (``traces.h5`` keeps them).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from experiments import traces
from experiments.errors import InputError

MODULE = "misc"   # a schema module name (nwbinspector recommends one)


def _attr(value):
    return value.decode() if isinstance(value, bytes) else value


def _meta(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "meta.json").read_text())
    except (OSError, ValueError):
        return {}


def _start_time(run_dir: Path) -> datetime:
    try:
        return datetime.fromisoformat(_meta(run_dir)["started_at"])
    except (ValueError, KeyError):
        return datetime.now(timezone.utc)


def _dt_s(run_dir: Path) -> float | None:
    """The spiking cortex's integration step (s): the resolution of its spike times."""
    import yaml

    try:
        cortex = yaml.safe_load((run_dir / "config.yaml").read_text()).get("cortex", {})
        return float(cortex["dt_ms"]) / 1000.0
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def export_nwb(run_dir: str | Path, out: str | Path) -> Path:
    """Write ``out`` (an .nwb file) from ``run_dir``'s traces.h5 and meta.json; returns its path.
    Raises InputError for a directory without traces or a missing pynwb."""
    try:
        import pynwb
        import pynwb.misc
        from pynwb import NWBHDF5IO, NWBFile, TimeSeries
        from pynwb.file import Subject
    except ImportError:
        raise InputError(["(export): NWB export needs pynwb: pip install -e '.[nwb]'"]) from None
    import h5py

    run_dir, out = Path(run_dir), Path(out)
    path = run_dir / "traces.h5"
    if not path.is_file():
        raise InputError([f"{run_dir}: (export): no traces.h5 (not a run directory?)"])
    if out.exists():
        raise InputError([f"{out}: (--nwb): file exists (refusing to overwrite)"])
    meta = _meta(run_dir)
    with h5py.File(path, "r") as f:
        phases = json.loads(_attr(f.attrs["phases"]))
        backend = str(_attr(f.attrs.get("backend", "")))
        nwb = NWBFile(
            session_description=f"neurosteer run {run_dir.name}: {backend} cortex, world {_attr(f.attrs.get('world_kind', ''))}",
            identifier=f"neurosteer-{run_dir.resolve().name}", session_start_time=_start_time(run_dir),
            experiment_description="simulation: a self-learning cortex steered by a hand-coded subcortex (neurosteer)",
            source_script="neurosteer export", source_script_file_name="experiments/nwb.py",
            notes="one step of a rate cortex is exported as 1 ms (it has no clock); traces.h5 keeps the per-string "
                  "and per-trial tables",
            keywords=["simulation", "steering", "cortex", "subcortex", "dopamine"],
            subject=Subject(subject_id=f"{meta.get('name', run_dir.name)}-seed{meta.get('seed', '')}",
                            description=f"simulated {backend} cortex and hand-coded subcortex, "
                                        f"{meta.get('replicas', '')} replicas (one network per seed); it exists "
                                        "from the run's start (age P0D) and has no sex (U)",
                            age="P0D", sex="U"))
        nwb.add_epoch_column("variant", "the world variant of the phase ('' for the base world)")
        module = nwb.create_processing_module(MODULE, "per-step traces of every phase (experiments/traces.py)")
        spikes: dict[tuple[int, int], list[np.ndarray]] = {}
        for name in phases:
            group = f[name]
            kind = str(_attr(group.attrs["kind"]))
            step_s = float(group.attrs.get("step_ms", 1.0)) / 1000.0
            start = int(group.attrs.get("start_step", 0)) * step_s
            n_steps = int(group.attrs.get("n_steps", 0))
            plastic = bool(group.attrs.get("plastic", False))
            variant = _attr(group.attrs.get("variant", "")) or ""
            nwb.add_epoch(start_time=start, stop_time=start + max(n_steps, 1) * step_s,
                          tags=[name, "plastic" if plastic else "frozen"], variant=str(variant))
            for ds_name, ds in _datasets(group):
                entry = traces.lookup(kind, ds_name)
                if entry is None or entry.layout not in ("step", "sampled") or ds.ndim < 2 or ds.shape[1] == 0:
                    continue
                data = np.moveaxis(ds[()], 1, 0)  # time first, then replicas
                if data.dtype.kind == "f":
                    data = data.astype(np.float64 if data.dtype.itemsize > 4 else np.float32)
                rate = 1.0 / step_s if entry.layout == "step" else 1000.0 / float(entry.dt_ms)
                t0 = start + (0.0 if entry.layout == "step" else float(entry.t0_ms) / 1000.0)
                module.add(TimeSeries(name=f"{name}_{ds_name.replace('/', '_')}", data=data,
                                      unit=str(_attr(ds.attrs.get("units", "1"))), starting_time=t0, rate=rate,
                                      description=str(_attr(ds.attrs.get("description", ds_name))),
                                      comments=f"phase {name}; axes: time, replica" + (", unit" if data.ndim > 2 else "")))
            if "spikes_time_ms" in group and "spikes_index" in group:
                t_s = group["spikes_time_ms"][()] / 1000.0
                index = group["spikes_index"][()]
                replica = group["spikes_replica"][()] if "spikes_replica" in group else np.zeros(len(index), int)
                for (k, i) in set(zip(replica.tolist(), index.tolist())):
                    pick = (replica == k) & (index == i)
                    spikes.setdefault((int(k), int(i)), []).append(t_s[pick])
        if spikes:
            resolution = _dt_s(run_dir)
            if resolution is not None:
                nwb.units = pynwb.misc.Units(name="units", description="recorded neurons of every replica",
                                             resolution=resolution)
            nwb.add_unit_column("replica", "replica (independent network built from its own seed)")
            nwb.add_unit_column("local_index", "index of the neuron within its replica")
            for (k, i) in sorted(spikes):
                nwb.add_unit(spike_times=np.sort(np.concatenate(spikes[(k, i)])), replica=k, local_index=i)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".tmp-{out.name}")
    with NWBHDF5IO(str(tmp), "w") as io:
        io.write(nwb)
    tmp.replace(out)
    return out


def _datasets(group, prefix: str = ""):
    """(name, dataset) of every dataset under ``group``, with family paths (``drives/hunger``)."""
    import h5py

    for key, item in group.items():
        if isinstance(item, h5py.Dataset):
            yield prefix + key, item
        else:
            yield from _datasets(item, f"{prefix}{key}/")
