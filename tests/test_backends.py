"""The same behavioural tests on both cortex backends, through the public ``Cortex`` interface.

The ``backend`` fixture builds a small cortex of either backend (``rate``: the reservoir;
``spiking``: the Brian2 LIF network, marked ``brian2``). A backend that cannot run one of these
tests is listed in ``UNSUPPORTED`` with the reason; that list is the one place to review such gaps.
Backend-specific internals (block RLS, Brian2 gates, e-prop traces) are tested in
test_rate_cortex.py and test_spiking_cortex.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from cortex import make_cortex, model_registry
from cortex.base import CortexOutput, Exchange, Modulators, NumericalError

N_SYM = 3
SETTINGS = {
    "rate": dict(backend="rate", model="reservoir", n_units=100),
    # 25 ms steps on a 1 ms grid: small and coarse, so each test simulates a few seconds at most
    "spiking": dict(backend="spiking", model="lif", n_units=100, step_ms=25.0, dt_ms=1.0, n_v_probe=2),
}
# settings under which the state blows up within a few hundred steps
DIVERGING = {
    "rate": dict(activation="linear", spectral_radius=6.0, n_timescales=1, leak_min=1.0),
    "spiking": dict(tau_slow_min_ms=0.01, tau_slow_max_ms=0.01),  # 0.01 ms time constant, 1 ms Euler steps
}

#: (test name, backend) -> why that backend does not run the test. Reviewed list: keep it short.
UNSUPPORTED: dict[tuple[str, str], str] = {
    ("test_padding_steps_change_no_prediction_while_learning", "spiking"):
        "padding freezes the neurons exactly (test_padding_steps_change_no_activity), but Brian2's "
        "event-driven STDP traces and the lazily decayed eligibility decay with network time, so they "
        "keep decaying while a replica is frozen: learning after a gap differs slightly (measured: "
        "predictions depart ~7 steps after a 20-step gap)",
}


@pytest.fixture(params=["rate", pytest.param("spiking", marks=pytest.mark.brian2)])
def backend(request):
    """A factory ``make(K=2, seeds=None, signals=(), n_actions=0, **overrides)`` for the backend."""
    name = request.param
    why = UNSUPPORTED.get((request.node.originalname, name))
    if why:
        pytest.skip(f"{name} backend: {why}")

    def make(K=2, seeds=None, signals=(), n_actions=0, **overrides):
        settings = {**SETTINGS[name], **overrides}
        params_cls, _ = model_registry()[(settings["backend"], settings["model"])]
        cortex = make_cortex(params_cls(**settings), n_inputs=N_SYM, n_replicas=K, sample_units=5,
                             signals=tuple(signals), n_actions=n_actions)
        cortex.reset(list(seeds if seeds is not None else range(K)))
        return cortex

    make.name = name
    return make


def cycle(K: int, T: int, start: int = 0) -> np.ndarray:
    return np.tile((np.arange(T) + start) % N_SYM, (K, 1))


def on(K: int, T: int) -> np.ndarray:
    return np.ones((K, T), bool)


def accuracy_after(cortex, train_steps: int, test_steps: int = 60) -> float:
    if train_steps:
        cortex.run_sequence(cycle(2, train_steps), on(2, train_steps))
    cortex.set_plasticity(False)
    out = cortex.run_sequence(cycle(2, test_steps, start=train_steps), on(2, test_steps))
    return float((out.probs.argmax(-1) == cycle(2, test_steps, start=train_steps + 1)).mean())


def test_learns_a_deterministic_cycle_and_outputs_distributions(backend):
    cortex = backend()
    out = cortex.run_sequence(cycle(2, 150), on(2, 150))
    assert out.probs.shape == (2, 150, N_SYM) and np.allclose(out.probs.sum(-1), 1.0)
    assert (out.probs > 0).all()  # the probability floor: no symbol is ever impossible
    assert out.activity.shape == (2, 150, 5)
    cortex.set_plasticity(False)
    out = cortex.run_sequence(cycle(2, 60, start=150), on(2, 60))
    assert (out.probs.argmax(-1) == cycle(2, 60, start=151)).mean() > 0.9  # chance is 1/3


def test_nothing_is_learned_while_plasticity_is_off(backend):
    cortex = backend()
    cortex.set_plasticity(False)
    assert accuracy_after(cortex, 150) < 0.6  # the untrained readout predicts ~uniformly


def test_same_seed_same_outputs_other_seed_differs(backend):
    runs = [backend(K=1, seeds=[s]).run_sequence(cycle(1, 40), on(1, 40)) for s in (3, 3, 4)]
    np.testing.assert_array_equal(runs[0].probs, runs[1].probs)
    np.testing.assert_array_equal(runs[0].activity, runs[1].activity)
    assert not np.array_equal(runs[0].activity, runs[2].activity)


def test_batched_replicas_equal_separate_runs(backend):
    x = np.stack([cycle(1, 60)[0], cycle(1, 60, start=1)[0]])
    batched = backend(K=2, seeds=[5, 6]).run_sequence(x, on(2, 60))
    for k, seed in enumerate((5, 6)):
        alone = backend(K=1, seeds=[seed]).run_sequence(x[k:k + 1], on(1, 60))
        np.testing.assert_allclose(batched.probs[k], alone.probs[0], atol=1e-6)
        np.testing.assert_allclose(batched.activity[k], alone.activity[0], atol=1e-6)


def _padded_twins(backend, plastic: bool):
    """Replica 1 sees the same symbols as replica 0 (same seed) with 20 padding steps inserted;
    returns both replicas' outputs at their active steps."""
    T, gap = 80, slice(30, 50)
    x = cycle(2, T + 20)
    active = on(2, T + 20)
    active[0, T:] = False
    active[1, gap] = False
    x[1, 50:] = cycle(1, T - 30, start=30)[0]
    cortex = backend(K=2, seeds=[7, 7])
    cortex.set_plasticity(plastic)
    out = cortex.run_sequence(x, active)
    return [(out.probs[k, active[k]], out.activity[k, active[k]]) for k in (0, 1)]


