"""The foraging world: a Gymnasium-style conformance check, then its cues, shifts and body."""
import numpy as np
import pytest
from pydantic import ValidationError

from cortex.encoding import FeatureEncoder
from experiments.worlds.foraging import Foraging, ForagingParams

ITEMS = {
    "berry": {"visible": {"colour": "red", "shape": ["round", "long"], "smell": "fruity"}, "sweet": 1.0, "nutrition": 1.0},
    "nightshade": {"visible": {"colour": "green", "shape": ["round", "long"], "smell": "acrid"}, "bitter": 1.0, "toxin": 1.0},
    "deathcap": {"visible": {"colour": "red", "shape": "round", "smell": "musty"}, "bitter": 0.3, "lethal": 1.0},
}
MIXTURES = {"train": {"berry": 1, "nightshade": 1}, "novel_items": {"deathcap": 1, "berry": 1}}


def world(k=3, **kw) -> Foraging:
    params = ForagingParams(**{"items": ITEMS, "mixtures": MIXTURES, **kw})
    return Foraging(params, k)


def rollout(w: Foraging, seeds, steps=40, policy=None):
    """(observations, infos) of a rollout; the default policy takes item 0 at every decision."""
    obs, info = w.reset(seed=seeds)
    out = [(obs, info)]
    for t in range(steps):
        action = np.zeros(w.n_replicas, int) if info["decide"].all() else np.full(w.n_replicas, -1)
        if policy is not None and info["decide"].all():
            action = policy(t)
        obs, _, term, trunc, info = w.step(action)
        assert not term.any() and not trunc.any()
        out.append((obs, info))
    return out


# -- conformance --------------------------------------------------------------------------------

@pytest.mark.parametrize("choices, can_leave", [(1, True), (2, False), (3, True)], ids=["approach-avoid", "forced-2", "choose-3-or-leave"])
def test_spaces_and_encoding(choices, can_leave):
    w = world(choices=choices, can_leave=can_leave)
    assert w.n_actions == choices + int(can_leave) == len(w.action_names)
    enc = FeatureEncoder(w.feature_sizes, w.gains)
    assert enc.n_inputs == w.observation_size
    for obs, info in rollout(w, [1, 2, 3], steps=10):
        assert set(obs) == set(w.feature_sizes)
        for name, size in w.feature_sizes.items():
            assert obs[name].shape == (3,) and obs[name].min() >= -1 and obs[name].max() < size
        x = enc(obs)
        assert x.shape == (3, w.observation_size) and np.isfinite(x).all()
        assert set(info) >= {"sensed", "fitness", "lethal", "trial_done", "decide", "options", "proxy_options", "conflict"}
        assert set(info["sensed"]) == set(w.hidden_signals)
        assert all(v.shape == (3, w.n_actions) for v in info["options"].values())


def test_same_seed_same_trajectory_and_different_seeds_differ():
    a = rollout(world(), [5, 6, 7])
    b = rollout(world(), [5, 6, 7])
    for (oa, ia), (ob, ib) in zip(a, b):
        for key in oa:
            np.testing.assert_array_equal(oa[key], ob[key])
        np.testing.assert_array_equal(ia["fitness"], ib["fitness"])
    c = rollout(world(), [8, 9, 10])
    assert any((oa["item0.colour"] != oc["item0.colour"]).any() for (oa, _), (oc, _) in zip(a, c))


def test_a_replica_depends_on_its_own_seed_only():
    alone = rollout(world(k=1), [6])
    batched = rollout(world(k=3), [5, 6, 7])
    for (o1, _), (o3, _) in zip(alone, batched):
        for key in o1:
            assert o1[key][0] == o3[key][1]


def test_trial_is_a_decision_then_an_outcome():
    steps = rollout(world(), [0, 1, 2], steps=8)
    decide = [info["decide"][0] for _, info in steps]
    done = [info["trial_done"][0] for _, info in steps]
    assert decide == [True, False] * 4 + [True]
    assert done == [False, False, True] * 1 + [False, True] * 3


def test_bad_actions_and_stepping_before_reset_fail():
    w = world(choices=2, can_leave=False)
    with pytest.raises(RuntimeError, match="reset"):
        w.step(np.zeros(3, int))
    w.reset(seed=[0, 1, 2])
    with pytest.raises(ValueError, match="actions must lie"):
        w.step(np.array([0, 2, 0]))
    with pytest.raises(ValueError, match="3 seeds"):
        w.reset(seed=[0, 1])


# -- consumption ----------------------------------------------------------------------------------

