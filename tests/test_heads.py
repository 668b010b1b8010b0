"""Three-factor heads on hand-made features: the sign of each update, gating, and learning."""
import numpy as np
import pytest

from cortex.base import Modulators
from cortex.heads import ThreeFactorHeads
from cortex.params import HeadsParams

SIGNALS = ("taste.sweet", "taste.bitter")


def heads(k=2, f=4, a=3, **kw) -> ThreeFactorHeads:
    return ThreeFactorHeads(k, f, SIGNALS, a, HeadsParams(**kw), seeds=list(range(k)))


def mods(dopamine, supervisory=None, plastic=True, k=2):
    sup = np.full((k, len(SIGNALS)), np.nan) if supervisory is None else np.asarray(supervisory, float)
    return Modulators(dopamine=np.asarray(dopamine, float), supervisory=sup, plastic=np.full(k, plastic))


def prefs(h, x):
    return h.forward(x)[2]


X = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
QUIET = np.zeros((2, 4))


def act_then_modulate(h, action, dopamine, plastic=True):
    """Features X and an action at step t; the dopamine about them arrives at t+1."""
    h.learn(X, mods([0.0, 0.0]), np.asarray(action))
    h.learn(QUIET, mods(dopamine, plastic=plastic), np.full(2, -1))


@pytest.mark.parametrize("sign", [+1.0, -1.0], ids=["positive-DA", "negative-DA"])
def test_dopamine_moves_the_eligible_action_in_its_sign(sign):
    h = heads()
    before = prefs(h, X)
    act_then_modulate(h, [2, 0], [sign, sign])
    change = prefs(h, X) - before
    assert np.sign(change[0, 2]) == sign and np.sign(change[1, 0]) == sign
    # actions not taken are not eligible
    np.testing.assert_allclose(change[0, :2], 0.0, atol=1e-12)
    np.testing.assert_allclose(change[1, 1:], 0.0, atol=1e-12)


def test_dopamine_moves_the_value_of_the_eligible_state():
    h = heads()
    act_then_modulate(h, [0, 0], [1.0, -1.0])
    value = h.forward(X)[1]
    assert value[0] > 0 > value[1]


def test_no_plasticity_no_change():
    h = heads()
    before = h.state()
    act_then_modulate(h, [1, 1], [1.0, 1.0], plastic=False)
    h.learn(QUIET, mods([1.0, 1.0], [[1.0, 1.0], [1.0, 1.0]], plastic=False), np.full(2, -1))
    after = h.state()
    for name in ("w_assess", "w_value", "w_actor"):
        np.testing.assert_array_equal(before[name], after[name])


def test_supervisory_error_moves_the_assessor_towards_the_sensed_value():
    h = heads(lr_assessor=0.5)
    sensed_sweet = np.array([1.0, 0.0])
    for _ in range(30):
        h.learn(X, mods([0.0, 0.0]), np.full(2, -1))
        predicted = h.forward(X)[0]
        error = np.stack([sensed_sweet - predicted[:, 0], np.full(2, np.nan)], axis=1)  # bitter: not sensed
        h.learn(QUIET, mods([0.0, 0.0], error), np.full(2, -1))
    assessed = h.forward(X)[0]
    np.testing.assert_allclose(assessed[:, 0], sensed_sweet, atol=0.05)
    np.testing.assert_allclose(assessed[:, 1], 0.0, atol=1e-12)     # never sensed, never changed


def test_learns_a_contextual_bandit_from_dopamine_alone():
    """Two contexts, the rewarded action equals the context; the TD error is the only teacher."""
    rng = np.random.default_rng(0)
    k, h = 4, ThreeFactorHeads(4, 2, SIGNALS, 2, HeadsParams(lr_actor=0.5, lr_critic=0.5), seeds=range(4))
    blank = np.zeros((k, 2))
    prev_v = np.zeros(k)
    for _ in range(400):
        ctx = rng.integers(0, 2, k)
        x = np.eye(2)[ctx]
        _, v, logits = h.forward(x)
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        action = (rng.random(k) > p[:, 0]).astype(int)
        h.learn(x, mods(0.9 * v - prev_v, k=k), action)            # arriving at the cue: no reward
        reward = (action == ctx).astype(float)
        _, v_blank, _ = h.forward(blank)
        h.learn(blank, mods(reward + 0.9 * v_blank - v, k=k), np.full(k, -1))
        prev_v = v_blank
    policy = h.policy(np.eye(2)[[0, 1, 0, 1]])
    assert (policy[[0, 2], 0] > 0.9).all() and (policy[[1, 3], 1] > 0.9).all()


def test_replicas_are_reproducible_from_their_seeds():
    a = ThreeFactorHeads(3, 4, SIGNALS, 3, HeadsParams(), seeds=[5, 6, 7])
    b = ThreeFactorHeads(1, 4, SIGNALS, 3, HeadsParams(), seeds=[6])
    np.testing.assert_array_equal(a.w_actor[1], b.w_actor[0])


def test_nonfinite_dopamine_stops_learning_where_it_appears():
    h = heads()
    with pytest.raises(FloatingPointError, match="dopamine"):
        h.learn(X, mods([np.nan, 0.0]), np.zeros(2, int))


def test_feature_shape_is_checked():
    with pytest.raises(ValueError, match="features must be"):
        heads().forward(np.zeros((2, 5)))