def test_padding_steps_change_no_activity(backend):
    (p0, a0), (p1, a1) = _padded_twins(backend, plastic=False)
    np.testing.assert_allclose(a1, a0, atol=1e-6)
    np.testing.assert_allclose(p1, p0, atol=1e-6)


def test_padding_steps_change_no_prediction_while_learning(backend):
    (p0, _), (p1, _) = _padded_twins(backend, plastic=True)
    np.testing.assert_allclose(p1, p0, atol=1e-5)


def test_a_diverging_state_raises_numerical_error_naming_a_step(backend):
    cortex = backend(**DIVERGING[backend.name])
    cortex.set_plasticity(False)
    with pytest.raises(NumericalError) as err:
        cortex.run_sequence(cycle(2, 400), on(2, 400))
    assert 0 <= err.value.step < 400


class _World:
    """Closed-loop partner: feeds the next symbol of the cycle; replica 1's episode ends at step 19."""

    def __init__(self, K: int, n_signals: int = 0):
        self.K, self.n_signals, self.outs = K, n_signals, []

    def __call__(self, step: int, out: CortexOutput) -> Exchange:
        self.outs.append(out)
        mods = Modulators(dopamine=np.zeros(self.K), supervisory=np.full((self.K, self.n_signals), np.nan),
                          plastic=np.ones(self.K, bool))
        return Exchange(inputs=np.eye(N_SYM)[[(step + 1) % N_SYM] * self.K], modulators=mods,
                        action=np.full(self.K, -1), done=np.array([False, step >= 19]))


def test_closed_loop_calls_exchange_once_per_step_and_learns(backend):
    cortex, world = backend(), _World(2)
    cortex.run(150, world, first_inputs=np.eye(N_SYM)[[0, 0]])
    assert len(world.outs) == 150
    last = world.outs[-1]
    assert last.next_input.shape == (2, N_SYM) and np.allclose(last.next_input.sum(-1), 1.0)
    assert last.activity.shape == (2, 5)
    # replica 0 keeps cycling and learns what comes next (chance: 1/3; measured 1.0 rate, 0.8 spiking)
    hits = [out.next_input[0].argmax() == (t + 1) % N_SYM for t, out in enumerate(world.outs[-30:], start=120)]
    assert np.mean(hits) > 0.7


def test_closed_loop_heads_emit_assessments_value_and_action_preferences(backend):
    cortex, world = backend(signals=("taste.sweet",), n_actions=4), _World(2, n_signals=1)
    cortex.run(10, world, first_inputs=np.eye(N_SYM)[[0, 0]])
    out = world.outs[-1]
    assert out.assessments.shape == (2, 1) and out.value.shape == (2,) and out.action_prefs.shape == (2, 4)
    assert np.isfinite(out.action_prefs).all()