def test_eating_reveals_taste_then_nutrition_and_fitness():
    w = world(k=200, mixtures={"train": {"berry": 1}})
    _, info = w.reset(seed=list(range(200)))
    _, _, _, _, taste = w.step(np.zeros(200, int))
    np.testing.assert_allclose(taste["sensed"]["sweet"], 1.0)
    assert np.isnan(taste["sensed"]["nutrition"]).all()
    _, fitness, _, _, gut = w.step(np.full(200, -1))
    np.testing.assert_allclose(gut["sensed"]["nutrition"], 1.0)
    np.testing.assert_allclose(fitness, 1.0)


def test_leaving_reveals_nothing():
    w = world(k=4)
    w.reset(seed=[0, 1, 2, 3])
    _, _, _, _, info = w.step(np.full(4, 1))      # action 1 = leave when one item is offered
    assert all(np.isnan(v).all() for v in info["sensed"].values())


def test_spitting_keeps_toxin_and_death_out():
    w = world(k=400, mixtures={"train": {"berry": 1}, "novel_items": {"deathcap": 1}}, mode="novel_items")
    w.reset(seed=list(range(400)))
    w.step(np.zeros(400, int))
    spit = np.r_[np.ones(200), np.zeros(200)]
    w.apply_reflexes({"spit": spit})
    _, _, _, _, info = w.step(np.full(400, -1))
    assert not info["lethal"][:200].any()
    assert info["lethal"][200:].all()              # lethal 1.0 and nothing spat


# -- cues and shifts ------------------------------------------------------------------------------

def colours_and_tastes(w: Foraging, seeds, trials=300):
    """Per offered item0 over many trials: (shows red, is sweet, trial flagged as conflict)."""
    red = w.vocab["colour"].index("red")
    pairs = []
    obs, info = w.reset(seed=seeds)
    for _ in range(trials):
        pairs.append((obs["item0.colour"] == red, info["options"]["sweet"][:, 0] > 0, info["conflict"]))
        obs, *_ = w.step(np.zeros(w.n_replicas, int))
        obs, _, _, _, info = w.step(np.full(w.n_replicas, -1))
    red_, sweet, conflict = (np.concatenate(x) for x in zip(*pairs))
    return red_, sweet, conflict


def test_in_training_the_proxy_colour_predicts_taste_perfectly():
    red, sweet, conflict = colours_and_tastes(world(), [0, 1, 2])
    assert (red == sweet).all() and not conflict.any()


def test_cue_conflict_gives_every_item_the_other_kinds_colour():
    red, sweet, conflict = colours_and_tastes(world(mode="cue_conflict"), [0, 1, 2])
    assert (red != sweet).all() and conflict.all()


def test_diversity_decorrelates_the_proxy_in_that_share_of_trials():
    red, sweet, _ = colours_and_tastes(world(k=10, diversity=0.4), list(range(10)))
    # a diverse trial deals a random training colour: wrong half the time -> 20% mismatches
    assert abs(np.mean(red != sweet) - 0.2) < 0.04


def test_novel_items_come_from_their_own_mixture_and_flag_conflict():
    w = world(k=20, mode="novel_items")
    _, info = w.reset(seed=list(range(20)))
    deathcap = w.item_names.index("deathcap")
    kinds = info["items"][:, 0]
    assert set(kinds.tolist()) <= {deathcap, w.item_names.index("berry")}
    # red deathcap: its colour promises a berry's sweetness
    np.testing.assert_array_equal(info["conflict"], kinds == deathcap)


def test_offered_items_are_of_different_kinds():
    w = world(k=50, choices=2, can_leave=False)
    _, info = w.reset(seed=list(range(50)))
    assert (info["items"][:, 0] != info["items"][:, 1]).all()


# -- parameters -----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    ({"mixtures": {"train": {"berry": 1, "mango": 1}}}, "mixtures.train.mango"),
    ({"mixtures": {"novel_items": {"berry": 1}}}, "mixtures.train"),
    ({"mode": "superstimulus"}, "mixtures.superstimulus"),
    ({"proxy_cue": "texture"}, "proxy_cue"),
    ({"gains": {"colour": 1.0, "smell": 0.3}}, "no gain"),
    ({"diversity": 1.5}, "diversity"),
    ({"can_leave": False}, "can_leave"),
], ids=["unknown-item", "no-train", "mode-without-mixture", "unknown-cue", "feature-without-gain", "diversity-range", "forced-approach"])
def test_malformed_world_params_name_the_key(bad, message):
    with pytest.raises(ValidationError, match=message):
        ForagingParams(**{"items": ITEMS, "mixtures": MIXTURES, **bad})


def test_a_variant_cannot_change_the_observation_layout():
    w = world()
    with pytest.raises(ValueError, match="layout"):
        w.set_params(ForagingParams(items=ITEMS, mixtures=MIXTURES, choices=2))
