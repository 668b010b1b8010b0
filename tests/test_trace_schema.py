"""One trace schema (experiments/traces.py): what tiny real runs of each family write to traces.h5 is
declared there for the phase's kind, with the same units and sampling attributes; the plotting
reader opens only declared datasets; the recorder refuses anything else; and the spiking cortex's
own traces (described in cortex/, which never imports experiments) carry the schema's names and
units."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import experiments
from experiments import traces
from experiments.plotting import plot_run
from experiments.recording import Recorder

REPO = Path(__file__).resolve().parents[1]
# tiny runs of shipped configs, one per family and backend (the spiking ones compile with Brian2)
RUNS = {
    "rate_sequence": ("language/reber.yaml", "cortex.n_units=16", "phases.train.strings=20",
                      "phases.test.strings=10"),
    "rate_closed_loop": ("steering/train_and_shift.yaml", "cortex.n_units=16", "phases.train.trials=20",
                         "phases.test.trials=5", "phases.cue_conflict.trials=5", "phases.novel_items.trials=5",
                         "phases.cue_conflict_plastic.trials=5"),
    "spiking_sequence": ("language/embedded_reber_spiking.yaml", "cortex.n_units=40", "phases.train.strings=20",
                         "phases.test.strings=10"),
    "distal_reward": ("steering/izhikevich2007.yaml", "phases.train.duration_s=2"),
}
SPIKING = {"spiking_sequence", "distal_reward"}
KINDS = [pytest.param(k, marks=pytest.mark.brian2) if k in SPIKING else k for k in RUNS]
_made: dict[str, Path] = {}


@pytest.fixture
def run_dir(request, tmp_path_factory) -> Path:
    """The run directory of a tiny run of ``request.param``, made once per session."""
    kind = request.param
    if kind not in _made:
        config, *sets = RUNS[kind]
        _made[kind] = experiments.run(REPO / "configs" / config, sets, out=tmp_path_factory.mktemp(kind) / "run",
                                      plots=False).run_dir
    return _made[kind]


def _datasets(h5: h5py.File):
    """(phase kind, phase, name, dataset) of every dataset in the file."""
    for phase in json.loads(h5.attrs["phases"]):
        group = h5[phase]
        found = []
        group.visititems(lambda n, obj: found.append((n, obj)) if isinstance(obj, h5py.Dataset) else None)
        for name, ds in found:
            yield group.attrs["kind"], phase, name, ds


@pytest.mark.parametrize("run_dir", KINDS, indirect=True)
def test_every_dataset_of_a_real_run_is_declared_with_its_units_and_sampling(run_dir):
    with h5py.File(run_dir / "traces.h5") as h5:
        assert h5.attrs["format_version"] == traces.FORMAT_VERSION
        names = set()
        for kind, phase, name, ds in _datasets(h5):
            entry = traces.lookup(kind, name)
            assert entry is not None, f"/{phase}/{name}: not declared for a {kind} phase in experiments/traces.py"
            attrs = {k: v.decode() if isinstance(v, bytes) else v for k, v in ds.attrs.items()}
            for key, value in entry.attrs().items():
                assert attrs.get(key) == value, f"/{phase}/{name}: {key} {attrs.get(key)!r}, schema {value!r}"
            assert attrs.get("units") and attrs.get("description"), f"/{phase}/{name}"
            assert (ds.ndim == 1) == (entry.layout == "event"), f"/{phase}/{name}: layout {entry.layout}"
            names.add(name)
    assert names


@pytest.mark.parametrize("run_dir", KINDS, indirect=True)
def test_the_plotting_reader_opens_only_schema_names(run_dir, monkeypatch):
    opened: list[tuple[str, str]] = []
    getitem = h5py.Group.__getitem__

    def recording(self, key):
        out = getitem(self, key)
        if isinstance(out, h5py.Dataset):
            opened.append(tuple(out.name.strip("/").split("/", 1)))
        return out

    monkeypatch.setattr(h5py.Group, "__getitem__", recording)
    result = plot_run(run_dir)
    assert result.exit_code == 0, result.problems
    assert result.written and opened
    with h5py.File(run_dir / "traces.h5") as h5:
        kinds = {phase: h5[phase].attrs["kind"] for phase in json.loads(h5.attrs["phases"])}
    undeclared = {(p, n) for p, n in opened if traces.lookup(kinds[p], n) is None}
    assert not undeclared


def test_the_spiking_cortex_states_its_traces_under_schema_names_and_units():
    from cortex.spiking.monitors import TRACE_INFO

    for name, (units, description) in TRACE_INFO.items():
        entries = [traces.lookup(kind, name) for kind in ("sequence", "closed_loop")]
        declared = [e for e in entries if e is not None]
        assert declared, f"{name}: not in experiments/traces.py"
        assert all(e.units == units and e.description is None for e in declared), name
        assert description


def test_the_recorder_writes_only_what_the_schema_declares(tmp_path):
    with Recorder(tmp_path / "t.h5", n_replicas=2) as rec:
        with pytest.raises(ValueError, match="kind"):
            rec.phase("p", kind="foraging")
        rec.phase("p", kind="distal_reward", start_step=0, step_ms=1.0)
        rec.append("p", "dopamine", np.zeros((2, 5)))
        rec.append_events("p", "reward_times_s", np.array([0.5, 1.2]))
        with pytest.raises(ValueError, match="weights.*experiments/traces.py"):
            rec.append("p", "weights", np.zeros((2, 5)))
        with pytest.raises(ValueError, match="units 'ms'.*'s'"):
            rec.append_events("p", "reward_times_s", np.array([1.0]), units="ms")
        with pytest.raises(ValueError, match="not a dataset of a distal_reward phase"):
            rec.append("p", "reward", np.zeros((2, 5)))  # a closed-loop name
        rec.phase("q", kind="sequence", start_step=5, step_ms=1.0)
        with pytest.raises(ValueError, match="no units"):
            rec.append("q", "activity", np.zeros((2, 5, 3)))  # only the cortex knows its activity's units
    with h5py.File(tmp_path / "t.h5") as h5:
        da = h5["p/dopamine"]
        assert (da.attrs["dt_ms"], da.attrs["t0_ms"], da.attrs["units"]) == (10.0, 10.0, "1")
        assert h5["p/reward_times_s"].attrs["origin"] == "run" and h5["p/reward_times_s"].shape == (2,)
        assert "q/activity" not in h5
