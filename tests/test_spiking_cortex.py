"""The spiking (Brian2) cortex beyond the shared suite (test_backends.py): its traces and spikes,
the plasticity switch on its weights, padding gates, dopamine on E->E weights, state checks.

All Brian2 tests build the same small network structure, so with a warm cython cache they
compile nothing (the first run on a machine compiles for a few minutes).
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cortex.base import Exchange, Modulators, NumericalError
from cortex.spiking.params import SPIKING_MODELS, SpikingParams

SMALL = dict(n_units=100, step_ms=25.0, dt_ms=1.0, n_v_probe=2)


def test_params_module_does_not_import_brian2():
    code = "import sys, cortex.spiking.params; assert 'brian2' not in sys.modules, 'brian2 imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_registry_entry_and_validation():
    params_cls, impl = SPIKING_MODELS["lif"]
    assert params_cls is SpikingParams and impl == "cortex.spiking.cortex:SpikingCortex"
    with pytest.raises(ValueError, match="whole multiple"):
        SpikingParams(step_ms=25.0, dt_ms=0.3)
    with pytest.raises(ValueError, match="extra"):
        SpikingParams(tau_membrane_ms=20.0)


def make(K=2, seeds=None, **overrides):
    from cortex.spiking.cortex import SpikingCortex

    cortex = SpikingCortex(SpikingParams(**{**SMALL, **overrides}), n_inputs=3, n_replicas=K, sample_units=5)
    cortex.reset(list(seeds if seeds is not None else range(K)))
    return cortex


def cycle(K: int, T: int, start: int = 0) -> np.ndarray:
    return np.tile((np.arange(T) + start) % 3, (K, 1))


@pytest.mark.brian2
def test_open_loop_learns_and_hands_out_its_traces():
    cortex = make()
    cortex.run_sequence(cycle(2, 150), np.ones((2, 150), bool))
    cortex.set_plasticity(False)
    out = cortex.run_sequence(cycle(2, 60, start=150), np.ones((2, 60), bool))
    truth = cycle(2, 60, start=151)
    accuracy = (out.probs.argmax(-1) == truth).mean()
    assert accuracy > 0.9, accuracy  # chance is 1/3
    assert out.probs.shape == (2, 60, 3) and np.allclose(out.probs.sum(-1), 1)
    assert out.activity.shape == (2, 60, 5)
    assert out.extra["rate_hz"].shape == (2, 60) and out.extra["v_mv"].shape == (2, 60, 2)
    assert (out.extra["spikes_index"] < 5).all() and out.extra["spikes_time_ms"].min() >= 150 * 25.0


@pytest.mark.brian2
def test_plasticity_off_leaves_weights_unchanged():
    cortex = make()
    cortex.set_plasticity(False)
    before = cortex._built.syn_ee.w_[:].copy(), cortex._built.cx.theta_[:].copy(), cortex.readout.weights.copy()
    cortex.run_sequence(cycle(2, 40), np.ones((2, 40), bool))
    after = cortex._built.syn_ee.w_[:], cortex._built.cx.theta_[:], cortex.readout.weights
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    cortex.set_plasticity(True)
    cortex.run_sequence(cycle(2, 40), np.ones((2, 40), bool))
    assert not np.array_equal(cortex._built.syn_ee.w_[:], before[0])


@pytest.mark.brian2
def test_padding_steps_freeze_a_replica():
    cortex = make()
    active = np.ones((2, 40), bool)
    active[1, 10:] = False
    out = cortex.run_sequence(cycle(2, 40), active)
    v = out.extra["v_mv"]
    assert np.ptp(v[1, 11:], axis=0).max() == 0.0      # frozen: not even the leak acts
    assert np.ptp(v[0, 11:], axis=0).max() > 0.0
    assert (out.extra["spikes_time_ms"][out.extra["spikes_replica"] == 1] < 11 * 25.0).all()
    lay = cortex._built.layout
    w = cortex._built.syn_ee.variables["w"].get_value()
    post = cortex._built.syn_ee.variables["_synaptic_post"].get_value()
    frozen_w = w[lay.replica[post] == 1].copy()
    cortex.run_sequence(cycle(2, 20), np.r_[True, False][:, None] & np.ones((2, 20), bool))
    np.testing.assert_array_equal(w[lay.replica[post] == 1], frozen_w)


@pytest.mark.brian2
def test_closed_loop_traces_taken_during_the_run_equal_those_taken_at_the_end():
    """traces() from inside exchange hands over the steps finished so far and forgets them (memory
    stays bounded); the pieces join into exactly what one call after the run returns."""

    def run(take_at):
        cortex = make(rstdp_rate=0.05)
        pieces = []

        def exchange(step, out):
            if step in take_at:
                pieces.append(cortex.traces())
            mods = Modulators(dopamine=np.ones(2), supervisory=np.zeros((2, 0)), plastic=np.ones(2, bool))
            return Exchange(inputs=np.eye(3)[[step % 3] * 2], modulators=mods, action=np.full(2, -1),
                            done=np.zeros(2, bool))

        cortex.run(12, exchange, np.eye(3)[[0, 0]])
        pieces.append(cortex.traces())
        assert cortex.traces() == {}  # taken: nothing is handed out twice
        return pieces

    pieces, (whole,) = run({4, 9}), run(set())
    assert [p["rate_hz"].shape[1] for p in pieces] == [5, 5, 2]  # step s's traces are complete at exchange(s)
    for name, value in whole.items():
        joined = np.concatenate([p[name] for p in pieces], axis=0 if value.ndim == 1 else 1)
        np.testing.assert_array_equal(joined, value, err_msg=name)
    assert set(whole) == {"rate_hz", "v_mv", "spikes_replica", "spikes_index", "spikes_time_ms", "eligibility/mean"}
    assert whole["v_mv"].shape == (2, 12, 2) and whole["eligibility/mean"].shape == (2, 12)
    assert 0 <= whole["spikes_time_ms"].min() and whole["spikes_time_ms"].max() < 12 * 25.0


@pytest.mark.brian2
def test_dopamine_steers_recurrent_weights_and_heads_answer():
    """Three-factor rule: the same run under positive dopamine ends with other E->E weights than
    under zero dopamine; the heads give assessments, value and action preferences every step."""
    from cortex.spiking.cortex import SpikingCortex

    weights, shapes = [], []
    for dopamine in (0.0, 1.0):
        cortex = SpikingCortex(SpikingParams(**SMALL, rstdp_rate=0.05), n_inputs=3, n_replicas=2,
                               sample_units=5, signals=("taste.sweet",), n_actions=2)
        cortex.reset([0, 1])

        def exchange(step, out, dopamine=dopamine):
            shapes.append((out.assessments.shape, out.value.shape, out.action_prefs.shape))
            mods = Modulators(dopamine=np.full(2, dopamine), supervisory=np.zeros((2, 1)), plastic=np.ones(2, bool))
            return Exchange(inputs=np.eye(3)[[step % 3] * 2], modulators=mods, action=np.zeros(2, int),
                            done=np.zeros(2, bool))

        cortex.run(40, exchange, np.eye(3)[[0, 0]])
        weights.append(cortex._built.syn_ee.w_[:].copy())
    assert set(shapes) == {((2, 1), (2,), (2, 2))}
    assert not np.allclose(weights[0], weights[1])


@pytest.mark.brian2
def test_non_finite_state_raises_numerical_error_naming_replica_and_variable():
    cortex = make()
    cortex._built.cx.variables["v"].get_value()[cortex._built.layout.gid[1, 3]] = np.nan
    with pytest.raises(NumericalError) as err:
        cortex.run_sequence(cycle(2, 5), np.ones((2, 5), bool))
    assert err.value.replicas == (1,) and "cx.v" in err.value.where
    assert "cx.v" in str(err.value) and "of replica 1 at step" in str(err.value)


@pytest.mark.brian2
@pytest.mark.slow
def test_reber_next_symbol_kl_to_optimal_is_small():
    """Plain Reber, 600 strings plastic then 150 frozen: KL to the exact next-symbol law <= 0.15."""
    from cortex.spiking.cortex import SpikingCortex
    from experiments.worlds.grammars import GRAMMARS

    grammar = GRAMMARS["reber"](GRAMMARS["reber"].Params())
    params = SpikingParams(n_units=400, readout={"rls_reg": 30.0})
    cortex = SpikingCortex(params, n_inputs=len(grammar.symbols), n_replicas=1, sample_units=4)
    cortex.reset([0])
    rng = np.random.default_rng(0)
    for plastic, strings in ((True, 600), (False, 150)):
        cortex.set_plasticity(plastic)
        stream = grammar.sample_many(rng, strings)
        out = cortex.run_sequence(stream.symbols[None], np.ones((1, len(stream)), bool))
    p, q = stream.next_dist[:-1], out.probs[0, :-1]
    kl = np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / q), 0.0), axis=1).mean()
    assert kl <= 0.15, kl


@pytest.mark.brian2
def test_projected_readout_gets_the_replicas_seeds():
    """projected_rls draws its projection from each replica's seed: with more features than its
    dimension the spiking cortex builds it at reset and learns through it."""
    from cortex.spiking.cortex import SpikingCortex

    params = SpikingParams(n_units=20, readout={"kind": "projected_rls", "dim": 4})
    cortex = SpikingCortex(params, n_inputs=3, n_replicas=2, sample_units=2)
    cortex.reset([0, 1])
    assert cortex.n_features > 4
    out = cortex.run_sequence(np.tile([0, 1, 2], (2, 10)), np.ones((2, 30), bool))
    assert np.allclose(out.probs.sum(axis=2), 1.0)
