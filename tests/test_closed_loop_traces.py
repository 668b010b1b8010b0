"""What a closed-loop (steering) run leaves in traces.h5: the spiking cortex's own traces (spikes,
population rate, membrane potentials, eligibility) next to the runner's, in the open-loop layout,
every dataset with units; and the neural figure draws them as a raster.

The spiking run is tiny (2 replicas of 40 neurons, 40 trials in all) and is made with the
runner's flush interval cut to 16 steps, so traces are handed over from inside the simulation,
as they are every 1,024 steps of a real run.
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import experiments
from experiments.plotting import PLOTS, plot_main
from experiments.plotting.events import spikes
from experiments.plotting.figures import unlabelled
from experiments.plotting.io import RunReader

REPO = Path(__file__).resolve().parents[1]
K, SAMPLE, N_V = 2, 8, 3
TRIALS = {"train": 20, "test": 5, "cue_conflict": 5, "novel_items": 5, "cue_conflict_plastic": 5}
SMALL = [f"replicas={K}", f"recording.sample_units={SAMPLE}", *(f"phases.{name}.trials={n}" for name, n in TRIALS.items())]


def _run(config: str, overrides: list[str], out: Path) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("experiments.protocols.closed_loop.CHUNK_STEPS", 16)
        return experiments.run(REPO / "configs" / "steering" / config, overrides, out=out).run_dir


@pytest.fixture(scope="module")
def spiking_run(tmp_path_factory) -> Path:
    return _run("train_and_shift_spiking.yaml", [*SMALL, "cortex.n_units=40", f"cortex.n_v_probe={N_V}"], tmp_path_factory.mktemp("spk") / "run")


def _phases(h5: h5py.File):
    """(name, group, first ms, end ms, steps) of every phase, in run order."""
    for name in json.loads(h5.attrs["phases"]):
        g = h5[name]
        step_ms, start, n = float(g.attrs["step_ms"]), int(g.attrs["start_step"]), int(g.attrs["n_steps"])
        yield name, g, start * step_ms, (start + n) * step_ms, n


def _datasets(group: h5py.Group) -> dict[str, h5py.Dataset]:
    out = {}
    group.visititems(lambda n, obj: out.__setitem__(n, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def _assert_units_everywhere(run_dir: Path) -> None:
    with h5py.File(run_dir / "traces.h5") as h5:
        for name, group, *_ in _phases(h5):
            assert group.attrs["kind"] == "closed_loop"
            for path, ds in _datasets(group).items():
                assert ds.attrs.get("units", ""), f"/{name}/{path}: no units"
                assert ds.attrs.get("description", ""), f"/{name}/{path}: no description"


@pytest.mark.brian2
def test_spiking_steering_run_records_spikes_rate_v_and_eligibility_per_phase(spiking_run):
    from cortex.spiking.params import SpikingParams

    p = SpikingParams()
    with h5py.File(spiking_run / "traces.h5") as h5:
        seen = 0
        for name, g, t0, t1, n in _phases(h5):
            assert n == 2 * TRIALS[name]  # two steps per trial
            # spikes: absolute network time inside this phase, sampled neurons only
            t = g["spikes_time_ms"][:]
            assert t.size > 0 and g["spikes_index"].shape == g["spikes_replica"].shape == t.shape
            assert t0 <= t.min() and t.max() < t1, (name, t.min(), t.max(), t0, t1)
            assert g["spikes_time_ms"].attrs["origin"] == "run"
            assert (np.diff(t[g["spikes_replica"][:] == 0]) >= 0).all()
            assert set(np.unique(g["spikes_replica"][:])) <= set(range(K))
            idx = g["spikes_index"][:]
            assert idx.min() >= 0 and idx.max() < SAMPLE
            # per-step traces: one row per step, aligned with the runner's own
            rate = g["rate_hz"][:]
            assert rate.shape == (K, n) == g["reward"].shape == g["dopamine"].shape
            assert np.isfinite(rate).all() and rate.min() >= 0 and 0 < rate.mean() < 1000 / p.refractory_ms
            v = g["v_mv"][:]
            assert v.shape == (K, n, N_V) and np.isfinite(v).all()
            # sampled at step onsets, after the resets: the bulk lies between reset and threshold;
            # the top may pass v_thresh by the threshold's IP shift (rates far above target raise
            # it by mV per second) plus input jumps that land after the threshold test (-40.6 mV
            # seen); above -30 mV would mean a reset that failed
            assert -90 < v.min() and v.max() < p.v_thresh_mv + 20, (v.min(), v.max())
            assert p.v_reset_mv - 10 < np.median(v) < p.v_thresh_mv, np.median(v)
            elig = g["eligibility/mean"][:]
            assert elig.shape == (K, n) and np.isfinite(elig).all()
            assert g["rate_hz"].attrs["units"] == "Hz" and g["v_mv"].attrs["units"] == "mV"
            assert g["spikes_time_ms"].attrs["units"] == "ms" and g["activity"].attrs["units"] == "spikes/step"
            seen += 1
        assert seen == len(TRIALS)
        assert np.abs(h5["train/eligibility/mean"][:]).max() > 0  # STDP pairings happened


@pytest.mark.brian2
def test_spiking_steering_run_has_units_on_every_dataset(spiking_run):
    _assert_units_everywhere(spiking_run)


def test_rate_steering_run_has_units_on_every_dataset_and_no_spiking_traces(tmp_path):
    run_dir = _run("train_and_shift.yaml", [*SMALL, "cortex.n_units=32"], tmp_path / "run")
    _assert_units_everywhere(run_dir)
    with h5py.File(run_dir / "traces.h5") as h5:
        names = set(_datasets(h5["train"]))
    assert {"reward", "dopamine", "activity", "trials/fidelity"} <= names
    assert not names & {"rate_hz", "v_mv", "spikes_time_ms", "eligibility/mean"}


@pytest.mark.brian2
def test_neural_figure_draws_the_raster_of_a_spiking_steering_run(spiking_run):
    assert plot_main(spiking_run) == 0
    assert (spiking_run / "plots" / "neural.png").stat().st_size > 0
    with RunReader(spiking_run) as reader:
        last = reader.phases[-1]
        t, i = spikes(reader, last.name, last.start_ms, last.end_ms)
        assert t.size > 0 and i.max() < SAMPLE
        fig = PLOTS["neural"](reader)
        raster = fig.axes[0]
        assert raster.get_ylabel() == "neuron (index)" and len(raster.collections[0].get_offsets()) > 0
        assert {"neuron (index)", "population rate (Hz)", "V (mV)"} <= {ax.get_ylabel() for ax in fig.axes}
        assert unlabelled(fig) == []
        overview = PLOTS["reward"](reader)
        labels = {ax.get_ylabel() for ax in overview.axes}
        assert "population rate (Hz)" in labels and "eligibility\n(dimensionless)" in labels
        assert unlabelled(overview) == []
