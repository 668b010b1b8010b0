"""Saved states, --from, --resume, shared training and NWB export, as a user checks them: the
metrics.json of a run continued from a state against the uninterrupted run's, exit codes and the
files written (or not)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from experiments.cli import main

ROOT = Path(__file__).resolve().parents[1]
STEERING = str(ROOT / "configs/steering/train_and_shift.yaml")
SPIKING = str(ROOT / "configs/steering/train_and_shift_spiking.yaml")
REBER = str(ROOT / "configs/language/reber.yaml")
TINY_STEER = ["replicas=2", "cortex.n_units=30", "phases.train.trials=60", "phases.test.trials=20",
              "phases.cue_conflict.trials=20", "phases.novel_items.trials=20", "phases.cue_conflict_plastic.trials=30"]
TINY_REBER = ["replicas=2", "cortex.n_units=40", "phases.train.strings=150", "phases.test.strings=40"]
#: spiking (cython, closed loop) runs continued from a state: per-replica metrics within this (absolute)
SPIKING_TOLERANCE = 1e-9


def _sets(overrides):
    return [x for o in overrides for x in ("--set", o)]


def _run(config, overrides, out, *extra) -> int:
    return main(["run", config, *_sets(overrides), "--out", str(out), "--quiet", "--no-plots", *extra])


@pytest.fixture(scope="module")
def steering_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("steer") / "full"
    assert _run(STEERING, TINY_STEER, out) == 0
    return out


@pytest.mark.parametrize("phase", ["train", "novel_items"])
def test_from_state_rate_closed_loop_is_bit_identical(steering_run, tmp_path, phase):
    out = tmp_path / "branch"
    assert _run(STEERING, TINY_STEER, out, "--from", f"{steering_run}:{phase}") == 0
    assert (out / "metrics.json").read_bytes() == (steering_run / "metrics.json").read_bytes()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["from_state"]["phase"] == phase
    with h5py.File(out / "traces.h5") as new, h5py.File(steering_run / "traces.h5") as old:
        later = list(json.loads(new.attrs["phases"]))
        assert phase not in later
        for name in later:
            assert np.array_equal(new[name]["dopamine"][()], old[name]["dopamine"][()])


def test_from_state_rate_sequence_is_bit_identical(tmp_path):
    assert _run(REBER, TINY_REBER, tmp_path / "full") == 0
    assert sorted(p.name for p in (tmp_path / "full" / "states").iterdir()) == ["test.h5", "train.h5"]
    assert _run(REBER, TINY_REBER, tmp_path / "branch", "--from", str(tmp_path / "full")) != 0  # last: nothing left
    assert _run(REBER, TINY_REBER, tmp_path / "branch", "--from", f"{tmp_path / 'full'}:train") == 0
    assert (tmp_path / "branch" / "metrics.json").read_bytes() == (tmp_path / "full" / "metrics.json").read_bytes()


def test_state_file_format(steering_run):
    with h5py.File(steering_run / "states" / "test.h5") as f:
        assert f.attrs["format"] == "neurosteer-state" and f.attrs["phase"] == "test"
        assert len(f.attrs["config_hash"]) == 16 and len(f.attrs["content_sha256"]) == 64
        assert "w_actor" in f["protocol/cortex/heads"] and "drives" in f["protocol/subcortex"]
        rng = json.loads(f["protocol/world"].attrs["_rngs"])
        assert rng[0]["__rng__"]["bit_generator"] == "PCG64"


def test_off_switch(tmp_path):
    assert _run(STEERING, TINY_STEER + ["recording.save_state=false"], tmp_path / "r") == 0
    assert not (tmp_path / "r" / "states").exists()
    assert json.loads((tmp_path / "r" / "meta.json").read_text())["states"]["off"] == "recording.save_state: false"


def test_mismatched_state_is_exit_2_and_writes_nothing(steering_run, tmp_path, capsys):
    out = tmp_path / "never"
    assert _run(STEERING, TINY_STEER[:1] + ["cortex.n_units=31"] + TINY_STEER[2:], out, "--from", f"{steering_run}:test") == 2
    err = capsys.readouterr().err
    assert "cortex.n_units: 30 in the state, 31 in this config" in err
    assert not out.exists()
    other_world = TINY_STEER + ["world.gains.colour=0.5"]
    assert _run(STEERING, other_world, out, "--from", f"{steering_run}:test") == 2
    assert "world.gains.colour" in capsys.readouterr().err and not out.exists()


def test_a_later_phase_may_differ(steering_run, tmp_path):
    """What sharing training relies on: phases after the state's are free to change."""
    changed = TINY_STEER[:-1] + ["phases.cue_conflict_plastic.trials=10"]
    assert _run(STEERING, changed, tmp_path / "b", "--from", f"{steering_run}:novel_items") == 0
    assert _run(STEERING, changed, tmp_path / "full") == 0
    assert (tmp_path / "b" / "metrics.json").read_bytes() == (tmp_path / "full" / "metrics.json").read_bytes()


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupted_state_is_exit_2_and_writes_nothing(steering_run, tmp_path, capsys, damage):
    bad = tmp_path / "bad"
    (bad / "states").mkdir(parents=True)
    target = bad / "states" / "test.h5"
    data = (steering_run / "states" / "test.h5").read_bytes()
    if damage == "truncate":
        target.write_bytes(data[:4000])
    else:
        target.write_bytes(data)
        with h5py.File(target, "r+") as f:
            w = f["protocol/cortex/heads/w_value"]
            w[0, 0] = w[0, 0] + 1e-12
    out = tmp_path / "never"
    assert _run(STEERING, TINY_STEER, out, "--from", f"{bad}:test") == 2
    err = capsys.readouterr().err
    assert ("checksum mismatch" in err) if damage == "flip" else ("unreadable state file" in err)
    assert not out.exists()


