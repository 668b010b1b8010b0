"""Innate reward rules and reflexes: small pure functions, named in YAML.

A rule maps what the subcortex senses now (sensor -> (K,) or (K, A) array, NaN = not sensed) and its
drive levels (drive -> (K,) array, broadcast against the sensed arrays) to a reward contribution of
the same shape. A reflex maps the same inputs to a named motor command (e.g. ``spit``: the share of
the mouth's contents expelled before it reaches the gut).

Keyword-only parameters are the YAML keys; their ``Annotated[..., Field(...)]`` metadata is what
``subcortex.params`` validates against and what the README key reference documents. Each function
declares the sensors and drives it reads (``reads``, ``drives``) so a config that omits them fails
at load time rather than rewarding silently with zeros.
"""
from typing import Annotated, Callable, Mapping

import numpy as np
from pydantic import Field

Arrays = Mapping[str, np.ndarray]

Weight = Annotated[float, Field(gt=0, le=100, description="reward per unit of the sensed signal")]
Floor = Annotated[float, Field(ge=0, le=10, description="multiplier added to the drive level, so a "
                                                      "sated animal still values the signal a little")]


def _innate(reads: tuple[str, ...], drives: tuple[str, ...] = ()) -> Callable:
    """Tag a rule or reflex with the sensors and drives it needs."""
    def tag(fn):
        fn.reads, fn.drives = reads, drives
        return fn
    return tag


def _sensed(sensed: Arrays, name: str) -> np.ndarray:
    # not sensed (NaN) contributes nothing, exactly like sensing zero intensity
    return np.nan_to_num(sensed[name], nan=0.0)


@_innate(reads=("taste.sweet",), drives=("hunger",))
def sweet_when_hungry(sensed: Arrays, drives: Arrays, *, weight: Weight = 1.0, floor: Floor = 0.2) -> np.ndarray:
    """Reward for sweet taste, scaled by hunger: weight * sweet * (floor + hunger)."""
    return weight * _sensed(sensed, "taste.sweet") * (floor + drives["hunger"])


@_innate(reads=("gut.nutrition",), drives=("hunger",))
def nutrition_when_hungry(sensed: Arrays, drives: Arrays, *, weight: Weight = 0.5, floor: Floor = 0.0) -> np.ndarray:
    """Reward for nutrients reaching the gut, scaled by hunger: weight * nutrition * (floor + hunger)."""
    return weight * _sensed(sensed, "gut.nutrition") * (floor + drives["hunger"])


@_innate(reads=("taste.bitter",))
def bitter_penalty(sensed: Arrays, drives: Arrays, *, weight: Weight = 1.0) -> np.ndarray:
    """Punishment for bitter taste: -weight * bitter."""
    return -weight * _sensed(sensed, "taste.bitter")


@_innate(reads=("pain",))
def pain_penalty(sensed: Arrays, drives: Arrays, *, weight: Weight = 1.0) -> np.ndarray:
    """Punishment for pain: -weight * pain."""
    return -weight * _sensed(sensed, "pain")


@_innate(reads=("taste.bitter",))
def spit_bitter(sensed: Arrays, drives: Arrays, *,
                threshold: Annotated[float, Field(ge=0, le=100, description="bitterness at or above which the item is spat out")] = 0.5,
                efficacy: Annotated[float, Field(ge=0, le=1, description="share of the mouth's contents expelled (1 = nothing absorbed)")] = 0.9,
                ) -> dict[str, np.ndarray]:
    """Reflex: spit out anything bitter enough, so little of it reaches the gut. Returns {'spit': share}."""
    return {"spit": np.where(_sensed(sensed, "taste.bitter") >= threshold, efficacy, 0.0)}


#: YAML name -> reward rule
RULES: dict[str, Callable[..., np.ndarray]] = {
    fn.__name__: fn for fn in (sweet_when_hungry, nutrition_when_hungry, bitter_penalty, pain_penalty)}

#: YAML name -> reflex
REFLEXES: dict[str, Callable[..., dict[str, np.ndarray]]] = {fn.__name__: fn for fn in (spit_bitter,)}

#: sensors whose absorption a reflex blocks: spat-out food never reaches the gut
ABSORBED: tuple[str, ...] = ("gut.nutrition",)
