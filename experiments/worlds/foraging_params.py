"""Parameters of the foraging world (``kind: foraging``): item kinds, mixtures, cues, trial
structure, and the rules a variant must keep (the observation layout). The world itself is in
:mod:`experiments.worlds.foraging`.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

HIDDEN = ("sweet", "bitter", "pain", "nutrition")   # revealed to the subcortex's sensors
MODES = ("train", "cue_conflict", "novel_items", "superstimulus")
STEPS_PER_TRIAL = 2    # cue, outcome; plus delay_steps digestion steps
DRAWS_PER_ITEM = 2      # uniform draws per offered item: its kind, its swapped proxy category


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemKind(_Frozen):
    """One kind of item: what it looks like, what it tastes like, what it does to the body."""

    visible: dict[str, str | list[str]] = Field(description="feature -> category, or a list of categories (one drawn per item)")
    sweet: float = Field(0.0, ge=0, le=100, description="sweetness revealed when tasted")
    bitter: float = Field(0.0, ge=0, le=100, description="bitterness revealed when tasted")
    pain: float = Field(0.0, ge=0, le=100, description="pain revealed when taken")
    nutrition: float = Field(0.0, ge=0, le=100, description="nutrition absorbed (sensed by the gut, adds to fitness)")
    toxin: float = Field(0.0, ge=0, le=100, description="toxin absorbed (not sensed, subtracts from fitness)")
    lethal: float = Field(0.0, ge=0, le=1, description="probability of death when fully absorbed")
    delayed_pain: float = Field(0.0, ge=0, le=100, description="pain revealed delay_steps steps after absorption (times the absorbed share); needs delay_steps >= 1")


def _default_items():
    return {
        "berry": {"visible": {"colour": "red", "shape": ["round", "long"], "smell": "fruity"}, "sweet": 1.0, "nutrition": 1.0},
        "nightshade": {"visible": {"colour": "green", "shape": ["round", "long"], "smell": "acrid"},
                       "bitter": 1.0, "toxin": 1.0, "lethal": 0.2},
    }


class ForagingParams(_Frozen):
    """The foraging world (YAML block ``world:`` with ``kind: foraging``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    items: dict[str, ItemKind] = Field(default_factory=_default_items, description="item kinds by name; all of them (shift items too) fix the observation layout")
    mixtures: dict[Literal["train", "novel_items", "superstimulus"], dict[str, float]] = Field(
        default_factory=lambda: {"train": {"berry": 0.5, "nightshade": 0.5}},
        description="item kind -> relative frequency, per mode; 'train' is required and also defines what the proxy cue predicts")
    mode: Literal["train", "cue_conflict", "novel_items", "superstimulus"] = Field(
        "train", description="train | cue_conflict (training items, proxy cue swapped) | novel_items | superstimulus (items from mixtures.<mode>)")
    gains: dict[str, float] = Field(default_factory=lambda: {"colour": 1.0, "shape": 0.5, "smell": 0.3},
                                    description="salience gain of each visible feature (its input amplitude)")
    proxy_cue: str = Field("colour", description="the visible feature that diversity decorrelates and cue_conflict swaps")
    diversity: float = Field(0.0, ge=0, le=1, description="share of training trials whose proxy cue is dealt out at random among the items (decorrelated from taste)")
    choices: int = Field(1, ge=1, le=8, description="items on offer per trial: 1 = approach/avoid; K = choose one of K")
    can_leave: bool = Field(True, description="whether 'leave' is an action; false makes choices >= 2 a forced choice")
    delay_steps: int = Field(0, ge=0, le=50, description="digestion steps after the outcome step; items' delayed_pain comes at the last one")

    @model_validator(mode="after")
    def _consistent(self):
        problems = []
        features = set(self.gains)
        for name, kind in self.items.items():
            problems += [f"items.{name}.visible: missing feature '{f}' (every item shows every feature in gains)"
                         for f in sorted(features - set(kind.visible))]
            problems += [f"items.{name}.visible: feature '{f}' has no gain (add it to gains)"
                         for f in sorted(set(kind.visible) - features)]
            problems += [f"items.{name}.visible.{f}: empty list" for f, v in kind.visible.items() if v == []]
        if self.proxy_cue not in features:
            problems.append(f"proxy_cue: '{self.proxy_cue}' is not a feature in gains ({', '.join(self.gains)})")
        if "train" not in self.mixtures:
            problems.append("mixtures.train: required (the training distribution)")
        for mode, mix in self.mixtures.items():
            problems += [f"mixtures.{mode}.{item}: unknown item (items: {', '.join(self.items)})" for item in mix if item not in self.items]
            problems += [f"mixtures.{mode}.{item}: weight must be > 0" for item, w in mix.items() if not w > 0]
            if not mix:
                problems.append(f"mixtures.{mode}: empty")
        if self.delay_steps == 0:
            problems += [f"items.{name}.delayed_pain: needs delay_steps >= 1 (the step it is revealed at)"
                         for name, kind in self.items.items() if kind.delayed_pain > 0]
        if self.choices == 1 and not self.can_leave:
            problems.append("can_leave: must be true when choices is 1 (approach/avoid needs 'leave')")
        needs = "train" if self.mode == "cue_conflict" else self.mode
        if needs not in self.mixtures:
            problems.append(f"mode: '{self.mode}' needs mixtures.{needs}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def variant_problems(self, variant: "ForagingParams") -> list[tuple[tuple, str]]:
        """What keeps ``variant`` from being a variant of this (base) world: (key path inside the
        variant, message) pairs, empty if it is one. A variant keeps the observation layout the
        cortex's input weights are built for: the features (gains keys), choices, can_leave, every
        item kind, and the same categories of every feature (shown by any kind)."""
        problems: list[tuple[tuple, str]] = []
        keep = "a variant keeps the observation layout that the base world fixes"
        if set(variant.gains) != set(self.gains):
            problems.append((("gains",), f"features {', '.join(variant.gains)} instead of {', '.join(self.gains)} ({keep})"))
        for key in ("choices", "can_leave", "delay_steps"):
            if getattr(variant, key) != getattr(self, key):
                problems.append(((key,), f"{getattr(variant, key)} instead of {getattr(self, key)} ({keep})"))
        for name in self.items:
            if name not in variant.items:
                problems.append((("items",), f"drops item kind '{name}' ({keep}: list every kind of world.items "
                                             "and leave it out of the mixtures instead)"))
        for name in variant.items:
            if name not in self.items:
                problems.append((("items", name), f"not an item kind of world.items ({keep}: declare every kind, "
                                                  "shift items too, in world.items)"))
        for f in set(variant.gains) & set(self.gains):
            before, after = set(_vocabulary(self, f)), set(_vocabulary(variant, f))
            for name, kind in self.items.items():
                lost = [v for v in _as_list(kind.visible.get(f, [])) if v not in after]
                if lost and name in variant.items:
                    problems.append((("items", name, "visible", f), f"no item kind shows {f} '{lost[0]}' any more "
                                     f"(world.items.{name} does; {keep}, every category included)"))
            for name, kind in variant.items.items():
                new = [v for v in _as_list(kind.visible.get(f, [])) if v not in before]
                if new:
                    problems.append((("items", name, "visible", f), f"'{new[0]}' is not a {f} category of world.items "
                                     f"({keep}, every category included)"))
        return problems


def _as_list(value) -> list[str]:
    return list(value) if isinstance(value, list) else [value]


def _vocabulary(params: ForagingParams, feature: str) -> list[str]:
    """Categories of one feature in order of first appearance across all item kinds."""
    out: list[str] = []
    for kind in params.items.values():
        for v in _as_list(kind.visible.get(feature, [])):
            if v not in out:
                out.append(v)
    return out