def test_sigkill_mid_phase_then_resume_equals_uninterrupted(steering_run, tmp_path):
    long = TINY_STEER[:3] + ["phases.test.trials=3000"] + TINY_STEER[4:]
    assert _run(STEERING, long, tmp_path / "full") == 0
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "experiments", "run", STEERING, *_sets(long), "--out", str(out),
                             "--quiet", "--no-plots"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / "states" / "train.h5").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # well inside the 3,000-trial test phase
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "metrics.json").exists() and (out / "states" / "train.h5").exists()
    assert main(["run", "--resume", str(out), "--quiet", "--no-plots"]) == 0
    assert (out / "metrics.json").read_bytes() == (tmp_path / "full" / "metrics.json").read_bytes()
    with h5py.File(out / "traces.h5") as a, h5py.File(tmp_path / "full" / "traces.h5") as b:
        assert json.loads(a.attrs["phases"]) == json.loads(b.attrs["phases"])
        for phase in json.loads(b.attrs["phases"]):
            assert np.array_equal(a[phase]["reward"][()], b[phase]["reward"][()])
    assert main(["run", "--resume", str(out)]) == 0  # finished: nothing to do


def test_resume_refuses_a_directory_that_is_not_a_run(tmp_path, capsys):
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_sweep_shares_training(tmp_path):
    from experiments.sweep.run import plan, pending_jobs

    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"base: {STEERING}\nset: {{{', '.join(o.replace('=', ': ') for o in TINY_STEER[:-1])}}}\n"
                     "grid: {phases.cue_conflict_plastic.trials: [10, 30]}\nseeds: [0]\n")
    jobs = pending_jobs(tmp_path / "out", plan(sweep).runs)
    trunk, branch = sorted(jobs, key=lambda j: "after" in j)
    assert trunk.get("save_states") and branch["after"] == trunk["run_id"] and branch["from"].endswith(":novel_items")
    assert main(["sweep", str(sweep), "--workers", "1", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert main(["sweep", str(sweep), "--workers", "1", "--out", str(tmp_path / "fresh"), "--quiet",
                 "--no-shared-training"]) == 0
    for job in jobs:
        shared = tmp_path / "out" / "runs" / job["run_id"]
        fresh = tmp_path / "fresh" / "runs" / job["run_id"]
        assert (shared / "metrics.json").read_bytes() == (fresh / "metrics.json").read_bytes()
    meta = json.loads((tmp_path / "out" / "runs" / branch["run_id"] / "meta.json").read_text())
    assert meta["from_state"]["phase"] == "novel_items"


# ----------------------------------------------------------------------------------- spiking
TINY_SPIKING = ["replicas=2", "cortex.n_units=40", "phases.train.trials=20", "phases.test.trials=10",
                "phases.cue_conflict.trials=10", "phases.novel_items.trials=10", "phases.cue_conflict_plastic.trials=10"]


@pytest.fixture(scope="module")
def spiking_run(tmp_path_factory):
    pytest.importorskip("brian2")
    out = tmp_path_factory.mktemp("spiking") / "full"
    assert _run(SPIKING, TINY_SPIKING, out) == 0
    return out


def _per_replica(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {(p, m): v for p, block in metrics.items() for m, v in block["per_replica"].items()}


@pytest.mark.brian2
def test_from_state_spiking_closed_loop_within_tolerance(spiking_run, tmp_path):
    out = tmp_path / "branch"
    assert _run(SPIKING, TINY_SPIKING, out, "--from", f"{spiking_run}:test") == 0
    want, got = _per_replica(spiking_run), _per_replica(out)
    assert want.keys() == got.keys()
    for key in want:
        a = np.array([np.nan if v is None else v for v in want[key]], float)
        b = np.array([np.nan if v is None else v for v in got[key]], float)
        np.testing.assert_allclose(b, a, rtol=0, atol=SPIKING_TOLERANCE, equal_nan=True, err_msg=str(key))


@pytest.mark.brian2
def test_nwb_export_of_a_spiking_steering_run(spiking_run, tmp_path):
    pynwb = pytest.importorskip("pynwb")
    nwbinspector = pytest.importorskip("nwbinspector")
    out = tmp_path / "run.nwb"
    assert main(["export", str(spiking_run), "--nwb", str(out)]) == 0
    assert main(["export", str(spiking_run), "--nwb", str(out)]) == 2  # exists: refused
    critical = [m for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(out))
                if m.importance.name == "CRITICAL"]
    assert critical == []
    with pynwb.NWBHDF5IO(str(out), "r") as io, h5py.File(spiking_run / "traces.h5") as traces:
        nwb = io.read()
        phases = json.loads(traces.attrs["phases"])
        assert list(nwb.epochs.to_dataframe()["tags"].map(lambda t: t[0])) == phases
        module = nwb.processing["misc"]
        for phase in phases:
            for name in ("reward", "dopamine", "drives/hunger", "rate_hz", "v_mv"):
                if name not in traces[phase]:
                    continue
                series = module[f"{phase}_{name.replace('/', '_')}"]
                np.testing.assert_array_equal(np.moveaxis(series.data[()], 0, 1), traces[phase][name][()])
                assert series.unit == traces[phase][name].attrs["units"]
        units = nwb.units.to_dataframe()
        n_spikes = sum(len(traces[p]["spikes_time_ms"]) for p in phases if "spikes_time_ms" in traces[p])
        assert sum(len(s) for s in units["spike_times"]) == n_spikes
        first = units.iloc[0]
        times = np.concatenate([traces[p]["spikes_time_ms"][()][(traces[p]["spikes_replica"][()] == first["replica"])
                                                               & (traces[p]["spikes_index"][()] == first["local_index"])]
                                for p in phases]) / 1000.0
        np.testing.assert_allclose(np.sort(times), first["spike_times"])


@pytest.mark.parametrize("model", [["cortex.model=eprop"], ["cortex.readout.kind=delta"],
                                   ["cortex.backend=control", "cortex.model=linear", "cortex.n_units=0",
                                    "recording.sample_units=0"]], ids=["eprop", "reservoir-delta", "control"])
def test_from_state_every_numpy_model_is_bit_identical(tmp_path, model):
    overrides = [o for o in TINY_REBER if not (model[0].startswith("cortex.backend") and o.startswith("cortex.n_units"))]
    overrides += model
    assert _run(REBER, overrides, tmp_path / "full") == 0
    assert _run(REBER, overrides, tmp_path / "branch", "--from", f"{tmp_path / 'full'}:train") == 0
    assert (tmp_path / "branch" / "metrics.json").read_bytes() == (tmp_path / "full" / "metrics.json").read_bytes()
