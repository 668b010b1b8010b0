"""Validated, frozen description of the subcortex (YAML block ``subcortex:``).

Field names are the YAML keys and unknown keys are errors. Rule and reflex entries are
``{rule: NAME, ...params}`` / ``{reflex: NAME, ...params}``; their parameter models are generated from
the keyword-only arguments of the functions in ``subcortex.rules``, so a rule's YAML keys, its Python
keywords and its documentation cannot drift apart.
"""
from __future__ import annotations

import inspect
import typing
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from . import rules as _rules
from .sensors import SENSORS


class SubParams(BaseModel):
    """Base of every subcortex parameter block: frozen, unknown keys rejected.

    (The subcortex cannot import ``cortex.params.Params``; this is its own twin.)
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _entry_model(tag: str, fn) -> type[SubParams]:
    """A params model for one rule/reflex: ``{tag: NAME}`` plus the function's keyword-only args."""
    hints = typing.get_type_hints(fn, include_extras=True)
    fields = {tag: (Literal[fn.__name__], Field(description=f"{tag} name"))}
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.KEYWORD_ONLY:
            fields[p.name] = (hints[p.name], p.default)
    name = "".join(part.title() for part in fn.__name__.split("_"))
    return create_model(name, __base__=SubParams, __doc__=fn.__doc__, **fields)


#: YAML name -> params model of each rule / reflex (for validation and the README key reference)
RULE_MODELS = {name: _entry_model("rule", fn) for name, fn in _rules.RULES.items()}
REFLEX_MODELS = {name: _entry_model("reflex", fn) for name, fn in _rules.REFLEXES.items()}


def _union(tag: str, models: dict) -> object:
    models = tuple(models.values())
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator=tag)]


RuleSpec = _union("rule", RULE_MODELS)
ReflexSpec = _union("reflex", REFLEX_MODELS)


class DriveParams(SubParams):
    """One homeostatic drive (e.g. hunger)."""

    sated_by: str = Field("gut.nutrition", description="sensor whose signal lowers this drive")
    rise_per_step: float = Field(0.01, ge=0, le=1, description="increase of the level per environment step")
    fall_per_unit: float = Field(0.2, ge=0, le=100, description="decrease of the level per unit of the sated_by signal")
    initial: float = Field(0.5, description="level at the start of a run")
    low: float = Field(0.0, description="lower bound of the level")
    high: float = Field(1.0, description="upper bound of the level")

    @model_validator(mode="after")
    def _bounds(self):
        if not self.low <= self.initial <= self.high:
            raise ValueError(f"need low <= initial <= high, got {self.low}, {self.initial}, {self.high}")
        return self


def _default_rules():
    return (
        {"rule": "sweet_when_hungry"}, {"rule": "bitter_penalty"},
        {"rule": "pain_penalty"}, {"rule": "nutrition_when_hungry"},
    )


class SubcortexParams(SubParams):
    """The hand-coded steering subsystem: sensors, drives, innate reward rules and reflexes."""

    sensors: tuple[str, ...] = Field(
        ("taste.sweet", "taste.bitter", "gut.nutrition", "pain"),
        description=f"innate sensors, from: {', '.join(SENSORS)}")
    drives: dict[str, DriveParams] = Field(
        default_factory=lambda: {"hunger": DriveParams()},
        description="homeostatic drives by name; rules read them (e.g. sweet_when_hungry reads hunger)")
    rules: tuple[RuleSpec, ...] = Field(
        default_factory=_default_rules,
        description=f"innate reward rules, each {{rule: NAME, ...params}}; NAME from: {', '.join(_rules.RULES)}")
    reflexes: tuple[ReflexSpec, ...] = Field(
        default_factory=lambda: ({"reflex": "spit_bitter"},),
        description=f"innate reflexes, each {{reflex: NAME, ...params}}; NAME from: {', '.join(_rules.REFLEXES)}")
    assessed: tuple[str, ...] = Field(
        ("taste.sweet", "taste.bitter", "pain"),
        description="sensors the cortex must predict (thought assessors); each gets a supervisory error")
    anticipatory_reward: bool = Field(
        False, description="also reward the cortex's predictions of assessed signals, through the same rules")
    anticipation_gain: float = Field(
        0.5, ge=0, le=10, description="scale of the anticipatory reward relative to the sensed one")
    gamma: float = Field(0.9, ge=0, le=1, description="TD discount per environment step used for dopamine")

    @model_validator(mode="after")
    def _consistent(self):
        problems = [f"sensors: unknown sensor '{s}' (known: {', '.join(SENSORS)})" for s in self.sensors if s not in SENSORS]
        problems += [f"assessed: '{s}' is not in sensors" for s in self.assessed if s not in self.sensors]
        problems += [f"drives.{d}.sated_by: '{p.sated_by}' is not in sensors"
                     for d, p in self.drives.items() if p.sated_by not in self.sensors]
        for key, tag, entries, registry in (("rules", "rule", self.rules, _rules.RULES),
                                            ("reflexes", "reflex", self.reflexes, _rules.REFLEXES)):
            for i, entry in enumerate(entries):
                fn = registry[getattr(entry, tag)]
                problems += [f"{key}.{i}: {fn.__name__} reads sensor '{s}', which is not in sensors"
                             for s in fn.reads if s not in self.sensors]
                problems += [f"{key}.{i}: {fn.__name__} reads drive '{d}', which is not in drives"
                             for d in fn.drives if d not in self.drives]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class VoiceGateParams(SubParams):
    """The voice gate (subcortex/voice.py): a sensor of conspecific voice that gates cortical plasticity."""

    enabled: bool = Field(True, description="false: no gating, plasticity 1 at every step (the ungated arm of a comparison, one key away)")
    plasticity_conspecific: float = Field(1.0, ge=0, le=1, description="plasticity factor while the input comes from the grammar's own strings (voice 1)")
    plasticity_other: float = Field(0.0, ge=0, le=1, description="plasticity factor while it comes from a distractor (voice 0; world.distractors); 0: nothing is learned then")


class SequenceSubcortexParams(SubParams):
    """The subcortex of sequence (grammar) worlds: no reward or drives, only the voice gate
    (subcortex/voice.py), which sets the cortex's plasticity step by step."""

    voice_gate: VoiceGateParams | None = Field(None, description="the voice gate (a mapping of the keys below); null: no gating")
