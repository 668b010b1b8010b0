"""Izhikevich (2007) distal reward: parameter checks, the innate reward rule, and the reproduction."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from pydantic import ValidationError

from cortex.spiking.izhikevich_params import IzhikevichParams
from experiments.worlds.distal_reward import DistalRewardParams
from experiments.distal_reward import DistalRewardRule, DistalRewardSession

ROOT = Path(__file__).resolve().parents[1]


class ListRecorder:
    """Stand-in for experiments.recording: keeps everything in memory, same call signatures."""

    def __init__(self):
        self.data: dict[tuple[str, str], np.ndarray] = {}
        self.meta: dict[str, dict] = {}

    def append(self, phase, name, array, **_):
        old = self.data.get((phase, name))
        self.data[(phase, name)] = array if old is None else np.concatenate([old, array], axis=1)

    def append_events(self, phase, name, array, **_):
        old = self.data.get((phase, name))
        self.data[(phase, name)] = array if old is None else np.concatenate([old, array])

    def attrs(self, phase, **attrs):
        self.meta.setdefault(phase, {}).update(attrs)


def phase(name, duration_s, plastic=True):
    return SimpleNamespace(name=name, duration_s=duration_s, plastic=plastic)


# ---------------------------------------------------------------- parameters (no Brian2)
@pytest.mark.parametrize(
    ("cls", "kwargs", "key"),
    [
        (IzhikevichParams, {"w_max": 0}, "w_max"),
        (IzhikevichParams, {"tau_elig_ms": -1}, "tau_elig_ms"),
        (IzhikevichParams, {"tau_elig": 1000}, "tau_elig"),  # a typo is an error, not ignored
        (IzhikevichParams, {"model": "reservoir"}, "model"),
        (IzhikevichParams, {"w_exc_init": 5.0}, "w_max"),
        (DistalRewardParams, {"window_ms": 0}, "window_ms"),
        (DistalRewardParams, {"delay_min_s": 3.0, "delay_max_s": 1.0}, "delay_max_s"),
    ],
    ids=["w_max_zero", "tau_negative", "unknown_key", "wrong_model", "init_above_max", "window_zero",
         "delays_reversed"],
)
def test_bad_params_are_rejected_with_key_name(cls, kwargs, key):
    with pytest.raises(ValidationError, match=key):
        cls(**kwargs)


def test_defaults_are_the_papers():
    p = IzhikevichParams()
    assert (p.n_units, p.n_exc, p.synapses_per_neuron, p.w_max) == (1000, 800, 100, 4.0)
    assert (p.a_plus, p.a_minus, p.tau_stdp_ms, p.tau_da_ms, p.da_tonic) == (0.1, 0.15, 20.0, 200.0, 0.002)
    w = DistalRewardParams()
    assert (w.delay_min_s, w.delay_max_s, w.window_ms, w.reward) == (1.0, 3.0, 20.0, 0.5)


def test_validating_and_importing_the_experiment_does_not_import_brian2():
    code = ("import sys; import experiments.distal_reward as d; d.IzhikevichParams(); "
            "assert 'brian2' not in sys.modules, 'brian2 imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# ---------------------------------------------------------------- the innate rule (no Brian2)
def test_rule_rewards_pre_then_post_within_window_after_delay():
    rule = DistalRewardRule(DistalRewardParams(), seeds=[0, 1])
    never = -1e9
    # replica 0: pre at 100 ms, post at 110 ms (rewarded); replica 1: pre 100, post 130 (too late)
    assert rule(110, np.array([100.0, 100.0]), np.array([110.0, never])) is None
    assert rule(130, np.array([100.0, 100.0]), np.array([110.0, 130.0])) is None
    released = {t: r for t in range(131, 3200)
                if (r := rule(t, np.array([100.0, 100.0]), np.array([110.0, 130.0]))) is not None}
    assert len(released) == 1
    (t, r), = released.items()
    assert 110 + 1000 <= t <= 110 + 3000
    np.testing.assert_array_equal(r, [0.5, 0.0])
    np.testing.assert_array_equal(rule.n_rewards(), [1, 0])


def test_rule_ignores_pre_in_the_same_step_as_post():
    rule = DistalRewardRule(DistalRewardParams(delay_min_s=0.0, delay_max_s=0.0), seeds=[0])
    assert rule(50, np.array([50.0]), np.array([50.0])) is None
    assert rule(51, np.array([50.0]), np.array([50.0])) is None
    assert rule.n_rewards()[0] == 0


# ---------------------------------------------------------------- the network (Brian2)
@pytest.mark.brian2
def test_short_run_rewarded_synapse_outgrows_the_rest_and_freezing_holds_weights():
    # chance pairings come at ~0.03/s per replica with the paper's rates: 4 replicas x 60 s make a
    # reward-free run vanishingly rare (p ~ 3e-4), so the comparison is on the replica mean
    rec = ListRecorder()
    session = DistalRewardSession(IzhikevichParams(), DistalRewardParams(), seeds=[0, 1, 2, 3], sample_units=20)
    m = session.run_phase(phase("train", 60.0), rec)
    w = rec.data[("train", "rewarded_weight")] / 4.0
    med = rec.data[("train", "other_weights_median")] / 4.0
    grow_tagged = m["rewarded_weight_final_frac"] - w[:, 0]
    grow_others = m["others_median_final_frac"] - med[:, 0]
    assert m["n_rewards"].sum() >= 1
    assert grow_tagged.mean() > grow_others.mean() + 0.01, (grow_tagged, grow_others, m["n_rewards"])
    assert rec.data[("train", "dopamine")].shape == (4, 6000)
    assert w.shape == (4, 60)
    assert 0.2 < m["mean_rate_hz"].min() and m["mean_rate_hz"].max() < 20
    assert set(np.unique(rec.data[("train", "spikes_replica")])) == {0, 1, 2, 3}
    assert len(rec.data[("train", "reward_times_s")]) == m["n_rewards"].sum()

    before = session.network.weights()
    m_test = session.run_phase(phase("test", 5.0, plastic=False), rec)
    np.testing.assert_array_equal(session.network.weights(), before)
    np.testing.assert_array_equal(m_test["rewarded_weight_final_frac"], m["rewarded_weight_final_frac"])
    assert np.ptp(rec.data[("test", "other_weights_median")], axis=1).max() == 0.0


@pytest.mark.brian2
def test_replica_of_a_batch_equals_a_single_run_of_its_seed():
    traces = {}
    for seeds in ([5, 6], [6]):
        rec = ListRecorder()
        session = DistalRewardSession(IzhikevichParams(), DistalRewardParams(), seeds, sample_units=20)
        session.run_phase(phase("train", 3.0), rec)
        last = rec.data[("train", "spikes_replica")] == len(seeds) - 1
        traces[len(seeds)] = (session.network.weights()[-1], rec.data[("train", "spikes_time_ms")][last])
    assert len(traces[1][1]) > 0
    np.testing.assert_array_equal(traces[2][0], traces[1][0])
    np.testing.assert_array_equal(traces[2][1], traces[1][1])


@pytest.mark.brian2
@pytest.mark.slow
def test_full_reproduction_rewarded_synapse_reaches_max_others_stay_low():
    """Acceptance with the paper's parameters: after 30 simulated minutes the rewarded synapse is at
    >= 90% of w_max and the median of the others below 25%.

    Once at the top, the rewarded weight keeps being pushed around by dopamine (it spends ~70-85%
    of the time above 90%), so one replica of four may sit below 90% at the very end.
    """
    rec = ListRecorder()
    session = DistalRewardSession(IzhikevichParams(), DistalRewardParams(), seeds=[0, 1, 2, 3], sample_units=20)
    m = session.run_phase(phase("train", 1800.0), rec)
    assert np.isfinite(m["time_to_90pct_s"]).all(), m
    assert (m["rewarded_weight_final_frac"] >= 0.9).sum() >= 3, m
    assert (m["others_median_final_frac"] < 0.25).all(), m
    assert np.nanmin(m["time_at_90pct_frac"]) > 0.5, m


@pytest.mark.brian2
def test_built_through_make_cortex_like_every_model_and_says_what_it_cannot_run():
    from cortex import Cortex, make_cortex

    net = make_cortex(IzhikevichParams(n_units=50), n_inputs=0, n_replicas=1, sample_units=5)
    assert isinstance(net, Cortex) and net.step_ms == 1.0 and net.traces() == {} and not net.wants_input_ahead
    with pytest.raises(NotImplementedError, match="no input symbols"):
        net.run_sequence(np.zeros((1, 3), int), np.ones((1, 3), bool))
    with pytest.raises(NotImplementedError, match="run_phase"):
        net.run(3, None, np.zeros((1, 0)))
    with pytest.raises(RuntimeError, match="reset"):
        net.run_phase(0.01, True, lambda t, pre, post: None)
