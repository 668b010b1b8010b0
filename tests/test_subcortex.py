"""The hand-coded subcortex: reward rules, reflexes, drives, teaching signals, parameter checks."""
import numpy as np
import pytest
from pydantic import ValidationError

from subcortex import SubcortexParams, make_subcortex
from subcortex.drives import step_drive
from subcortex.params import DriveParams
from subcortex.rules import bitter_penalty, nutrition_when_hungry, pain_penalty, spit_bitter, sweet_when_hungry

HIDDEN = ("sweet", "bitter", "pain", "nutrition")
NAN = np.nan


def sensed(**values):
    """sensor -> (K,) with NaN for every sensor not given."""
    names = ("taste.sweet", "taste.bitter", "gut.nutrition", "pain")
    k = len(next(iter(values.values())))
    out = {n: np.full(k, NAN) for n in names}
    out.update({n.replace("_", "."): np.asarray(v, float) for n, v in values.items()})
    return out


# -- reward rules -------------------------------------------------------------------------------

def test_sweet_is_worth_more_to_a_hungry_animal():
    s = sensed(taste_sweet=[1.0, 1.0, NAN])
    r = sweet_when_hungry(s, {"hunger": np.array([0.0, 1.0, 1.0])}, weight=2.0, floor=0.5)
    np.testing.assert_allclose(r, [1.0, 3.0, 0.0])   # 2 * 1 * (0.5 + hunger); not tasted: nothing


def test_nutrition_reward_scales_with_hunger():
    s = sensed(gut_nutrition=[1.0, 0.5])
    r = nutrition_when_hungry(s, {"hunger": np.array([1.0, 0.0])}, weight=0.5, floor=0.0)
    np.testing.assert_allclose(r, [0.5, 0.0])


def test_bitter_and_pain_punish_in_proportion():
    s = sensed(taste_bitter=[1.0, 0.0, NAN], pain=[0.5, NAN, 2.0])
    np.testing.assert_allclose(bitter_penalty(s, {}, weight=1.5), [-1.5, 0.0, 0.0])
    np.testing.assert_allclose(pain_penalty(s, {}, weight=1.0), [-0.5, 0.0, -2.0])


def test_spit_reflex_fires_at_threshold_only():
    out = spit_bitter(sensed(taste_bitter=[0.49, 0.5, NAN]), {}, threshold=0.5, efficacy=0.8)
    np.testing.assert_allclose(out["spit"], [0.0, 0.8, 0.0])


# -- drives -------------------------------------------------------------------------------------

def test_hunger_rises_every_step_and_falls_with_nutrition_within_bounds():
    p = DriveParams(rise_per_step=0.1, fall_per_unit=0.5, initial=0.5, low=0.0, high=1.0)
    level = np.array([0.5, 0.5, 0.95, 0.1])
    new = step_drive(level, sensed(gut_nutrition=[NAN, 1.0, NAN, 1.0]), p)
    np.testing.assert_allclose(new, [0.6, 0.1, 1.0, 0.0])


def test_subcortex_hunger_trace_over_steps():
    sub = make_subcortex(SubcortexParams(drives={"hunger": {"rise_per_step": 0.05, "initial": 0.2}}), HIDDEN)
    sub.reset([0])
    for _ in range(4):
        sub.step(None, np.zeros((1, 3)), np.zeros(1))
    np.testing.assert_allclose(sub.drives["hunger"], [0.4])
    sub.step({"nutrition": np.array([1.0])}, np.zeros((1, 3)), np.zeros(1))
    np.testing.assert_allclose(sub.drives["hunger"], [0.4 + 0.05 - 0.2])


# -- teaching signals ---------------------------------------------------------------------------

def make(**kw):
    sub = make_subcortex(SubcortexParams(**kw), HIDDEN)
    sub.reset([0, 1])
    return sub


def test_dopamine_is_the_td_error_of_the_cortex_value():
    sub = make(gamma=0.5, rules=[{"rule": "bitter_penalty", "weight": 1.0}], reflexes=[])
    first = sub.step(None, np.zeros((2, 3)), np.array([1.0, 2.0]))
    np.testing.assert_allclose(first.dopamine, [0.0, 0.0])          # nothing predicted before
    out = sub.step({"bitter": np.array([1.0, NAN])}, np.zeros((2, 3)), np.array([4.0, 0.0]))
    # r + gamma V(t) - V(t-1): replica 0 tasted bitter (r = -1)
    np.testing.assert_allclose(out.dopamine, [-1 + 0.5 * 4 - 1, 0 + 0 - 2])
    end = sub.step(None, None, None)                                  # terminal: V(t) = 0
    np.testing.assert_allclose(end.dopamine, [-4.0, 0.0])


