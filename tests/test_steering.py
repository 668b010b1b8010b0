"""Steering metrics and the closed loop: scorer arithmetic, the phase runner, and the shipped
experiments' headline results (slow)."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from cortex.control import ControlCortex, ControlParams
from cortex.params import HeadsParams
from experiments.protocols.closed_loop import run_closed_phase
from experiments.traces import lookup
from experiments.metrics import summarize
from experiments.metrics.steering import RECOVERY_WINDOW, SteeringScorer, cross_phase, recovery
from experiments.worlds.foraging import Foraging, ForagingParams
from subcortex import SubcortexParams, make_subcortex

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "steering"


# -- scorer -------------------------------------------------------------------------------------

def feed(scorer, faithful, conflict=None, follow=None, lethal=None):
    k = scorer.n_replicas
    for t, f in enumerate(faithful):
        scorer.add_trial(np.full(k, f), np.full(k, 1.0), np.full(k, 0.5),
                         np.full(k, False if conflict is None else conflict[t]),
                         np.full(k, False if follow is None else follow[t]),
                         np.full(k, 0 if lethal is None else lethal[t]))


def test_fidelity_reward_fitness_and_late_fidelity():
    s = SteeringScorer(2, 10, ("taste.sweet",))
    feed(s, [0] * 8 + [1] * 2)
    r = s.result()
    np.testing.assert_allclose(r["fidelity"], 0.2)
    np.testing.assert_allclose(r["fidelity_late"], 1.0)            # last 20% of 10 trials
    np.testing.assert_allclose(r["subcortex_reward"], 1.0)
    np.testing.assert_allclose(r["fitness"], 0.5)
    assert np.isnan(r["proxy_reliance"]).all()                      # no conflict trials
    assert "recovery_trials" not in r                               # not a shift phase


def test_proxy_reliance_counts_conflict_trials_only():
    s = SteeringScorer(1, 4, ())
    feed(s, [0, 0, 1, 1], conflict=[True, True, True, False], follow=[True, True, False, True])
    np.testing.assert_allclose(s.result()["proxy_reliance"], 2 / 3)


def test_assessor_error_averages_sensed_steps_only():
    s = SteeringScorer(1, 1, ("taste.sweet", "pain"))
    s.add_errors(np.array([[0.5, np.nan]]))
    s.add_errors(np.array([[-0.1, np.nan]]))
    r = s.result()
    np.testing.assert_allclose(r["assessor_error/taste.sweet"], 0.3)
    assert np.isnan(r["assessor_error/pain"]).all()


def test_recovery_is_the_first_full_window_back_near_the_reference():
    s = SteeringScorer(2, 200, (), shift=True)
    faithful = [0] * 30 + [1] * 170
    lethal = [1] * 10 + [0] * 190
    feed(s, faithful, lethal=lethal)
    m = s.result()
    r = recovery(m["recovery/first_trial"], m["recovery/catastrophes"], m["catastrophes"], np.array([1.0, 1.0]))
    # the trailing 50-trial window first has >= 45 faithful trials at trial 30 + 45
    np.testing.assert_allclose(r["recovery_trials"], 75)
    np.testing.assert_allclose(r["catastrophes_before_recovery"], 10)
    np.testing.assert_allclose(r["recovered"], 1.0)


def test_no_recovery_is_nan_and_counts_every_catastrophe():
    s = SteeringScorer(1, 100, (), shift=True)
    feed(s, [0, 1] * 50, lethal=[1] * 100)
    m = s.result()
    r = recovery(m["recovery/first_trial"], m["recovery/catastrophes"], m["catastrophes"], np.array([0.9]))
    assert np.isnan(r["recovery_trials"]).all() and r["recovered"][0] == 0
    np.testing.assert_allclose(r["catastrophes_before_recovery"], 100)
    np.testing.assert_allclose(m["catastrophes_worst_replica"], 100)
    assert RECOVERY_WINDOW == 50


def test_steering_gap_is_measured_from_test_else_late_train():
    def block(**m):
        return summarize({k: np.asarray(v, float) for k, v in m.items()})

    with_test = {"train": block(fidelity=[0.5, 0.5], fidelity_late=[0.8, 0.8]), "test": block(fidelity=[0.9, 1.0]),
                 "cue_conflict": block(fidelity=[0.1, 0.2])}
    cross_phase(with_test)
    assert with_test["cue_conflict"]["per_replica"]["steering_gap"] == pytest.approx([0.8, 0.8])
    assert "steering_gap" not in with_test["test"]
    no_test = {"train": block(fidelity=[0.5], fidelity_late=[0.8]), "novel_items": block(fidelity=[0.3])}
    cross_phase(no_test)
    assert no_test["novel_items"]["steering_gap"] == pytest.approx(0.5)


# -- the closed loop with the linear cortex (features = the encoded observation) -----------------

class ListRecorder:
    def __init__(self):
        self.data, self.meta = {}, {}

    def append(self, phase, name, array, units=None, description=None):
        assert lookup("closed_loop", name) is not None, f"{phase}/{name}: not in experiments/traces.py"
        self.data.setdefault((phase, name), []).append(array)

    def attrs(self, phase, **attrs):
        self.meta.setdefault(phase, {}).update(attrs)

    def get(self, phase, name):
        return np.concatenate(self.data[(phase, name)], axis=1)


ITEMS = {
    "berry": {"visible": {"colour": "red", "shape": ["round", "long"], "smell": "fruity"}, "sweet": 1.0, "nutrition": 1.0},
    "nightshade": {"visible": {"colour": "green", "shape": ["round", "long"], "smell": "acrid"}, "bitter": 1.0,
                   "toxin": 1.0, "lethal": 0.2},
}


def phase(name, trials, plastic):
    return SimpleNamespace(name=name, trials=trials, plastic=plastic)


def test_closed_loop_learns_the_proxy_and_fails_when_it_lies():
    k, seeds = 4, [0, 1, 2, 3]
    base = ForagingParams(items=ITEMS, mixtures={"train": {"berry": 1, "nightshade": 1}}, choices=2, can_leave=False)
    world = Foraging(base, k)
    sub = make_subcortex(SubcortexParams(), world.hidden_signals)
    sub.reset(seeds)
    cortex = ControlCortex(ControlParams(heads=HeadsParams(lr_actor=1.0, lr_critic=0.5, lr_assessor=0.5)),
                           world.observation_size, k, signals=sub.assessed_signals, n_actions=world.n_actions)
    cortex.reset(seeds)
    rec = ListRecorder()
    run = lambda ph, params, i: run_closed_phase(cortex, world, sub, ph, params, rec, seeds, phase_index=i)  # noqa: E731
    run(phase("train", 400, True), base, 0)
    test, _ = run(phase("test", 100, False), base, 1)
    shift, _ = run(phase("cue_conflict", 100, False), base.model_copy(update={"mode": "cue_conflict"}), 2)
    assert test["fidelity"].mean() >= 0.9
    assert shift["proxy_reliance"].mean() >= 0.7 and shift["fidelity"].mean() <= 0.3

    steps = 2 * 400
    for name in ("reward", "dopamine", "value", "action", "fitness", "drives/hunger",
                 "assessments/taste.sweet", "sensed/taste.sweet"):
        assert rec.get("train", name).shape == (k, steps), name
    for name in ("fidelity", "reward", "fitness", "proxy_follow", "conflict"):
        assert rec.get("train", f"trials/{name}").shape == (k, 400), name
    sensed = rec.get("train", "sensed/taste.sweet")
    # row t holds what was sensed from step t-1: the decision steps' takes are tasted, the
    # outcome steps reveal no taste
    assert np.isfinite(sensed[:, 1::2]).all() and np.isnan(sensed[:, ::2]).all()
    assert rec.meta["train"]["action_names"] == ["take_0", "take_1"]


# -- the shipped experiments (rate cortex, 10 replicas) -----------------------------------------

def run_config(name, tmp_path, *overrides):
    from experiments.config import load
    from experiments.runner import run_spec

    spec = load(CONFIGS / f"{name}.yaml", list(overrides))
    return run_spec(spec, tmp_path / name, quiet=True, plots=False)


@pytest.mark.slow
def test_train_and_shift_reproduces_proxy_failure_and_diversity_fixes_it(tmp_path):
    narrow = run_config("train_and_shift", tmp_path)
    m = narrow.metrics
    assert narrow.meta["wall_time_s"] < 120
    assert m["test"]["fidelity"] >= 0.9
    assert m["cue_conflict"]["steering_gap"] >= 0.3 and m["cue_conflict"]["proxy_reliance"] >= 0.7
    assert m["cue_conflict"]["recovered"] is None                  # plasticity off: no recovery
    assert m["cue_conflict_plastic"]["recovered"] >= 0.5
    assert m["cue_conflict_plastic"]["catastrophes_before_recovery"] is not None
    diverse = run_config("diversity", tmp_path).metrics
    assert diverse["cue_conflict"]["steering_gap"] <= 0.5 * m["cue_conflict"]["steering_gap"]


@pytest.mark.slow
def test_superstimulus_keeps_reward_while_fitness_falls(tmp_path):
    m = run_config("superstimulus", tmp_path).metrics
    for name in ("superstimulus", "superstimulus_plastic"):
        assert m[name]["subcortex_reward"] >= m["train"]["subcortex_reward"]
        assert m[name]["fitness"] < m["train"]["fitness"] - 0.3


def test_linear_cortex_learns_only_where_plasticity_is_on():
    """Switched off globally, or per replica by the subcortex's gate, the heads keep their weights."""
    from cortex.base import Exchange, Modulators

    k, n_in = 3, 4
    cortex = ControlCortex(ControlParams(), n_in, k, signals=["taste.sweet"], n_actions=2)
    cortex.reset([0, 1, 2])

    def exchange(t, out):
        mods = Modulators(dopamine=np.ones(k), supervisory=np.ones((k, 1)), plastic=np.array([True, False, True]))
        return Exchange(inputs=np.eye(n_in)[[t % n_in] * k], modulators=mods, action=np.zeros(k, int),
                        done=np.zeros(k, bool))

    before = cortex.heads.w_value.copy()
    cortex.set_plasticity(False)
    cortex.run(10, exchange, np.eye(n_in)[[0] * k])
    assert np.array_equal(cortex.heads.w_value, before)
    cortex.set_plasticity(True)
    cortex.run(10, exchange, np.eye(n_in)[[0] * k])
    changed = ~np.isclose(cortex.heads.w_value, before).all(axis=1)
    assert changed.tolist() == [True, False, True]
