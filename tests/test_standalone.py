"""cpp_standalone for open-loop runs: the whole experiment as one compiled Brian2 simulation.

The Brian2 tests run the shipped embedded-Reber spiking config shrunk to 2 replicas of 40 neurons
and 30 strings. The first standalone build of that structure on a machine compiles for 10-20 s;
later ones reuse the stored objects and compile only main.cpp.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import experiments
from experiments.cli import main
from experiments.runner import RunFailed

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "language" / "embedded_reber_spiking.yaml"
TINY = ["replicas=2", "cortex.n_units=40", "phases.train.strings=20", "phases.test.strings=10",
        "recording.sample_units=8", "recording.predictions_steps=50"]


def _datasets(path: Path) -> dict:
    out = {}
    with h5py.File(path) as h5:
        h5.visititems(lambda name, obj: out.__setitem__(name, (obj.shape, obj.dtype.str, dict(obj.attrs)))
                      if isinstance(obj, h5py.Dataset) else None)
    return out


@pytest.mark.brian2
def test_standalone_run_matches_the_cython_run_and_leaves_the_runtime_device(tmp_path):
    """Same seed: the standalone run's metrics equal the cython run's (same simulation, compiled
    twice), the traces have the same datasets, meta.json names the target used; and a runtime
    (cython) run in the same process after the standalone one still works, and the process's
    environment is as before (Brian2 sets LD_BIND_NOW=1, which breaks sbatch in later subprocesses)."""
    import os

    from brian2.devices.device import get_device, runtime_device

    bind_now = os.environ.get("LD_BIND_NOW")
    runs = {}
    for target in ("cpp_standalone", "cython"):  # standalone first: cython must still work after it
        runs[target] = experiments.run(CONFIG, [*TINY, f"cortex.target={target}"], out=tmp_path / target, plots=False)
        assert get_device() is runtime_device
        assert os.environ.get("LD_BIND_NOW") == bind_now
    standalone, cython = runs["cpp_standalone"], runs["cython"]
    assert standalone.meta["target"] == "cpp_standalone" and cython.meta["target"] == "cython"
    assert json.loads((standalone.run_dir / "meta.json").read_text())["target"] == "cpp_standalone"
    for phase in ("train", "test"):
        for name in ("kl_to_optimal", "cross_entropy", "accuracy", "longrange_accuracy"):
            assert standalone.metrics[phase][name] == pytest.approx(cython.metrics[phase][name], abs=0.02), (phase, name)
    sets = {t: _datasets(r.run_dir / "traces.h5") for t, r in runs.items()}
    assert sets["cpp_standalone"].keys() == sets["cython"].keys()
    for name, (shape, dtype, attrs) in sets["cython"].items():
        assert sets["cpp_standalone"][name][:2] == (shape, dtype), name
    assert {"train/spikes_time_ms", "train/v_mv", "test/rate_hz", "test/activity"} <= sets["cython"].keys()
    with h5py.File(standalone.run_dir / "traces.h5") as s, h5py.File(cython.run_dir / "traces.h5") as c:
        np.testing.assert_allclose(s["test/rate_hz"][:], c["test/rate_hz"][:], atol=1e-3)


@pytest.mark.brian2
def test_standalone_numerical_error_names_the_same_step_as_cython(tmp_path):
    """A slow current with a 0.01 ms time constant blows up under 1 ms Euler steps: both targets
    fail the run with a NumericalError that names the same first non-finite step."""
    errors = {}
    for target in ("cython", "cpp_standalone"):
        with pytest.raises(RunFailed) as info:
            experiments.run(CONFIG, [*TINY, f"cortex.target={target}", "cortex.tau_slow_min_ms=0.01",
                                     "cortex.tau_slow_max_ms=0.01"], out=tmp_path / target, plots=False)
        errors[target] = str(info.value)
    assert "NumericalError: non-finite value in cx." in errors["cpp_standalone"]
    assert errors["cpp_standalone"].split(" at step ")[1] == errors["cython"].split(" at step ")[1]


@pytest.mark.parametrize("config, why", [
    ("configs/steering/train_and_shift_spiking.yaml", "world.kind 'foraging' is a closed_loop world"),
    ("configs/steering/izhikevich2007.yaml", "world.kind 'distal_reward' is a distal_reward world"),
])
def test_cpp_standalone_is_rejected_where_the_loop_is_closed(tmp_path, capsys, config, why):
    out = tmp_path / "run"
    assert main(["run", str(REPO / config), "--set", "cortex.target=cpp_standalone", "--out", str(out),
                 "--quiet", "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert f"{config}: cortex.target: " in err and why in err and "skips" in err
    assert not out.exists()


def test_a_cortex_that_wants_its_input_ahead_gets_every_block_first_then_the_same_blocks():
    """The sequence protocol hands every phase's blocks to simulate_ahead once, then the very
    same blocks, in order, to run_sequence (no Brian2: a recording stand-in cortex)."""
    from experiments.config import loads
    from experiments.protocols.sequence import SequenceProtocol
    from experiments.recording import Recorder
    from experiments.worlds import WORLDS

    class Ahead:
        wants_input_ahead, n = True, 0
        target, step_ms, activity_units, trace_info = "stand-in", None, "1", {}

        def __init__(self, n_symbols):
            self.n_symbols, self.ahead, self.calls = n_symbols, [], []

        def simulate_ahead(self, phases):
            self.ahead.append(phases)

        def set_plasticity(self, on):
            self.plastic = on

        def run_sequence(self, inputs, active):
            from cortex.base import SequenceOutput

            self.calls.append((self.plastic, inputs.copy(), active.copy()))
            K, T = inputs.shape
            return SequenceOutput(probs=np.full((K, T, self.n_symbols), 1.0 / self.n_symbols), activity=None, extra={})

    spec = loads("""
