"""The steering subsystem: hand-coded sensors, drives, reward rules, reflexes and teaching signals.

Nothing here learns. Per environment step the subcortex senses the world's revealed hidden
properties, computes its innate reward, fires reflexes, updates its drives, and turns the cortex's
value estimate and thought assessments (plain numbers; it never sees inside the cortex) into a
dopamine signal (TD error) and per-signal supervisory errors. It never imports ``cortex``: the
closed loop wraps its plain arrays into ``cortex.base.Modulators``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from . import rules as _rules
from .dopamine import supervisory_errors, td_error
from .drives import initial_levels, step_drive
from .params import DriveParams, SubcortexParams
from .sensors import SENSORS, options_to_sensors, read_sensors

__all__ = ["Subcortex", "SubcortexParams", "DriveParams", "SubcortexStep", "make_subcortex", "SENSORS"]


@dataclass
class SubcortexStep:
    """What the subcortex produced at one step, per replica (K first).

    reward:      (K,)   innate reward for the transition just sensed (plus anticipation if enabled)
    dopamine:    (K,)   TD error r + gamma V(t) - V(t-1)
    supervisory: (K, S) sensed minus last step's assessment, per assessed signal; NaN = not sensed
    sensed:      sensor -> (K,) what the sensors read (NaN = nothing)
    reflexes:    command -> (K,) reflex output, e.g. {'spit': share of the mouth's contents expelled}
    """

    reward: np.ndarray
    dopamine: np.ndarray
    supervisory: np.ndarray
    sensed: dict[str, np.ndarray]
    reflexes: dict[str, np.ndarray]


class Subcortex:
    """Runtime state (drive levels, last value and assessments) built from ``SubcortexParams``."""

    #: saved state (read by the experiment's state file; plain arrays and dicts only)
    state_attrs = ("drives", "_prev_value", "_prev_assessments")

    def __init__(self, params: SubcortexParams):
        self.params = params
        self.sensors = tuple(params.sensors)
        #: order of the assessments the cortex must emit and of the supervisory errors
        self.assessed_signals = tuple(params.assessed)
        self._rules = [(_rules.RULES[r.rule], r.model_dump(exclude={"rule"})) for r in params.rules]
        self._reflexes = [(_rules.REFLEXES[r.reflex], r.model_dump(exclude={"reflex"})) for r in params.reflexes]
        self.n_replicas = 0
        self.drives: dict[str, np.ndarray] = {}

    def reset(self, seeds: Sequence[int]) -> None:
        """Start a run with one replica per seed: drives at their initial levels, no predictions held.

        The subcortex is deterministic; seeds only fix the replica count.
        """
        self.n_replicas = len(seeds)
        self.drives = initial_levels(self.params.drives, self.n_replicas)
        self.new_phase()

    def new_phase(self) -> None:
        """Forget last step's value and assessments (TD errors do not bridge phases); drives carry on."""
        self._prev_value = None
        self._prev_assessments = None

    def step(self, hidden: Mapping[str, np.ndarray] | None, assessments: np.ndarray | None,
             value: np.ndarray | None) -> SubcortexStep:
        """Process one environment step.

        hidden: world property -> (K,) revealed by the last world step (NaN = not revealed), or None.
        assessments: (K, S) the cortex's current predictions of ``assessed_signals``, or None at a
        terminal step. value: (K,) the cortex's current value estimate, None at a terminal step.
        The reward uses the drive levels before this step's update.
        """
        if not self.drives:
            raise RuntimeError("Subcortex.reset(seeds) must be called before step()")
        sensed = read_sensors(self.sensors, hidden, self.n_replicas)
        reward = self._reward(sensed, self.drives)
        if self.params.anticipatory_reward and assessments is not None:
            predicted = {s: np.full(self.n_replicas, np.nan) for s in self.sensors}
            predicted.update({s: assessments[:, i] for i, s in enumerate(self.assessed_signals)})
            reward = reward + self.params.anticipation_gain * self._reward(predicted, self.drives)
        dopamine = td_error(reward, value, self._prev_value, self.params.gamma)
        supervisory = supervisory_errors(sensed, self._prev_assessments, self.assessed_signals, self.n_replicas)
        reflexes = self._reflex(sensed, self.drives)
        self.drives = {name: step_drive(self.drives[name], sensed, p) for name, p in self.params.drives.items()}
        self._prev_value = None if value is None else np.array(value, dtype=float)
        self._prev_assessments = None if assessments is None else np.array(assessments, dtype=float)
        return SubcortexStep(reward, dopamine, supervisory, sensed, reflexes)

    def option_rewards(self, options: Mapping[str, np.ndarray]) -> np.ndarray:
        """Reward the subcortex would give for each option if it could sense everything now.

        options: world property -> (K, A) the hidden properties each action would reveal (zeros for
        'leave'). Reflexes apply (spat food is not absorbed), drives are the current levels. Returns
        (K, A); the fully informed choice is its argmax. Never changes state.
        """
        sensed = options_to_sensors(self.sensors, options)
        shape = np.shape(next(iter(options.values())))
        sensed = {s: sensed.get(s, np.full(shape, np.nan)) for s in self.sensors}
        drives = {name: level[:, None] for name, level in self.drives.items()}
        kept = 1.0 - self._reflex(sensed, drives).get("spit", 0.0)
        sensed.update({s: sensed[s] * kept for s in _rules.ABSORBED if s in sensed})
        return self._reward(sensed, drives)

    def _reward(self, sensed, drives) -> np.ndarray:
        total = np.zeros(np.shape(next(iter(sensed.values()))) if sensed else self.n_replicas)
        for fn, kwargs in self._rules:
            total = total + fn(sensed, drives, **kwargs)
        return total

    def _reflex(self, sensed, drives) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for fn, kwargs in self._reflexes:
            for command, amount in fn(sensed, drives, **kwargs).items():
                # two reflexes driving the same muscle: the stronger wins
                out[command] = np.maximum(out[command], amount) if command in out else amount
        return out


def make_subcortex(params: SubcortexParams, hidden_signals: Sequence[str]) -> Subcortex:
    """Build a subcortex for a world that reveals ``hidden_signals`` (property names).

    Raises ValueError naming the key when a sensor reads a property the world does not have.
    """
    missing = [s for s in params.sensors if SENSORS[s] not in hidden_signals]
    if missing:
        raise ValueError(f"subcortex.sensors: {', '.join(missing)} read properties this world does not "
                         f"reveal (it reveals: {', '.join(hidden_signals)})")
    return Subcortex(params)