def test_supervisory_error_is_sensed_minus_last_assessment_and_nan_when_unsensed():
    sub = make(assessed=["taste.sweet", "taste.bitter"])
    sub.step(None, np.array([[0.2, 0.0], [0.9, 0.5]]), np.zeros(2))
    out = sub.step({"sweet": np.array([1.0, NAN]), "bitter": np.array([0.0, NAN])}, np.zeros((2, 2)), np.zeros(2))
    np.testing.assert_allclose(out.supervisory[0], [0.8, 0.0])
    assert np.isnan(out.supervisory[1]).all()


def test_anticipatory_reward_pays_for_predicted_sweetness():
    base = dict(rules=[{"rule": "sweet_when_hungry", "weight": 1.0, "floor": 0.0}], reflexes=[],
                drives={"hunger": {"initial": 1.0, "rise_per_step": 0.0}})
    plain, eager = make(**base), make(**base, anticipatory_reward=True, anticipation_gain=0.5)
    predicted = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(plain.step(None, predicted, np.zeros(2)).reward, [0.0, 0.0])
    np.testing.assert_allclose(eager.step(None, predicted, np.zeros(2)).reward, [0.5, 0.0])


def test_informed_option_rewards_count_what_the_spit_reflex_lets_through():
    sub = make(drives={"hunger": {"initial": 1.0}},
               rules=[{"rule": "nutrition_when_hungry", "weight": 1.0}],
               reflexes=[{"reflex": "spit_bitter", "threshold": 0.5, "efficacy": 1.0}])
    options = {"sweet": np.zeros((2, 2)), "bitter": np.array([[0.0, 1.0]] * 2), "pain": np.zeros((2, 2)),
               "nutrition": np.array([[1.0, 1.0]] * 2)}
    np.testing.assert_allclose(sub.option_rewards(options), [[1.0, 0.0]] * 2)


def test_step_before_reset_fails_clearly():
    sub = make_subcortex(SubcortexParams(), HIDDEN)
    with pytest.raises(RuntimeError, match="reset"):
        sub.step(None, None, None)


# -- parameter checks ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad, key", [
    ({"rules": [{"rule": "sweet_when_hungry", "wieght": 1.0}]}, "wieght"),
    ({"rules": [{"rule": "sugar_rush"}]}, "sugar_rush"),
    ({"rules": [{"rule": "bitter_penalty", "weight": -1}]}, "weight"),
    ({"sensors": ["taste.umami"]}, "taste.umami"),
    ({"assessed": ["pain"], "sensors": ["taste.sweet", "taste.bitter", "gut.nutrition"]}, "assessed"),
    ({"drives": {"hunger": {"initial": 2.0}}}, "initial"),
    ({"reflexes": [{"reflex": "spit_bitter", "efficacy": 1.5}]}, "efficacy"),
], ids=["typo", "unknown-rule", "negative-weight", "unknown-sensor", "assessed-not-sensed", "drive-bounds", "efficacy"])
def test_malformed_params_are_rejected_naming_the_key(bad, key):
    with pytest.raises(ValidationError, match=key.replace(".", r"\.")):
        SubcortexParams(**bad)


def test_rule_needing_an_absent_sensor_is_rejected():
    with pytest.raises(ValidationError, match=r"rules\.0: pain_penalty reads sensor 'pain'"):
        SubcortexParams(sensors=["taste.sweet", "taste.bitter", "gut.nutrition"], assessed=[],
                        rules=[{"rule": "pain_penalty"}])


def test_config_file_errors_point_at_the_subcortex_key():
    from experiments.config import loads
    from experiments.errors import InputError

    text = """
world: {kind: foraging}
cortex: {backend: rate, model: reservoir, n_units: 20}
subcortex:
  rules:
    - {rule: sweet_when_hungry, floor: -1}
phases: [{name: train, trials: 10}]
"""
    with pytest.raises(InputError) as err:
        loads(text)
    assert any("subcortex.rules.0" in p and "floor" in p for p in err.value.problems), err.value.problems


def test_world_without_a_sensed_property_is_refused():
    with pytest.raises(ValueError, match="subcortex.sensors: pain"):
        make_subcortex(SubcortexParams(), ("sweet", "bitter", "nutrition"))