name: ahead
replicas: 2
world: {kind: embedded_reber}
cortex: {backend: rate, model: reservoir, n_units: 20}
phases:
  - {name: train, strings: 300, plastic: true}
  - {name: test, strings: 40, plastic: false}
""")
    with tempfile.TemporaryDirectory() as tmp:
        rec = Recorder(Path(tmp) / "t.h5", 2, 256)
        cortex = Ahead(len(WORLDS["embedded_reber"].cls(spec.world.params).symbols))
        protocol = SequenceProtocol(spec, rec, cortex=cortex)
        for phase in spec.phases:
            protocol.run_phase(phase)
        rec.close()
    assert len(cortex.ahead) == 1
    planned = [(plastic, i, a) for plastic, blocks in cortex.ahead[0] for i, a in blocks]
    assert [p for p, _, _ in planned] == [True] * 3 + [False]  # 300 strings = 128 + 128 + 44, then 40
    assert len(planned) == len(cortex.calls)
    for (plastic, inputs, active), (p2, i2, a2) in zip(planned, cortex.calls):
        assert plastic == p2
        np.testing.assert_array_equal(active, a2)
        np.testing.assert_array_equal(inputs[active], i2[a2])


@pytest.mark.brian2
def test_spiking_cortex_used_directly_simulates_its_first_block_as_the_whole_run():
    """Without simulate_ahead, a standalone cortex's first run_sequence is the whole run (same
    outputs as cython); it cannot go on after it, nor run a closed loop."""
    from cortex.spiking.cortex import SpikingCortex
    from cortex.spiking.params import SpikingParams

    rng = np.random.default_rng(0)
    inputs, active = rng.integers(0, 7, (2, 60)), np.ones((2, 60), bool)
    active[1, 45:] = False
    outs = {}
    for target in ("cpp_standalone", "cython"):
        cortex = SpikingCortex(SpikingParams(n_units=40, target=target), n_inputs=7, n_replicas=2, sample_units=8)
        cortex.reset([3, 4])
        outs[target] = cortex.run_sequence(inputs, active)
        assert cortex.time_ms == 60 * 50.0
    s, c = outs["cpp_standalone"], outs["cython"]
    np.testing.assert_allclose(s.probs, c.probs, atol=1e-3)
    np.testing.assert_allclose(s.activity, c.activity)
    assert s.extra.keys() == c.extra.keys()
    standalone = SpikingCortex(SpikingParams(n_units=40, target="cpp_standalone"), n_inputs=7, n_replicas=2, sample_units=8)
    standalone.reset([3, 4])
    standalone.run_sequence(inputs, active)
    with pytest.raises(RuntimeError, match="beyond the schedule"):
        standalone.run_sequence(inputs, active)
    with pytest.raises(RuntimeError, match=r"open-loop\) worlds only"):
        standalone.run(5, None, np.zeros((2, 7)))


@pytest.mark.brian2
@pytest.mark.slow
def test_shipped_embedded_reber_spiking_rises_with_size_and_passes_at_its_default(tmp_path):
    """The shipped config (3 seeds, 1,000 training strings): test longrange_accuracy rises from 100
    to 400 units and reaches 0.8 at the default size (measured 0.808 -> 0.877). ~40 s."""
    acc = {}
    for n in (100, None):
        overrides = [f"cortex.n_units={n}"] if n else []
        result = experiments.run(CONFIG, overrides, out=tmp_path / str(n))
        acc[n] = result.metrics["test"]["longrange_accuracy"]
    assert acc[None] >= 0.8, acc
    assert acc[None] >= acc[100] + 0.03, acc


@pytest.mark.brian2
def test_five_seeds_of_one_structure_build_the_network_once():
    """A sweep of 5 seeds of one structure: the network's code is compiled at most once; every
    later seed compiles only the files that hold its run's sizes (main.cpp, objects.cpp, and the
    input synapses' creation, whose count is drawn per seed), and its spikes stay on disk until
    its last block is replayed."""
    from cortex.spiking.cortex import SpikingCortex
    from cortex.spiking.params import SpikingParams

    per_run = {"main.o", "objects.o", "code_objects/syn_in_gen_synapses_create_array_codeobject.o"}
    compiled, activity = [], []
    for seed in range(5):
        cortex = SpikingCortex(SpikingParams(n_units=40, target="cpp_standalone"), n_inputs=7, n_replicas=2, sample_units=8)
        cortex.reset([10 * seed, 10 * seed + 1])
        rng = np.random.default_rng(seed)
        blocks = [(rng.integers(0, 7, (2, 40)), np.ones((2, 40), bool)) for _ in range(2)]
        compiled.append(set(cortex.simulate_ahead([(True, blocks)])["compiled"]))
        spikes = cortex._schedule.rec.spikes
        assert all(a.size <= len(spikes) // spikes.STRIDE + 1 for a in vars(spikes).values() if isinstance(a, np.ndarray))
        where = spikes.directory
        del spikes
        assert where.is_dir()
        activity.append(np.concatenate([cortex.run_sequence(*b).activity for b in blocks], axis=1))
        assert not where.exists()
    for later in compiled[1:]:
        assert later <= per_run, later - per_run
    assert all(not np.array_equal(activity[0], a) for a in activity[1:])  # five different networks


def test_the_simulation_binary_dies_with_the_process_that_started_it(tmp_path):
    """A run process killed mid-simulation (a stopped sweep, a lost worker) takes its standalone
    binary with it: Brian2 starts the binary with the command of ``_dying_with_us``, here stood in
    for by ``sleep``, from a process that is then SIGKILLed. Without the wrapper the child goes on
    as an orphan (checked first, so the test shows what the wrapper changes)."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    from cortex.spiking.standalone import _dying_with_us

    if not shutil.which("setpriv"):
        pytest.skip("no setpriv (util-linux) here: the binary runs with Brian2's own command")
    assert _dying_with_us("./main")[-1] == "./main" and _dying_with_us(["./main"])[:3] == [shutil.which("setpriv"), "--pdeathsig", "KILL"]

    def child_outlives_parent(cmd: list[str]) -> bool:
        pidfile = tmp_path / "pid"
        pidfile.unlink(missing_ok=True)
        code = ("import subprocess, sys; p = subprocess.Popen(sys.argv[1:]); "
                f"open({str(pidfile)!r}, 'w').write(str(p.pid)); p.wait()")
        parent = subprocess.Popen([sys.executable, "-c", code, *cmd])
        deadline = time.monotonic() + 20
        while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(pidfile.read_text())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{child}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":   # killed, waiting for init to reap it
                        return False
            except FileNotFoundError:   # killed and reaped
                return False
            time.sleep(0.05)
        os.kill(child, signal.SIGKILL)
        return True

    assert child_outlives_parent(["sleep", "30"])
    assert not child_outlives_parent(_dying_with_us(["sleep", "30"]))
